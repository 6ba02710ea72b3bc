"""Benchmark: import a 100,000-row household roster (validate every row, then write all) and print figures.

.venv/bin/python bench/import_roster.py --rows 100000                 # SQLite file under bench/out/
.venv/bin/python bench/import_roster.py --rows 100000 --postgres      # fresh database on 127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def machine() -> str:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(
        next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
    )
    return f"{os.cpu_count()} cores · {cpu} · {mem_kb // 1024 // 1024} GiB · Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ["XINEDAI_VAR_DIR"] = str(OUT / "var")
    if args.postgres:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS xinedai_bench_import")
            conn.execute("CREATE DATABASE xinedai_bench_import")
        os.environ["DATABASE_URL"] = "postgresql://postgres@127.0.0.1:5432/xinedai_bench_import"
    else:
        db = OUT / "import.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "xinedai.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction

    from xinedai.core.ids import make_resident_id
    from xinedai.households.roster import import_roster
    from xinedai.org import services as org

    call_command("migrate", verbosity=0)
    with transaction.atomic():
        ho = org.create_org_unit(None, code="HO", name="总行", kind="head_office", parent=None)
        outlet = org.create_org_unit(None, code="O1", name="支行", kind="outlet", parent=ho)
        grid = org.create_grid(None, code="G1", name="网格", outlet=outlet)
        for v in range(100):
            org.create_village(None, code=f"V{v:03d}", name=f"村{v}", grid=grid)
        user = get_user_model().objects.create_superuser("bench", password="bench-pass-123")

    path = OUT / f"roster-{args.rows}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "村编码",
                "户主姓名",
                "身份证号",
                "手机号",
                "家庭人口",
                "年收入(元)",
                "年支出(元)",
                "总资产(元)",
                "总负债(元)",
                "房产(元)",
                "种植收入(元)",
                "客群",
            ]
        )
        start_day = dt.date(1960, 1, 1)
        for i in range(args.rows):
            birth = start_day + dt.timedelta(days=(i // 900) % 15000)
            w.writerow(
                [
                    f"V{i % 100:03d}",
                    f"王{i}",
                    make_resident_id("370211", birth, i % 900),
                    f"13{i:09d}",
                    1 + i % 6,
                    f"{60000 + i % 90000}.50",
                    "40000",
                    "600000",
                    "30000",
                    "400000",
                    "50000",
                    "大棚种植",
                ]
            )
    size_mb = path.stat().st_size / 1e6

    phases: dict[str, float] = {}
    started = time.perf_counter()

    def progress(phase: str, done: int, total: int) -> None:
        phases[phase] = time.perf_counter() - started
        if done == total or done % (total // 10 or 1) == 0:
            sys.stderr.write(f"\r{phase:<10} {done:>8}/{total}")
            sys.stderr.flush()

    with transaction.atomic():
        report = import_roster(path, user, today=dt.date(2026, 6, 30), progress=progress)
    elapsed = time.perf_counter() - started
    sys.stderr.write("\n")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine   : {machine()}")
    print(
        f"database  : {connection.vendor} {connection.Database.__name__} "
        f"{getattr(connection.Database, 'sqlite_version', '') or connection.pg_version}"
    )
    print(f"roster    : {args.rows:,} rows, {size_mb:.1f} MB CSV")
    print(f"imported  : {report.imported:,} households (+ heads, file v1, audit rows)")
    print(f"validate  : {phases.get('validating', 0):.1f} s")
    print(f"total     : {elapsed:.1f} s  ({args.rows / elapsed:,.0f} rows/s)")
    print(f"peak RSS  : {peak_mb:,.0f} MiB")


if __name__ == "__main__":
    main()
