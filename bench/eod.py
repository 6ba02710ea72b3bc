"""Benchmark: the day-end batch (`xinedai eod`) for 1,000,000 active loans on PostgreSQL.

    .venv/bin/python bench/eod.py                 # builds the bank once, then times the next business date
    .venv/bin/python bench/eod.py --rebuild       # drop and build again
    .venv/bin/python bench/eod.py --loans 20000   # a smaller book (in a database of its own name)

Goal (issue 4): at most 60 s on this 2-core machine, aim for 10 s. The bank is built once, set-wise:
the demo seed's org and households, then one active credit line and one loan per household written by
binary COPY into staging tables and INSERT … SELECT — schedules computed with numpy, instalments due
before the first date paid (a few percent of loans stopped paying, up to 400 days ago), and the ledger's
opening entries (disbursements, repayments, the interest accrued so far) posted by post_many. The first
business date run builds every loan's servicing state (figures printed, not the goal); each later
invocation times the next date in its own process, so the peak RSS is the batch's own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/xinedai_eod_bench"
FIRST_DATE = dt.date(2026, 6, 30)  # the bank's data is as of this date; the first batch runs for it
EPOCH = np.datetime64("1970-01-01", "D")
DELINQUENT = 0.04  # share of loans that stopped paying at some point in the last 400 days


def machine() -> str:
    cpu, ram = "?", "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {cpu}, {ram} RAM, Python {platform.python_version()}"


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM). Not getrusage's ru_maxrss: Linux carries that over from
    the parent across fork and exec, and the parent here is the builder with its 14 M-row arrays."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def database_exists(url: str) -> bool:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def fresh_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinedai.settings")
    os.environ.setdefault("XINEDAI_VAR_DIR", str(ROOT / "var" / "bench"))
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


# Building the book ---------------------------------------------------------------------------------


def add_months(start: np.ndarray, k: np.ndarray) -> np.ndarray:
    """lending.rules.add_months over arrays of datetime64[D]: the start's day k months on, clamped."""
    month = start.astype("datetime64[M]")
    day = (start - month.astype("datetime64[D]")).astype(np.int64)  # 0-based day of month
    target = month + k
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return target.astype("datetime64[D]") + np.minimum(day, length - 1)


def schedules(principal, rate_micro, term, method, start):  # type: ignore[no-untyped-def]
    """Instalments of every loan (numpy, float rates rounded to the fen: plausible, not the contract's
    exact figures — the batch reads whatever the rows say). Returns flat arrays: loan index, number,
    due date, principal, interest."""
    n_loans = principal.size
    r = rate_micro / 1e6 / 12
    growth = (1 + r) ** term
    payment = np.rint(principal * r * growth / (growth - 1))
    share = np.rint(principal / term)
    balance = principal.astype(np.int64).copy()
    out: list[tuple[np.ndarray, ...]] = []
    bullet = method == 3
    for k in range(1, int(term.max()) + 1):
        alive = (k <= term) & ~bullet
        idx = np.flatnonzero(alive)
        if not idx.size:
            continue
        bal = balance[idx]
        interest = np.rint(bal * r[idx]).astype(np.int64)
        m = method[idx]
        interest = np.where(m == 2, np.rint(principal[idx] * r[idx]).astype(np.int64), interest)
        last = k == term[idx]
        p = np.where(m == 0, payment[idx] - interest, np.where(m == 1, share[idx], 0)).astype(np.int64)
        p = np.where(last, bal, np.clip(p, 0, bal))
        balance[idx] = bal - p
        due = add_months(start[idx], np.full(idx.size, k))
        out.append((idx, np.full(idx.size, k), due, p, interest))
    idx = np.flatnonzero(bullet)
    if idx.size:
        due = add_months(start[idx], term[idx])
        days = (due - start[idx]).astype(np.int64)
        interest = np.rint(principal[idx] * rate_micro[idx] / 1e6 / 360 * days).astype(np.int64)
        out.append((idx, np.ones(idx.size, dtype=np.int64), due, principal[idx].astype(np.int64), interest))
    cols = [np.concatenate([o[i] for o in out]) for i in range(5)]
    assert np.bincount(cols[0], weights=cols[3], minlength=n_loans).astype(np.int64).tolist() == principal.tolist()
    return cols


