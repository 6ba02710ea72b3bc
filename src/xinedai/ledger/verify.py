"""Prove the ledger: every entry balances (in total and loan by loan) and matches its control totals,
every posting has its entry and account, every reversal mirrors its entry exactly, the database still
refuses changes — then the checks other domains registered (ledger.checks). Set-based SQL throughout:
a handful of GROUP BY scans, whatever the number of postings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from django.db import connections, router, transaction

from . import checks
from .checks import Difference
from .choices import EntryKind
from .models import Account, JournalEntry, Posting

Progress = Callable[[int, int, str], None]  # (checks done, checks in all, the check about to run)
TRIGGERS = ("ledger_journalentry_immutable", "ledger_posting_immutable")


@dataclass
class CheckResult:
    name: str
    title: str
    differences: list[Difference]
    seconds: float


@dataclass
class Report:
    entries: int = 0
    postings: int = 0
    results: list[CheckResult] = field(default_factory=list)

    @property
    def differences(self) -> list[Difference]:
        return [d for r in self.results for d in r.differences]

    @property
    def clean(self) -> bool:
        return not self.differences


class _Sql:
    """The connection and quoted table names the checks use."""

    def __init__(self) -> None:
        self.connection = connections[router.db_for_read(Posting)]
        qn = self.connection.ops.quote_name
        self.posting = qn(Posting._meta.db_table)
        self.entry = qn(JournalEntry._meta.db_table)
        self.account = qn(Account._meta.db_table)

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            return cursor.fetchall()

    def codes(self) -> dict[int, str]:
        return dict(Account.objects.values_list("id", "code"))


def check_entries(sql: _Sql) -> list[Difference]:
    """Each entry's postings balance and add up to its control totals (count, debit total); no posting
    points at a missing entry or a missing account; no entry is without postings."""
    # One scan of the postings (per-entry sums), joined both ways with the entries: no probe per entry.
    per_entry = (
        "SELECT p.entry_id AS entry_id, COUNT(*) AS n, CAST(SUM(p.side * p.amount_fen) AS BIGINT) AS net,"
        " CAST(SUM(CASE WHEN p.side = 1 THEN p.amount_fen ELSE 0 END) AS BIGINT) AS debits,"
        f" SUM(CASE WHEN p.account_id IN (SELECT a.id FROM {sql.account} a) THEN 0 ELSE 1 END) AS unknown"
        f" FROM {sql.posting} p GROUP BY p.entry_id"
    )
    rows = sql.rows(
        f"WITH x AS ({per_entry})"
        " SELECT x.entry_id, e.id, e.posting_count, e.total_fen, x.n, x.net, x.debits, x.unknown"
        f" FROM x LEFT JOIN {sql.entry} e ON e.id = x.entry_id"
        " WHERE e.id IS NULL OR x.net <> 0 OR x.n <> e.posting_count OR x.debits <> e.total_fen OR x.unknown > 0"
        " UNION ALL"
        f" SELECT e.id, e.id, e.posting_count, e.total_fen, 0, 0, 0, 0 FROM {sql.entry} e"
        " LEFT JOIN x ON x.entry_id = e.id WHERE x.entry_id IS NULL"
    )
    out: list[Difference] = []
    unknown_in: list[int] = []
    for entry_id, found, count, total, n, net, debits, unknown in sorted(rows, key=lambda r: r[0]):
        if found is None:
            out.append(
                Difference(n, 0, "posting_without_entry", entry_id=entry_id, note="postings whose entry does not exist")
            )
            continue
        if net:
            out.append(Difference(0, net, "entry_balance", entry_id=entry_id, note="debits − credits"))
        if n != count:
            out.append(Difference(count, n, "entry_posting_count", entry_id=entry_id, note="postings of the entry"))
        if debits != total:
            out.append(Difference(total, debits, "entry_total", entry_id=entry_id, note="sum of the debits, fen"))
        if unknown:
            unknown_in.append(entry_id)
    if unknown_in:
        for entry_id, account_id, n in sql.rows(
            f"SELECT p.entry_id, p.account_id, COUNT(*) FROM {sql.posting} p"
            f" WHERE p.account_id NOT IN (SELECT a.id FROM {sql.account} a) GROUP BY p.entry_id, p.account_id"
            " ORDER BY 1, 2"
        ):
            out.append(
                Difference(
                    0,
                    n,
                    "posting_without_account",
                    entry_id=entry_id,
                    account=f"#{account_id}",
                    note="postings on an account not in the chart",
                )
            )
    return out


def check_loans(sql: _Sql) -> list[Difference]:
    """Within each entry, each loan's postings balance (and those without a loan among themselves)."""
    rows = sql.rows(
        "SELECT p.entry_id, p.loan_id, CAST(SUM(p.side * p.amount_fen) AS BIGINT)"
        f" FROM {sql.posting} p GROUP BY p.entry_id, p.loan_id HAVING SUM(p.side * p.amount_fen) <> 0"
    )
    rows.sort(key=lambda r: (r[0], r[1] is None, r[1] or 0))
    return [
        Difference(
            0,
            net,
            "entry_loan_balance",
            entry_id=entry_id,
            loan_id=loan_id,
            note="debits − credits of this loan" if loan_id is not None else "debits − credits of lines without a loan",
        )
        for entry_id, loan_id, net in rows
    ]


