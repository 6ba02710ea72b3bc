"""Benchmark: server time of the pages and API calls staff use most, on a seeded bank (default: the
1,000,000-household database that bench/seed_households.py leaves behind).

    .venv/bin/python bench/seed_households.py --households 1000000
    .venv/bin/python bench/pages.py [--database-url URL] [--repeat 5]

A bank with loans gets the loan and portfolio pages measured too, e.g. the 1,000,000 loans of the
day-end benchmark's bank (bench/eod.py builds it):

    .venv/bin/python bench/pages.py --database-url postgresql://postgres@127.0.0.1:5432/xinedai_eod_bench

Prints the median and worst of N requests per page, per role, through Django's test client (no
network, no browser: the server's own cost).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/xinedai_bench")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["XINEDAI_ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinedai.settings")
    os.environ.setdefault("XINEDAI_VAR_DIR", str(ROOT / "var" / "bench"))
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.test import Client

    from xinedai.demo.seeding import DEMO_PASSWORD
    from xinedai.households.models import Household
    from xinedai.org.services import issue_token

    n = Household.objects.count()
    some = Household.objects.order_by("pk").values_list("pk", flat=True)[n // 2]
    am = get_user_model().objects.get(username="am01")
    with transaction.atomic():
        _, secret = issue_token(None, am, name="bench")
    am_household = Household.objects.filter(village__grid__owner=am).order_by("pk").values_list("pk", flat=True)[0]
    plan = [
        ("bm01", "/monitoring/coverage/"),
        ("bm01", "/households/"),
        ("bm01", f"/households/{some}/"),
        ("bm01", "/households/?q=王&segment=greenhouse"),
        ("om01", "/monitoring/coverage/"),
        ("am01", "/grids/"),
        ("am01", "/households/"),
        ("am01", f"/households/{am_household}/"),
        ("auditor01", "/audit/"),
        ("api:am01", "/api/v1/households?limit=50"),
        ("api:am01", f"/api/v1/households/{am_household}"),
    ]
    from xinedai.lending.models import Loan

    loan = Loan.objects.order_by("pk").values_list("pk", flat=True).first()
    if loan is not None:
        am_loan = Loan.objects.filter(household_id=am_household).values_list("pk", flat=True).first()
        plan += [
            ("bm01", "/loans/"),
            ("bm01", "/loans/?dpd=90"),
            ("bm01", "/loans/?class=3"),
            ("bm01", "/loans/?q=王"),
            ("bm01", f"/loans/{loan}/"),
            ("bm01", "/loans/classifications/"),
            ("bm01", "/monitoring/portfolio/"),
            ("om01", "/loans/"),
            ("om01", "/monitoring/portfolio/"),
            ("am01", "/loans/"),
            ("am01", f"/loans/{am_loan or loan}/"),
        ]
    loans = f" · {Loan.objects.count():,} loans" if loan is not None else ""
    print(f"bank: {n:,} households{loans} · {django.db.connection.vendor} · {args.repeat} requests each")
    print(f"{'who':<10} {'path':<42} {'median ms':>10} {'max ms':>8} {'status':>6}")
    clients: dict[str, Client] = {}
    for who, path in plan:
        if who not in clients:
            if who.startswith("api:"):
                clients[who] = Client(headers={"Authorization": f"Bearer {secret}"})
            else:
                c = Client()
                assert c.login(username=who, password=DEMO_PASSWORD), who
                clients[who] = c
        client = clients[who]
        times = []
        status = 0
        for _ in range(args.repeat):
            t = time.perf_counter()
            resp = client.get(path)
            times.append((time.perf_counter() - t) * 1000)
            status = resp.status_code
        print(f"{who:<10} {path[:42]:<42} {statistics.median(times):>10.1f} {max(times):>8.1f} {status:>6}")


if __name__ == "__main__":
    main()
