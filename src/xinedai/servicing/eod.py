"""The day-end batch (日终批处理, `xinedai eod --date D`): close business date D for every active loan.

Steps, in order, each one transaction that records its own completion on the BusinessDay row:

  accrual   re-read the running instalment of loans whose period rolled (or whose schedule changed), then
            accrue the scheduled interest of the day: D INTEREST_RECEIVABLE / C INTEREST_INCOME
  overdue   instalments due before D and unpaid: the oldest due date (overdue_since), days past due,
            overdue principal and interest
  non_accrual  loans now more than 90 days past due stop accruing (非应计): their receivables leave the
            income statement for off-balance memo accounts (表外), where what they accrue from then on is
            kept; loans back within 90 days return to accrual, and their off-balance interest with them
  penalty   one day of penalty interest on overdue principal: D PENALTY_INTEREST_RECEIVABLE / C
            PENALTY_INTEREST_INCOME
  classify  the five categories by days past due (thresholds in force on D), never better than an
            approved manual classification
  lines     live credit lines whose last day was D (or earlier) expire; their loans run on
  snapshot  the portfolio by grid (its outlet and manager that day) × product × class

Dates run one after the other, none skipped; a done date is never run again; a crash leaves the date
`running` with the steps that committed, and the next run resumes after them. Ledger postings carry
deterministic keys ("accrual:2026-07-01"), so even a step run twice could not post twice.

Set-based throughout: a handful of statements per step whatever the number of loans — INSERT … SELECT,
UPDATE … FROM a staging table written by one binary COPY, numpy over columns read in one query, the
ledger's post_many. No ORM object is made per loan. The accrual rule is docs/decisions/0008.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import IntegrityError, connections, router, transaction

from xinedai.core import audit
from xinedai.core.bulk import BulkLoader
from xinedai.core.dates import now
from xinedai.core.errors import BusinessError
from xinedai.credit.choices import LIVE_LINE_STATUSES, LineStatus
from xinedai.credit.models import CreditLine
from xinedai.households.models import Household
from xinedai.ledger import services as ledger
from xinedai.ledger.choices import AccountCode, EntryKind, Side
from xinedai.lending.choices import InstalmentStatus, LoanStatus
from xinedai.lending.models import Instalment, Loan
from xinedai.org.models import Grid, Village

from . import rules
from .choices import STEPS, ChangeCause, DayStatus, RiskClass, Step
from .models import BusinessDay, ClassificationChange, ClassThreshold, LoanState, PortfolioDay

Progress = Callable[[str, str], None]  # (step, what is happening)
EPOCH = dt.date(1970, 1, 1)


class EodRefused(BusinessError):
    """The date cannot be run now: it would skip a date, go back, or another date is unfinished."""

    code = "eod_refused"
    status = 409


@dataclass
class StepResult:
    step: str
    seconds: float
    counts: dict[str, Any]


@dataclass
class DayResult:
    business_on: dt.date
    already_done: bool = False
    resumed_after: str = ""  # the step a crashed run had completed ("" when starting afresh)
    steps: list[StepResult] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)


# Running a date ------------------------------------------------------------------------------------


def run(business_on: dt.date, *, actor: Any = None, progress: Progress | None = None) -> DayResult:
    """Run (or resume) the day-end batch for `business_on`. Returns what each step did; a date already
    done does nothing. Each step is its own transaction: call this outside any transaction (the command
    does), or each step is only a savepoint of the caller's and nothing is committed until it commits."""
    day, first, resumed = _open_day(business_on, actor)
    result = DayResult(business_on, already_done=day.status == DayStatus.DONE, resumed_after=resumed)
    if result.already_done:
        return result
    for step in STEPS[STEPS.index(day.step) + 1 if day.step else 0 :]:
        done = _run_step(business_on, step, first=first, actor=actor, progress=progress)
        if done is not None:
            result.steps.append(done)
    with transaction.atomic():
        day = BusinessDay.objects.select_for_update().get(business_on=business_on)
        if day.status != DayStatus.DONE:
            day.status, day.finished_at = DayStatus.DONE, now()
            day.save(update_fields=["status", "finished_at"])
            audit.record(actor, "servicing.eod.done", day, after={"business_on": business_on, "steps": day.counts})
    return result


def next_date() -> dt.date | None:
    """The date the batch must run next: the unfinished one, else the day after the last one done."""
    running = BusinessDay.objects.filter(status=DayStatus.RUNNING).first()
    if running is not None:
        return running.business_on
    last = BusinessDay.objects.filter(status=DayStatus.DONE).order_by("-business_on").first()
    return None if last is None else last.business_on + dt.timedelta(days=1)


