"""Monitoring pages: file coverage by outlet and grid; the loan portfolio (balance, overdue, NPL) of a
business date from the day-end snapshot — tables, a stacked bar by class and the NPL trend in Plotly."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from xinedai.core.errors import NotFound
from xinedai.households.access import households_for
from xinedai.org.access import grids_for, outlets_for, require_perm
from xinedai.servicing.access import snapshot_for, write_offs_monitored
from xinedai.servicing.choices import RiskClass

from . import queries


def _coverage_figure(rows: list[queries.CoverageRow]) -> str:
    names = [r.name for r in rows]
    fig = go.Figure()
    fig.add_bar(name=_("Households on file"), x=names, y=[r.households for r in rows], marker_color="#94a3b8")
    fig.add_bar(name=_("Three elements complete"), x=names, y=[r.complete for r in rows], marker_color="#b91c1c")
    fig.add_bar(name=_("Updated in 12 months"), x=names, y=[r.fresh for r in rows], marker_color="#15803d")
    fig.add_scatter(
        name=_("Complete %"),
        x=names,
        y=[round(r.complete_pct, 1) for r in rows],
        yaxis="y2",
        mode="lines+markers",
        line={"color": "#1d4ed8"},
    )
    fig.update_layout(
        barmode="group",
        margin={"l": 40, "r": 40, "t": 30, "b": 80},
        height=380,
        legend={"orientation": "h", "y": 1.12},
        yaxis={"title": _("Households")},
        yaxis2={"title": "%", "overlaying": "y", "side": "right", "range": [0, 100]},
        font={"family": "PingFang SC, Noto Sans CJK SC, Microsoft YaHei, sans-serif"},
    )
    return fig.to_json()


@login_required
def coverage(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, "org.view_monitoring")
    households = households_for(request.user)
    outlets = outlets_for(request.user)
    by_outlet = queries.coverage_by_outlet(households, outlets)
    level = "grid" if len(by_outlet) <= 1 or request.GET.get("level") == "grid" else "outlet"
    by_grid = queries.coverage_by_grid(households, grids_for(request.user)) if level == "grid" else []
    outlet_id = request.GET.get("outlet")
    if outlet_id and outlet_id.isdigit():
        by_grid = queries.coverage_by_grid(households, grids_for(request.user).filter(outlet_id=int(outlet_id)))
        level = "grid"
    chart_rows = by_grid if level == "grid" else by_outlet
    return render(
        request,
        "monitoring/coverage.html",
        {
            "by_outlet": by_outlet,
            "by_grid": by_grid,
            "level": level,
            "total": queries.totals(by_outlet),
            "figure": json.loads(_coverage_figure(chart_rows)),
        },
    )


# Portfolio ----------------------------------------------------------------------------------------

TREND_CHOICES = (7, 30, 90, 365)
TREND_DEFAULT = 30
# One colour per class, from good to bad; the same order as the stacked bar's traces.
CLASS_COLOURS = {1: "#15803d", 2: "#f59e0b", 3: "#ea580c", 4: "#b91c1c", 5: "#4b5563"}
FONT = {"family": "PingFang SC, Noto Sans CJK SC, Microsoft YaHei, sans-serif"}


def _wan(fen: int) -> str:
    """Fen as 万元 in an exact decimal string (money never goes out as a float, not even to a chart)."""
    return str(Decimal(fen).scaleb(-6))


def _balance_figure(names: list[str], by_class: list[dict[int, int]]) -> dict[str, Any]:
    fig = go.Figure()
    for rank, label in RiskClass.choices:
        fig.add_bar(
            name=str(label),
            x=names,
            y=[_wan(cells.get(rank, 0)) for cells in by_class],
            marker_color=CLASS_COLOURS[rank],
            hovertemplate="%{x}<br>" + str(label) + ": %{y:,.2f}<extra></extra>",
        )
    fig.update_layout(
        barmode="stack",
        margin={"l": 50, "r": 20, "t": 30, "b": 80},
        height=380,
        # Plotly lists stacked traces top-down (loss first); the classes read better from normal on.
        legend={"orientation": "h", "y": 1.12, "traceorder": "normal"},
        yaxis={"title": _("Balance (10,000 yuan)"), "type": "linear"},
        xaxis={"type": "category"},
        font=FONT,
    )
    return json.loads(fig.to_json())


def _trend_figure(points: list[queries.TrendPoint]) -> dict[str, Any]:
    fig = go.Figure()
    fig.add_scatter(
        name=_("NPL ratio"),
        x=[p.on.isoformat() for p in points],
        y=[None if p.npl_ratio is None else str(p.npl_ratio) for p in points],
        mode="lines+markers",
        line={"color": "#b91c1c"},
        hovertemplate="%{x}: %{y:.2f}%<extra></extra>",
    )
    fig.update_layout(
        margin={"l": 50, "r": 20, "t": 20, "b": 40},
        height=260,
        showlegend=False,
        yaxis={"title": _("NPL ratio (%)"), "type": "linear", "rangemode": "tozero"},
        xaxis={"type": "category"},  # business dates are points, not a continuous time
        font=FONT,
    )
    return json.loads(fig.to_json())


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
def portfolio(request: HttpRequest) -> HttpResponse:
    """The portfolio on a business date (default: the latest the day-end batch finished), in the user's
    scope, optionally narrowed to one outlet: KPIs, tables by branch / outlet / grid / manager / product,
    balance by class per outlet (per grid within one outlet) and the NPL ratio over the last N dates."""
    require_perm(request.user, "org.view_monitoring")
    scoped = snapshot_for(request.user)
    written_off = write_offs_monitored(request.user)
    outlets = outlets_for(request.user)
    outlet = None
    outlet_id = request.GET.get("outlet", "")
    if outlet_id.isdigit():
        outlet = outlets.filter(pk=int(outlet_id)).first()
        if outlet is None:
            raise NotFound("网点不存在或不在您的管辖范围内", "No such outlet in your scope", code="outlet_not_found")
        scoped = scoped.filter(outlet_id=outlet.pk)
        written_off = written_off.filter(outlet_id=outlet.pk)
    days = int(request.GET["days"]) if request.GET.get("days", "").isdigit() else TREND_DEFAULT
    days = days if days in TREND_CHOICES else TREND_DEFAULT
    asked = _date(request.GET.get("on"))
    dates = queries.snapshot_dates(days, until=asked)
    latest = queries.snapshot_dates(1) if asked else dates[:1]
    on = dates[0] if dates else None
    ctx: dict[str, Any] = {
        "on": on,
        "asked": asked,
        "latest": latest[0] if latest else None,
        "days": days,
        "trend_choices": TREND_CHOICES,
        "outlet": outlet,
    }
    if on is None:
        return render(request, "monitoring/portfolio.html", ctx)
    day = scoped.filter(business_on=on)
    by_outlet = queries.portfolio_by_outlet(day)
    level = "grid" if outlet is not None or outlets.count() <= 1 else "outlet"
    by_grid = queries.portfolio_by_grid(day)
    chart_rows = by_grid if level == "grid" else by_outlet
    cells = queries.balance_by_class(day, "grid_id" if level == "grid" else "outlet_id")
    ctx.update(
        {
            "level": level,
            "total": queries.portfolio_total(day),
            "by_class": queries.portfolio_by_class(day),
            "by_branch": queries.portfolio_by_branch(by_outlet) if level == "outlet" else [],
            "by_outlet": by_outlet,
            "by_grid": by_grid,
            "by_manager": queries.portfolio_by_manager(day),
            "by_product": queries.portfolio_by_product(day),
            "balance_figure": _balance_figure([r.name for r in chart_rows], [cells.get(r.key, {}) for r in chart_rows]),
            "trend_figure": _trend_figure(queries.npl_trend(scoped, dates)),
            # Written-off loans leave the snapshot (and the NPL figures): the year's write-offs beside them.
            "written_off": queries.written_off_between(written_off, on.replace(month=1, day=1), on),
        }
    )
    return render(request, "monitoring/portfolio.html", ctx)
