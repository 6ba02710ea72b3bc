"""Read models of the credit engine's configuration: model versions with their held-out figures, the
active model's score drift (PSI) against its training baseline, and a limit strategy's parameters laid
out for a person to read and compare."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from xinedai.core.dates import now
from xinedai.core.money import format_yuan

from . import rules
from .models import CreditDecision, LimitStrategy, ScoreModel
from .scorecard import psi

DRIFT_DAYS = 30  # the window of recent decisions whose scores are compared with the training baseline
DRIFT_MIN_DECISIONS = 100  # fewer than this: too few to say anything
# The usual reading of a PSI: below 0.1 stable, up to 0.25 worth watching, above a shifted population.
PSI_WATCH, PSI_SHIFT = 0.1, 0.25


def models() -> QuerySet[ScoreModel]:
    """Every model version, newest first within each family; the report is loaded for its figures."""
    return ScoreModel.objects.select_related("trained_by__staff", "approved_by__staff").order_by("family", "-version")


def held_out(model: ScoreModel) -> dict[str, Any]:
    """AUC, KS and Gini on the held-out split, and the variables kept, from the stored report."""
    report = model.report or {}
    test = report.get("test", {})
    return {
        "auc": test.get("auc"),
        "ks": test.get("ks"),
        "gini": test.get("gini"),
        "n_test": report.get("n_test"),
        "variables": len(model.compiled.get("variables", [])),
    }


@dataclass
class Drift:
    """Recent decisions' scores against the model's training baseline (its score bands)."""

    model: ScoreModel
    since: dt.datetime
    n: int
    psi: float | None  # None: too few decisions, or no baseline stored
    bands: list[str]
    baseline: list[float]
    recent: list[float]

    @property
    def level(self) -> str:
        if self.psi is None:
            return "unknown"
        return "shift" if self.psi > PSI_SHIFT else "watch" if self.psi > PSI_WATCH else "stable"

    @property
    def label(self) -> Any:
        return {
            "unknown": _("Too few decisions to tell"),
            "stable": _("Stable"),
            "watch": _("Worth watching"),
            "shift": _("Population has shifted"),
        }[self.level]

    @property
    def badge(self) -> str:
        return {"unknown": "gray", "stable": "green", "watch": "amber", "shift": "red"}[self.level]


def drift(model: ScoreModel, *, days: int = DRIFT_DAYS, at: dt.datetime | None = None) -> Drift:
    """The population stability index (training.psi) of the scores this model gave in the last `days`
    days, whoever asked for them (API, pages, batches, renewals), against the training split's bands
    (scorecard.psi)."""
    since = (at or now()) - dt.timedelta(days=days)
    # Counted by score in the database (scores are integers in a few hundred values), not read row by row:
    # a batch re-review writes a decision for every household.
    counts = list(
        CreditDecision.objects.filter(score_model=model, created_at__gte=since, score__isnull=False)
        .order_by()
        .values("score")
        .annotate(n=Count("pk"))
        .values_list("score", "n")
    )
    scores = np.repeat(
        np.asarray([s for s, _n in counts], dtype=np.float64), np.asarray([n for _s, n in counts], dtype=np.int64)
    )
    baseline = (model.report or {}).get("psi_baseline")
    if not baseline:
        return Drift(model, since, int(scores.size), None, [], [], [])
    edges = [float(e) for e in baseline["edges"]]
    bands = [f"< {edges[0]:.0f}"] if edges else ["all"]
    bands += [f"{lo:.0f}–{hi:.0f}" for lo, hi in itertools.pairwise(edges)]
    bands += [f"≥ {edges[-1]:.0f}"] if edges else []
    recent = (
        np.bincount(np.searchsorted(np.asarray(edges), scores, side="right"), minlength=len(edges) + 1) / scores.size
        if scores.size
        else np.zeros(len(edges) + 1)
    )
    value = psi(baseline, scores) if scores.size >= DRIFT_MIN_DECISIONS else None
    return Drift(
        model,
        since,
        int(scores.size),
        None if value is None else round(value, 4),
        bands,
        [round(float(p), 4) for p in baseline["proportions"]],
        [round(float(p), 4) for p in recent],
    )


def strategies() -> QuerySet[LimitStrategy]:
    return LimitStrategy.objects.select_related("created_by__staff", "approved_by__staff").order_by("-version")


def _yuan(fen: int) -> str:
    return format_yuan(fen, decimals=fen % 100 != 0)  # whole yuan without ".00", exact either way


def _multiple(value: Any) -> str:
    return f"{float(value):g}×"


def strategy_rows(params: dict[str, Any], against: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The parameters as (label, value, previous value when different) rows, for a person to read."""
    p = rules.StrategyParams.from_dict(params)
    old = rules.StrategyParams.from_dict(against) if against else None

    def row(label: Any, value: str, before: str | None) -> dict[str, Any]:
        return {"label": label, "value": value, "before": before if before is not None and before != value else None}

    def grade(q: rules.StrategyParams | None, name: str) -> str | None:
        if q is None:
            return None
        cutoffs = dict(q.grade_cutoffs)
        if name not in cutoffs:
            return "—"
        return f"≥ {cutoffs[name]} · {_yuan(q.grade_caps_fen[name])}"

    out = [
        row(_("Grade %(grade)s: minimum score · cap (yuan)") % {"grade": g}, grade(p, g) or "", grade(old, g))
        for g, _score in p.grade_cutoffs
    ]
    if old is not None:
        out += [
            row(_("Grade %(grade)s: minimum score · cap (yuan)") % {"grade": g}, "—", grade(old, g))
            for g, _score in old.grade_cutoffs
            if g not in dict(p.grade_cutoffs)
        ]

    def pick(q: rules.StrategyParams | None, fn: Any) -> str | None:
        return None if q is None else fn(q)

    fields: list[tuple[Any, Any]] = [
        (_("Net assets multiple"), lambda q: _multiple(q.net_assets_multiple)),
        (_("Disposable income multiple"), lambda q: _multiple(q.disposable_income_multiple)),
        (_("Pure online cap (yuan)"), lambda q: _yuan(q.channel_caps_fen["online"])),
        (_("Online + offline cap (yuan)"), lambda q: _yuan(q.channel_caps_fen["combined"])),
        (_("Rounding step (yuan)"), lambda q: _yuan(q.step_fen)),
        (_("Minimum limit (yuan)"), lambda q: _yuan(q.min_limit_fen)),
        (_("Small credit: cap (yuan)"), lambda q: _yuan(q.small_cap_fen)),
        (_("Small credit: income multiple"), lambda q: _multiple(q.small_income_multiple)),
        (_("Small credit: most overdue periods in 24 months"), lambda q: str(q.small_max_overdue_24m)),
        (_("Change guard: change of more than"), lambda q: f"{float(q.guard_ratio) * 100:g} %"),
        (_("Change guard: and more than (yuan)"), lambda q: _yuan(q.guard_min_fen)),
        (_("Change guard: within (days)"), lambda q: str(q.guard_window_days)),
    ]
    out += [row(label, fn(p), pick(old, fn)) for label, fn in fields]
    return out


