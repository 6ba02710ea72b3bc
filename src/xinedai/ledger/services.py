"""Ledger use cases: post a balanced journal entry, post a day-end batch set-wise, reverse an entry.

The invariant every entry keeps (docs/decisions/0007): debits equal credits in total AND within each
loan — the postings that carry a loan id balance among themselves, loan by loan, and the postings
without one balance among themselves. A loan's sub-ledger is therefore complete on its own: its
balance on any account is the sum of its own postings.

Services run in the caller's transaction, write one audit row per journal entry (never one per
posting) and never commit. Posting the same business key again with the same lines returns the first
entry; with different lines it is refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
from django.db import IntegrityError, connections, router, transaction

from xinedai.core import audit, statements
from xinedai.core.bulk import BulkLoader
from xinedai.core.dates import now
from xinedai.core.errors import BusinessError, ValidationFailed

from .choices import CHART, EntryKind, Side
from .models import Account, JournalEntry, Posting

Progress = Callable[[str, int, int], None]
MAX_FEN = 2**63 - 1  # a bigint column; any real amount is far below
STAGE = "ledger_post_many_stage"


class Line(NamedTuple):
    """One line of an entry to post: `side` is `Side.DEBIT` or `Side.CREDIT`, `amount_fen` > 0."""

    account: str
    side: int
    amount_fen: int
    loan_id: int | None = None
    line_id: int | None = None


class Leg(NamedTuple):
    """One column of a batch: an account and side, and one amount per loan (0 = nothing for that loan)."""

    account: str
    side: int
    amounts: np.ndarray


class Unbalanced(ValidationFailed):
    code = "ledger_unbalanced"


class KeyConflict(BusinessError):
    """The business key was posted before with other lines: a different event under a reused key."""

    code = "ledger_key_conflict"
    status = 409


class AlreadyReversed(BusinessError):
    code = "ledger_already_reversed"
    status = 409


def _invalid(zh: str, en: str, *, field: str, code: str = "ledger_invalid_line", **details: Any) -> ValidationFailed:
    return ValidationFailed(zh, en, code=code, field=field, **details)


def _require_transaction() -> None:
    if not transaction.get_connection(router.db_for_write(JournalEntry)).in_atomic_block:
        raise RuntimeError("ledger services run inside the caller's transaction (transaction.atomic())")


def _check_kind(kind: str) -> str:
    if kind not in EntryKind.values or kind == EntryKind.REVERSAL:
        raise _invalid(
            f"不支持的记账类型：{kind}（冲正请用冲正功能）",
            f"Unknown entry kind {kind!r} (reversals are made by reverse())",
            field="kind",
            code="ledger_invalid_kind",
        )
    return str(kind)


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > JournalEntry._meta.get_field("key").max_length:  # type: ignore[operator]
        raise _invalid(
            "业务键不能为空且不超过200个字符",
            "The business key must be non-empty and at most 200 characters",
            field="key",
            code="ledger_invalid_key",
        )
    return key


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_date(posted_on: Any) -> dt.date:
    if not isinstance(posted_on, dt.date) or isinstance(posted_on, dt.datetime):
        raise _invalid("记账日期必须是日期", "posted_on must be a date", field="posted_on", code="ledger_invalid_date")
    return posted_on


def _lines(lines: Iterable[Sequence[Any]]) -> list[Line]:
    out = []
    for i, raw in enumerate(lines):
        where = f"lines[{i}]"
        try:
            line = Line(*raw)
        except TypeError as exc:
            raise _invalid(
                f"第{i + 1}行格式不对：应为（科目, 借贷方向, 金额分[, 贷款id[, 额度id]]）",
                f"Line {i + 1}: expected (account, side, amount_fen[, loan_id[, line_id]])",
                field=where,
            ) from exc
        if line.side not in (Side.DEBIT, Side.CREDIT) or not _is_int(line.side):
            raise _invalid(
                f"第{i + 1}行借贷方向无效",
                f"Line {i + 1}: side must be Side.DEBIT or Side.CREDIT",
                field=f"{where}.side",
            )
        if not _is_int(line.amount_fen) or not 0 < line.amount_fen <= MAX_FEN:
            raise _invalid(
                f"第{i + 1}行金额必须是正整数（分）",
                f"Line {i + 1}: amount_fen must be a positive integer number of fen",
                field=f"{where}.amount_fen",
            )
        for name in ("loan_id", "line_id"):
            value = getattr(line, name)
            if value is not None and (not _is_int(value) or value <= 0):
                raise _invalid(
                    f"第{i + 1}行{name}必须是正整数或空",
                    f"Line {i + 1}: {name} must be a positive integer or None",
                    field=f"{where}.{name}",
                )
        out.append(
            Line(
                str(line.account),
                int(line.side),
                int(line.amount_fen),
                None if line.loan_id is None else int(line.loan_id),
                None if line.line_id is None else int(line.line_id),
            )
        )
    if len(out) < 2:
        raise _invalid(
            "一笔分录至少两行", "An entry has at least two lines", field="lines", code="ledger_too_few_lines"
        )
    return out


def _check_balanced(lines: list[Line]) -> int:
    """Debits equal credits in total and within each loan; a loan keeps one credit line. Returns the total."""
    net: dict[int | None, int] = defaultdict(int)
    line_of: dict[int, int | None] = {}
    for i, line in enumerate(lines):
        net[line.loan_id] += line.side * line.amount_fen
        if line.loan_id is not None and line_of.setdefault(line.loan_id, line.line_id) != line.line_id:
            raise _invalid(
                f"第{i + 1}行：同一笔贷款的各行必须属于同一额度",
                f"Line {i + 1}: every line of loan {line.loan_id} must carry the same line_id",
                field=f"lines[{i}].line_id",
                code="ledger_loan_line_mismatch",
            )
    debits = sum(line.amount_fen for line in lines if line.side == Side.DEBIT)
    credits = sum(line.amount_fen for line in lines if line.side == Side.CREDIT)
    if debits != credits:
        raise Unbalanced(
            f"借贷不平：借方{debits}分，贷方{credits}分",
            f"Unbalanced entry: debits {debits} fen, credits {credits} fen",
            field="lines",
            debit_fen=debits,
            credit_fen=credits,
        )
    off = {loan: value for loan, value in net.items() if value}
    if off:
        loan, value = min(off.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
        who_zh, who_en = (
            ("无贷款的各行", "the lines without a loan") if loan is None else (f"贷款{loan}", f"loan {loan}")
        )
        raise Unbalanced(
            f"借贷不平：{who_zh}借贷差{value}分（每笔贷款的各行须自行平衡）",
            f"Unbalanced entry: {who_en} is off by {value} fen (each loan's lines must balance on their own)",
            field="lines",
            loan_id=loan,
            difference_fen=value,
        )
    if debits > MAX_FEN:
        raise _invalid("金额过大", "Amounts too large", field="lines", code="ledger_amount_too_large")
    return debits


# post()'s reads, compiled once per process and prepared on PostgreSQL (core.statements, decision 0006): a
# channel drawdown posts one entry and must answer in well under 100 ms at 32 concurrent clients.
_KEY = statements.Marker("<entry key>")


@functools.cache
def _entry_statement() -> statements.Statement:
    queryset = JournalEntry.objects.filter(key=_KEY.value).order_by()
    return statements.Statement.compile(queryset.values(*statements.columns(JournalEntry)), _KEY)


@functools.cache
def _chart_statement() -> statements.Statement:
    return statements.Statement.compile(Account.objects.order_by().values("code", "id"))


# Account ids by code, per database alias, kept for the life of the process: accounts are only ever added
# (sync_chart, migrations), never renumbered or deleted (postings protect them), so a code found once keeps
# its id; a code not known yet reads the chart again. A test flush re-creates the chart with new ids and
# re-sends post_migrate, whose sync_chart() forgets what was kept.
_ACCOUNT_IDS: dict[str, dict[str, int]] = {}


def _account_ids(codes: Iterable[str], *, field: str = "lines") -> dict[str, int]:
    wanted = set(codes)
    alias = _chart_statement().alias
    found = _ACCOUNT_IDS.get(alias)
    if found is None or not wanted <= found.keys():
        found = {row["code"]: row["id"] for row in _chart_statement().rows()}
        _ACCOUNT_IDS[alias] = found
    missing = sorted(wanted - set(found))
    if missing:
        raise _invalid(
            f"科目不存在：{', '.join(missing)}",
            f"No such account: {', '.join(missing)}",
            field=field,
            code="ledger_unknown_account",
            accounts=missing,
        )
    return found


def _lines_digest(kind: str, posted_on: dt.date, lines: list[Line]) -> str:
    body = {"kind": kind, "posted_on": posted_on.isoformat(), "lines": sorted(lines, key=lambda x: tuple(map(str, x)))}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _replayed(key: str, kind: str, digest: str) -> JournalEntry | None:
    """The entry already posted under `key` if its body is the same; a KeyConflict if it is not."""
    statement = _entry_statement()
    row = statement.first(key)
    if row is None:
        return None
    entry: JournalEntry = statements.instance(JournalEntry, row, statement.alias)
    if entry.body_sha256 != digest or entry.kind != kind:
        raise KeyConflict(
            f"业务键{key}已用于另一笔不同的分录（{entry.pk}）",
            f"Business key {key!r} was already posted with different lines (entry {entry.pk})",
            field="key",
            key=key,
            entry_id=entry.pk,
        )
    return entry


def _insert_entry(actor: Any, after: dict[str, Any], fields: dict[str, Any], scope_path: str = "") -> JournalEntry:
    """The entry and its audit row: one prepared statement on PostgreSQL (core.audit.create_with_record)."""
    entry = JournalEntry(created_at=now(), **fields)
    audit.create_with_record(entry, actor, "ledger.post", after=after, scope_path=scope_path)
    return entry


def _create_entry(key: str, insert: Callable[[], JournalEntry]) -> JournalEntry | None:
    """Insert the entry (`insert` does); None when a concurrent transaction committed the same key first."""
    try:
        with transaction.atomic():  # a savepoint: the unique key decides a race, the caller's work survives
            return insert()
    except IntegrityError:
        if JournalEntry.objects.filter(key=key).exists():
            return None
        raise


def _write_postings(entry: JournalEntry, accounts: dict[str, int], rows: list[Line]) -> None:
    """The entry's postings: one prepared INSERT … SELECT FROM unnest on PostgreSQL, bulk_create elsewhere."""
    alias = entry._state.db or "default"
    if statements.prepared_on(alias):
        statements.insert_many(
            alias,
            Posting,
            {
                "entry_id": [entry.pk] * len(rows),
                "account_id": [accounts[line.account] for line in rows],
                "side": [line.side for line in rows],
                "amount_fen": [line.amount_fen for line in rows],
                "loan_id": [line.loan_id for line in rows],
                "line_id": [line.line_id for line in rows],
            },
        )
        return
    Posting.objects.bulk_create(
        Posting(
            entry=entry,
            account_id=accounts[line.account],
            side=line.side,
            amount_fen=line.amount_fen,
            loan_id=line.loan_id,
            line_id=line.line_id,
        )
        for line in rows
    )


