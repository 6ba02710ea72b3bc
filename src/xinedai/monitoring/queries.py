"""Read models of the monitoring platform: file coverage by outlet and by grid."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from xinedai.households.models import Household
from xinedai.org.models import Grid, OrgUnit
from xinedai.org.queries import coverage_counts


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