def build(n: int, seed: int) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    from xinedai.core.bulk import BulkLoader
    from xinedai.credit.models import CreditLine
    from xinedai.demo.seeding import seed_bank
    from xinedai.households.models import Household
    from xinedai.ledger import services as ledger
    from xinedai.ledger.choices import AccountCode, EntryKind, Side
    from xinedai.lending.models import Instalment, Loan

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)

    def progress(phase: str, done: int, total: int) -> None:
        if done == total or done % 250_000 == 0:
            print(f"  {phase} {done:>9,}/{total:,}  {time.perf_counter() - t0:6.1f} s", file=sys.stderr, flush=True)

    with transaction.atomic():
        seed_bank(households=n, seed=seed, progress=progress, as_of=FIRST_DATE, credit=False)
    print(f"  households seeded  {time.perf_counter() - t0:6.1f} s", file=sys.stderr, flush=True)

    rng = np.random.default_rng(seed)
    households = np.asarray(Household.objects.order_by("pk").values_list("pk", flat=True)[:n], dtype=np.int64)
    n = households.size
    first = np.datetime64(FIRST_DATE.isoformat(), "D")
    term = rng.choice(np.array([6, 12, 12, 12, 12, 24, 36]), size=n)
    method = rng.choice(np.array([0, 0, 0, 1, 1, 2, 3]), size=n)  # annuity, equal principal, interest only, bullet
    principal = rng.integers(10, 201, size=n) * 100_000  # 10,000 … 200,000 yuan in 1,000-yuan steps
    rate = rng.choice(np.array([39_500, 43_500, 45_000, 48_500, 52_000]), size=n)
    start = first - rng.integers(1, term * 30, size=n)
    delinquent = rng.random(n) < DELINQUENT
    # Dues from `stopped` on are unpaid: the delinquent loans stopped up to 400 days ago; the others paid
    # everything due up to and including the first date (on the due date, before that day's batch).
    stopped = np.where(delinquent, first - rng.integers(1, 400, size=n), first + 1)
    loan_i, number, due, inst_p, inst_i = schedules(principal, rate, term, method, start)
    paid = due < stopped[loan_i]
    paid_p = np.bincount(loan_i, weights=np.where(paid, inst_p, 0), minlength=n).astype(np.int64)
    paid_i = np.bincount(loan_i, weights=np.where(paid, inst_i, 0), minlength=n).astype(np.int64)
    outstanding = principal - paid_p
    # The interest accrued through the day before the first date, as the batch would have: unpaid interest
    # of instalments due by then, plus floor(I·d/P) of the period running on the first date.
    unpaid_due = np.bincount(loan_i, weights=np.where(~paid & (due < first), inst_i, 0), minlength=n).astype(np.int64)
    order = np.lexsort((due, loan_i))
    loan_s, due_s, int_s = loan_i[order], due[order], inst_i[order]
    running = due_s >= first
    # the first instalment of each loan due on or after the first date: the period running on it
    same_loan_prev = np.r_[False, loan_s[1:] == loan_s[:-1]]
    prev_due = np.concatenate([due_s[:1], due_s[:-1]])
    period_start = np.where(same_loan_prev, prev_due, start[loan_s])
    pick = running & ~(same_loan_prev & np.r_[False, running[:-1]])
    loans_r = loan_s[pick]
    d = (first - 1 - period_start[pick]).astype(np.int64)
    days = (due_s[pick] - period_start[pick]).astype(np.int64)
    accrued = np.zeros(n, dtype=np.int64)
    paid_s = paid[order]
    accrued[loans_r] = np.where(paid_s[pick], 0, int_s[pick] * d // days)  # a period paid on the first date
    receivable = unpaid_due + accrued
    maturity = add_months(start, term)
    ids = np.arange(1, n + 1, dtype=np.int64)
    print(
        f"  {n:,} loans, {loan_i.size:,} instalments computed, {int(delinquent.sum()):,} delinquent"
        f"  {time.perf_counter() - t0:6.1f} s",
        file=sys.stderr,
        flush=True,
    )

    def days_of(values: np.ndarray) -> np.ndarray:
        return (values - EPOCH).astype(np.int64)

    with transaction.atomic():
        loader = BulkLoader()
        cur = connection.cursor()
        line_t, loan_t, inst_t = CreditLine._meta.db_table, Loan._meta.db_table, Instalment._meta.db_table
        line0 = loader.reserve(CreditLine, n)
        loan0 = loader.reserve(Loan, n)
        line_ids, loan_ids = line0 + ids - 1, loan0 + ids - 1
        cur.execute(
            "CREATE TEMP TABLE bench_loans (i bigint, household bigint, line bigint, loan bigint,"
            " principal bigint,"
            " rate bigint, term bigint, method bigint, start bigint, maturity bigint, outstanding bigint,"
            " receivable bigint, expires bigint) ON COMMIT DROP"
        )
        loader.write_ints(
            "bench_loans",
            {
                "i": ids,
                "household": households,
                "line": line_ids,
                "loan": loan_ids,
                "principal": principal,
                "rate": rate,
                "term": term,
                "method": method,
                "start": days_of(start),
                "maturity": days_of(maturity),
                "outstanding": outstanding,
                "receivable": receivable,
                "expires": days_of(first + rng.integers(0, 365, size=n)),
            },
        )
        cur.execute(
            f"INSERT INTO {line_t} (id, household_id, product_code, limit_fen, used_fen, intake_mode, channel, status,"
            " decision_id, granted_at, expires_on, granted_by_id)"
            " SELECT line, household, 'xinedai', principal + 5000000, outstanding, 'model', 'combined', 'active', NULL,"
            " TIMESTAMPTZ '2025-06-01 09:00+08', DATE '1970-01-01' + expires::int, NULL FROM bench_loans"
        )
        methods = "(ARRAY['annuity', 'equal_principal', 'interest_only', 'bullet'])[method + 1]"
        with loader.indexes_deferred([Loan, Instalment]):
            cur.execute(
                f"INSERT INTO {loan_t} (id, household_id, line_id, product_code, drawdown_key, channel, principal_fen,"
                " annual_rate, penalty_rate, term_months, method, start_on, maturity_on, status,"
                " principal_outstanding_fen, interest_receivable_fen, penalty_receivable_fen, schedule_version,"
                " created_at, created_by_id, settled_on, offbook_interest_fen, offbook_penalty_fen)"
                " SELECT loan, household, line, 'xinedai', 'bench:' || i, 'mobile', principal, rate / 1000000.0,"
                f" rate * 1.5 / 1000000.0, term, {methods}, DATE '1970-01-01' + start::int,"
                " DATE '1970-01-01' + maturity::int, 'active', outstanding, receivable, 0, 1,"
                " TIMESTAMPTZ '2025-06-01 09:00+08', NULL, NULL, 0, 0 FROM bench_loans"
            )
            print(f"  lines and loans written  {time.perf_counter() - t0:6.1f} s", file=sys.stderr, flush=True)
            cur.execute(
                "CREATE TEMP TABLE bench_inst (loan bigint, number bigint, due bigint, principal bigint,"
                " interest bigint, paid bigint) ON COMMIT DROP"
            )
            loader.write_ints(
                "bench_inst",
                {
                    "loan": loan_ids[loan_i],
                    "number": number,
                    "due": days_of(due),
                    "principal": inst_p,
                    "interest": inst_i,
                    "paid": paid.astype(np.int64),
                },
            )
            cur.execute(
                f"INSERT INTO {inst_t} (loan_id, schedule_version, number, due_on, principal_fen, interest_fen,"
                " paid_principal_fen, paid_interest_fen, status)"
                " SELECT loan, 1, number, DATE '1970-01-01' + due::int, principal, interest, principal * paid,"
                " interest * paid, CASE WHEN paid = 1 THEN 'paid' ELSE 'pending' END"
                " FROM bench_inst ORDER BY loan, number"
            )
            print(f"  instalments written  {time.perf_counter() - t0:6.1f} s", file=sys.stderr, flush=True)
        on = FIRST_DATE - dt.timedelta(days=1)
        D, C = Side.DEBIT, Side.CREDIT
        ledger.post_many(
            kind=EntryKind.DISBURSEMENT,
            posted_on=on,
            key="bench:disbursements",
            loan_ids=loan_ids,
            line_ids=line_ids,
            legs=[(AccountCode.LOAN_PRINCIPAL, D, principal), (AccountCode.CUSTOMER_CLEARING, C, principal)],
        )
        ledger.post_many(
            kind=EntryKind.REPAYMENT,
            posted_on=on,
            key="bench:repayments",
            loan_ids=loan_ids,
            line_ids=line_ids,
            legs=[
                (AccountCode.CUSTOMER_CLEARING, D, paid_p + paid_i),
                (AccountCode.LOAN_PRINCIPAL, C, paid_p),
                (AccountCode.INTEREST_INCOME, C, paid_i),
            ],
        )
        ledger.post_many(
            kind=EntryKind.ACCRUAL,
            posted_on=on,
            key="bench:opening-accrual",
            loan_ids=loan_ids,
            line_ids=line_ids,
            legs=[(AccountCode.INTEREST_RECEIVABLE, D, receivable), (AccountCode.INTEREST_INCOME, C, receivable)],
        )
        print(f"  ledger opening entries posted  {time.perf_counter() - t0:6.1f} s", file=sys.stderr, flush=True)
    with connection.cursor() as cur:
        connection.ensure_connection()
        connection.connection.autocommit = True
        cur.execute("VACUUM ANALYZE")
    print(f"built in {time.perf_counter() - t0:.1f} s", flush=True)


# The day's repayments ------------------------------------------------------------------------------


def pay_due_instalments(on: dt.date) -> tuple[int, float]:
    """Before the batch: the instalments due on `on` of loans that are not overdue are repaid that day,
    as repay() would book them (receivable first, the rest to income; principal, line, instalment
    updated, one ledger entry) — except one loan in a thousand, which starts to fall behind. Untimed:
    without it the bench bank would never be paid and its overdue book would grow every day."""
    from django.db import connection, transaction

    from xinedai.ledger import services as ledger
    from xinedai.ledger.choices import AccountCode, EntryKind, Side

    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "SELECT l.id, l.line_id, i.id, i.principal_fen - i.paid_principal_fen,"
            " i.interest_fen - i.paid_interest_fen, l.interest_receivable_fen"
            " FROM servicing_loanstate s JOIN lending_loan l ON l.id = s.loan_id"
            " JOIN lending_instalment i ON i.loan_id = l.id AND i.schedule_version = l.schedule_version"
            " AND i.number = s.period_number"
            " WHERE s.period_due_on = %s AND s.overdue_since IS NULL AND l.status = 'active' AND i.status = 'pending'"
            " AND l.id %% 1000 <> 7 ORDER BY l.id",
            [on],
        )
        rows = cur.fetchall()
        if not rows:
            return 0, time.perf_counter() - t
        loans, lines, inst, p, i, recv = (np.asarray(c, dtype=np.int64) for c in zip(*rows, strict=True))
        from_recv = np.minimum(i, recv)
        D, C = Side.DEBIT, Side.CREDIT
        ledger.post_many(
            kind=EntryKind.REPAYMENT,
            posted_on=on,
            key=f"bench:autodebit:{on}",
            loan_ids=loans,
            line_ids=lines,
            legs=[
                (AccountCode.CUSTOMER_CLEARING, D, p + i),
                (AccountCode.LOAN_PRINCIPAL, C, p),
                (AccountCode.INTEREST_RECEIVABLE, C, from_recv),
                (AccountCode.INTEREST_INCOME, C, i - from_recv),
            ],
        )
        cur.execute(
            "CREATE TEMP TABLE bench_pay (loan bigint, line bigint, inst bigint, p bigint, r bigint) ON COMMIT DROP"
        )
        from xinedai.core.bulk import BulkLoader

        BulkLoader().write_ints("bench_pay", {"loan": loans, "line": lines, "inst": inst, "p": p, "r": from_recv})
        cur.execute(
            "UPDATE lending_instalment SET paid_principal_fen = principal_fen, paid_interest_fen = interest_fen,"
            " status = 'paid' FROM bench_pay b WHERE lending_instalment.id = b.inst"
        )
        cur.execute(
            "UPDATE lending_loan SET principal_outstanding_fen = principal_outstanding_fen - b.p,"
            " interest_receivable_fen = interest_receivable_fen - b.r,"
            " status = CASE WHEN principal_outstanding_fen = b.p AND penalty_receivable_fen = 0"
            " THEN 'settled' ELSE status END,"
            " settled_on = CASE WHEN principal_outstanding_fen = b.p AND penalty_receivable_fen = 0"
            " THEN %s::date ELSE settled_on END FROM bench_pay b WHERE lending_loan.id = b.loan",
            [on],
        )
        cur.execute(
            "UPDATE credit_creditline SET used_fen = used_fen - b.p FROM bench_pay b"
            " WHERE credit_creditline.id = b.line"
        )
    return len(rows), time.perf_counter() - t