def _actor_id(actor: Any) -> int | None:
    return actor.pk if getattr(actor, "is_authenticated", False) else None


def post(
    *,
    kind: str,
    posted_on: dt.date,
    key: str,
    lines: Iterable[Sequence[Any]],
    actor: Any = None,
    memo: str = "",
    new_key: bool = False,
    scope_path: str = "",
) -> JournalEntry:
    """Post one balanced journal entry; lines are `Line`s or tuples
    `(account_code, side, amount_fen[, loan_id[, line_id]])`.

    Idempotent on `key`: the same key with the same lines returns the entry posted first (no new
    rows); with different lines it raises `KeyConflict`.

    `new_key=True` says that no entry can exist under `key` yet, because the key names a row this same
    transaction has just created (the disbursement of a loan inserted a moment ago): the look-up of an
    earlier entry and the savepoint that lets a racing post of the key replay are skipped. Should the key
    exist after all, the insert fails the caller's transaction (IntegrityError) instead of replaying.

    `scope_path`: the org path of the outlet whose customer the entry concerns, for its audit row (an
    entry of one loan is seen by that outlet's and branch's auditors; none: head office only).
    """
    _require_transaction()
    kind = _check_kind(kind)
    key = _check_key(key)
    posted_on = _check_date(posted_on)
    rows = _lines(lines)
    total = _check_balanced(rows)
    accounts = _account_ids(line.account for line in rows)
    digest = _lines_digest(kind, posted_on, rows)
    fields = {
        "kind": kind,
        "posted_on": posted_on,
        "created_by_id": _actor_id(actor),
        "key": key,
        "memo": memo[:500],
        "posting_count": len(rows),
        "total_fen": total,
        "body_sha256": digest,
    }
    after = {"kind": kind, "key": key, "posted_on": posted_on, "postings": len(rows), "total_fen": total}
    if new_key:
        entry = _insert_entry(actor, after, fields, scope_path)
    else:
        existing = _replayed(key, kind, digest)
        if existing is not None:
            return existing
        created = _create_entry(key, lambda: _insert_entry(actor, after, fields, scope_path))
        if created is None:  # lost a race for the key: the winner's entry, if it is the same event
            replay = _replayed(key, kind, digest)
            assert replay is not None
            return replay
        entry = created
    _write_postings(entry, accounts, rows)
    return entry


