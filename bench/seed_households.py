"""Benchmark of the demo seed: a fresh database, migrate, seed N households; prints figures and the machine.

.venv/bin/python bench/seed_households.py --households 1000000
.venv/bin/python bench/seed_households.py --households 20000 --database-url sqlite:////tmp/bench.sqlite3
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/xinedai_bench"


def fresh_database(url: str) -> None:
    """Drop and create the target database (PostgreSQL via the `postgres` database; SQLite: delete file)."""
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    import psycopg
    from psycopg import sql

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def machine() -> dict[str, str]:
    info = {"nproc": str(os.cpu_count()), "python": platform.python_version()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20220630)
    parser.add_argument("--as-of", default="2026-06-30", help="business date of the data (fixed: repeatable)")
    parser.add_argument(
        "--database-url", default=DEFAULT_URL, help=f"database to (re)create and fill; default {DEFAULT_URL}"
    )
    args = parser.parse_args()

    fresh_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinedai.settings")
    os.environ.setdefault("XINEDAI_VAR_DIR", str(ROOT / "var" / "bench"))
    sys.path.insert(0, str(ROOT / "src"))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from xinedai.demo.seeding import seed_bank
    from xinedai.households.models import FileVersion, Household, Member

    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - t

    last = {"step": -1}

    def progress(phase: str, done: int, total: int) -> None:
        step = done * 10 // max(total, 1)
        if phase == "households" and step != last["step"]:
            last["step"] = step
            print(f"  {phase} {done:>9}/{total}  {time.perf_counter() - t:6.1f} s", file=sys.stderr, flush=True)

    t = time.perf_counter()
    with transaction.atomic():
        result = seed_bank(
            households=args.households,
            seed=args.seed,
            progress=progress,
            as_of=dt.date.fromisoformat(args.as_of),
            credit=False,
        )
    seconds = time.perf_counter() - t  # includes the commit (deferred foreign-key checks run there)

    households = Household.objects.count()
    members = Member.objects.count()
    versions = FileVersion.objects.count()
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            engine = "PostgreSQL " + cur.fetchone()[0]
            cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            size = cur.fetchone()[0]
    else:
        import sqlite3

        engine = "SQLite " + sqlite3.sqlite_version
        size = f"{Path(connection.settings_dict['NAME']).stat().st_size / 2**20:.0f} MB"
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    info = machine()
    rows = households + members + versions
    print(
        f"machine       {info.get('nproc')} CPUs, {info.get('cpu', '?')}, {info.get('ram', '?')} RAM, "
        f"Python {info['python']}"
    )
    print(f"database      {engine} ({args.database_url}), size after seed {size}")
    print(f"migrate       {migrate_s:.1f} s")
    print(f"written       {households:,} households, {members:,} members, {versions:,} file versions ({rows:,} rows)")
    print(f"seed          {seconds:.1f} s wall (org + households + commit)")
    print(f"throughput    {households / seconds:,.0f} households/s, {rows / seconds:,.0f} rows/s")
    print(f"peak RSS      {peak_rss:,.0f} MiB (this process; the database server is separate)")
    print(f"created       {result.households_created:,} by this run, seed {args.seed}, as of {args.as_of}")


if __name__ == "__main__":
    main()