# Timing --------------------------------------------------------------------------------------------


def time_one_date(url: str, verify: bool) -> None:
    setup_django(url)
    from django.db import connection

    from xinedai.ledger import verify as ledger_verify
    from xinedai.lending.models import Loan
    from xinedai.servicing import eod

    on = eod.next_date() or FIRST_DATE
    paid, paid_s = pay_due_instalments(on) if on != FIRST_DATE else (0, 0.0)
    active = Loan.objects.filter(status="active").count()
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        engine = "PostgreSQL " + cur.fetchone()[0]
    print(f"machine       {machine()}")
    print(f"database      {engine} ({url})")
    print(f"load average  {' '.join(f'{x:.2f}' for x in os.getloadavg())} (before the run)")
    print(f"business date {on}{' (the first: builds every loan state)' if on == FIRST_DATE else ''}")
    print(f"active loans  {active:,}")
    print(f"repaid        {paid:,} instalments due that day, before the batch ({paid_s:.1f} s, untimed)")

    def progress(step: str, what: str) -> None:
        print(f"  {step:<9} {what:<5} {time.perf_counter() - started:7.2f} s", file=sys.stderr, flush=True)

    started = time.perf_counter()
    result = eod.run(on, progress=progress)
    wall = time.perf_counter() - started
    for step in result.steps:
        figures = ", ".join(f"{k}={v}" for k, v in step.counts.items() if k not in ("seconds", "thresholds"))
        print(f"  {step.step:<9} {step.seconds:7.2f} s  {figures}")
    print(f"eod           {wall:.2f} s wall for {on} (steps {result.seconds:.2f} s + commits and bookkeeping)")
    print(f"throughput    {active / wall:,.0f} loans/s")
    print(f"peak RSS      {peak_rss_mib():,.0f} MiB (this process)")
    if verify:
        t = time.perf_counter()
        report = ledger_verify.run()
        print(
            f"ledger verify {'clean' if report.clean else 'NOT CLEAN'} ({report.postings:,} postings)"
            f" in {time.perf_counter() - t:.1f} s"
        )
        for d in report.differences[:10]:
            print(f"  {d.line()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help=f"default {DEFAULT_URL} (suffixed by --loans if not 1M)")
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20260630)
    parser.add_argument("--rebuild", action="store_true", help="drop the database and build the book again")
    parser.add_argument("--days", type=int, default=1, help="time this many successive dates, one process each")
    parser.add_argument("--verify", action="store_true", help="run `ledger verify` after (untimed)")
    parser.add_argument("--time-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = args.database_url or (DEFAULT_URL if args.loans == 1_000_000 else f"{DEFAULT_URL}_{args.loans}")
    if args.time_only:
        time_one_date(url, args.verify)
        return
    if args.rebuild or not database_exists(url):
        fresh_database(url)
        setup_django(url)
        build(args.loans, args.seed)
        # The first date builds the servicing state of every loan: run (and print) it, then time the next.
        subprocess.run([sys.executable, __file__, "--time-only", "--database-url", url], check=True)
    for _ in range(args.days):
        command = [sys.executable, __file__, "--time-only", "--database-url", url]
        subprocess.run([*command, "--verify"] if args.verify else command, check=True)


if __name__ == "__main__":
    main()
