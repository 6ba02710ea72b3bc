"""The only way to list or act on credit lines, decisions, offline applications and change alerts.

Scope always comes from households.access (role + org scope); this module adds what each role may do.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from xinedai.core.errors import NotFound, PermissionDenied
from xinedai.households.access import households_for
from xinedai.households.models import Household
from xinedai.org.access import profile_of
from xinedai.org.choices import Role

from .choices import LIVE_LINE_STATUSES, ApplicationStatus, LineStatus, ModelStatus, StrategyStatus
from .models import EXPIRED_WITH_LOANS, ChangeAlert, CreditDecision, CreditLine, OfflineApplication

# Until org.choices.ROLE_PERMISSIONS grants credit.review_application to these roles, the role itself
# is the check (and stays accepted after, so the two cannot disagree).
REVIEW_ROLES = frozenset({Role.CREDIT_OFFICER, Role.HEAD_OFFICE_RISK})
SUBMIT_ROLES = frozenset({Role.ACCOUNT_MANAGER})
# Who may run decisions (they write rows) and grant lines from them; auditors and administrators read only.
DECIDE_ROLES = frozenset(
    {Role.ACCOUNT_MANAGER, Role.OUTLET_MANAGER, Role.CREDIT_OFFICER, Role.BRANCH_MANAGER, Role.HEAD_OFFICE_RISK}
)
ALERT_VIEW_ROLES = frozenset({Role.CREDIT_OFFICER, Role.HEAD_OFFICE_RISK, Role.OUTLET_MANAGER, Role.BRANCH_MANAGER})


def _role(user) -> str | None:  # type: ignore[no-untyped-def]
    profile = profile_of(user)
    return profile.role if profile else None


def _sees_households(user) -> bool:  # type: ignore[no-untyped-def]
    return bool(getattr(user, "is_authenticated", False) and user.has_perm("households.view_household"))


def can_review(user) -> bool:  # type: ignore[no-untyped-def]
    """Credit officers and head-office risk review offline applications and change alerts."""
    if not _sees_households(user):
        return False
    return _role(user) in REVIEW_ROLES or bool(user.has_perm("credit.review_application"))


def can_submit(user) -> bool:  # type: ignore[no-untyped-def]
    return _sees_households(user) and _role(user) in SUBMIT_ROLES


def can_decide(user) -> bool:  # type: ignore[no-untyped-def]
    return _sees_households(user) and (_role(user) in DECIDE_ROLES or bool(user.is_superuser))


def can_view_alerts(user) -> bool:  # type: ignore[no-untyped-def]
    return _sees_households(user) and (_role(user) in ALERT_VIEW_ROLES or bool(user.is_superuser))


def require_review(user) -> None:  # type: ignore[no-untyped-def]
    if not can_review(user):
        raise PermissionDenied("您没有审批授信的权限", "You may not review credit cases", code="forbidden_review")


def require_submit(user) -> None:  # type: ignore[no-untyped-def]
    if not can_submit(user):
        raise PermissionDenied(
            "只有客户经理可以提交线下审批", "Only account managers submit offline applications", code="forbidden_submit"
        )


def require_decide(user) -> None:  # type: ignore[no-untyped-def]
    if not can_decide(user):
        raise PermissionDenied(
            "您没有授信测算的权限", "You may not request credit decisions", code="forbidden_decision"
        )


def require_view_alerts(user) -> None:  # type: ignore[no-untyped-def]
    if not can_view_alerts(user):
        raise PermissionDenied("您没有查看预警的权限", "You may not see change alerts", code="forbidden_alerts")


def require_in_scope(user, household: Household) -> None:  # type: ignore[no-untyped-def]
    """Services re-check scope even when a page fetched the household through households.access."""
    if not households_for(user).filter(pk=household.pk).exists():
        raise NotFound("户不存在或不在您的管辖范围内", "No such household in your scope", code="household_not_found")


def live_lines(household: Household) -> QuerySet[CreditLine]:
    return CreditLine.objects.filter(household=household, status__in=LIVE_LINE_STATUSES).select_related(
        "decision__file_version"
    )


def live_lines_by_household(households: list[Household]) -> dict[int, CreditLine]:
    """The base product's live line of each of these (already scope-checked) households."""
    from .services import PRODUCT

    qs = CreditLine.objects.filter(
        household__in=[h.pk for h in households], product_code=PRODUCT, status__in=LIVE_LINE_STATUSES
    )
    return {line.household_id: line for line in qs}