# The day-end batch ---------------------------------------------------------------------------------


def _int_array(values: Any, field: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or (array.size == 0)):
        raise _invalid(
            f"{field}必须是一维整数数组",
            f"{field} must be a one-dimensional integer array",
            field=field,
            code="ledger_invalid_batch",
        )
    return array.astype(np.int64, copy=False)


def _exact_sum(values: np.ndarray) -> int:
    """The sum as a Python int, without int64 overflow whatever the amounts."""
    if not values.size:
        return 0
    if int(values.max()) <= MAX_FEN // values.size:
        return int(values.sum())
    return sum(values.tolist())


def _check_batch(
    loan_ids: Any, legs: Sequence[Leg | Sequence[Any]], line_ids: Any
) -> tuple[np.ndarray, np.ndarray | None, list[Leg], int, int]:
    loans = _int_array(loan_ids, "loan_ids")
    n = loans.size
    if n == 0:
        raise _invalid(
            "批量记账没有贷款", "A batch needs at least one loan", field="loan_ids", code="ledger_empty_batch"
        )
    if int(loans.min()) <= 0:
        raise _invalid("贷款id必须是正整数", "loan ids must be positive", field="loan_ids", code="ledger_invalid_batch")
    lines = None
    if line_ids is not None:
        lines = _int_array(line_ids, "line_ids")
        if lines.shape != loans.shape or int(lines.min()) <= 0:
            raise _invalid(
                "额度id须与贷款id一一对应且为正整数",
                "line_ids must be positive and as many as loan_ids",
                field="line_ids",
                code="ledger_invalid_batch",
            )
    checked: list[Leg] = []
    for i, raw in enumerate(legs):
        try:
            leg = Leg(*raw)
        except TypeError as exc:
            raise _invalid(
                f"第{i + 1}列格式不对：应为（科目, 借贷方向, 金额数组）",
                f"Leg {i + 1}: expected (account, side, amounts)",
                field=f"legs[{i}]",
                code="ledger_invalid_batch",
            ) from exc
        if leg.side not in (Side.DEBIT, Side.CREDIT) or not _is_int(leg.side):
            raise _invalid(f"第{i + 1}列借贷方向无效", f"Leg {i + 1}: invalid side", field=f"legs[{i}].side")
        amounts = _int_array(leg.amounts, f"legs[{i}].amounts")
        if amounts.shape != loans.shape:
            raise _invalid(
                f"第{i + 1}列金额个数与贷款数不符",
                f"Leg {i + 1}: {amounts.size} amounts for {n} loans",
                field=f"legs[{i}].amounts",
                code="ledger_invalid_batch",
            )
        if int(amounts.min()) < 0:
            bad = int(loans[np.argmax(amounts < 0)])
            raise _invalid(
                f"第{i + 1}列有负金额（贷款{bad}）",
                f"Leg {i + 1}: negative amount (loan {bad})",
                field=f"legs[{i}].amounts",
                loan_id=bad,
            )
        checked.append(Leg(str(leg.account), int(leg.side), amounts))
    if len(checked) < 2:
        raise _invalid("批量分录至少两列", "A batch has at least two legs", field="legs", code="ledger_too_few_lines")
    # Balanced loan by loan (which makes the whole batch balance): one vectorised pass.
    net = np.zeros(n, dtype=np.int64)
    for leg in checked:
        net += leg.side * leg.amounts
    off = np.flatnonzero(net)
    if off.size:
        sample = [{"loan_id": int(loans[j]), "difference_fen": int(net[j])} for j in off[:20]]
        first = sample[0]
        raise Unbalanced(
            f"借贷不平：{off.size}笔贷款借贷不等，如贷款{first['loan_id']}差{first['difference_fen']}分",
            f"Unbalanced batch: {off.size} loans do not balance, e.g. loan {first['loan_id']} is off by"
            f" {first['difference_fen']} fen",
            field="legs",
            loans=sample,
            count=int(off.size),
        )
    total = sum(_exact_sum(leg.amounts) for leg in checked if leg.side == Side.DEBIT)
    count = sum(int(np.count_nonzero(leg.amounts)) for leg in checked)
    if total == 0:
        raise _invalid(
            "批量分录金额全为零", "Nothing to post: every amount is zero", field="legs", code="ledger_empty_batch"
        )
    if total > MAX_FEN:
        raise _invalid("金额过大", "Amounts too large", field="legs", code="ledger_amount_too_large")
    return loans, lines, checked, total, count