def check_reversals(sql: _Sql) -> list[Difference]:
    """Every reversal reverses an existing, non-reversal entry, dated no earlier, with the mirror image of
    its postings: per account, loan and credit line, the same number of postings and the opposite sum."""
    out: list[Difference] = []
    for rid, kind, reverses_id, posted_on, original_id, original_kind, original_on in sql.rows(
        f"SELECT r.id, r.kind, r.reverses_id, r.posted_on, o.id, o.kind, o.posted_on FROM {sql.entry} r"
        f" LEFT JOIN {sql.entry} o ON o.id = r.reverses_id WHERE r.reverses_id IS NOT NULL OR r.kind = %s"
        " ORDER BY r.id",
        [EntryKind.REVERSAL],
    ):
        if kind != EntryKind.REVERSAL or reverses_id is None:
            out.append(Difference("a reversal of an entry", f"kind={kind}, reverses={reverses_id}", "reversal", rid))
        elif original_id is None:
            out.append(Difference(f"entry {reverses_id}", "missing", "reversal_target", rid, note="reversed entry"))
        elif original_kind == EntryKind.REVERSAL:
            out.append(Difference("an entry that is not a reversal", f"reversal {original_id}", "reversal_target", rid))
        elif str(posted_on) < str(original_on):
            out.append(Difference(f"on or after {original_on}", str(posted_on), "reversal_date", rid, note="posted_on"))
    codes = sql.codes()
    rows = sql.rows(
        "SELECT u.rid, u.account_id, u.loan_id, u.line_id,"
        " CAST(SUM(CASE WHEN u.n = -1 THEN u.net ELSE 0 END) AS BIGINT),"
        " CAST(SUM(CASE WHEN u.n = 1 THEN u.net ELSE 0 END) AS BIGINT),"
        " SUM(CASE WHEN u.n = -1 THEN 1 ELSE 0 END), SUM(CASE WHEN u.n = 1 THEN 1 ELSE 0 END)"
        " FROM ("
        " SELECT r.id AS rid, p.account_id AS account_id, p.loan_id AS loan_id, p.line_id AS line_id,"
        "  p.side * p.amount_fen AS net, 1 AS n"
        f"  FROM {sql.entry} r JOIN {sql.posting} p ON p.entry_id = r.id WHERE r.reverses_id IS NOT NULL"
        " UNION ALL"
        " SELECT r.id, p.account_id, p.loan_id, p.line_id, p.side * p.amount_fen, -1"
        f"  FROM {sql.entry} r JOIN {sql.posting} p ON p.entry_id = r.reverses_id WHERE r.reverses_id IS NOT NULL"
        ") u GROUP BY u.rid, u.account_id, u.loan_id, u.line_id"
        " HAVING SUM(u.net) <> 0 OR SUM(u.n) <> 0"
    )
    rows.sort(key=lambda r: (r[0], r[1], r[2] is None, r[2] or 0, r[3] is None, r[3] or 0))
    for rid, account_id, loan_id, line_id, original, reversed_, n_original, n_reversed in rows:
        account = codes.get(account_id, f"#{account_id}")
        if original + reversed_:
            out.append(
                Difference(-original, reversed_, "reversal_mirror", rid, loan_id, line_id, account, "signed sum, fen")
            )
        if n_original != n_reversed:
            out.append(
                Difference(n_original, n_reversed, "reversal_mirror_count", rid, loan_id, line_id, account, "postings")
            )
    return out


