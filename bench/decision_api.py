"""Benchmark: POST /api/v1/credit/decisions under 32 concurrent clients; prints req/s and p50/p95/p99/max.

    .venv/bin/python bench/decision_api.py                       # gunicorn, 2 sync workers, wrk, 30 s
    .venv/bin/python bench/decision_api.py --workers 2 --threads 4 --duration 20      # gthread workers
    .venv/bin/python bench/decision_api.py --server waitress --load python --requests 3000
    .venv/bin/python bench/decision_api.py --floor plain     # the stack alone: same server, no decision
    .venv/bin/python bench/decision_api.py --server granian  # Rust HTTP, keep-alive (decision 0011)
    .venv/bin/python bench/decision_api.py --server uwsgi    # a trial server (pip install uwsgi)

Builds once a PostgreSQL template database `xinedai_api_bench_tpl` with the 20,000-household demo bank
(model, strategy, lines and two years of lending; `--rebuild` builds it again), and starts every run from a
fresh copy of it, `xinedai_api_bench` (`--keep` runs on the last run's copy instead, whose decisions and
audit rows have grown), issues a token for am01, starts the server on 127.0.0.1:8765 and has
`--clients` connections each POST a decision for a random household of am01's grids, the next as soon
as the last is answered (gunicorn's sync workers close a connection after each response; the clients
reconnect; granian keeps them open). Prints the machine, the server configuration, req/s and the latency percentiles.

The load generator is `wrk` (C, a few percent of one core) when installed, else Python threads with
http.client (`--load python`), which take most of a core themselves and so inflate the figures on a
2-core machine. `--floor plain` serves bench/floor_urls.py instead, under the same settings, middleware
and server: the same path, body and answer through django-ninja, without token or decision, so the figures
are what the stack alone allows on this machine; `--floor read` adds one single-row read of the household.
gunicorn and granian are the `serve` extra (`pip install -e '.[serve]'`). Goal (issue 3): p99 <= 50 ms
with 32 concurrent clients.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import servers  # bench/servers.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
SERVER = servers.TCP  # the bench's own connections
APP_SERVER = SERVER  # the server under test's (--pg-socket: servers.database_server)
DB = "xinedai_api_bench"
TEMPLATE = "xinedai_api_bench_tpl"
URL = f"{SERVER}/{DB}"
PORT = 8765
PATH = "/api/v1/credit/decisions"

# wrk runs this per thread: random household ids, one JSON body per request, and at the end the
# percentiles (wrk's --latency stops at p99 and has no p95) as one parseable line.
WRK_SCRIPT = """
local ids = {%(ids)s}
local headers = {["Authorization"] = "Bearer %(token)s", ["Content-Type"] = "application/json"}
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
init = function(args)
  math.randomseed(os.time() + 7919 * id)