def _batch_digest(kind: str, posted_on: dt.date, loans: np.ndarray, lines: np.ndarray | None, legs: list[Leg]) -> str:
    h = hashlib.sha256(f"batch|{kind}|{posted_on.isoformat()}".encode())
    h.update(loans.astype("<i8").tobytes())
    h.update(b"|lines|" + (b"" if lines is None else lines.astype("<i8").tobytes()))
    for leg in legs:
        h.update(f"|{leg.account}|{leg.side}|".encode())
        h.update(leg.amounts.astype("<i8").tobytes())
    return h.hexdigest()


def post_many(
    *,
    kind: str,
    posted_on: dt.date,
    key: str,
    loan_ids: np.ndarray,
    legs: Sequence[Leg | tuple[str, int, np.ndarray]],
    line_ids: np.ndarray | None = None,
    actor: Any = None,
    memo: str = "",
    progress: Progress | None = None,
) -> JournalEntry:
    """Post one batch event (a day's accrual, penalty, auto-debit repayments) as ONE journal entry
    whose postings are written set-wise: `legs` are columns `(account_code, side, amounts)` with one
    amount per loan of `loan_ids` (numpy int arrays; an amount of 0 posts nothing for that loan).

    Every loan's row must balance (which makes the batch balance); this is checked with numpy before
    anything is written, and a refused batch writes nothing. The loans go into a staging table by one
    binary COPY (PostgreSQL) and each leg becomes postings by one INSERT … SELECT; no Python code runs
    per posting. Idempotent on `key` like `post` (the body is fingerprinted from the arrays).
    """
    _require_transaction()
    kind = _check_kind(kind)
    key = _check_key(key)
    posted_on = _check_date(posted_on)
    if progress:
        progress("check", 0, 1)
    loans, lines, checked, total, count = _check_batch(loan_ids, legs, line_ids)
    accounts = _account_ids((leg.account for leg in checked), field="legs")
    digest = _batch_digest(kind, posted_on, loans, lines, checked)
    existing = _replayed(key, kind, digest)
    if existing is not None:
        return existing
    entry = _create_entry(
        key,
        lambda: JournalEntry.objects.create(
            created_at=now(),
            kind=kind,
            posted_on=posted_on,
            created_by_id=_actor_id(actor),
            key=key,
            memo=memo[:500],
            posting_count=count,
            total_fen=total,
            body_sha256=digest,
        ),
    )
    if entry is None:
        replay = _replayed(key, kind, digest)
        assert replay is not None
        return replay
    if progress:
        progress("check", 1, 1)
    _write_batch(entry, loans, lines, checked, accounts, progress)
    audit.record(
        actor,
        "ledger.post_many",
        entry,
        after={
            "kind": kind,
            "key": key,
            "posted_on": posted_on,
            "loans": int(loans.size),
            "postings": count,
            "total_fen": total,
        },
    )
    return entry


