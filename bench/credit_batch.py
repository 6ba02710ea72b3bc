"""Benchmark: 1,000,000 households read from their files, scored, limited and written as credit lines.

    .venv/bin/python bench/seed_households.py --households 1000000      # once: the bank to score
    .venv/bin/python bench/credit_batch.py [--database-url URL] [--limit N]

Goal (issue 3): at most 20 s on PostgreSQL on this 2-core machine. The run is one transaction and is
committed (deferred foreign-key checks run at commit, so the figure includes them); the rows it wrote
are deleted afterwards, untimed, so it can be repeated on the same data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/xinedai_bench")
    parser.add_argument("--limit", type=int, default=0, help="score only the first N households")
    parser.add_argument("--chunk", type=int, default=250_000)
    parser.add_argument("--keep", action="store_true", help="keep the decisions and lines it wrote")
    parser.add_argument("--statements", action="store_true", help="print every SQL statement over 100 ms")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinedai.settings")
    os.environ.setdefault("XINEDAI_VAR_DIR", str(ROOT / "var" / "bench"))
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from xinedai.core.dates import now
    from xinedai.credit.batch import decide_batch
    from xinedai.credit.models import CreditDecision, CreditLine, LimitStrategy, ScoreModel
    from xinedai.credit.rules import DEFAULT_PARAMS
    from xinedai.credit.scorecard import CATEGORICAL, NUMERIC, Scorecard, Variable
    from xinedai.households.models import Household

    call_command("migrate", verbosity=0)
    card = Scorecard(
        variables=(
            Variable("age", NUMERIC, points=(20, 45, 55, 35, 15), missing_points=0, edges=(25.0, 35.0, 50.0, 60.0)),
            Variable("family_size", NUMERIC, points=(25, 40, 30), missing_points=0, edges=(2.0, 5.0)),
            Variable(
                "segment",
                CATEGORICAL,
                points=(60, 45, 30),
                missing_points=20,
                categories=(("greenhouse", "breeder"), ("salaried", "smb_owner"), ("business", "other")),
            ),
            Variable(
                "net_assets_yuan",
                NUMERIC,
                points=(10, 35, 60, 85, 110),
                missing_points=0,
                edges=(50_000.0, 200_000.0, 500_000.0, 1_000_000.0),
            ),
            Variable(
                "disposable_income_yuan",
                NUMERIC,
                points=(0, 30, 55, 80),
                missing_points=0,
                edges=(10_000.0, 40_000.0, 80_000.0),
            ),
            Variable("debt_ratio_pct", NUMERIC, points=(70, 50, 25, 0), missing_points=0, edges=(10.0, 30.0, 60.0)),
            Variable("overdue_count_24m", NUMERIC, points=(120, 60, 0, -40), missing_points=0, edges=(1.0, 2.0, 4.0)),
            Variable("inquiries_6m", NUMERIC, points=(50, 35, 10), missing_points=0, edges=(2.0, 5.0)),
            Variable("current_overdue_yuan", NUMERIC, points=(40, -80), missing_points=0, edges=(1.0,)),
        ),
        intercept_points=120,
    )
    ids = list(Household.objects.order_by("pk").values_list("pk", flat=True))
    if args.limit:
        ids = ids[: args.limit]
    print(f"households   {len(ids):,} · {connection.vendor}", flush=True)
    phases: dict[str, float] = {}
    started = time.perf_counter()

    def progress(phase: str, done: int, total: int) -> None:
        phases[f"{done}"] = time.perf_counter() - started
        print(f"  {phase} {done:>9,}/{total:,}  {time.perf_counter() - started:6.1f} s", file=sys.stderr, flush=True)

    with transaction.atomic(), connection.cursor() as cursor:  # what an interrupted run left behind
        line, decision = CreditLine._meta.db_table, CreditDecision._meta.db_table
        stale = list(ScoreModel.objects.filter(family="bench").values_list("pk", flat=True))
        if stale:
            cursor.execute(
                f"DELETE FROM {line} WHERE decision_id IN (SELECT id FROM {decision} WHERE score_model_id = ANY(%s))",
                [stale],
            )
            cursor.execute(f"DELETE FROM {decision} WHERE score_model_id = ANY(%s)", [stale])
            ScoreModel.objects.filter(pk__in=stale).delete()
            LimitStrategy.objects.filter(version__gte=1000).delete()
    with transaction.atomic():
        model = ScoreModel.objects.create(
            family="bench",
            version=1,
            name="bench",
            compiled=card.to_dict(),
            report={},
            trained_at=now(),
            status="active",
        )
        previous = list(LimitStrategy.objects.filter(status="active").values_list("pk", flat=True))
        LimitStrategy.objects.filter(pk__in=previous).update(status="retired")
        strategy = LimitStrategy.objects.create(
            version=(LimitStrategy.objects.count() + 1000),
            params=DEFAULT_PARAMS.to_dict(),
            created_at=now(),
            status="active",
        )
    started = time.perf_counter()

    def slow_statements(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if (spent := time.perf_counter() - t) > 0.1:
                print(f"    {spent:6.2f} s  {' '.join(sql.split())[:110]}", file=sys.stderr, flush=True)

    with (
        transaction.atomic(),
        connection.execute_wrapper(slow_statements if args.statements else (lambda execute, *a: execute(*a))),
    ):
        result = decide_batch(
            ids,
            actor=None,
            model=model,
            strategy=strategy,
            channel="combined",
            as_of=dt.date(2026, 6, 30),
            chunk_size=args.chunk,
            progress=progress,
        )
        before_commit = time.perf_counter() - started
    elapsed = time.perf_counter() - started
    decisions = CreditDecision.objects.filter(score_model=model).count()
    lines = CreditLine.objects.filter(decision__score_model=model).count()
    if not args.keep:
        with transaction.atomic(), connection.cursor() as cursor:
            line, decision = CreditLine._meta.db_table, CreditDecision._meta.db_table
            cursor.execute(
                f"DELETE FROM {line} WHERE decision_id IN (SELECT id FROM {decision} WHERE score_model_id = %s)",
                [model.pk],
            )
            cursor.execute(f"DELETE FROM {decision} WHERE score_model_id = %s", [model.pk])
            strategy.delete()
            model.delete()
            LimitStrategy.objects.filter(pk__in=previous).update(status="active")
        with connection.cursor() as cursor:  # so that the next run finds the tables as a bank would
            cursor.execute(f"VACUUM ANALYZE {CreditLine._meta.db_table}")
            cursor.execute(f"VACUUM ANALYZE {CreditDecision._meta.db_table}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"decided      {result.decided:,} (checked: {decisions:,} decision rows)")
    print(f"granted      {result.granted:,} lines (checked: {lines:,}), {result.limit_fen / 100 / 1e8:,.2f} 亿元")
    print(
        f"elapsed      {elapsed:.1f} s incl. commit {elapsed - before_commit:.1f} s  "
        f"({result.decided / elapsed:,.0f} households/s)  goal <= 20 s"
    )
    print(f"peak RSS     {peak:,.0f} MiB")
    print(f"machine      {os.cpu_count()} cores · Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
