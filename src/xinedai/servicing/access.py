"""The only way to act on loans' classifications for a user: role permission + the household's grid scope."""

from __future__ import annotations

from django.db.models import QuerySet

from xinedai.core.errors import NotFound
from xinedai.households.access import households_for
from xinedai.lending.models import Loan
from xinedai.org.access import require_perm

from .models import ClassificationRequest


def loans_for(user) -> QuerySet[Loan]:  # type: ignore[no-untyped-def]
    """Loans of the households the user may see (households.access is the scope)."""
    return Loan.objects.filter(household__in=households_for(user).values("pk"))


def get_loan(user, pk: int, *, perm: str) -> Loan:  # type: ignore[no-untyped-def]
    require_perm(user, perm)
    loan = loans_for(user).filter(pk=pk).first()
    if loan is None:
        raise NotFound("贷款不存在或不在您的管辖范围内", "No such loan in your scope", code="loan_not_found")
    return loan


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
