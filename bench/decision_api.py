"""Benchmark: POST /api/v1/credit/decisions under 32 concurrent clients; prints p50/p95/p99 latency.

    .venv/bin/python bench/decision_api.py [--clients 32] [--requests 3000] [--server waitress|gunicorn]

Creates (once) a PostgreSQL database `xinedai_api_bench` with a 20,000-household demo bank (model,
strategy and lines included), starts the server on 127.0.0.1:8765 and drives it from this process
with keep-alive connections. Goal (issue 3): p99 <= 50 ms with 32 concurrent clients.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
URL = "postgresql://postgres@127.0.0.1:5432/xinedai_api_bench"
PORT = 8765


def env() -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": URL, "XINEDAI_VAR_DIR": str(ROOT / "var" / "bench-api"),
            "DJANGO_SETTINGS_MODULE": "xinedai.settings", "XINEDAI_ALLOWED_HOSTS": "127.0.0.1"}


def prepare() -> tuple[str, list[int]]:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'xinedai_api_bench'").fetchone()
        if not exists:
            conn.execute("CREATE DATABASE xinedai_api_bench")
    py = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([py, "-m", "xinedai", "demo", "--no-serve", "--households", "20000"], env=env(), check=True,
                   stdout=subprocess.DEVNULL)
    out = subprocess.run([py, "-m", "xinedai", "issue-token", "am01", "--name", "bench"], env=env(), check=True,
                         capture_output=True, text=True)
    token = out.stdout.strip()
    with psycopg.connect(URL) as conn:
        ids = [r[0] for r in conn.execute(
            "SELECT h.id FROM households_household h JOIN org_village v ON v.id = h.village_id"
            " JOIN org_grid g ON g.id = v.grid_id JOIN auth_user u ON u.id = g.owner_id"
            " WHERE u.username = 'am01' AND h.current_file_id IS NOT NULL")]
    return token, ids


def client(token: str, ids: list[int], n: int, latencies: list[float], errors: list[str], seed: int) -> None:
    rnd = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for _ in range(n):
        body = json.dumps({"household_id": rnd.choice(ids)})
        t = time.perf_counter()
        conn.request("POST", "/api/v1/credit/decisions", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        latencies.append((time.perf_counter() - t) * 1000)
        if resp.status != 200:
            errors.append(str(resp.status))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--server", choices=["waitress", "gunicorn"], default="waitress")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    token, ids = prepare()
    py = str(ROOT / ".venv" / "bin" / "python")
    if args.server == "gunicorn":
        cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", str(args.workers), "--threads", "8", "-b",
               f"127.0.0.1:{PORT}", "xinedai.wsgi:application"]
    else:
        cmd = [py, "-m", "waitress", "--threads=32", f"--port={PORT}", "--host=127.0.0.1", "xinedai.wsgi:application"]
    server = subprocess.Popen(cmd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/accounts/login/")
                break
            except OSError:
                time.sleep(0.2)
        warm: list[float] = []
        client(token, ids, 50, warm, [], 0)
        latencies: list[float] = []
        errors: list[str] = []
        per = args.requests // args.clients
        threads = [threading.Thread(target=client, args=(token, ids, per, latencies, errors, i))
                   for i in range(args.clients)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t
    finally:
        server.terminate()
        server.wait(10)
    lat = sorted(latencies)
    q = statistics.quantiles(lat, n=100)
    print(f"server      {args.server} · {os.cpu_count()} cores · PostgreSQL · clients {args.clients}")
    print(f"requests    {len(lat):,} in {wall:.1f} s = {len(lat) / wall:,.0f} req/s, errors {len(errors)}")
    print(f"latency ms  p50 {q[49]:.1f} · p95 {q[94]:.1f} · p99 {q[98]:.1f} · max {lat[-1]:.1f}  (goal p99 <= 50)")


if __name__ == "__main__":
    main()