def _open_day(business_on: dt.date, actor: Any) -> tuple[BusinessDay, bool, str]:
    """The BusinessDay row to work on (created when new): (row, is this the very first date, step reached)."""
    with transaction.atomic():
        # The latest date's row first: a write-off being approved holds it until it commits, so the new
        # date's steps see the loan written off, never half (servicing.services.approve_write_off).
        BusinessDay.objects.select_for_update().order_by("-business_on").first()
        day = BusinessDay.objects.select_for_update().filter(business_on=business_on).first()
        first = not BusinessDay.objects.filter(business_on__lt=business_on).exists()
        if day is not None:
            if day.status == DayStatus.RUNNING:
                day.runs += 1
                day.save(update_fields=["runs"])
                audit.record(actor, "servicing.eod.resume", day, after={"after_step": day.step, "run": day.runs})
            return day, first, day.step
        running = BusinessDay.objects.filter(status=DayStatus.RUNNING).first()
        if running is not None:
            raise EodRefused(
                f"营业日{running.business_on}的日终尚未完成，请先重跑该日",
                f"The day-end of {running.business_on} is unfinished: run that date first",
                unfinished=running.business_on.isoformat(),
            )
        last = BusinessDay.objects.order_by("-business_on").first()
        if last is not None and business_on != last.business_on + dt.timedelta(days=1):
            expected = last.business_on + dt.timedelta(days=1)
            if business_on < last.business_on:
                zh, en = (
                    f"{business_on}早于已完成的营业日{last.business_on}",
                    f"{business_on} is before {last.business_on}, already closed",
                )
            else:
                zh, en = (
                    f"不能跳过营业日：下一个应为{expected}",
                    f"Business dates cannot be skipped: the next one is {expected}",
                )
            raise EodRefused(zh, en, code="eod_date_out_of_order", expected=expected.isoformat())
        try:
            with transaction.atomic():
                day = BusinessDay.objects.create(business_on=business_on, started_at=now())
        except IntegrityError:
            raise EodRefused(
                "另一个日终批处理正在运行", "Another day-end run is in progress", code="eod_in_progress"
            ) from None
        audit.record(actor, "servicing.eod.start", day, after={"business_on": business_on, "first": first})
        return day, first, ""


def _run_step(
    business_on: dt.date, step: str, *, first: bool, actor: Any, progress: Progress | None
) -> StepResult | None:
    with transaction.atomic():
        # The row lock serialises two runners of the same date (SQLite: the write lock taken at BEGIN).
        day = BusinessDay.objects.select_for_update().get(business_on=business_on)
        previous = STEPS[STEPS.index(step) - 1] if STEPS.index(step) else ""
        if day.status == DayStatus.DONE or day.step != previous:
            return None  # another runner did it meanwhile
        if progress:
            progress(step, "start")
        started = time.perf_counter()
        batch = _Batch(business_on, first=first, actor=actor)
        if batch.pg:
            # Hash joins and sorts over a million loans in memory, not in temporary files; no JIT (it
            # spent ~0.2 s compiling each mid-sized statement for nothing); the tables are read from
            # memory, where an index probe costs little more than a sequential page.
            batch.execute("SET LOCAL work_mem = '256MB'")
            batch.execute("SET LOCAL jit = off")
            batch.execute("SET LOCAL random_page_cost = 1.1")
        counts = STEP_FUNCTIONS[step](batch)
        counts = {"seconds": round(time.perf_counter() - started, 3), **counts}
        day.step = step
        day.counts = {**day.counts, step: counts}
        day.save(update_fields=["step", "counts"])
        audit.record(actor, f"servicing.eod.{step}", day, after={"business_on": business_on, **counts})
    if progress:
        progress(step, "done")
    return StepResult(step, counts["seconds"], counts)


# SQL plumbing --------------------------------------------------------------------------------------


