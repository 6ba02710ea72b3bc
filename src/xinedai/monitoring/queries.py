"""Read models of the monitoring platform: file coverage by outlet and by grid; the loan portfolio (balance,
overdue, NPL) by branch, outlet, grid, account manager, product and class, and its NPL trend, from the
day-end snapshot."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import BigIntegerField, Case, Count, F, QuerySet, Sum, Value, When

from xinedai.households.models import Household
from xinedai.ledger.choices import EntryKind
from xinedai.ledger.models import JournalEntry
from xinedai.lending.models import Repayment
from xinedai.org.models import Grid, OrgUnit, StaffProfile
from xinedai.org.queries import coverage_counts
from xinedai.products.models import Product
from xinedai.servicing.choices import DayStatus, RiskClass
from xinedai.servicing.models import BusinessDay, PortfolioDay, WriteOffRequest


@dataclass
class CoverageRow:
    key: int
    name: str
    parent: str
    households: int
    complete: int
    fresh: int

    @property
    def complete_pct(self) -> float:
        return self.complete * 100 / self.households if self.households else 0.0

    @property
    def fresh_pct(self) -> float:
        return self.fresh * 100 / self.households if self.households else 0.0


def coverage_by_outlet(households: QuerySet[Household], outlets: QuerySet[OrgUnit]) -> list[CoverageRow]:
    counts = coverage_counts(households, "village__grid__outlet")
    rows = []
    for o in outlets.select_related("parent").order_by("code"):
        n, c, f = counts.get(o.pk, (0, 0, 0))
        rows.append(CoverageRow(o.pk, o.name, o.parent.name if o.parent else "", n, c, f))
    return rows


def coverage_by_grid(households: QuerySet[Household], grids: QuerySet[Grid]) -> list[CoverageRow]:
    counts = coverage_counts(households, "village__grid")
    rows = []
    for g in grids.order_by("outlet__code", "code"):
        n, c, f = counts.get(g.pk, (0, 0, 0))
        if g.parent_id is not None or n:
            rows.append(CoverageRow(g.pk, g.name, g.outlet.name, n, c, f))
    return rows


def totals(rows: list[CoverageRow]) -> CoverageRow:
    return CoverageRow(
        0, "", "", sum(r.households for r in rows), sum(r.complete for r in rows), sum(r.fresh for r in rows)
    )


# Portfolio (the day-end snapshot) -------------------------------------------------------------------
#
# Every figure below is a sum over servicing.PortfolioDay, the snapshot the day-end batch writes by
# date × grid × product × class (a few hundred rows a day at a million loans): the loans table is never
# read, so the page costs the same at a thousand loans or a million.

NPL_FROM = RiskClass.SUBSTANDARD  # substandard, doubtful and loss are non-performing (servicing.choices)
RATIO_PLACES = Decimal("0.01")


def _npl_balance() -> Sum:
    return Sum(
        Case(
            When(risk_class__gte=NPL_FROM, then=F("principal_outstanding_fen")),
            default=Value(0),
            output_field=BigIntegerField(),
        )
    )


SUMS = {
    "loans": Sum("loan_count"),
    "overdue_loans": Sum("overdue_loan_count"),
    "balance_fen": Sum("principal_outstanding_fen"),
    "overdue_principal_fen": Sum("overdue_principal_fen"),
    "overdue_balance_fen": Sum("overdue_balance_fen"),
    "npl_fen": _npl_balance(),
    "interest_fen": Sum("interest_receivable_fen"),
    "penalty_fen": Sum("penalty_receivable_fen"),
}
FIGURES = tuple(SUMS)


def npl_ratio(npl_fen: int, balance_fen: int) -> Decimal | None:
    """NPL balance over total balance, in percent with two decimals (ROUND_HALF_UP); None without loans."""
    if not balance_fen:
        return None
    return (Decimal(npl_fen * 100) / Decimal(balance_fen)).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)


@dataclass
class PortfolioRow:
    """Sums of the snapshot for one key (an outlet, a grid, a manager, a product, a class, or the total)."""

    key: Any = None
    name: str = ""
    parent: str = ""
    parent_key: Any = None
    loans: int = 0
    overdue_loans: int = 0
    balance_fen: int = 0
    overdue_principal_fen: int = 0
    overdue_balance_fen: int = 0
    npl_fen: int = 0
    interest_fen: int = 0
    penalty_fen: int = 0

    @property
    def npl_ratio(self) -> Decimal | None:
        return npl_ratio(self.npl_fen, self.balance_fen)

    def add(self, other: PortfolioRow) -> None:
        for f in FIGURES:
            setattr(self, f, getattr(self, f) + getattr(other, f))


def _row(values: dict[str, Any], key: Any = None) -> PortfolioRow:
    row = PortfolioRow(key=key)
    for f in FIGURES:
        setattr(row, f, int(values.get(f) or 0))  # SUM of no rows is NULL
    return row


def snapshot_dates(limit: int, *, until: dt.date | None = None) -> list[dt.date]:
    """The latest business dates whose day-end batch is done (its snapshot complete), newest first."""
    qs = BusinessDay.objects.filter(status=DayStatus.DONE)
    if until is not None:
        qs = qs.filter(business_on__lte=until)
    return list(qs.order_by("-business_on").values_list("business_on", flat=True)[:limit])


def portfolio_total(rows: QuerySet[PortfolioDay]) -> PortfolioRow:
    return _row(rows.aggregate(**SUMS))


def _grouped(rows: QuerySet[PortfolioDay], field: str) -> dict[Any, PortfolioRow]:
    return {v[field]: _row(v, v[field]) for v in rows.values(field).annotate(**SUMS).order_by(field)}


def _by_balance(rows: list[PortfolioRow]) -> list[PortfolioRow]:
    return sorted(rows, key=lambda r: (-r.balance_fen, r.name))


def portfolio_by_class(rows: QuerySet[PortfolioDay]) -> list[PortfolioRow]:
    """One row per class, all five, in order (a class without loans shows zeros)."""
    grouped = _grouped(rows, "risk_class")
    out = []
    for rank, label in RiskClass.choices:
        row = grouped.get(rank) or PortfolioRow(key=rank)
        row.key, row.name = rank, str(label)
        out.append(row)
    return out


def portfolio_by_outlet(rows: QuerySet[PortfolioDay]) -> list[PortfolioRow]:
    grouped = _grouped(rows, "outlet_id")
    for o in OrgUnit.objects.filter(pk__in=grouped).select_related("parent"):
        row = grouped[o.pk]
        row.name, row.parent, row.parent_key = o.name, o.parent.name if o.parent else "", o.parent_id
    return _by_balance(list(grouped.values()))


def portfolio_by_branch(by_outlet: list[PortfolioRow]) -> list[PortfolioRow]:
    """The outlets' rows (portfolio_by_outlet) summed under the unit each reports to (its branch)."""
    branches: dict[Any, PortfolioRow] = {}
    for row in by_outlet:
        branch = branches.setdefault(row.parent_key, PortfolioRow(key=row.parent_key, name=row.parent))
        branch.add(row)
    return _by_balance(list(branches.values()))


