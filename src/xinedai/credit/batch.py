"""Batch credit decisions: read many households' files, score, limit and write decisions and lines.

The same scorecard and strategy functions as a single decision, applied to whole arrays. The work is
set-based end to end:

1. one query reads every household's current file, head's birth date and live lines (PostgreSQL streams
   it as CSV through COPY into pandas' C parser);
2. numpy computes features, bins, scores, limits and the reason codes (one JSON text per distinct set of
   reasons, not per household);
3. the integer results go into a temporary staging table (one binary COPY built by numpy);
4. two INSERT … SELECT statements per chunk write the decisions (the database builds each decision's
   inputs JSON) and the lines, and an UPDATE by id revokes the lines they replace.

No Python code runs per household on PostgreSQL. Runs in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Q

from xinedai.core import audit
from xinedai.core.bulk import BulkLoader
from xinedai.core.dates import now
from xinedai.core.errors import BusinessError
from xinedai.households.models import FileVersion, Household, Member

from . import features, rules
from .choices import LIVE_LINE_STATUSES, IntakeMode, LineStatus
from .models import EXPIRED_WITH_LOANS, INPUT_COLUMNS, CreditDecision, CreditLine, LimitStrategy, ScoreModel
from .scorecard import Scorecard
from .services import (
    LINE_TERM_DAYS,
    active_model,
    active_strategy,
    decide,
    grant_line,
    guarded_household_ids,
    product_cap_fen,
)

Progress = Callable[[str, int, int], None]
PRODUCT = "xinedai"
STAGE = "credit_batch_stage"
TEXTS = "credit_batch_text"
REASONS = "credit_batch_reasons"
TOP_REASONS = 3
# The decision's typed inputs other than the segment (a text) and the exposure: the features the model saw.
INPUT_FEATURES = [k for k in INPUT_COLUMNS if k not in ("segment", "exposure_fen")]
_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class BatchResult:
    decided: int = 0
    granted: int = 0
    limit_fen: int = 0
    skipped: int = 0  # households without a file or a head with an ID number
    blocked: int = 0  # decided, but not granted: the customer still owes on a written-off loan


# Reading -----------------------------------------------------------------------------------------

_READ_COLUMNS = [
    "household_id",
    "family_size",
    "segments",
    "file_version_id",
    *features.NEEDED,
    "birth",
    "other_exposure_fen",  # live lines of other products: the per-customer cap spans them
    "line_id",  # the live line of this product, 0 when none
    "line_limit_fen",
    "line_used_fen",
    "line_file_version_id",  # the file version that line was granted on, 0 when unknown
]


def _read_sql(
    loader: BulkLoader,
    ids: Sequence[int],
    segments: Sequence[str] = (),
    *,
    whole: bool = False,
    product_code: str = PRODUCT,
) -> tuple[str, list[Any]]:
    """The one query that reads what a batch needs. On PostgreSQL every column is a bigint (the packed
    segments become their 1-based position in `segments`) so that it packs into int64 arrays.
    `whole` reads every household (the caller filters): cheaper when the set is most of the bank."""
    h, f, m = Household._meta.db_table, FileVersion._meta.db_table, Member._meta.db_table
    line, decision = CreditLine._meta.db_table, CreditDecision._meta.db_table
    live = ", ".join(f"'{s.value}'" for s in LIVE_LINE_STATUSES)
    line_where, line_params = ("TRUE", []) if whole else loader.id_set("l.household_id", ids)
    pg = loader.vendor == "postgresql"
    if pg:
        file_cols = ", ".join(f"f.{c}::bigint" for c in features.NEEDED)
        head = "h.id, h.size::bigint, COALESCE(array_position(%s::text[], h.segments), 0)::bigint, f.id"
        birth = "(m.birth_date - DATE '1970-01-01')::bigint"
        # A join with the unnested id set lets the planner see how many rows come (an = ANY filter does not).
        head_params: list[Any] = [list(segments)]
        hh_where, hh_from, hh_params = "TRUE", "", []
        if not whole:
            hh_from, hh_params = (
                "JOIN unnest(%s::bigint[]) AS wanted(id) ON wanted.id = h.id",
                [loader.id_set("x", ids)[1][0]],
            )
    else:
        file_cols = ", ".join(f"f.{c}" for c in features.NEEDED)
        head, birth, head_params = "h.id, h.size, h.segments, f.id", "m.birth_date", []
        hh_where, hh_params = loader.id_set("h.id", ids)
        hh_from = ""
    sql = (
        f"SELECT {head}, {file_cols}, {birth},"
        " COALESCE(x.other_fen, 0), COALESCE(x.line_id, 0), COALESCE(x.line_limit, 0), COALESCE(x.line_used, 0),"
        " COALESCE(x.line_fv, 0)"
        f" FROM {h} h {hh_from}"
        f" JOIN {f} f ON f.id = h.current_file_id"
        f" JOIN {m} m ON m.household_id = h.id AND m.relation = 'head'"
        " LEFT JOIN (SELECT l.household_id,"
        # services.exposure_fen: a live line holds its limit, an expired one what is still owed on it.
        f"  SUM(CASE WHEN l.product_code = %s THEN 0 WHEN l.status IN ({live}) THEN l.limit_fen ELSE l.used_fen END)"
        " AS other_fen,"
        "  MAX(CASE WHEN l.product_code = %s THEN l.id END) AS line_id,"
        "  MAX(CASE WHEN l.product_code = %s THEN l.limit_fen END) AS line_limit,"
        "  MAX(CASE WHEN l.product_code = %s THEN l.used_fen END) AS line_used,"
        "  MAX(CASE WHEN l.product_code = %s THEN d.file_version_id END) AS line_fv"
        f"  FROM {line} l LEFT JOIN {decision} d ON d.id = l.decision_id"
        # An expired line with loans still on it counts as drawn: renewed one by one (services.grant_line).
        f"  WHERE {line_where} AND (l.status IN ({live}) OR (l.status = 'expired' AND l.used_fen > 0))"
        "  GROUP BY l.household_id) x ON x.household_id = h.id"
        f" WHERE {hh_where} AND m.birth_date IS NOT NULL"
    )
    if pg:
        return sql, head_params + hh_params + [product_code] * 5 + line_params
    return sql, [product_code] * 5 + line_params + hh_params


def _read(loader: BulkLoader, ids: Sequence[int], product_code: str = PRODUCT) -> dict[str, np.ndarray]:
    """Every household's current file, head's birth date and live lines, as numpy columns (one query)."""
    if loader.vendor == "postgresql":
        return _read_postgresql(loader, ids, product_code)
    sql, params = _read_sql(loader, ids, product_code=product_code)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(_READ_COLUMNS)
    out = {}
    for name, values in zip(_READ_COLUMNS, cols, strict=True):
        if name == "segments":
            out[name] = np.asarray(values, dtype=object)
        elif name == "birth":
            out[name] = np.asarray([dt.date.fromisoformat(str(v)) for v in values], dtype="datetime64[D]")
        else:
            out[name] = np.asarray(values, dtype=np.int64)
    return out


def _read_postgresql(loader: BulkLoader, ids: Sequence[int], product_code: str) -> dict[str, np.ndarray]:
    """The read as one row of one bytea per column, which numpy views in place: no Python code per row.

    Every column is a non-null bigint; `string_agg(int8send(column))` packs a column's values as
    big-endian int64s. All aggregates of one query consume the same rows in the same order, so the
    columns line up. (COPY would hand Python one message per row: seconds for a million.)
    """
    import psycopg

    table = Household._meta.db_table
    with connection.cursor() as cursor:
        # Every distinct packed segments value of the bank, by a loose scan of its index: one probe per
        # value (a few dozen), where DISTINCT over the id set would read a million rows.
        cursor.execute(
            f"WITH RECURSIVE s(v) AS (SELECT MIN(segments) FROM {table} UNION ALL"
            f" SELECT (SELECT MIN(segments) FROM {table} WHERE segments > s.v) FROM s WHERE s.v IS NOT NULL)"
            " SELECT v FROM s WHERE v IS NOT NULL"
        )
        segments = [str(r[0]) for r in cursor.fetchall()]
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        whole = len(ids) * 2 >= int(cursor.fetchone()[0])
        # Hashes of a million rows fit in memory, for this transaction only.
        cursor.execute("SET LOCAL work_mem = '256MB'")
    sql, params = _read_sql(loader, ids, segments, whole=whole, product_code=product_code)
    names = [f"c{i}" for i in range(len(_READ_COLUMNS))]
    packed = ", ".join(f"string_agg(int8send(r.{c}::bigint), ''::bytea)" for c in names)
    connection.ensure_connection()
    raw = connection.connection
    query = psycopg.ClientCursor(raw).mogrify(f"SELECT {packed} FROM ({sql}) AS r({', '.join(names)})", params)
    with psycopg.Cursor(raw) as cursor:  # binary results: the bytea arrives as raw bytes
        cursor.execute(query, binary=True)
        row = cursor.fetchone()
    if row is None or row[0] is None:
        out = {name: np.empty(0, dtype=np.int64) for name in _READ_COLUMNS}
    else:
        out = {name: np.frombuffer(v, dtype=">i8").astype(np.int64) for name, v in zip(_READ_COLUMNS, row, strict=True)}
    if whole:  # the set is most of the bank: the whole table was read, keep the wanted rows
        keep = np.isin(out["household_id"], np.asarray(ids, dtype=np.int64))
        out = {name: values[keep] for name, values in out.items()}
    out["segments"] = np.asarray(["", *segments], dtype=object)[out["segments"]]
    out["birth"] = out["birth"].astype("datetime64[D]")
    return out


def _segments(packed: np.ndarray) -> np.ndarray:
    """Primary segment of each household, computed once per distinct packed value."""
    if not len(packed):
        return np.empty(0, dtype=object)
    distinct, inverse = np.unique(packed.astype(str), return_inverse=True)
    primary = np.asarray([features.primary_segment(s) for s in distinct], dtype=object)
    return primary[inverse]


def _ages(birth: np.ndarray, on: dt.date) -> np.ndarray:
    """Whole years between each birth date and `on` (a birthday not yet reached this year counts)."""
    years = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    months = (birth.astype("datetime64[M]") - birth.astype("datetime64[Y]")).astype(np.int64) + 1
    days = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    not_yet = (months > on.month) | ((months == on.month) & (days > on.day))
    return on.year - years - not_yet.astype(np.int64)


def _features(data: dict[str, np.ndarray], as_of: dt.date) -> dict[str, np.ndarray]:
    cols: dict[str, Any] = {k: data[k] for k in features.NEEDED}
    cols.update(age=_ages(data["birth"], as_of), family_size=data["family_size"], segment=_segments(data["segments"]))
    return features.compute(cols)


def iter_features(
    ids: Sequence[int], *, as_of: dt.date, chunk_size: int = 50_000
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """(household ids, feature columns) chunk by chunk: what the scorecard sees of each household."""
    loader = BulkLoader()
    data = _read(loader, sorted(int(i) for i in ids))
    feats = _features(data, as_of)
    for start in range(0, len(data["household_id"]), chunk_size):
        part = slice(start, start + chunk_size)
        yield data["household_id"][part], {k: v[part] for k, v in feats.items()}


# Reason codes ------------------------------------------------------------------------------------


def _reason_keys(card: Scorecard, bins: np.ndarray, top: int = TOP_REASONS) -> tuple[np.ndarray, list[str]]:
    """Each row's reason codes as an index into a list of distinct JSON texts.

    The same codes as Scorecard.reasons(): the variables that lost most points against their best bin,
    in that order, with the bin and the points. Rows share a text when they share their top reasons.
    """
    n = bins.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64), []
    earned = card.points_binned(bins)
    lost = card._max[None, :] - earned  # type: ignore[attr-defined]
    order = np.argsort(-lost, axis=1, kind="stable")[:, :top]
    rows = np.arange(n)[:, None]
    # One integer per row: for each of the top reasons, variable and bin (0 = no reason), 16 bits each.
    code = np.zeros(n, dtype=np.int64)
    for t in range(order.shape[1]):
        j = order[:, t]
        taken = lost[rows[:, 0], j] > 0
        part = np.where(taken, j.astype(np.int64) * 256 + bins[rows[:, 0], j].astype(np.int64) + 1, 0)
        code = code * 65536 + part
    distinct, inverse = np.unique(code, return_inverse=True)
    texts = []
    maxes = card._max  # type: ignore[attr-defined]
    for value in distinct.tolist():
        parts = []
        for t in range(order.shape[1]):
            part = (value >> (16 * (order.shape[1] - 1 - t))) & 0xFFFF
            if part:
                parts.append(divmod(part - 1, 256))
        items = []
        for j, b in parts:
            v = card.variables[j]
            label = "missing" if b == v.n_bins else (v.labels[b] if b < len(v.labels) else str(b))
            points = int(v.table[b])
            items.append({"variable": v.name, "bin": label, "points": points, "points_lost": int(maxes[j]) - points})
        texts.append(json.dumps(items, ensure_ascii=False))
    return inverse.astype(np.int64), texts


# Writing -----------------------------------------------------------------------------------------

_STAGE_COLUMNS = [
    "seq",
    "decision_id",
    "household_id",
    "file_version_id",
    "score",
    "grade_t",
    "limit_fen",
    "binding_t",
    "reasons_t",
    "segment_t",
    "exposure_fen",
    "grant_line",
    *INPUT_FEATURES,
]


def _create_stage(loader: BulkLoader) -> None:
    qn = connection.ops.quote_name
    json_type = "jsonb" if loader.vendor == "postgresql" else "text"
    on_commit = " ON COMMIT DROP" if loader.vendor == "postgresql" else ""
    _drop_stage()
    with connection.cursor() as cursor:
        columns = ", ".join(f"{qn(c)} bigint NOT NULL" for c in _STAGE_COLUMNS)
        cursor.execute(f"CREATE TEMPORARY TABLE {qn(STAGE)} ({columns}){on_commit}")
        cursor.execute(f"CREATE TEMPORARY TABLE {qn(TEXTS)} (id bigint PRIMARY KEY, value text NOT NULL){on_commit}")
        # Reason codes are parsed into JSON once per distinct set here, not once per decision.
        cursor.execute(
            f"CREATE TEMPORARY TABLE {qn(REASONS)} (id bigint PRIMARY KEY, doc {json_type} NOT NULL){on_commit}"
        )


def _drop_stage() -> None:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in (STAGE, TEXTS, REASONS):
            cursor.execute(f"DROP TABLE IF EXISTS {qn(table)}")


class _Texts:
    """A staging table of the few distinct texts (grades, bindings, segments; reason sets) rows point at."""

    def __init__(self, table: str, column: str) -> None:
        self.table, self.column = table, column
        self.ids: dict[str, int] = {}
        self.written = 0

    def index(self, values: np.ndarray) -> np.ndarray:
        """Text ids of an array of texts, looked up once per distinct value."""
        if not len(values):
            return np.empty(0, dtype=np.int64)
        distinct, inverse = np.unique(values.astype(str), return_inverse=True)
        return self.ids_of(distinct.tolist())[inverse]

    def ids_of(self, values: Sequence[str]) -> np.ndarray:
        return np.asarray([self.ids.setdefault(v, len(self.ids)) for v in values], dtype=np.int64)

    def flush(self) -> None:
        """Write the texts met since the last flush."""
        new = [(i, v) for v, i in self.ids.items() if i >= self.written]
        if new:
            qn = connection.ops.quote_name
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {qn(self.table)} (id, {qn(self.column)}) VALUES (%s, %s)", new)
            self.written += len(new)


def _insert_decisions_sql() -> str:
    qn = connection.ops.quote_name
    typed = ", ".join(qn(c) for c in INPUT_FEATURES)
    return (
        f"INSERT INTO {qn(CreditDecision._meta.db_table)} (id, household_id, file_version_id, product_code, mode,"
        " channel, score,"
        f" grade, limit_fen, binding, reasons, {typed}, segment, exposure_fen, details, score_model_id,"
        " strategy_id, source, created_at, created_by_id)"
        " SELECT s.decision_id, s.household_id, s.file_version_id, %s, %s, %s, s.score, g.value, s.limit_fen, b.value,"
        f" r.doc, {', '.join(f's.{qn(c)}' for c in INPUT_FEATURES)}, sg.value, s.exposure_fen, '{{}}', %s, %s, %s,"
        " %s, %s"
        f" FROM {qn(STAGE)} s JOIN {qn(TEXTS)} g ON g.id = s.grade_t JOIN {qn(TEXTS)} b ON b.id = s.binding_t"
        f" JOIN {qn(REASONS)} r ON r.id = s.reasons_t JOIN {qn(TEXTS)} sg ON sg.id = s.segment_t"
        " WHERE s.seq >= %s AND s.seq < %s"
    )


def _insert_lines_sql() -> str:
    qn = connection.ops.quote_name
    return (
        f"INSERT INTO {qn(CreditLine._meta.db_table)} (household_id, product_code, limit_fen, used_fen, intake_mode,"
        " channel, status, decision_id, granted_at, expires_on, granted_by_id)"
        " SELECT s.household_id, %s, s.limit_fen, 0, %s, %s, %s, s.decision_id, %s, %s, %s"
        f" FROM {qn(STAGE)} s WHERE s.grant_line = 1 AND s.seq >= %s AND s.seq < %s"
    )


def _target_segments(product_code: str, on: dt.date) -> set[str]:
    """The segments a catalogue product is for (empty: every household)."""
    from xinedai.products.models import Product
    from xinedai.products.queries import effective_version

    product = Product.objects.filter(code=product_code).first()
    terms = effective_version(product, on) if product is not None else None
    return set(terms.segments) if terms is not None else set()


class _Writer:
    """Runs a chunk's INSERT … SELECT statements while Python computes the next chunk.

    On PostgreSQL the statements run on a worker thread through the same (transaction's) connection,
    with psycopg's client-side binding as Django uses it; the server works while numpy does. Python
    touches the connection again only after wait(). SQLite runs them in place.
    """

    def __init__(self, loader: BulkLoader) -> None:
        self.threaded = loader.vendor == "postgresql"
        self.pool = ThreadPoolExecutor(max_workers=1) if self.threaded else None
        self.pending: Future[None] | None = None

    def start(self, statements: list[tuple[str, list[Any]]]) -> None:
        self.wait()
        if self.pool is None:
            with connection.cursor() as cursor:
                for sql, params in statements:
                    cursor.execute(sql, params)
            return
        connection.ensure_connection()
        raw = connection.connection
        self.pending = self.pool.submit(self._run, raw, statements)

    @staticmethod
    def _run(raw: Any, statements: list[tuple[str, list[Any]]]) -> None:
        import psycopg

        with psycopg.ClientCursor(raw) as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)

    def wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()  # re-raises the statement's error here, in the transaction's thread

    def close(self) -> None:
        if self.pool is not None:
            try:
                self.wait()
            finally:
                self.pool.shutdown(wait=True)


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
    chunk_size: int = 250_000,
    progress: Progress | None = None,
    product_code: str = PRODUCT,
) -> BatchResult:
    """Decide (and grant lines for) many households. Replaces each household's live line of the product,
    except a line already drawn on (re-reviewed one by one through services.grant_line)."""
    card = Scorecard.from_dict(model.compiled)
    params = rules.StrategyParams.from_dict(strategy.params)
    names = rules.grade_names(params)
    binding_names = rules.binding_names(np.arange(len(rules.CONSTRAINTS)))
    product_cap = product_cap_fen(
        IntakeMode.MODEL, channel, params.channel_caps_fen[channel], on=as_of, product_code=product_code
    )
    targets = _target_segments(product_code, as_of)
    loader = BulkLoader()
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    at = now()
    expires = as_of + dt.timedelta(days=LINE_TERM_DAYS)
    result = BatchResult()
    ids = np.unique(np.asarray(household_ids, dtype=np.int64)).tolist()
    total = len(ids)
    if progress:
        progress("reading", 0, total)
    data = _read(loader, ids, product_code)
    if targets:  # a product for some segments (大棚贷): households of other segments are not decided
        distinct, inverse = np.unique(data["segments"].astype(str), return_inverse=True)
        fits = np.asarray([bool(set(Household(segments=v).segment_list) & targets) for v in distinct], dtype=bool)
        data = {k: v[fits[inverse]] for k, v in data.items()}
    n_all = len(data["household_id"])
    result.skipped = total - n_all
    if progress:
        progress("reading", n_all, total)
    # A customer who still owes on a written-off loan gets no line (services.grant_line refuses them too).
    from xinedai.lending.queries import written_off_debtors  # lending builds on credit: imported here

    debtors = np.fromiter(written_off_debtors(), dtype=np.int64)
    _create_stage(loader)
    texts, reason_sets = _Texts(TEXTS, "value"), _Texts(REASONS, "doc")
    insert_decisions, insert_lines = _insert_decisions_sql(), _insert_lines_sql()
    first_id = loader.reserve(CreditDecision, n_all) if n_all else 0
    writer = _Writer(loader)
    try:
        for start in range(0, n_all, chunk_size):
            part = slice(start, min(start + chunk_size, n_all))
            chunk = {k: v[part] for k, v in data.items()}
            hid = chunk["household_id"]
            n = len(hid)
            feats = _features(chunk, as_of)
            bins = card.bin_columns(feats)
            scores = card.score_binned(bins)
            exposure = chunk["other_exposure_fen"]
            limits = rules.model_limits(
                scores,
                net_assets_fen=feats["net_assets_yuan"] * 100,
                disposable_income_fen=feats["disposable_income_yuan"] * 100,
                exposure_fen=exposure,
                product_cap_fen=product_cap,
                channel=channel,
                params=params,
            )
            limit_fen, binding = limits.limit_fen, limits.binding.astype(np.int64)
            binding_t = texts.ids_of(binding_names)[binding]
            # The key-information change guard: a sharp unexplained change never raises a limit in a batch.
            # Only a household whose live line was granted on an older file version can be held.
            line_fv = chunk["line_file_version_id"]
            changed = hid[(line_fv > 0) & (line_fv != chunk["file_version_id"])]
            guarded: set[int] = set()
            for k in range(0, len(changed), 10_000):
                writer.wait()  # the guard reads through the connection the writer uses
                guarded |= guarded_household_ids(changed[k : k + 10_000].tolist(), params)
            if guarded:
                held = np.isin(hid, np.fromiter(guarded, dtype=np.int64)) & (limit_fen > chunk["line_limit_fen"])
                limit_fen = np.where(held, chunk["line_limit_fen"], limit_fen)
                binding_t = np.where(held, texts.ids_of(["change_guard"])[0], binding_t)
            reason_index, reason_texts = _reason_keys(card, bins)
            reasons_t = reason_sets.ids_of(reason_texts)[reason_index] if n else reason_index
            granted = (limit_fen > 0) & (chunk["line_used_fen"] == 0) if grant else np.zeros(n, dtype=bool)
            if grant and debtors.size:
                blocked = granted & np.isin(hid, debtors)
                result.blocked += int(blocked.sum())
                granted &= ~blocked
            columns: dict[str, np.ndarray] = {
                "seq": np.arange(start, start + n, dtype=np.int64),
                "decision_id": np.arange(first_id + start, first_id + start + n, dtype=np.int64),
                "household_id": hid,
                "file_version_id": chunk["file_version_id"],
                "score": scores.astype(np.int64),
                "grade_t": texts.ids_of(names)[limits.grade],
                "limit_fen": limit_fen,
                "binding_t": binding_t,
                "reasons_t": reasons_t,
                "segment_t": texts.index(feats["segment"]),
                "exposure_fen": exposure,
                "grant_line": granted.astype(np.int64),
                **{name: feats[name] for name in INPUT_FEATURES},
            }
            writer.wait()  # the previous chunk's rows are written: report them, then stage this one
            if progress and result.decided:
                progress("deciding", result.decided, total)
            loader.write_ints(STAGE, columns)
            texts.flush()
            reason_sets.flush()
            bounds = [start, start + n]
            statements: list[tuple[str, list[Any]]] = [
                (
                    insert_decisions,
                    [
                        product_code,
                        IntakeMode.MODEL.value,
                        channel,
                        model.pk,
                        strategy.pk,
                        source,
                        at,
                        actor_id,
                        *bounds,
                    ],
                )
            ]
            if grant:
                replaced = chunk["line_id"][granted & (chunk["line_id"] > 0)]
                if len(replaced):
                    where, where_params = loader.id_set("id", replaced.tolist())
                    statements.append(
                        (
                            f"UPDATE {CreditLine._meta.db_table} SET status = %s WHERE {where}",
                            [LineStatus.REVOKED.value, *where_params],
                        )
                    )
                statements.append(
                    (
                        insert_lines,
                        [
                            product_code,
                            IntakeMode.MODEL.value,
                            channel,
                            line_status,
                            at,
                            expires,
                            actor_id,
                            start,
                            start + n,
                        ],
                    )
                )
            writer.start(statements)
            result.decided += n
            result.granted += int(granted.sum())
            result.limit_fen += int(limit_fen[granted].sum())
        writer.wait()
    finally:
        writer.close()
    if progress:
        progress("deciding", result.decided, total)
    _drop_stage()
    audit.record(
        actor,
        "credit.batch",
        object_type="credit.creditdecision",
        object_id="batch",
        after={
            "households": total,
            "decided": result.decided,
            "granted": result.granted,
            "blocked": result.blocked,
            "limit_fen": result.limit_fen,
            "model": model.version,
            "strategy": strategy.version,
            "channel": channel,
            "source": source,
        },
    )
    return result


# The annual re-review ------------------------------------------------------------------------------


@dataclass
class RenewalResult:
    due: int = 0  # model lines in the window, or expired with loans on them
    replaced: int = 0  # undrawn lines the batch granted anew
    renewed: int = 0  # drawn lines renewed in place (services.grant_line)
    held: list[tuple[int, str]] = field(default_factory=list)  # (line id, why) left for a person


def renew_due_lines(
    actor: Any,
    *,
    as_of: dt.date,
    within_days: int,
    product_code: str = PRODUCT,
    progress: Progress | None = None,
) -> RenewalResult:
    """The annual re-review of the lines the model granted: active lines of `product_code` expiring
    within `within_days` of `as_of`, and expired ones that still have loans on them, are decided again by
    the active model and strategy on the household's current file.

    Undrawn lines go through decide_batch (one set of statements; a line whose new decision grants
    nothing is left to expire). Drawn ones are decided and renewed one by one, each in its own
    transaction (services.grant_line renews a drawn line in place, decision 0012); one whose new limit
    would be below what is drawn, or that a cap or the change guard holds, is left as it is and listed
    for a person. Lines granted by an officer (offline approval) or by the small-credit rules, and frozen
    ones, are never renewed here. Run outside a transaction; re-running finds nothing left to do for
    the lines it renewed (they now expire a year later)."""
    horizon = as_of + dt.timedelta(days=within_days)
    due = (
        CreditLine.objects.filter(product_code=product_code, intake_mode=IntakeMode.MODEL)
        .filter(Q(status=LineStatus.ACTIVE, expires_on__lte=horizon) | EXPIRED_WITH_LOANS)
        .order_by("household_id", "pk")
        .values_list("pk", "household_id", "channel", "used_fen")
    )
    rows = list(due)
    result = RenewalResult(due=len(rows))
    if not rows:
        return result
    model, strategy = active_model(), active_strategy()
    undrawn: dict[str, list[int]] = {}
    drawn = []
    for pk, household_id, channel, used in rows:
        if used == 0:
            undrawn.setdefault(channel, []).append(household_id)
        else:
            drawn.append((pk, household_id, channel))
    for channel, ids in sorted(undrawn.items()):
        with transaction.atomic():
            batch = decide_batch(
                ids,
                actor=actor,
                model=model,
                strategy=strategy,
                channel=channel,
                as_of=as_of,
                source="renewal",
                product_code=product_code,
                progress=progress,
            )
        result.replaced += batch.granted
    for n, (pk, household_id, channel) in enumerate(drawn, start=1):
        if progress:
            progress("renewing", n, len(drawn))
        household = Household.objects.select_related("current_file").get(pk=household_id)
        try:
            with transaction.atomic():  # kept whatever the grant does: the re-review's record
                decision = decide(
                    actor,
                    household=household,
                    channel=channel,
                    source="renewal",
                    today=as_of,
                    product_code=product_code,
                )
            if decision.limit_fen <= 0:
                result.held.append((pk, decision.binding))
                continue
            with transaction.atomic():
                grant_line(actor, decision, today=as_of)
        except BusinessError as exc:
            result.held.append((pk, exc.code))
            continue
        result.renewed += 1
    return result