def _write_batch(
    entry: JournalEntry,
    loans: np.ndarray,
    lines: np.ndarray | None,
    legs: list[Leg],
    accounts: dict[str, int],
    progress: Progress | None,
) -> None:
    loader = BulkLoader(router.db_for_write(Posting))
    connection = loader.connection
    qn = connection.ops.quote_name
    stage, posting = qn(STAGE), qn(Posting._meta.db_table)
    columns: dict[str, np.ndarray] = {"loan_id": loans}
    if lines is not None:
        columns["line_id"] = lines
    for i, leg in enumerate(legs):
        columns[f"a{i}"] = leg.amounts
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        on_commit = " ON COMMIT DROP" if loader.vendor == "postgresql" else ""
        cursor.execute(
            f"CREATE TEMPORARY TABLE {stage} ({', '.join(f'{qn(c)} bigint NOT NULL' for c in columns)}){on_commit}"
        )
    loader.write_ints(STAGE, columns)
    line_column = "s.line_id" if lines is not None else "NULL"
    with connection.cursor() as cursor:
        for i, leg in enumerate(legs):
            if progress:
                progress("write", i, len(legs))
            cursor.execute(
                f"INSERT INTO {posting} (entry_id, account_id, side, amount_fen, loan_id, line_id)"
                f" SELECT %s, %s, %s, s.a{i}, s.loan_id, {line_column} FROM {stage} s WHERE s.a{i} > 0",
                [entry.pk, accounts[leg.account], leg.side],
            )
        cursor.execute(f"DROP TABLE {stage}")
    if progress:
        progress("write", len(legs), len(legs))


