"""The only way the portal finds the signed-in customer's household, lines and loans."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from xinedai.core.errors import NotFound, PermissionDenied
from xinedai.credit.choices import LineStatus
from xinedai.credit.models import CreditLine
from xinedai.households.models import Household
from xinedai.lending.models import Loan

SESSION_KEY = "portal_household"


def household_of(request: HttpRequest) -> Household:
    pk = request.session.get(SESSION_KEY)
    household = Household.objects.filter(pk=pk).first() if pk else None
    if household is None:
        raise PermissionDenied("请先登录", "Please sign in", code="portal_signed_out")
    return household


def lines_of(household: Household) -> Any:
    return CreditLine.objects.filter(household=household, status=LineStatus.ACTIVE).order_by("product_code")


def get_line(household: Household, pk: int) -> CreditLine:
    line = lines_of(household).filter(pk=pk).first()
    if line is None:
        raise NotFound("没有这笔授信", "No such credit line", code="line_not_found")
    return line


def loans_of(household: Household) -> Any:
    return Loan.objects.filter(household=household).order_by("-start_on", "-id")


def get_loan(household: Household, pk: int) -> Loan:
    loan = loans_of(household).filter(pk=pk).first()
    if loan is None:
        raise NotFound("没有这笔贷款", "No such loan", code="loan_not_found")
    return loan