def check_loan_lines(sql: _Sql) -> list[Difference]:
    """A loan belongs to one credit line: its postings never carry two different line ids."""
    rows = sql.rows(
        f"SELECT p.loan_id, MIN(p.line_id), MAX(p.line_id) FROM {sql.posting} p"
        " WHERE p.loan_id IS NOT NULL AND p.line_id IS NOT NULL"
        " GROUP BY p.loan_id HAVING MIN(p.line_id) <> MAX(p.line_id) ORDER BY 1"
    )
    return [
        Difference("one credit line", f"lines {low} and {high}", "loan_line", loan_id=loan_id)
        for loan_id, low, high in rows
    ]


def check_immutability(sql: _Sql) -> list[Difference]:
    """The triggers that refuse changes to ledger rows are installed (and enabled)."""
    if sql.connection.vendor == "postgresql":
        rows = sql.rows("SELECT tgname FROM pg_trigger WHERE tgname = ANY(%s) AND tgenabled <> 'D'", [list(TRIGGERS)])
    elif sql.connection.vendor == "sqlite":
        names = ", ".join("%s" for _ in TRIGGERS)
        rows = sql.rows(f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN ({names})", TRIGGERS)
    else:  # pragma: no cover - other databases are not supported
        return []
    present = {r[0] for r in rows}
    return [
        Difference("installed", "missing or disabled", "immutability_trigger", note=name)
        for name in TRIGGERS
        if name not in present
    ]


BUILTIN: list[tuple[str, str, Callable[[_Sql], list[Difference]]]] = [
    ("entries", "entries balance and match their control totals", check_entries),
    ("loans", "entries balance loan by loan", check_loans),
    ("reversals", "reversals mirror the entries they reverse", check_reversals),
    ("loan_lines", "each loan posts to one credit line", check_loan_lines),
    ("immutability", "the database refuses changes to ledger rows", check_immutability),
]


def _run_registered(name: str, function: checks.Check) -> list[Difference]:
    return [d if d.check else replace(d, check=name) for d in function()]


def run(*, progress: Progress | None = None) -> Report:
    """Run every check and return what each found. Read-only.

    Outside a transaction, PostgreSQL runs all checks in one REPEATABLE READ READ ONLY transaction (one
    snapshot, so postings committed meanwhile cannot show up as differences). SQLite runs each check as
    its own statement, each consistent on its own: entries and postings are committed together.
    """
    sql = _Sql()
    snapshot = sql.connection.vendor == "postgresql" and not sql.connection.in_atomic_block
    if not snapshot:
        return _run(sql, progress)
    with transaction.atomic(using=sql.connection.alias):
        with sql.connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return _run(sql, progress)


def _run(sql: _Sql, progress: Progress | None) -> Report:
    if sql.connection.vendor == "postgresql":
        with sql.connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")  # per-(entry, loan) sums of a million loans
    report = Report()
    report.entries = int(sql.rows(f"SELECT COUNT(*) FROM {sql.entry}")[0][0])
    report.postings = int(sql.rows(f"SELECT COUNT(*) FROM {sql.posting}")[0][0])
    todo: list[tuple[str, str, Callable[[], list[Difference]]]] = [
        (name, title, partial(function, sql)) for name, title, function in BUILTIN
    ]
    todo += [(name, name, partial(_run_registered, name, function)) for name, function in checks.registered()]
    for i, (name, title, function) in enumerate(todo):
        if progress:
            progress(i, len(todo), title)
        started = time.perf_counter()
        found = function()
        report.results.append(CheckResult(name, title, found, time.perf_counter() - started))
    if progress:
        progress(len(todo), len(todo), "")
    return report