# Reversal ----------------------------------------------------------------------------------------


def reverse(entry: JournalEntry, *, posted_on: dt.date, actor: Any, reason: str) -> JournalEntry:
    """Post the mirror image of `entry` (every posting's side swapped) as a reversal dated `posted_on`.

    An entry is reversed at most once (the database's unique `reverses` decides a race); a reversal
    is not itself reversed — post the event again under a new key instead.
    """
    _require_transaction()
    posted_on = _check_date(posted_on)
    if not reason or not reason.strip():
        raise _invalid("冲正须说明原因", "A reversal needs a reason", field="reason", code="ledger_reason_required")
    entry = JournalEntry.objects.get(pk=entry.pk)
    if entry.kind == EntryKind.REVERSAL:
        raise ValidationFailed(
            "冲正分录不能再冲正，请按新的业务键重新记账",
            "A reversal cannot be reversed; post the event again under a new key",
            code="ledger_reverse_reversal",
            entry_id=entry.pk,
        )
    if posted_on < entry.posted_on:
        raise _invalid(
            f"冲正日期不能早于原分录日期{entry.posted_on}",
            f"A reversal cannot be dated before the entry it reverses ({entry.posted_on})",
            field="posted_on",
            code="ledger_reversal_date",
        )
    refused = AlreadyReversed(
        f"分录{entry.pk}已冲正，不能重复冲正",
        f"Entry {entry.pk} has already been reversed",
        entry_id=entry.pk,
    )
    if JournalEntry.objects.filter(reverses=entry).exists():
        raise refused
    try:
        with transaction.atomic():
            reversal = JournalEntry.objects.create(
                kind=EntryKind.REVERSAL,
                posted_on=posted_on,
                created_at=now(),
                created_by_id=_actor_id(actor),
                key=f"reversal:{entry.pk}",
                memo=reason[:500],
                reverses=entry,
                posting_count=entry.posting_count,
                total_fen=entry.total_fen,
                body_sha256=hashlib.sha256(f"reversal|{entry.pk}|{entry.body_sha256}".encode()).hexdigest(),
            )
    except IntegrityError:
        if JournalEntry.objects.filter(reverses=entry).exists():
            raise refused from None
        raise
    connection = connections[router.db_for_write(Posting)]
    posting = connection.ops.quote_name(Posting._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {posting} (entry_id, account_id, side, amount_fen, loan_id, line_id)"
            f" SELECT %s, account_id, -side, amount_fen, loan_id, line_id FROM {posting}"
            " WHERE entry_id = %s ORDER BY id",
            [reversal.pk, entry.pk],
        )
    audit.record(
        actor,
        "ledger.reverse",
        reversal,
        before={"entry": entry.pk, "key": entry.key, "kind": entry.kind},
        after={"kind": reversal.kind, "key": reversal.key, "posted_on": posted_on, "total_fen": entry.total_fen},
        reason=reason,
    )
    return reversal


# The chart ---------------------------------------------------------------------------------------


def sync_chart(using: str = "default") -> int:
    """Add the accounts of `choices.CHART` that are missing (existing ones are left as they are)."""
    connection = connections[using]
    if Account._meta.db_table not in connection.introspection.table_names():
        return 0  # migrated back below the ledger's first migration
    have = set(Account.objects.using(using).values_list("code", flat=True))
    missing = [
        Account(code=code, name=name, kind=kind, normal_side=side)
        for code, name, kind, side in CHART
        if code not in have
    ]
    Account.objects.using(using).bulk_create(missing)
    _ACCOUNT_IDS.pop(using, None)  # a flushed test database has the chart anew, under new ids
    return len(missing)