class _Batch:
    """One step's connection, quoted table names, the date and the few vendor differences it needs."""

    def __init__(self, business_on: dt.date, *, first: bool, actor: Any) -> None:
        self.on = business_on
        self.first = first
        self.actor = actor
        self.loader = BulkLoader(router.db_for_write(Loan))
        self.connection = connections[router.db_for_write(Loan)]
        self.pg = self.connection.vendor == "postgresql"
        qn = self.connection.ops.quote_name
        self.loan = qn(Loan._meta.db_table)
        self.inst = qn(Instalment._meta.db_table)
        self.state = qn(LoanState._meta.db_table)
        self.line = qn(CreditLine._meta.db_table)
        self.household = qn(Household._meta.db_table)
        self.village = qn(Village._meta.db_table)
        self.grid = qn(Grid._meta.db_table)
        self.snapshot = qn(PortfolioDay._meta.db_table)
        self.change = qn(ClassificationChange._meta.db_table)
        self.day_number = (business_on - EPOCH).days

    def date(self) -> str:
        """A date parameter's placeholder (typed on PostgreSQL, ISO text on SQLite like the columns)."""
        return "%s::date" if self.pg else "%s"

    def days(self, column: str) -> str:
        """A date column as whole days since 1970-01-01."""
        if self.pg:
            return f"({column} - DATE '1970-01-01')"
        return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"

    def from_days(self, column: str) -> str:
        """Whole days since 1970-01-01 as a date (the inverse of days())."""
        if self.pg:
            return f"(DATE '1970-01-01' + CAST({column} AS integer))"
        return f"date({column} * 86400, 'unixepoch')"

    def execute(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            return int(cursor.rowcount)

    def scalar(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            return int(cursor.fetchone()[0] or 0)

    def ints(self, sql: str, params: list[Any], n: int) -> list[np.ndarray]:
        """The n integer columns of a query (none may be NULL) as int64 arrays, in row order.

        On PostgreSQL each column comes back as one bytea of int8send() values, which numpy reads in
        place: a million rows cost no Python per row.
        """
        if not self.pg:
            with self.connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            if not rows:
                return [np.empty(0, dtype=np.int64) for _ in range(n)]
            return [np.asarray(column, dtype=np.int64) for column in zip(*rows, strict=True)]
        import psycopg

        names = [f"c{i}" for i in range(n)]
        packed = ", ".join(f"string_agg(int8send(r.{c}::bigint), ''::bytea)" for c in names)
        self.connection.ensure_connection()
        raw = self.connection.connection
        query = psycopg.ClientCursor(raw).mogrify(f"SELECT {packed} FROM ({sql}) AS r({', '.join(names)})", params)
        with psycopg.Cursor(raw) as cursor:
            cursor.execute(query, binary=True)
            row = cursor.fetchone()
        if row is None or row[0] is None:
            return [np.empty(0, dtype=np.int64) for _ in range(n)]
        return [np.frombuffer(value, dtype=">i8").astype(np.int64) for value in row]

    @contextmanager
    def stage(self, name: str, columns: dict[str, np.ndarray] | None = None, ddl: str = "") -> Iterator[str]:
        """A temporary table for this step, filled from integer columns by one binary COPY (or created
        from `ddl`); dropped afterwards. Yields its quoted name."""
        qn = self.connection.ops.quote_name
        table = qn(name)
        definition = ddl or ", ".join(f"{qn(c)} bigint NOT NULL" for c in columns or {})
        self.execute(f"DROP TABLE IF EXISTS {table}")
        self.execute(f"CREATE TEMPORARY TABLE {table} ({definition}){' ON COMMIT DROP' if self.pg else ''}")
        if columns:
            self.loader.write_ints(name, columns)
        if self.pg:
            self.execute(f"ANALYZE {table}")  # the planner otherwise guesses a temp table's size
        try:
            yield table
        finally:
            self.execute(f"DROP TABLE IF EXISTS {table}")


def _legs(amounts: np.ndarray, debit: str, credit: str) -> list[ledger.Leg]:
    """Ledger legs for signed amounts: positive ones Dr `debit` / Cr `credit`, negative ones the reverse."""
    up = np.maximum(amounts, 0)
    legs = [ledger.Leg(debit, Side.DEBIT, up), ledger.Leg(credit, Side.CREDIT, up)]
    if int(amounts.min()) < 0:
        down = np.maximum(-amounts, 0)
        legs += [ledger.Leg(credit, Side.DEBIT, down), ledger.Leg(debit, Side.CREDIT, down)]
    return legs


def _post_and_keep(
    b: _Batch,
    *,
    kind: str,
    key: str,
    memo: str,
    loans: np.ndarray,
    lines: np.ndarray,
    amounts: np.ndarray,
    debit: str,
    credit: str,
    column: str,
) -> dict[str, Any]:
    """Post signed per-loan amounts as one batch entry and add them to the loans' `column`, in step."""
    keep = amounts != 0
    loans, lines, amounts = loans[keep], lines[keep], amounts[keep]
    # In loan-id order: the postings' (loan, account) index and the loan table are then written page
    # after page instead of at random, which is most of the cost at a million loans.
    order = np.argsort(loans, kind="stable")
    loans, lines, amounts = loans[order], lines[order], amounts[order]
    if not loans.size:
        return {"loans": 0, "debit_fen": 0, "credit_fen": 0, "entry": None}
    entry = ledger.post_many(
        kind=kind,
        posted_on=b.on,
        key=key,
        loan_ids=loans,
        line_ids=lines,
        legs=_legs(amounts, debit, credit),
        actor=b.actor,
        memo=memo,
    )
    with b.stage("servicing_eod_amounts", {"loan_id": loans, "amount": amounts}) as stage:
        updated = b.execute(
            f"UPDATE {b.loan} SET {column} = {b.loan}.{column} + s.amount FROM {stage} s WHERE {b.loan}.id = s.loan_id"
        )
    if updated != loans.size:
        raise RuntimeError(f"{kind}: {updated} loans updated for {loans.size} posted")
    return {
        "loans": int(loans.size),
        "debit_fen": int(amounts[amounts > 0].sum()),
        "credit_fen": int(-amounts[amounts < 0].sum()),
        "entry": entry.pk,
    }


# a. Interest accrual -------------------------------------------------------------------------------


def _refresh_periods(b: _Batch, loans: np.ndarray, versions: np.ndarray, starts: np.ndarray) -> None:
    """Give these loans (with their current schedule version and drawdown day) the instalment running on
    D: its number, due date, interest, and the period's start (the previous due date, or the drawdown
    date). Past the last due date the period is empty (NULL). Creates the state of loans without one."""
    superseded = InstalmentStatus.SUPERSEDED
    with b.stage("servicing_eod_refresh", {"loan_id": loans, "v": versions, "start_day": starts}) as stage:
        b.execute(
            "WITH x AS ("
            f" SELECT r.loan_id AS loan_id, MIN(CASE WHEN i.due_on >= {b.date()} THEN i.number END) AS next_number,"
            f" MAX(CASE WHEN i.due_on < {b.date()} THEN i.due_on END) AS prev_due"
            f" FROM {stage} r JOIN {b.inst} i ON i.loan_id = r.loan_id AND i.schedule_version = r.v"
            " AND i.status <> %s GROUP BY r.loan_id"
            ")"
            f" INSERT INTO {b.state} (loan_id, schedule_version, period_number, period_start_on, period_due_on,"
            " period_interest_fen, overdue_since, days_past_due, overdue_principal_fen, overdue_interest_fen,"
            " auto_class, manual_class, risk_class, classified_on, updated_on)"
            f" SELECT r.loan_id, r.v, i.number, COALESCE(x.prev_due, {b.from_days('r.start_day')}), i.due_on,"
            f" COALESCE(i.interest_fen, 0), NULL, 0, 0, 0, %s, NULL, %s, NULL, {b.date()}"
            f" FROM {stage} r LEFT JOIN x ON x.loan_id = r.loan_id"
            f" LEFT JOIN {b.inst} i ON i.loan_id = r.loan_id AND i.schedule_version = r.v AND i.number = x.next_number"
            " WHERE 1 = 1"  # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT
            " ON CONFLICT (loan_id) DO UPDATE SET schedule_version = excluded.schedule_version,"
            " period_number = excluded.period_number, period_start_on = excluded.period_start_on,"
            " period_due_on = excluded.period_due_on, period_interest_fen = excluded.period_interest_fen,"
            " updated_on = excluded.updated_on",
            [b.on, b.on, superseded, RiskClass.NORMAL, RiskClass.NORMAL, b.on],
        )


def _periods(b: _Batch, where: str = "", params: list[Any] | None = None) -> list[np.ndarray]:
    """Every active loan's (id, line, schedule version, the version its state was read from — −1 without
    a state —, period start and due date as day numbers — −1 when NULL —, period interest, drawdown day,
    1 when it is non-accrual), by loan id."""
    columns = b.ints(
        f"SELECT l.id, l.line_id, l.schedule_version, COALESCE(s.schedule_version, -1),"
        f" COALESCE({b.days('s.period_start_on')}, -1), COALESCE({b.days('s.period_due_on')}, -1),"
        f" COALESCE(s.period_interest_fen, 0), {b.days('l.start_on')},"
        " CASE WHEN l.accrual_stopped_on IS NULL THEN 0 ELSE 1 END"
        f" FROM {b.loan} l LEFT JOIN {b.state} s ON s.loan_id = l.id WHERE l.status = %s{where}",
        [LoanStatus.ACTIVE, *(params or [])],
        9,
    )
    order = np.argsort(columns[0], kind="stable")
    return [c[order] for c in columns]


def accrue_interest(b: _Batch) -> dict[str, Any]:
    """Accrue day D of each running period: floor(I·d/P) − floor(I·(d−1)/P) for day d of a P-day period
    whose instalment charges I. On the due date itself the receivable is trued up instead: it becomes
    exactly the interest of the instalments due by D and still unpaid (so a period's accruals end at its
    instalment's interest, and a repayment that re-amortised the loan mid-period is made good there).

    One read of every active loan with its state; the few whose period rolled before D, whose schedule
    changed since (a repayment re-amortised it) or that are new get their running instalment re-read
    from the schedule and are read again."""
    loans, lines, version, state_version, start, due, interest, drawn, stopped = _periods(b)
    stale = (state_version != version) | ((due >= 0) & (due < b.day_number))
    refreshed = loans[stale]
    if refreshed.size:
        _refresh_periods(b, refreshed, version[stale], drawn[stale])
        if b.pg and refreshed.size > max(10_000, loans.size // 10):
            # Many new states at once (the first date, a large migration): the planner of the next steps
            # must know the table's size now, not when autovacuum next looks (if it runs at all).
            b.execute(f"ANALYZE {b.state}")
        where, params = b.loader.id_set("l.id", refreshed.tolist())
        fresh = _periods(b, f" AND {where}", params)
        at = np.searchsorted(loans, fresh[0])
        start[at], due[at], interest[at] = fresh[4], fresh[5], fresh[6]
    accruing = (start >= 0) & (start < b.day_number) & (due > b.day_number) & (interest > 0)
    daily = rules.daily_accrual_fen(interest[accruing], b.day_number - start[accruing], due[accruing] - start[accruing])
    due_today = loans[due == b.day_number]
    due_loans, due_lines, receivable, unpaid, due_stopped = (np.empty(0, dtype=np.int64),) * 5
    if due_today.size:
        with b.stage("servicing_eod_due", {"loan_id": due_today}) as stage:
            if b.pg:  # the true-up reads the receivable: a concurrent repayment waits until this step commits
                b.execute(
                    f"SELECT l.id FROM {b.loan} l JOIN {stage} d ON d.loan_id = l.id ORDER BY l.id FOR UPDATE OF l"
                )
            # A non-accrual loan's receivable is kept off-balance: the true-up is made there.
            due_loans, due_lines, receivable, unpaid, due_stopped = b.ints(
                "SELECT l.id, l.line_id,"
                " CASE WHEN l.accrual_stopped_on IS NULL THEN l.interest_receivable_fen"
                " ELSE l.offbook_interest_fen END,"
                " COALESCE(SUM(i.interest_fen - i.paid_interest_fen), 0),"
                " CASE WHEN l.accrual_stopped_on IS NULL THEN 0 ELSE 1 END"
                f" FROM {stage} d JOIN {b.loan} l ON l.id = d.loan_id"
                f" LEFT JOIN {b.inst} i ON i.loan_id = l.id AND i.schedule_version = l.schedule_version"
                f" AND i.status = %s AND i.due_on <= {b.date()}"
                " GROUP BY l.id, l.line_id, l.interest_receivable_fen, l.offbook_interest_fen, l.accrual_stopped_on",
                [InstalmentStatus.PENDING, b.on],
                5,
            )
    acc_loans, acc_lines, acc_stopped = loans[accruing], lines[accruing], stopped[accruing] == 1
    all_loans = np.concatenate([acc_loans, due_loans])
    all_lines = np.concatenate([acc_lines, due_lines])
    all_amounts = np.concatenate([daily, unpaid - receivable])
    off = np.concatenate([acc_stopped, due_stopped == 1])
    posted = _post_and_keep(
        b,
        kind=EntryKind.ACCRUAL,
        key=f"accrual:{b.on.isoformat()}",
        memo=f"日终计提贷款利息 {b.on.isoformat()}",
        loans=all_loans[~off],
        lines=all_lines[~off],
        amounts=all_amounts[~off],
        debit=AccountCode.INTEREST_RECEIVABLE,
        credit=AccountCode.INTEREST_INCOME,
        column="interest_receivable_fen",
    )
    offbook = _post_and_keep(
        b,
        kind=EntryKind.ACCRUAL,
        key=f"accrual-offbook:{b.on.isoformat()}",
        memo=f"日终登记非应计贷款表外利息 {b.on.isoformat()}",
        loans=all_loans[off],
        lines=all_lines[off],
        amounts=all_amounts[off],
        debit=AccountCode.OFF_BALANCE_INTEREST,
        credit=AccountCode.OFF_BALANCE_CONTRA,
        column="offbook_interest_fen",
    )
    return {
        "periods_refreshed": int(refreshed.size),
        "accruing": int(accruing.sum()),
        "due_today": int(due_today.size),
        **posted,
        "offbook_loans": offbook["loans"],
        "offbook_fen": offbook["debit_fen"] - offbook["credit_fen"],
    }


# b. Due and overdue --------------------------------------------------------------------------------


def detect_overdue(b: _Batch) -> dict[str, Any]:
    """For the loans where something can have changed — already overdue (a repayment may have cured
    them), or an instalment fell due yesterday (period_start_on = D − 1), or every loan on the first
    date ever run — the oldest instalment due before D and not fully paid, days past due = D − its due
    date, and the principal and interest due before D and unpaid. An instalment due on D is not overdue
    on D: it becomes overdue from D + 1."""
    yesterday = b.on - dt.timedelta(days=1)
    where = "1 = 1" if b.first else f"s.overdue_since IS NOT NULL OR s.period_start_on = {b.date()}"
    ddl_date = "date" if b.pg else "text"
    with (
        b.stage("servicing_eod_candidates", ddl="loan_id bigint PRIMARY KEY") as cand,
        b.stage(
            "servicing_eod_overdue",
            ddl=f"loan_id bigint PRIMARY KEY, since {ddl_date} NOT NULL, principal bigint NOT NULL,"
            " interest bigint NOT NULL",
        ) as overdue,
    ):
        candidates = b.execute(
            f"INSERT INTO {cand} (loan_id) SELECT s.loan_id FROM {b.state} s WHERE {where}",
            [] if b.first else [yesterday],
        )
        b.execute(
            f"INSERT INTO {overdue} (loan_id, since, principal, interest)"
            " SELECT c.loan_id, MIN(i.due_on), SUM(i.principal_fen - i.paid_principal_fen),"
            " SUM(i.interest_fen - i.paid_interest_fen)"
            f" FROM {cand} c JOIN {b.loan} l ON l.id = c.loan_id AND l.status = %s"
            f" JOIN {b.inst} i ON i.loan_id = c.loan_id AND i.schedule_version = l.schedule_version"
            f" AND i.status = %s AND i.due_on < {b.date()}"
            " AND i.principal_fen + i.interest_fen > i.paid_principal_fen + i.paid_interest_fen"
            " GROUP BY c.loan_id",
            [LoanStatus.ACTIVE, InstalmentStatus.PENDING, b.on],
        )
        if b.pg:
            b.execute(f"ANALYZE {overdue}")
        overdue_loans = b.execute(
            f"UPDATE {b.state} SET overdue_since = o.since, days_past_due = %s - {b.days('o.since')},"
            " overdue_principal_fen = o.principal, overdue_interest_fen = o.interest, updated_on = %s"
            f" FROM {overdue} o WHERE {b.state}.loan_id = o.loan_id",
            [b.day_number, b.on],
        )
        cured = b.execute(
            f"UPDATE {b.state} SET overdue_since = NULL, days_past_due = 0, overdue_principal_fen = 0,"
            " overdue_interest_fen = 0, updated_on = %s"
            f" WHERE loan_id IN (SELECT c.loan_id FROM {cand} c WHERE NOT EXISTS"
            f" (SELECT 1 FROM {overdue} o WHERE o.loan_id = c.loan_id)) AND overdue_since IS NOT NULL",
            [b.on],
        )
        newly = b.scalar(f"SELECT COUNT(*) FROM {overdue} o WHERE o.since = {b.date()}", [yesterday])
    return {"candidates": candidates, "overdue_loans": overdue_loans, "newly_overdue": newly, "cured": cured}


# c. Penalty interest -------------------------------------------------------------------------------


def accrue_penalty(b: _Batch) -> dict[str, Any]:
    """One day of penalty interest on each active loan's overdue principal (due before D, unpaid):
    round_half_up(principal × penalty_rate / 360), from the day after the principal's due date. A
    non-accrual loan's penalty is owed all the same, and kept off-balance."""
    loans, lines, principal, rate, stopped = b.ints(
        f"SELECT l.id, l.line_id, s.overdue_principal_fen, CAST(ROUND(l.penalty_rate * {rules.RATE_SCALE}) AS BIGINT),"
        " CASE WHEN l.accrual_stopped_on IS NULL THEN 0 ELSE 1 END"
        f" FROM {b.state} s JOIN {b.loan} l ON l.id = s.loan_id"
        " WHERE s.overdue_since IS NOT NULL AND s.overdue_principal_fen > 0 AND l.status = %s",
        [LoanStatus.ACTIVE],
        5,
    )
    amounts = rules.daily_penalty_fen(principal, rate)
    off = stopped == 1
    posted = _post_and_keep(
        b,
        kind=EntryKind.PENALTY,
        key=f"penalty:{b.on.isoformat()}",
        memo=f"日终计提罚息 {b.on.isoformat()}",
        loans=loans[~off],
        lines=lines[~off],
        amounts=amounts[~off],
        debit=AccountCode.PENALTY_INTEREST_RECEIVABLE,
        credit=AccountCode.PENALTY_INTEREST_INCOME,
        column="penalty_receivable_fen",
    )
    offbook = _post_and_keep(
        b,
        kind=EntryKind.PENALTY,
        key=f"penalty-offbook:{b.on.isoformat()}",
        memo=f"日终登记非应计贷款表外罚息 {b.on.isoformat()}",
        loans=loans[off],
        lines=lines[off],
        amounts=amounts[off],
        debit=AccountCode.OFF_BALANCE_PENALTY,
        credit=AccountCode.OFF_BALANCE_CONTRA,
        column="offbook_penalty_fen",
    )
    return {
        "overdue_principal_fen": int(principal.sum()),
        **posted,
        "offbook_loans": offbook["loans"],
        "offbook_fen": offbook["debit_fen"] - offbook["credit_fen"],
    }


# c'. Non-accrual -----------------------------------------------------------------------------------


def non_accrual_days() -> int:
    """Days past due beyond which a loan stops accruing (XINEDAI_NON_ACCRUAL_DAYS, 90 by default)."""
    from django.conf import settings

    return int(getattr(settings, "XINEDAI_NON_ACCRUAL_DAYS", 90))


def _transfer(b: _Batch, *, stopping: bool, days: int) -> dict[str, Any]:
    """Loans crossing the non-accrual line today, one way: their receivables move between the balance
    sheet and the off-balance memo accounts (one journal entry for all), and their flag is set or cleared."""
    qn = b.connection.ops.quote_name
    if stopping:
        where, source = (
            # overdue_since IS NOT NULL: the few overdue loans, by the state's partial index
            "l.accrual_stopped_on IS NULL AND s.overdue_since IS NOT NULL AND s.days_past_due > %s",
            ("interest_receivable_fen", "penalty_receivable_fen"),
        )
    else:
        where, source = (
            "l.accrual_stopped_on IS NOT NULL AND s.days_past_due <= %s",  # by the loans' partial index
            ("offbook_interest_fen", "offbook_penalty_fen"),
        )
    if b.pg:  # the amounts move: a concurrent repayment waits until this step commits
        b.execute(
            f"SELECT l.id FROM {b.loan} l JOIN {b.state} s ON s.loan_id = l.id"
            f" WHERE l.status = %s AND {where} ORDER BY l.id FOR UPDATE OF l",
            [LoanStatus.ACTIVE, days],
        )
    loans, lines, interest, penalty = b.ints(
        f"SELECT l.id, l.line_id, l.{qn(source[0])}, l.{qn(source[1])}"
        f" FROM {b.loan} l JOIN {b.state} s ON s.loan_id = l.id WHERE l.status = %s AND {where}",
        [LoanStatus.ACTIVE, days],
        4,
    )
    if not loans.size:
        return {"loans": 0, "interest_fen": 0, "penalty_fen": 0, "entry": None}
    order = np.argsort(loans, kind="stable")
    loans, lines, interest, penalty = loans[order], lines[order], interest[order], penalty[order]
    on_off = (
        (AccountCode.INTEREST_INCOME, AccountCode.INTEREST_RECEIVABLE, AccountCode.OFF_BALANCE_INTEREST, interest),
        (
            AccountCode.PENALTY_INTEREST_INCOME,
            AccountCode.PENALTY_INTEREST_RECEIVABLE,
            AccountCode.OFF_BALANCE_PENALTY,
            penalty,
        ),
    )
    legs: list[ledger.Leg] = []
    for income, receivable, memo, amount in on_off:
        # stopping: the receivable is taken back from income and noted off-balance; resuming: the reverse
        first, second = (Side.DEBIT, Side.CREDIT) if stopping else (Side.CREDIT, Side.DEBIT)
        legs += [
            ledger.Leg(income, first, amount),
            ledger.Leg(receivable, second, amount),
            ledger.Leg(memo, first, amount),  # noted off-balance (stopping) or taken off (resuming)
        ]
    legs.append(ledger.Leg(AccountCode.OFF_BALANCE_CONTRA, Side.CREDIT if stopping else Side.DEBIT, interest + penalty))
    entry = None
    if int((interest + penalty).sum()) > 0:
        entry = ledger.post_many(
            kind=EntryKind.NON_ACCRUAL,
            posted_on=b.on,
            key=f"{'non-accrual' if stopping else 'accrual-resumed'}:{b.on.isoformat()}",
            loan_ids=loans,
            line_ids=lines,
            legs=legs,
            actor=b.actor,
            memo=f"{'转入非应计、应收利息转表外' if stopping else '恢复应计、表外利息转回表内'} {b.on.isoformat()}",
        ).pk
    sign = 1 if stopping else -1
    with b.stage("servicing_eod_transfer", {"loan_id": loans, "interest": interest, "penalty": penalty}) as stage:
        stopped_on = b.date() if stopping else "NULL"
        updated = b.execute(
            f"UPDATE {b.loan} SET interest_receivable_fen = {b.loan}.interest_receivable_fen - %s * t.interest,"
            f" offbook_interest_fen = {b.loan}.offbook_interest_fen + %s * t.interest,"
            f" penalty_receivable_fen = {b.loan}.penalty_receivable_fen - %s * t.penalty,"
            f" offbook_penalty_fen = {b.loan}.offbook_penalty_fen + %s * t.penalty,"
            f" accrual_stopped_on = {stopped_on}"
            f" FROM {stage} t WHERE {b.loan}.id = t.loan_id",
            [sign, sign, sign, sign, *([b.on] if stopping else [])],
        )
    if updated != loans.size:
        raise RuntimeError(f"non-accrual: {updated} loans updated for {loans.size} read")
    return {
        "loans": int(loans.size),
        "interest_fen": int(interest.sum()),
        "penalty_fen": int(penalty.sum()),
        "entry": entry,
    }


def transfer_non_accrual(b: _Batch) -> dict[str, Any]:
    """Loans more than non_accrual_days() past due after today's overdue detection stop accruing (their
    accrued interest and penalty leave income for the off-balance accounts); non-accrual loans back
    within the limit resume (their off-balance interest and penalty return to the balance sheet)."""
    days = non_accrual_days()
    stopped = _transfer(b, stopping=True, days=days)
    resumed = _transfer(b, stopping=False, days=days)
    return {"days": days, "stopped": stopped, "resumed": resumed}


# d. Five-category classification ------------------------------------------------------------------


def thresholds_on(on: dt.date) -> list[tuple[int, int]]:
    """The classification thresholds in force on a date: (class, days past due to exceed)."""
    effective = (
        ClassThreshold.objects.filter(effective_on__lte=on).order_by("-effective_on").values_list("effective_on")[:1]
    )
    rows = list(
        ClassThreshold.objects.filter(effective_on__in=effective).values_list("risk_class", "min_days_past_due")
    )
    if not rows:
        raise EodRefused(
            f"{on}没有生效的五级分类阈值",
            f"No classification thresholds are in force on {on}",
            code="eod_no_thresholds",
        )
    return rules.check_thresholds(rows)


def classify(b: _Batch) -> dict[str, Any]:
    """Classify by days past due every loan that is overdue or was classified worse than normal by the
    batch (it may have been cured); the result is never better than the loan's manual floor."""
    thresholds = thresholds_on(b.on)
    loans, dpd, auto, manual, risk = b.ints(
        f"SELECT s.loan_id, s.days_past_due, s.auto_class, COALESCE(s.manual_class, {RiskClass.NORMAL}), s.risk_class"
        f" FROM {b.state} s JOIN {b.loan} l ON l.id = s.loan_id"
        f" WHERE (s.overdue_since IS NOT NULL OR s.auto_class > {RiskClass.NORMAL}) AND l.status = %s",
        [LoanStatus.ACTIVE],
        5,
    )
    new_auto = rules.classify(dpd, thresholds)
    new_risk = rules.worse(new_auto, manual)
    changed = (new_auto != auto) | (new_risk != risk)
    moved = new_risk != risk
    if changed.any():
        columns = {
            "loan_id": loans[changed],
            "auto": new_auto[changed],
            "risk": new_risk[changed],
            "old": risk[changed],
            "dpd": dpd[changed],
        }
        with b.stage("servicing_eod_classes", columns) as stage:
            b.execute(
                f"INSERT INTO {b.change} (loan_id, changed_on, from_class, to_class, days_past_due, cause, request_id)"
                f" SELECT c.loan_id, {b.date()}, c.old, c.risk, c.dpd, %s, NULL FROM {stage} c WHERE c.risk <> c.old",
                [b.on, ChangeCause.DAYS_PAST_DUE],
            )
            b.execute(
                f"UPDATE {b.state} SET auto_class = c.auto, risk_class = c.risk,"
                f" classified_on = CASE WHEN c.risk <> c.old THEN {b.date()} ELSE {b.state}.classified_on END"
                f" FROM {stage} c WHERE {b.state}.loan_id = c.loan_id",
                [b.on],
            )
    by_class = {
        RiskClass(int(k)).name.lower(): int(v) for k, v in zip(*np.unique(new_risk, return_counts=True), strict=True)
    }
    return {
        "thresholds": [list(t) for t in thresholds],
        "examined": int(loans.size),
        "changed": int(moved.sum()),
        "downgraded": int((new_risk > risk).sum()),
        "upgraded": int((new_risk < risk).sum()),
        "examined_by_class": by_class,
    }


# e. Credit line expiry -----------------------------------------------------------------------------


def expire_lines(b: _Batch) -> dict[str, Any]:
    """Live lines whose last day (expires_on) is D or earlier become expired at the end of D. Loans drawn
    on them run on unchanged; the line just cannot be drawn again."""
    live = [str(s) for s in LIVE_LINE_STATUSES]
    marks = ", ".join(["%s"] * len(live))
    with b.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, status, household_id FROM {b.line} WHERE status IN ({marks}) AND expires_on <= {b.date()}"
            " ORDER BY id",
            [*live, b.on],
        )
        rows = cursor.fetchall()
    if rows:
        where, params = b.loader.id_set("id", [r[0] for r in rows])
        b.execute(f"UPDATE {b.line} SET status = %s WHERE {where}", [LineStatus.EXPIRED, *params])
        audit.record_many(
            b.actor,
            "servicing.line_expired",
            CreditLine._meta.label_lower,
            [
                (pk, f"line {pk}", {"status": LineStatus.EXPIRED, "was": status, "household": household}, "")
                for pk, status, household in rows
            ],
            reason=f"日终 {b.on.isoformat()}：额度到期",
        )
    return {"expired": len(rows)}


# f. Daily snapshot ---------------------------------------------------------------------------------


def snapshot(b: _Batch) -> dict[str, Any]:
    """The portfolio at the end of D, one row per grid (with its outlet and its manager that day) ×
    product × class. Re-running a date replaces its rows."""
    b.execute(f"DELETE FROM {b.snapshot} WHERE business_on = {b.date()}", [b.on])
    rows = b.execute(
        f"INSERT INTO {b.snapshot} (business_on, outlet_id, grid_id, manager_id, product_code, risk_class, loan_count,"
        " borrower_count, overdue_loan_count, principal_outstanding_fen, overdue_principal_fen,"
        " overdue_balance_fen, interest_receivable_fen, penalty_receivable_fen)"
        f" SELECT {b.date()}, g.outlet_id, g.id, g.owner_id, l.product_code, COALESCE(s.risk_class, %s), COUNT(*),"
        " COUNT(DISTINCT l.household_id), SUM(CASE WHEN s.overdue_since IS NULL THEN 0 ELSE 1 END),"
        " SUM(l.principal_outstanding_fen), SUM(COALESCE(s.overdue_principal_fen, 0)),"
        " SUM(CASE WHEN s.overdue_since IS NULL THEN 0 ELSE l.principal_outstanding_fen END),"
        " SUM(l.interest_receivable_fen), SUM(l.penalty_receivable_fen)"
        f" FROM {b.loan} l LEFT JOIN {b.state} s ON s.loan_id = l.id"
        f" JOIN {b.household} h ON h.id = l.household_id JOIN {b.village} v ON v.id = h.village_id"
        f" JOIN {b.grid} g ON g.id = v.grid_id"
        " WHERE l.status = %s"
        " GROUP BY g.outlet_id, g.id, g.owner_id, l.product_code, COALESCE(s.risk_class, %s)",
        [b.on, RiskClass.NORMAL, LoanStatus.ACTIVE, RiskClass.NORMAL],
    )
    loans = b.scalar(f"SELECT SUM(loan_count) FROM {b.snapshot} WHERE business_on = {b.date()}", [b.on])
    principal = b.scalar(
        f"SELECT SUM(principal_outstanding_fen) FROM {b.snapshot} WHERE business_on = {b.date()}", [b.on]
    )
    return {"rows": rows, "loans": loans, "principal_outstanding_fen": principal}


STEP_FUNCTIONS: dict[str, Callable[[_Batch], dict[str, Any]]] = {
    Step.ACCRUAL: accrue_interest,
    Step.OVERDUE: detect_overdue,
    Step.NON_ACCRUAL: transfer_non_accrual,
    Step.PENALTY: accrue_penalty,
    Step.CLASSIFY: classify,
    Step.LINES: expire_lines,
    Step.SNAPSHOT: snapshot,
}