def portfolio_by_grid(rows: QuerySet[PortfolioDay]) -> list[PortfolioRow]:
    grouped = _grouped(rows, "grid_id")
    for g in Grid.objects.filter(pk__in=grouped).select_related("outlet"):
        grouped[g.pk].name, grouped[g.pk].parent = g.name, g.outlet.name
    return _by_balance(list(grouped.values()))


def portfolio_by_manager(rows: QuerySet[PortfolioDay]) -> list[PortfolioRow]:
    """By the grid's account manager on that date (the snapshot keeps the owner of the day)."""
    grouped = _grouped(rows, "manager_id")
    for s in StaffProfile.objects.filter(user_id__in=[k for k in grouped if k is not None]).select_related("org_unit"):
        grouped[s.user_id].name, grouped[s.user_id].parent = s.display_name, s.org_unit.name
    return _by_balance(list(grouped.values()))


def portfolio_by_product(rows: QuerySet[PortfolioDay]) -> list[PortfolioRow]:
    grouped = _grouped(rows, "product_code")
    names = dict(Product.objects.filter(code__in=grouped).values_list("code", "name"))
    for code, row in grouped.items():
        row.name, row.parent = names.get(code, code), code
    return _by_balance(list(grouped.values()))


def balance_by_class(rows: QuerySet[PortfolioDay], field: str) -> dict[Any, dict[int, int]]:
    """{key of `field` (outlet_id or grid_id): {class: principal outstanding in fen}} for the stacked bar."""
    out: dict[Any, dict[int, int]] = {}
    for v in rows.values(field, "risk_class").annotate(b=Sum("principal_outstanding_fen")).order_by():
        out.setdefault(v[field], {})[v["risk_class"]] = int(v["b"] or 0)
    return out


@dataclass
class TrendPoint:
    on: dt.date
    balance_fen: int
    npl_fen: int

    @property
    def npl_ratio(self) -> Decimal | None:
        return npl_ratio(self.npl_fen, self.balance_fen)


def npl_trend(rows: QuerySet[PortfolioDay], dates: list[dt.date]) -> list[TrendPoint]:
    """Balance and NPL balance on each of these business dates, oldest first (a date without loans in
    scope shows zeros). One range read of the snapshot's (business_on, …) index."""
    if not dates:
        return []
    sums = {
        v["business_on"]: (int(v["balance_fen"] or 0), int(v["npl_fen"] or 0))
        for v in rows.filter(business_on__gte=min(dates), business_on__lte=max(dates))
        .values("business_on")
        .annotate(balance_fen=SUMS["balance_fen"], npl_fen=SUMS["npl_fen"])
        .order_by()
    }
    return [TrendPoint(on, *sums.get(on, (0, 0))) for on in sorted(dates)]


def written_off_between(write_offs: QuerySet[WriteOffRequest], first: dt.date, last: dt.date) -> dict[str, int]:
    """Among already scoped, approved write-offs: how many loans were written off from `first` to `last`
    (business dates) and their principal, and what was recovered in those dates on any written-off loan
    of the scope (recoveries are the repayments posted as such; read by loan id, not through the loans)."""
    sums = write_offs.filter(written_off_on__range=(first, last)).aggregate(
        n=Count("pk"), principal=Sum("principal_fen")
    )
    recovered = Repayment.objects.filter(
        loan_id__in=write_offs.values("loan_id"),
        paid_on__range=(first, last),
        reversed_at__isnull=True,  # a recovery reversed the same day (冲正) brought nothing in
        journal_entry_id__in=JournalEntry.objects.filter(kind=EntryKind.RECOVERY).values("pk"),
    ).aggregate(s=Sum("amount_fen"))
    return {
        "count": int(sums["n"] or 0),
        "principal_fen": int(sums["principal"] or 0),
        "recovered_fen": int(recovered["s"] or 0),
    }
