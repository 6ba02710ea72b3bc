"""The only way a channel finds its customer and that customer's lines, loans, repayments and products.

A channel acts for one customer at a time, named by resident ID number (the channel has verified the
person): the customer is the household whose head holds that number. Everything else is fetched through
the household, so a customer never sees another's rows; a row of someone else is "not found", exactly as
a row that does not exist.
"""

from __future__ import annotations

import datetime as dt
import functools

from django.db.models import Exists, OuterRef, QuerySet

from xinedai.core import statements
from xinedai.core.errors import NotFound, ValidationFailed
from xinedai.core.ids import parse_resident_id
from xinedai.credit.choices import LIVE_LINE_STATUSES
from xinedai.credit.models import CreditLine
from xinedai.households.choices import Relation
from xinedai.households.models import Household, Member
from xinedai.lending.choices import InstalmentStatus
from xinedai.lending.models import Instalment, Loan, Repayment
from xinedai.org.models import Grid, OrgUnit, Village
from xinedai.products.models import Product, ProductVersion
from xinedai.products.queries import catalogue

from .models import ContractAcceptance

# The reads of every channel write are compiled once per process and prepared on PostgreSQL
# (core.statements, docs/decisions/0006): a drawdown must answer in well under 100 ms at 32 clients.
_NUMBER = statements.Marker("<resident id number>")
_HOUSEHOLD = statements.Marker(-(2**62) + 5)
_LINE = statements.Marker(-(2**62) + 7)
_LOAN = statements.Marker(-(2**62) + 9)
_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1  # a key outside the column's range matches nothing
_CUSTOMER_PARTS = (
    (Household, "household__"),
    (Village, "household__village__"),
    (Grid, "household__village__grid__"),
    (OrgUnit, "household__village__grid__outlet__"),
)


@functools.cache
def _customer_statement() -> statements.Statement:
    names = statements.columns(Member) + [
        n for model, prefix in _CUSTOMER_PARTS for n in statements.columns(model, prefix)
    ]
    queryset = Member.objects.filter(id_number=_NUMBER.value, relation=Relation.HEAD).order_by().values(*names)
    return statements.Statement.compile(queryset, _NUMBER)


@functools.cache
def _line_statement(lock: bool) -> statements.Statement:
    queryset = CreditLine.objects.filter(household=_HOUSEHOLD.value, pk=_LINE.value).order_by()
    if lock:
        # A drawdown reads its line locked, and with it whether the customer has accepted a contract for
        # it: one round trip instead of two on the channel's busiest write.
        accepted = ContractAcceptance.objects.filter(household=OuterRef("household"), line=OuterRef("pk"))
        queryset = queryset.select_for_update().annotate(contract_accepted=Exists(accepted))
        return statements.Statement.compile(
            queryset.values(*statements.columns(CreditLine), "contract_accepted"), _HOUSEHOLD, _LINE
        )
    return statements.Statement.compile(queryset.values(*statements.columns(CreditLine)), _HOUSEHOLD, _LINE)


@functools.cache
def _schedule_statement() -> statements.Statement:
    queryset = Instalment.objects.filter(loan=_LOAN.value).exclude(status=InstalmentStatus.SUPERSEDED)
    return statements.Statement.compile(queryset.order_by("number").values(*statements.columns(Instalment)), _LOAN)


def customer(id_number: str | None, *, today: dt.date) -> Household:
    """The household whose head holds this resident ID number. Raises on a missing, malformed or unknown one."""
    if not id_number:
        raise ValidationFailed(
            "缺少客户身份证号", "The customer's resident ID number is required", code="customer_id_required", status=400
        )
    number = parse_resident_id(id_number, today=today).number
    statement = _customer_statement()
    row = statement.first(number)
    if row is None:
        raise NotFound(
            "未找到该客户:身份证号不是本行任何户的户主",
            "No customer: the ID number is not the head of any household on file",
            code="customer_not_found",
        )
    # The head, with its household, village, grid and outlet, as select_related() would have loaded them.
    head, household, village, grid, outlet = [
        statements.instance(model, row, statement.alias, prefix) for model, prefix in ((Member, ""), *_CUSTOMER_PARTS)
    ]
    grid.outlet = outlet
    village.grid = grid
    household.village = village
    head.household = household
    household.channel_head = head
    return household  # type: ignore[no-any-return]


def lines_of(household: Household) -> QuerySet[CreditLine]:
    """The customer's live lines (pending, posted, active, frozen)."""
    return CreditLine.objects.filter(household=household, status__in=LIVE_LINE_STATUSES).order_by("product_code")


def get_line(household: Household, pk: int, *, lock: bool = False) -> CreditLine:
    """One of the customer's lines; `lock`: its row locked (SELECT … FOR UPDATE) in the caller's
    transaction, as a use case that changes the line's use reads it (a drawdown)."""
    statement = _line_statement(lock)
    row = statement.first(household.pk, pk) if _BIGINT_MIN <= pk <= _BIGINT_MAX else None
    if row is None:
        raise NotFound("授信额度不存在", "No such credit line for this customer", code="line_not_found")
    line = statements.instance(CreditLine, row, statement.alias)
    if lock:
        line.contract_accepted = bool(row["contract_accepted"])  # see _line_statement
    return line  # type: ignore[no-any-return]


def loans_of(household: Household) -> QuerySet[Loan]:
    return Loan.objects.filter(household=household)


def get_loan(household: Household, pk: int) -> Loan:
    loan = loans_of(household).filter(pk=pk).first()
    if loan is None:
        raise NotFound("贷款不存在", "No such loan for this customer", code="loan_not_found")
    return loan


def schedule_of(loan: Loan) -> list[Instalment]:
    """The loan's current schedule (its current version, replaced rows left out)."""
    statement = _schedule_statement()
    return [
        statements.instance(Instalment, row, statement.alias)
        for row in statement.rows(loan.pk)
        if row["schedule_version"] == loan.schedule_version
    ]


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