end
request = function()
  local body = '{"household_id": ' .. ids[math.random(#ids)] .. '}'
  return wrk.format("POST", "%(path)s", headers, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH {\\"requests\\": %%d, \\"seconds\\": %%.3f, \\"p50\\": %%.3f, \\"p95\\": %%.3f, \\"p99\\": %%.3f, "
    .. "\\"max\\": %%.3f, \\"non2xx\\": %%d, \\"socket_errors\\": %%d}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def env(floor: str = "none", database: str = DB) -> dict[str, str]:
    values = {
        **os.environ,
        "DATABASE_URL": f"{APP_SERVER}/{database}",
        "XINEDAI_VAR_DIR": str(ROOT / "var" / "bench-api"),
        "DJANGO_SETTINGS_MODULE": "xinedai.settings",
        "XINEDAI_ALLOWED_HOSTS": "127.0.0.1",
    }
    if floor != "none":
        values["DJANGO_SETTINGS_MODULE"] = "floor_settings"
        values["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "bench"), os.environ.get("PYTHONPATH")]))
    return values


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
    return f"{os.cpu_count()} cores · {cpu} · {mem_kb / 1024 / 1024:.1f} GiB · Python {platform.python_version()}"


def _run(*args: str, database: str = DB) -> str:
    py = str(ROOT / ".venv" / "bin" / "python")
    out = subprocess.run(
        [py, "-m", "xinedai", *args], env=env(database=database), check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def build_template() -> None:
    """The 20,000-household demo bank (model, strategy, lines and two years of lending); built under another
    name and renamed when done, so an interrupted build leaves no half template."""
    import psycopg

    building = f"{TEMPLATE}_building"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {building} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {building}")
    t = time.perf_counter()
    _run("demo", "--no-serve", "--households", "20000", database=building)
    with psycopg.connect(f"{SERVER}/{building}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        conn.execute(f"ALTER DATABASE {building} RENAME TO {TEMPLATE}")
    print(f"template    {TEMPLATE}: built in {time.perf_counter() - t:.0f} s")


def prepare(args: argparse.Namespace) -> tuple[str, list[int], str]:
    """A fresh copy of the template (each run starts from the same bank: decisions written by an earlier
    run would make the next one slower, see bench/README.md), a token for am01, the households of its grids."""
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [TEMPLATE]).fetchone()
    if args.rebuild or not exists:
        build_template()
    if not args.keep:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DB} TEMPLATE {TEMPLATE}")
    # A template built before the latest migrations still serves: its copy is brought up to date (seconds).
    _run("migrate", "--no-input")
    token = _run("issue-token", "am01", "--name", "bench")
    with psycopg.connect(URL) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT h.id FROM households_household h JOIN org_village v ON v.id = h.village_id"
                " JOIN org_grid g ON g.id = v.grid_id JOIN auth_user u ON u.id = g.owner_id"
                " WHERE u.username = 'am01' AND h.current_file_id IS NOT NULL"
            )
        ]
        row = conn.execute("SHOW server_version").fetchone()
        pg = f"PostgreSQL {row[0] if row else '?'}"
        decisions = conn.execute("SELECT count(*) FROM credit_creditdecision").fetchone()
    print(f"database    {DB}: {decisions[0] if decisions else 0:,} decisions before the run")
    servers.settle()
    return token, ids, pg


def server_command(args: argparse.Namespace) -> tuple[list[str], str]:
    py = str(ROOT / ".venv" / "bin" / "python")
    if args.server == "gunicorn":
        gunicorn = shutil.which("gunicorn", path=str(ROOT / ".venv" / "bin")) or "gunicorn"
        # Sync workers (one request at a time each, a connection per request) beat threads under the GIL
        # and keep-alive gthread workers (whose connections stay with one worker) on p99 here.
        worker_class = args.worker_class or ("sync" if args.threads == 1 else "gthread")
        cmd = [
            gunicorn,
            f"--workers={args.workers}",
            f"--worker-class={worker_class}",
            f"--threads={args.threads}",
            f"--backlog={max(64, 4 * args.clients)}",
            f"--bind=127.0.0.1:{PORT}",
            # The workers' heartbeat file in memory, not on the container's overlay disk (gunicorn's
            # advice for containers): ~6 % more decisions a second here.
            "--worker-tmp-dir=/dev/shm",
            "--log-level=warning",
            "xinedai.wsgi:application",
        ]
        kind = worker_class if worker_class == "sync" else f"gthread × {args.threads} threads"
        return cmd, f"gunicorn {args.workers} workers ({kind})"
    if args.server == "granian":
        return servers.granian(workers=args.workers, threads=args.threads, port=PORT, clients=args.clients)
    if args.server == "uwsgi":
        # A trial, not the platform's server (`pip install uwsgi`): C HTTP parsing, workers taking turns at
        # one listening socket as gunicorn's sync workers do; the header closes each connection, as they do.
        uwsgi = shutil.which("uwsgi", path=str(ROOT / ".venv" / "bin")) or "uwsgi"
        cmd = [
            uwsgi,
            f"--http-socket=127.0.0.1:{PORT}",
            f"--processes={args.workers}",
            "--master",
            "--lazy-apps",
            "--thunder-lock",
            "--single-interpreter",
            "--die-on-term",
            "--disable-logging",
            f"--listen={max(64, 4 * args.clients)}",
            "--add-header=Connection: close",
            "--module=xinedai.wsgi:application",
        ]
        return cmd, f"uWSGI {args.workers} processes (http-socket)"
    cmd = [py, "-m", "waitress", f"--threads={args.threads}", f"--port={PORT}", "--host=127.0.0.1"]
    return [*cmd, "xinedai.wsgi:application"], f"waitress 1 process × {args.threads} threads"


def wait_until_up() -> None:
    for _ in range(150):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
            conn.request("GET", "/accounts/login/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def python_client(token: str, ids: list[int], n: int, latencies: list[float], errors: list[str], seed: int) -> None:
    rnd = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for _ in range(n):
        body = json.dumps({"household_id": rnd.choice(ids)})
        t = time.perf_counter()
        try:
            conn.request("POST", PATH, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException) as exc:  # sync gunicorn workers close after each response
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            errors.append(type(exc).__name__)
            continue
        latencies.append((time.perf_counter() - t) * 1000)
        if resp.status != 200:
            errors.append(str(resp.status))
        if resp.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)


def run_python(args: argparse.Namespace, token: str, ids: list[int]) -> dict[str, float]:
    python_client(token, ids, 50, [], [], 0)  # warm-up
    latencies: list[float] = []
    errors: list[str] = []
    per = args.requests // args.clients
    threads = [
        threading.Thread(target=python_client, args=(token, ids, per, latencies, errors, i))
        for i in range(args.clients)
    ]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    lat = sorted(latencies)
    q = statistics.quantiles(lat, n=100)
    return {
        "requests": len(lat),
        "seconds": wall,
        "p50": q[49],
        "p95": q[94],
        "p99": q[98],
        "max": lat[-1],
        "non2xx": sum(e.isdigit() for e in errors),
        "socket_errors": sum(not e.isdigit() for e in errors),
    }


def run_wrk(args: argparse.Namespace, token: str, ids: list[int]) -> dict[str, float]:
    path = PATH + ("?read=1" if args.floor == "read" else "")
    script = WRK_SCRIPT % {"ids": ",".join(map(str, ids)), "token": token, "path": path}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        base = ["wrk", "-t", str(args.wrk_threads), "-c", str(args.clients), "-s", fh.name, "--latency"]
        url = f"http://127.0.0.1:{PORT}{PATH}"
        subprocess.run([*base, "-d", f"{args.warmup}s", url], check=True, capture_output=True, text=True)
        out = subprocess.run([*base, "-d", f"{args.duration}s", url], check=True, capture_output=True, text=True)
    finally:
        os.unlink(fh.name)
    if args.verbose:
        print(out.stdout)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("BENCH "))
    result: dict[str, float] = json.loads(line[len("BENCH ") :])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections (closed loop)")
    parser.add_argument("--server", choices=["gunicorn", "granian", "waitress", "uwsgi"], default="gunicorn")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2 measured best here)")
    parser.add_argument("--worker-class", choices=["sync", "gthread"], help="gunicorn: default sync for 1 thread")
    parser.add_argument("--threads", type=int, help="threads per worker (default: gunicorn 1, waitress 32)")
    parser.add_argument("--load", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--duration", type=int, default=30, help="wrk: seconds measured")
    parser.add_argument("--warmup", type=int, default=5, help="wrk: seconds of warm-up first")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--requests", type=int, default=3000, help="python load: requests measured")
    parser.add_argument("--verbose", action="store_true", help="print wrk's own report too")
    parser.add_argument("--rebuild", action="store_true", help="build the template database again")
    parser.add_argument("--keep", action="store_true", help="run on the last run's database, not a fresh copy")
    parser.add_argument(
        "--floor", choices=["none", "plain", "read"], default="none", help="serve bench/floor_urls.py instead"
    )
    servers.add_pg_socket_argument(parser)
    servers.add_balancer_argument(parser)
    args = parser.parse_args()
    global APP_SERVER
    APP_SERVER = servers.database_server(args.pg_socket)
    if args.threads is None:
        args.threads = 1 if args.server in ("gunicorn", "granian") else 32
    token, ids, pg = prepare(args)
    cmd, described = server_command(args)
    server, balanced = servers.start(
        args.server,
        cmd,
        env(args.floor),
        balancer=args.balancer,
        workers=args.workers,
        threads=args.threads,
        port=PORT,
        clients=args.clients,
    )
    described = (balanced or described) + servers.database_described(args.pg_socket)
    try:
        wait_until_up()
        # Mid-way through the measured run (after wrk's warm-up run, which has connections of its own).
        held = servers.ConnectionSample(server.pid, PORT, after=args.warmup + args.duration / 2)
        result = run_wrk(args, token, ids) if args.load == "wrk" else run_python(args, token, ids)
        served = server.haproxy_served()
    finally:
        server.terminate()
        server.wait(10)
    load = f"wrk -t{args.wrk_threads} -c{args.clients} {args.duration} s" if args.load == "wrk" else "Python threads"
    print(f"machine     {machine()} · {pg} on the same machine")
    if args.floor != "none":
        described += f" · FLOOR ({args.floor}): bench/floor_urls.py, no token, no decision"
    print(f"server      {described} · load {load} · {args.clients} clients · {len(ids):,} households")
    if served:
        print(f"balance     {' / '.join(f'{n:,}' for n in served)} requests given to the workers (warm-up included)")
    elif args.server == "granian":
        print(f"balance     {held.described()}")
    print(
        f"requests    {int(result['requests']):,} in {result['seconds']:.1f} s = "
        f"{result['requests'] / result['seconds']:,.0f} req/s, "
        f"non-2xx {int(result['non2xx'])}, socket errors {int(result['socket_errors'])}"
    )
    print(
        f"latency ms  p50 {result['p50']:.1f} · p95 {result['p95']:.1f} · p99 {result['p99']:.1f} · "
        f"max {result['max']:.1f}  (goal p99 <= 50)"
    )


if __name__ == "__main__":
    main()
