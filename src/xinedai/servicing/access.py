"""The only way to list or act on loans, their classifications and the portfolio snapshot for a user:
role permission + the household's grid scope (loans) or the org scope (snapshot)."""

from __future__ import annotations

from django.db.models import QuerySet

from xinedai.core.errors import NotFound, PermissionDenied
from xinedai.households.access import households_for
from xinedai.lending.models import Loan
from xinedai.org.access import grids_for, is_grid_scoped, require_perm, scope_path
from xinedai.org.models import OrgUnit

from .models import ClassificationRequest, PortfolioDay, WriteOffRequest

VIEW_PERM = "households.view_household"  # loans are seen with the households they belong to
REQUEST_PERM = "servicing.request_classification"
APPROVE_PERM = "servicing.approve_classification"
MONITORING_PERM = "org.view_monitoring"
WRITE_OFF_REQUEST_PERM = "servicing.request_write_off"
WRITE_OFF_APPROVE_PERM = "servicing.approve_write_off"
REVERSE_PERM = "lending.reverse_repayment"


def loans_for(user) -> QuerySet[Loan]:  # type: ignore[no-untyped-def]
    """Loans of the households the user may see (households.access is the scope)."""
    return Loan.objects.filter(household__in=households_for(user).values("pk"))


def get_loan(user, pk: int, *, perm: str) -> Loan:  # type: ignore[no-untyped-def]
    require_perm(user, perm)
    loan = loans_for(user).filter(pk=pk).first()
    if loan is None:
        raise NotFound("贷款不存在或不在您的管辖范围内", "No such loan in your scope", code="loan_not_found")
    return loan


def requests_for(user) -> QuerySet[ClassificationRequest]:  # type: ignore[no-untyped-def]
    """Classification requests on loans in the user's scope, for those who may make or decide them."""
    if not (can_request(user) or can_approve(user)):
        return ClassificationRequest.objects.none()
    return ClassificationRequest.objects.filter(loan__in=loans_for(user).values("pk"))


def get_request(user, pk: int, *, perm: str) -> ClassificationRequest:  # type: ignore[no-untyped-def]
    require_perm(user, perm)
    request = ClassificationRequest.objects.filter(pk=pk, loan__in=loans_for(user).values("pk")).first()
    if request is None:
        raise NotFound(
            "分类申请不存在或不在您的管辖范围内",
            "No such classification request in your scope",
            code="request_not_found",
        )
    return request


def get_write_off(user, pk: int, *, perm: str) -> WriteOffRequest:  # type: ignore[no-untyped-def]
    require_perm(user, perm)
    request = WriteOffRequest.objects.filter(pk=pk, loan__in=loans_for(user).values("pk")).first()
    if request is None:
        raise NotFound(
            "核销申请不存在或不在您的管辖范围内", "No such write-off request in your scope", code="request_not_found"
        )
    return request


def write_offs_for(user) -> QuerySet[WriteOffRequest]:  # type: ignore[no-untyped-def]
    """Write-off requests on loans in the user's scope, for those who may propose or approve them and
    for those who watch the portfolio (managers, auditors)."""
    if not can_see_write_offs(user):
        return WriteOffRequest.objects.none()
    return WriteOffRequest.objects.filter(loan__in=loans_for(user).values("pk"))


def can_see_write_offs(user) -> bool:  # type: ignore[no-untyped-def]
    if not getattr(user, "is_authenticated", False):
        return False
    return any(user.has_perm(p) for p in (WRITE_OFF_REQUEST_PERM, WRITE_OFF_APPROVE_PERM, MONITORING_PERM))


def require_write_offs(user) -> None:  # type: ignore[no-untyped-def]
    if not can_see_write_offs(user):
        raise PermissionDenied("您没有查看核销的权限", "You may not see write-offs", code="forbidden_write_offs")


def can_request_write_off(user) -> bool:  # type: ignore[no-untyped-def]
    return bool(getattr(user, "is_authenticated", False) and user.has_perm(WRITE_OFF_REQUEST_PERM))


def can_approve_write_off(user) -> bool:  # type: ignore[no-untyped-def]
    return bool(getattr(user, "is_authenticated", False) and user.has_perm(WRITE_OFF_APPROVE_PERM))


def can_request(user) -> bool:  # type: ignore[no-untyped-def]
    return bool(getattr(user, "is_authenticated", False) and user.has_perm(REQUEST_PERM))


def can_approve(user) -> bool:  # type: ignore[no-untyped-def]
    return bool(getattr(user, "is_authenticated", False) and user.has_perm(APPROVE_PERM))


def require_approve(user) -> None:  # type: ignore[no-untyped-def]
    if not can_approve(user):
        raise PermissionDenied(
            "您没有审批分类的权限", "You may not decide classification requests", code="forbidden_approve"
        )


def require_reviews(user) -> None:  # type: ignore[no-untyped-def]
    """The classification queue is for those who make or decide classification requests."""
    if not (can_request(user) or can_approve(user)):
        raise PermissionDenied(
            "您没有查看分类审批的权限",
            "You may not see classification requests",
            code="forbidden_classification",
        )


def write_offs_monitored(user) -> QuerySet[WriteOffRequest]:  # type: ignore[no-untyped-def]
    """Approved write-offs for the monitoring pages, in the same scope as the snapshot (snapshot_for): by
    the outlet (or grid) the loan was booked to when it was written off, without reading the loans."""
    approved = WriteOffRequest.objects.filter(status="approved")
    if not getattr(user, "is_authenticated", False) or not user.has_perm(MONITORING_PERM):
        return approved.none()
    if getattr(user, "is_superuser", False):
        return approved
    if is_grid_scoped(user):
        return approved.filter(grid_id__in=grids_for(user).values("pk"))
    path = scope_path(user)
    if path is None:
        return approved.none()
    return approved.filter(outlet_id__in=OrgUnit.objects.filter(kind="outlet", path__startswith=path).values("pk"))


def snapshot_for(user) -> QuerySet[PortfolioDay]:  # type: ignore[no-untyped-def]
    """The daily portfolio snapshot rows the user may see: those with the monitoring permission see the
    outlets under their org unit (the outlet the row was booked to that day); a grid-scoped user (an
    account manager given the permission) sees the grids they own now, with their sub-grids."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm(MONITORING_PERM):
        return PortfolioDay.objects.none()
    if getattr(user, "is_superuser", False):
        return PortfolioDay.objects.all()
    if is_grid_scoped(user):
        return PortfolioDay.objects.filter(grid_id__in=grids_for(user).values("pk"))
    path = scope_path(user)
    if path is None:
        return PortfolioDay.objects.none()
    return PortfolioDay.objects.filter(
        outlet_id__in=OrgUnit.objects.filter(kind="outlet", path__startswith=path).values("pk")
    )


def can_reverse_repayment(user, repayment) -> bool:  # type: ignore[no-untyped-def]
    """Offer the reversal: a user with the right who did not record the repayment (services decide)."""
    return bool(
        getattr(user, "is_authenticated", False) and user.has_perm(REVERSE_PERM) and repayment.created_by_id != user.pk
    )