def lines_due_for_review(user, today: dt.date, within_days: int) -> QuerySet[CreditLine]:  # type: ignore[no-untyped-def]
    """Lines in the user's scope that the annual re-review should see, soonest first: active or frozen
    lines expiring within `within_days`, and expired lines that still have loans on them (their loans
    run on, and a re-review renews them, decision 0012)."""
    due = Q(status__in=(LineStatus.ACTIVE, LineStatus.FROZEN), expires_on__lte=today + dt.timedelta(days=within_days))
    return (
        CreditLine.objects.filter(due | EXPIRED_WITH_LOANS, household__in=households_for(user))
        .select_related("household__village")
        .order_by("expires_on", "pk")
    )


def granted_decision_ids(household: Household) -> set[int]:
    """Decisions of the household that already granted a line (their grant button is gone)."""
    return set(
        CreditLine.objects.filter(household=household, decision__isnull=False).values_list("decision_id", flat=True)
    )


def open_applications_of(user) -> QuerySet[OfflineApplication]:  # type: ignore[no-untyped-def]
    """The submitter's own applications still waiting for a review."""
    return (
        OfflineApplication.objects.filter(submitted_by_id=user.pk, status=ApplicationStatus.SUBMITTED)
        .select_related("household")
        .order_by("-submitted_at")
    )


def decisions_of(household: Household) -> QuerySet[CreditDecision]:
    return CreditDecision.objects.filter(household=household).select_related("score_model", "strategy")


def applications_for(user) -> QuerySet[OfflineApplication]:  # type: ignore[no-untyped-def]
    return OfflineApplication.objects.filter(household__in=households_for(user)).select_related(
        "household__village__grid__outlet", "household__current_file", "submitted_by__staff", "suggestion"
    )


def get_application(user, pk: int | str) -> OfflineApplication:  # type: ignore[no-untyped-def]
    application = applications_for(user).filter(pk=pk).first()
    if application is None:
        raise NotFound(
            "申请不存在或不在您的管辖范围内", "No such application in your scope", code="application_not_found"
        )
    return application


def alerts_for(user) -> QuerySet[ChangeAlert]:  # type: ignore[no-untyped-def]
    if not can_view_alerts(user):
        return ChangeAlert.objects.none()
    return ChangeAlert.objects.filter(household__in=households_for(user)).select_related(
        "household__village__grid__outlet", "from_version", "to_version__created_by__staff", "line", "reviewed_by"
    )


def get_alert(user, pk: int | str) -> ChangeAlert:  # type: ignore[no-untyped-def]
    alert = alerts_for(user).filter(pk=pk).first()
    if alert is None:
        raise NotFound("预警不存在或不在您的管辖范围内", "No such alert in your scope", code="alert_not_found")
    return alert


# The credit engine's configuration (model versions, limit strategies): seen by those who propose or
# approve them and by auditors; changed only through credit.services, which check the approval rights.
CONFIGURATION_PERMS = (
    "credit.approve_scoremodel",
    "credit.approve_limitstrategy",
    "credit.propose_limitstrategy",
    "core.view_auditentry",
)


def can_view_configuration(user) -> bool:  # type: ignore[no-untyped-def]
    return bool(getattr(user, "is_authenticated", False) and any(user.has_perm(p) for p in CONFIGURATION_PERMS))


def require_view_configuration(user) -> None:  # type: ignore[no-untyped-def]
    if not can_view_configuration(user):
        raise PermissionDenied(
            "您没有查看模型与策略的权限", "You may not see the models and strategies", code="forbidden_configuration"
        )


def can_approve_model(user, model) -> bool:  # type: ignore[no-untyped-def]
    """Offer the approval: a draft, a user with the right, not the one who trained it (services decide)."""
    return (
        model.status == ModelStatus.DRAFT
        and user.has_perm("credit.approve_scoremodel")
        and model.trained_by_id != user.pk
    )


def can_approve_strategy(user, strategy) -> bool:  # type: ignore[no-untyped-def]
    return (
        strategy.status == StrategyStatus.DRAFT
        and user.has_perm("credit.approve_limitstrategy")
        and strategy.created_by_id != user.pk
    )


def can_propose_strategy(user) -> bool:  # type: ignore[no-untyped-def]
    return bool(getattr(user, "is_authenticated", False) and user.has_perm("credit.propose_limitstrategy"))


def require_propose_strategy(user) -> None:  # type: ignore[no-untyped-def]
    if not can_propose_strategy(user):
        raise PermissionDenied(
            "您没有提出额度策略的权限", "You may not propose a limit strategy", code="forbidden_proposal"
        )
