"""Batch credit decisions: read many households' files, score, limit and write decisions and lines.

The same scorecard and strategy functions as a single decision, applied to whole arrays. Rows are
read with one query per chunk and written column-wise through core.bulk (COPY / executemany), never
one ORM save per household. Runs in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection

from xinedai.core import audit
from xinedai.core.bulk import BulkLoader
from xinedai.core.dates import now
from xinedai.households.models import FileVersion, Household, Member

from . import features, rules
from .choices import LIVE_LINE_STATUSES, IntakeMode, LineStatus
from .models import CreditDecision, CreditLine, LimitStrategy, ScoreModel
from .scorecard import Scorecard
from .services import LINE_TERM_DAYS

Progress = Callable[[str, int, int], None]
PRODUCT = "xinedai"


@dataclass
class BatchResult:
    decided: int = 0
    granted: int = 0
    limit_fen: int = 0
    skipped: int = 0  # households without a file or a head with an ID number


def _fetch(ids: Sequence[int]) -> dict[str, np.ndarray]:
    """Households' current files and heads' birth dates, as columns."""
    h, f, m = Household._meta.db_table, FileVersion._meta.db_table, Member._meta.db_table
    placeholders = ", ".join(["%s"] * len(ids))
    file_cols = ", ".join(f"f.{c}" for c in features.NEEDED)
    sql = (
        f"SELECT h.id, h.size, h.segments, f.id, {file_cols}, m.birth_date FROM {h} h"
        f" JOIN {f} f ON f.id = h.current_file_id"
        f" JOIN {m} m ON m.household_id = h.id AND m.relation = 'head'"
        f" WHERE h.id IN ({placeholders}) AND m.birth_date IS NOT NULL ORDER BY h.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(ids))
        rows = cursor.fetchall()
    if not rows:
        return {}
    cols = list(zip(*rows, strict=True))
    out: dict[str, np.ndarray] = {
        "household_id": np.asarray(cols[0], dtype=np.int64),
        "family_size": np.asarray(cols[1], dtype=np.int64),
        "segment": np.asarray([features.primary_segment(s) for s in cols[2]], dtype=object),
        "file_version_id": np.asarray(cols[3], dtype=np.int64),
    }
    for i, name in enumerate(features.NEEDED, start=4):
        out[name] = np.asarray(cols[i], dtype=np.int64)
    out["birth_date"] = np.asarray(
        [b if isinstance(b, dt.date) else dt.date.fromisoformat(str(b)) for b in cols[-1]], dtype="datetime64[D]"
    )
    return out


def _ages(birth: np.ndarray, on: dt.date) -> np.ndarray:
    """Whole years between each birth date and `on` (a birthday not yet reached this year counts)."""
    years = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    months = (birth.astype("datetime64[M]") - birth.astype("datetime64[Y]")).astype(np.int64) + 1
    days = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    not_yet = (months > on.month) | ((months == on.month) & (days > on.day))
    return on.year - years - not_yet.astype(np.int64)


def _exposure(ids: np.ndarray) -> np.ndarray:
    """Limits of live lines of other products, per household (the per-customer cap spans products)."""
    totals: dict[int, int] = {}
    qs = (
        CreditLine.objects.filter(household_id__in=ids.tolist(), status__in=LIVE_LINE_STATUSES)
        .exclude(product_code=PRODUCT)
        .values_list("household_id", "limit_fen")
    )
    for hid, limit in qs:
        totals[hid] = totals.get(hid, 0) + int(limit)
    return np.asarray([totals.get(int(i), 0) for i in ids], dtype=np.int64)


def _reasons_json(card: Scorecard, bins: np.ndarray, top: int = 3) -> list[str]:
    earned = card.points_binned(bins)
    lost = card._max[None, :] - earned  # type: ignore[attr-defined]
    order = np.argsort(-lost, axis=1, kind="stable")[:, :top]
    names = [v.name for v in card.variables]
    out = []
    for row_order, row_lost, row_earned in zip(order, lost, earned, strict=True):
        items = [
            f'{{"variable": "{names[j]}", "points": {int(row_earned[j])}, "points_lost": {int(row_lost[j])}}}'
            for j in row_order
            if row_lost[j] > 0
        ]
        out.append("[" + ", ".join(items) + "]")
    return out


def decide_batch(
    household_ids: Sequence[int],
    *,
    actor: Any,
    model: ScoreModel,
    strategy: LimitStrategy,
    channel: str,
    as_of: dt.date,
    grant: bool = True,
    line_status: str = LineStatus.ACTIVE,
    source: str = "batch",
    chunk_size: int = 50_000,
    progress: Progress | None = None,
) -> BatchResult:
    """Decide (and grant lines for) many households. Replaces each household's live line of the product."""
    card = Scorecard.from_dict(model.compiled)
    params = rules.StrategyParams.from_dict(strategy.params)
    names = rules.grade_names(params)
    loader = BulkLoader()
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    at = now()
    expires = as_of + dt.timedelta(days=LINE_TERM_DAYS)
    result = BatchResult()
    ids = list(household_ids)
    total = len(ids)
    for start in range(0, total, chunk_size):
        chunk_ids = ids[start : start + chunk_size]
        data = _fetch(chunk_ids)
        if not data:
            result.skipped += len(chunk_ids)
            continue
        hid = data["household_id"]
        n = len(hid)
        result.skipped += len(chunk_ids) - n
        data["age"] = _ages(data["birth_date"], as_of)
        feats = features.compute(data)
        bins = card.bin_columns(feats)
        scores = card.score_binned(bins)
        exposure = _exposure(hid)
        limits = rules.model_limits(
            scores,
            net_assets_fen=feats["net_assets_yuan"] * 100,
            disposable_income_fen=feats["disposable_income_yuan"] * 100,
            exposure_fen=exposure,
            product_cap_fen=params.channel_caps_fen[channel],
            channel=channel,
            params=params,
        )
        reasons = _reasons_json(card, bins)
        feature_names = [k for k in features.FEATURES if k != "segment"]
        feature_matrix = np.column_stack([feats[k] for k in feature_names])
        inputs = [
            json.dumps(dict(zip(feature_names, map(int, row), strict=True)) | {"segment": seg, "exposure_fen": int(e)})
            for row, seg, e in zip(feature_matrix, feats["segment"], exposure, strict=True)
        ]
        first = loader.reserve(CreditDecision, n)
        decision_ids = np.arange(first, first + n, dtype=np.int64)
        binding = rules.binding_names(limits.binding)
        grade = [names[g] for g in limits.grade]
        loader.write(
            CreditDecision,
            {
                "id": decision_ids.tolist(),
                "household": hid.tolist(),
                "file_version": data["file_version_id"].tolist(),
                "mode": [IntakeMode.MODEL.value] * n,
                "channel": [channel] * n,
                "score": scores.tolist(),
                "grade": grade,
                "limit_fen": limits.limit_fen.tolist(),
                "binding": binding,
                "reasons": reasons,
                "inputs": inputs,
                "score_model": [model.pk] * n,
                "strategy": [strategy.pk] * n,
                "source": [source] * n,
                "created_at": [at] * n,
                "created_by": [actor_id] * n,
            },
        )
        result.decided += n
        if grant:
            live = CreditLine.objects.filter(
                household_id__in=hid.tolist(), product_code=PRODUCT, status__in=LIVE_LINE_STATUSES
            )
            # A line already drawn is re-reviewed one by one (grant_line), not replaced by a batch.
            drawn = np.isin(
                hid,
                np.asarray(list(live.filter(used_fen__gt=0).values_list("household_id", flat=True)), dtype=np.int64),
            )
            granted = (limits.limit_fen > 0) & ~drawn
            gid = hid[granted]
            live.filter(household_id__in=gid.tolist()).update(status=LineStatus.REVOKED)
            m = int(granted.sum())
            loader.write(
                CreditLine,
                {
                    "household": gid.tolist(),
                    "product_code": [PRODUCT] * m,
                    "limit_fen": limits.limit_fen[granted].tolist(),
                    "used_fen": [0] * m,
                    "intake_mode": [IntakeMode.MODEL.value] * m,
                    "channel": [channel] * m,
                    "status": [line_status] * m,
                    "decision": decision_ids[granted].tolist(),
                    "granted_at": [at] * m,
                    "expires_on": [expires] * m,
                    "granted_by": [actor_id] * m,
                },
            )
            result.granted += m
            result.limit_fen += int(limits.limit_fen[granted].sum())
        if progress:
            progress("deciding", min(start + len(chunk_ids), total), total)
    audit.record(
        actor,
        "credit.batch",
        object_type="credit.creditdecision",
        object_id="batch",
        after={
            "households": total,
            "decided": result.decided,
            "granted": result.granted,
            "limit_fen": result.limit_fen,
            "model": model.version,
            "strategy": strategy.version,
            "channel": channel,
            "source": source,
        },
    )
    return result
