"""Batch credit decisions: read many households' files, score, limit and write decisions and lines.

The same scorecard and strategy functions as a single decision, applied to whole arrays. Rows are
read with one query per chunk and written column-wise through core.bulk (COPY / executemany), never
one ORM save per household. Runs in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
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
from .services import LINE_TERM_DAYS, guarded_household_ids, product_cap_fen

Progress = Callable[[str, int, int], None]
PRODUCT = "xinedai"


@dataclass
class BatchResult:
    decided: int = 0
    granted: int = 0
    limit_fen: int = 0
    skipped: int = 0  # households without a file or a head with an ID number


def _stream(loader: BulkLoader, ids: Sequence[int], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
    """Households' current files and heads' birth dates, as columns, chunk by chunk from ONE query.

    One query reads each table once (a server-side cursor on PostgreSQL); a query per chunk would
    scan the members table again for every chunk.
    """
    h, f, m = Household._meta.db_table, FileVersion._meta.db_table, Member._meta.db_table
    file_cols = ", ".join(f"f.{c}" for c in features.NEEDED)
    where, params = loader.id_set("h.id", ids)
    sql = (
        f"SELECT h.id, h.size, h.segments, f.id, {file_cols}, m.birth_date FROM {h} h"
        f" JOIN {f} f ON f.id = h.current_file_id"
        f" JOIN {m} m ON m.household_id = h.id AND m.relation = 'head'"
        f" WHERE {where} AND m.birth_date IS NOT NULL ORDER BY h.id"
    )
    cursor = connection.chunked_cursor() if loader.vendor == "postgresql" else connection.cursor()
    with cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk_size):
            yield _columns(rows)


def _columns(rows: list[tuple[Any, ...]]) -> dict[str, np.ndarray]:
    cols = list(zip(*rows, strict=True))
    out: dict[str, np.ndarray] = {
        "household_id": np.asarray(cols[0], dtype=np.int64),
        "family_size": np.asarray(cols[1], dtype=np.int64),
        "segment": np.asarray([features.primary_segment(s) for s in cols[2]], dtype=object),
        "file_version_id": np.asarray(cols[3], dtype=np.int64),
    }
    for i, name in enumerate(features.NEEDED, start=4):
        out[name] = np.asarray(cols[i], dtype=np.int64)
    births = cols[-1]
    if births and not isinstance(births[0], dt.date):  # SQLite returns ISO text
        births = tuple(dt.date.fromisoformat(str(b)) for b in births)
    out["birth_date"] = np.asarray(births, dtype="datetime64[D]")
    return out


def iter_features(
    ids: Sequence[int], *, as_of: dt.date, chunk_size: int = 50_000
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """(household ids, feature columns) chunk by chunk: what the scorecard sees of each household."""
    loader = BulkLoader()
    for data in _stream(loader, sorted(int(i) for i in ids), chunk_size):
        data["age"] = _ages(data["birth_date"], as_of)
        yield data["household_id"], features.compute(data)


def _live_lines(loader: BulkLoader, ids: np.ndarray) -> list[tuple[int, int, str, int, int]]:
    """(line id, household id, product, limit, used) of the live lines of these households."""
    table = CreditLine._meta.db_table
    where, params = loader.id_set("household_id", ids.tolist())
    statuses = ", ".join(f"'{s.value}'" for s in LIVE_LINE_STATUSES)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, household_id, product_code, limit_fen, used_fen FROM {table}"
            f" WHERE {where} AND status IN ({statuses})",
            params,
        )
        return [(int(a), int(b), str(c), int(d), int(e)) for a, b, c, d, e in cursor.fetchall()]


def _ages(birth: np.ndarray, on: dt.date) -> np.ndarray:
    """Whole years between each birth date and `on` (a birthday not yet reached this year counts)."""
    years = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    months = (birth.astype("datetime64[M]") - birth.astype("datetime64[Y]")).astype(np.int64) + 1
    days = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    not_yet = (months > on.month) | ((months == on.month) & (days > on.day))
    return on.year - years - not_yet.astype(np.int64)


def _reasons_json(card: Scorecard, bins: np.ndarray, top: int = 3) -> list[str]:
    """The same reason codes as Scorecard.reasons(), as JSON text, for many rows at once."""
    earned = card.points_binned(bins)
    lost = card._max[None, :] - earned  # type: ignore[attr-defined]
    order = np.argsort(-lost, axis=1, kind="stable")[:, :top]
    names = [json.dumps(v.name) for v in card.variables]
    labels = [
        [json.dumps(v.labels[b] if b < len(v.labels) else str(b)) for b in range(v.n_bins)] + ['"missing"']
        for v in card.variables
    ]
    out = []
    for row_order, row_lost, row_earned, row_bins in zip(order, lost, earned, bins, strict=True):
        items = [
            f'{{"variable": {names[j]}, "bin": {labels[j][row_bins[j]]}, "points": {int(row_earned[j])}, '
            f'"points_lost": {int(row_lost[j])}}}'
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
    product_cap = product_cap_fen(IntakeMode.MODEL, channel, params, on=as_of)
    loader = BulkLoader()
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    at = now()
    expires = as_of + dt.timedelta(days=LINE_TERM_DAYS)
    result = BatchResult()
    ids = sorted(int(i) for i in household_ids)
    total = len(ids)
    for data in _stream(loader, ids, chunk_size):
        hid = data["household_id"]
        n = len(hid)
        data["age"] = _ages(data["birth_date"], as_of)
        feats = features.compute(data)
        bins = card.bin_columns(feats)
        scores = card.score_binned(bins)
        live = _live_lines(loader, hid)
        other: dict[int, int] = {}
        for _, h_id, product, limit, _used in live:
            if product != PRODUCT:  # the per-customer cap spans the customer's other products
                other[h_id] = other.get(h_id, 0) + limit
        exposure = np.asarray([other.get(int(i), 0) for i in hid], dtype=np.int64)
        limits = rules.model_limits(
            scores,
            net_assets_fen=feats["net_assets_yuan"] * 100,
            disposable_income_fen=feats["disposable_income_yuan"] * 100,
            exposure_fen=exposure,
            product_cap_fen=product_cap,
            channel=channel,
            params=params,
        )
        binding = rules.binding_names(limits.binding)
        # The key-information change guard: a sharp unexplained change never raises a limit in a batch.
        # Only a household that already holds a line of the product can have its limit raised.
        with_line = sorted({h for _, h, product, _, _ in live if product == PRODUCT})
        guarded: set[int] = set()
        for k in range(0, len(with_line), 10_000):
            guarded |= guarded_household_ids(with_line[k : k + 10_000], params)
        if guarded:
            current = {h: limit for _, h, product, limit, _ in live if product == PRODUCT}
            cap = np.asarray([current.get(int(h), 0) for h in hid], dtype=np.int64)
            held = np.isin(hid, np.asarray(sorted(guarded), dtype=np.int64)) & (limits.limit_fen > cap)
            limits.limit_fen = np.where(held, cap, limits.limit_fen)
            binding = ["change_guard" if h else b for h, b in zip(held.tolist(), binding, strict=True)]
        reasons = _reasons_json(card, bins)
        feature_names = [k for k in features.FEATURES if k != "segment"]
        template = "{" + ", ".join(f'"{k}": %d' for k in feature_names) + ', "segment": "%s", "exposure_fen": %d}'
        matrix = np.column_stack([*(feats[k] for k in feature_names), exposure]).tolist()
        inputs = [template % (*row[:-1], seg, row[-1]) for row, seg in zip(matrix, feats["segment"], strict=True)]
        first = loader.reserve(CreditDecision, n)
        decision_ids = np.arange(first, first + n, dtype=np.int64)
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
            # A line already drawn is re-reviewed one by one (services.grant_line), not replaced by a batch.
            drawn_ids = [h for _, h, product, _, used in live if product == PRODUCT and used > 0]
            granted = (limits.limit_fen > 0) & ~np.isin(hid, np.asarray(drawn_ids, dtype=np.int64))
            gid = hid[granted]
            regranted = set(gid.tolist())
            replaced = [line for line, h, product, _, _ in live if product == PRODUCT and h in regranted]
            if replaced:
                CreditLine.objects.filter(pk__in=replaced).update(status=LineStatus.REVOKED)
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
            progress("deciding", result.decided, total)
    result.skipped = total - result.decided
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
