"""The only way to list or act on campaigns for a user: role + org scope through the campaign's village.

Account managers see campaigns of villages in their grids; outlet, branch and head-office staff see
those under their org unit (org.access.villages_for). Acting needs households.change_household, which
account managers and outlet managers hold.
"""

from __future__ import annotations

from django.db.models import QuerySet

from xinedai.core.errors import NotFound, PermissionDenied
from xinedai.org.access import grid_filter, villages_for
from xinedai.org.models import Village

from .models import Campaign, CampaignHousehold, Objection

VIEW_PERM = "households.view_household"
ACT_PERM = "households.change_household"


def can_view(user) -> bool:  # type: ignore[no-untyped-def]
    return bool(getattr(user, "is_authenticated", False) and user.has_perm(VIEW_PERM))


def can_act(user) -> bool:  # type: ignore[no-untyped-def]
    return bool(getattr(user, "is_authenticated", False) and user.has_perm(ACT_PERM))


def campaigns_for(user) -> QuerySet[Campaign]:  # type: ignore[no-untyped-def]
    if not can_view(user):
        return Campaign.objects.none()
    return Campaign.objects.filter(grid_filter(user, "village__grid__")).select_related(
        "village__grid__outlet", "created_by__staff"
    )


def get_campaign(user, pk: int | str, *, for_update: bool = False) -> Campaign:  # type: ignore[no-untyped-def]
    qs = campaigns_for(user)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    campaign = qs.filter(pk=pk).first()
    if campaign is None:
        raise NotFound(
            "整村授信活动不存在或不在您的管辖范围内", "No such campaign in your scope", code="campaign_not_found"
        )
    return campaign


def require_act(user) -> None:  # type: ignore[no-untyped-def]
    if not can_act(user):
        raise PermissionDenied(
            "您没有办理整村授信的权限", "You may not run village campaigns", code="forbidden_campaign"
        )


def villages_to_start(user) -> QuerySet[Village]:  # type: ignore[no-untyped-def]
    """Villages a user may start a campaign in: those in scope, for someone who may act."""
    if not can_act(user):
        return Village.objects.none()
    return villages_for(user)


def get_row(user, campaign: Campaign, row_id: int | str) -> CampaignHousehold:  # type: ignore[no-untyped-def]
    row = (
        CampaignHousehold.objects.filter(pk=row_id, campaign=campaign)
        .select_related("household", "line", "reviewed_by__staff")
        .first()
    )
    if row is None:
        raise NotFound(
            "该户不在本次活动中", "The household is not in this campaign", code="campaign_household_not_found"
        )
    return row


def get_objection(user, campaign: Campaign, objection_id: int | str) -> Objection:  # type: ignore[no-untyped-def]
    objection = (
        Objection.objects.filter(pk=objection_id, campaign_household__campaign=campaign)
        .select_related("campaign_household__household")
        .first()
    )
    if objection is None:
        raise NotFound("异议不存在", "No such objection", code="objection_not_found")
    return objection