def report_lines(report: dict[str, Any]) -> list[str]:
    """The training report as readable text lines: performance, IV per variable, bins and points."""
    out: list[str] = []
    t, tr = report.get("test", {}), report.get("train", {})
    out.append(
        f"target {report.get('target')!r}, bad = {report.get('bad_value')!r}; "
        f"train {report.get('n_train')} rows (bad rate {pct(report.get('bad_rate_train'))}), "
        f"test {report.get('n_test')} rows (bad rate {pct(report.get('bad_rate_test'))})"
    )
    out.append(
        f"scaling: {report.get('base_score')} points at odds {fmt(report.get('base_odds'), 1)}:1, "
        f"PDO {fmt(report.get('pdo'), 1)}; scores {report.get('score_range', {}).get('min')}"
        f"..{report.get('score_range', {}).get('max')}"
    )
    out.append("")
    out.append(f"{'':<8}{'AUC':>8}{'KS':>8}{'Gini':>8}")
    for label, m in (("test", t), ("train", tr)):
        out.append(f"{label:<8}{fmt(m.get('auc'), 4):>8}{fmt(m.get('ks'), 4):>8}{fmt(m.get('gini'), 4):>8}")
    out.append("")
    out.append("Information value")
    width = max([len(str(r["variable"])) for r in report.get("iv", [])] + [8])
    for r in report.get("iv", []):
        note = r["status"] + (f" ({r['reason']})" if r.get("reason") else "")
        out.append(f"  {r['variable']:<{width}} {fmt(r.get('iv'), 4):>8}  {note}")
    for v in report.get("variables", []):
        out.append("")
        out.append(f"{v['variable']}  ({v['kind']}, IV {fmt(v.get('iv'), 4)})")
        out.append(f"  {'bin':<40} {'count':>6} {'bad rate':>9} {'WOE':>8} {'points':>7}")
        for b in v["bins"]:
            label = str(b["label"])
            label = label if len(label) <= 40 else label[:37] + "..."
            out.append(
                f"  {label:<40} {b['count']:>6} {pct(b.get('bad_rate')):>9} {fmt(b.get('woe'), 3):>8} {b['points']:>7}"
            )
    if report.get("intercept_points"):
        out.append("")
        out.append(f"base points: {report['intercept_points']}")
    if "training_seconds" in report:
        out.append("")
        out.append(f"trained in {report['training_seconds']:.1f} s")
    return out


def fmt(value: Any, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"
