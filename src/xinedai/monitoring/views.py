"""Monitoring pages: file coverage by outlet and grid, as a table and a Plotly chart."""

from __future__ import annotations

import json

import plotly.graph_objects as go
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from xinedai.households.access import households_for
from xinedai.org.access import grids_for, outlets_for, require_perm

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
