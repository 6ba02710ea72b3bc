"""The only way a channel finds its customer and that customer's lines, loans, repayments and products.

A channel acts for one customer at a time, named by resident ID number (the channel has verified the
person): the customer is the household whose head holds that number. Everything else is fetched through
the household, so a customer never sees another's rows; a row of someone else is "not found", exactly as
a row that does not exist.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from xinedai.core.errors import NotFound, ValidationFailed
from xinedai.core.ids import parse_resident_id
from xinedai.credit.choices import LIVE_LINE_STATUSES
from xinedai.credit.models import CreditLine
from xinedai.households.choices import Relation
from xinedai.households.models import Household, Member
from xinedai.lending.choices import InstalmentStatus
from xinedai.lending.models import Instalment, Loan, Repayment
from xinedai.products.models import Product, ProductVersion
from xinedai.products.queries import catalogue


def customer(id_number: str | None, *, today: dt.date) -> Household:
    """The household whose head holds this resident ID number. Raises on a missing, malformed or unknown one."""
    if not id_number:
        raise ValidationFailed(
            "缺少客户身份证号", "The customer's resident ID number is required", code="customer_id_required", status=400
        )
    number = parse_resident_id(id_number, today=today).number
    head = (
        Member.objects.filter(id_number=number, relation=Relation.HEAD)
        .select_related("household__village__grid__outlet")
        .first()
    )
    if head is None:
        raise NotFound(
            "未找到该客户:身份证号不是本行任何户的户主",
            "No customer: the ID number is not the head of any household on file",
            code="customer_not_found",
        )
    household = head.household
    household.channel_head = head  # type: ignore[attr-defined]
    return household


def lines_of(household: Household) -> QuerySet[CreditLine]:
    """The customer's live lines (pending, posted, active, frozen)."""
    return CreditLine.objects.filter(household=household, status__in=LIVE_LINE_STATUSES).order_by("product_code")


def get_line(household: Household, pk: int) -> CreditLine:
    line = CreditLine.objects.filter(household=household, pk=pk).first()
    if line is None:
        raise NotFound("授信额度不存在", "No such credit line for this customer", code="line_not_found")
    return line


def loans_of(household: Household) -> QuerySet[Loan]:
    return Loan.objects.filter(household=household)


def get_loan(household: Household, pk: int) -> Loan:
    loan = loans_of(household).filter(pk=pk).first()
    if loan is None:
        raise NotFound("贷款不存在", "No such loan for this customer", code="loan_not_found")
    return loan


def schedule_of(loan: Loan) -> list[Instalment]:
    """The loan's current schedule (its current version, replaced rows left out)."""
    return list(
        Instalment.objects.filter(loan=loan, schedule_version=loan.schedule_version)
        .exclude(status=InstalmentStatus.SUPERSEDED)
        .order_by("number")
    )


def repayments_of(loan: Loan) -> QuerySet[Repayment]:
    return Repayment.objects.filter(loan=loan)


def products_for(household: Household, channel: str, *, on: dt.date) -> list[tuple[Product, ProductVersion]]:
    """Products in force on the date that this channel sells and that serve one of the customer's segments
    (a product without target segments serves everyone)."""
    segments = set(household.segment_list)
    return [
        (product, version)
        for product, version in catalogue(on)
        if channel in version.entry_points and (not version.segments or segments & set(version.segments))
    ]
