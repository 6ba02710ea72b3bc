"""Benchmark: POST /api/v1/channel/drawdowns under 32 concurrent clients, a share of them retries; then checks.

    .venv/bin/python bench/channel_drawdown.py                    # gunicorn 3 sync workers, wrk -c32, 30 s
    .venv/bin/python bench/channel_drawdown.py --retry-share 0.3 --duration 60
    .venv/bin/python bench/channel_drawdown.py --server granian --workers 2   # decision 0011
    .venv/bin/python bench/channel_drawdown.py --rebuild          # build the template database anew

Builds once a PostgreSQL template database `xinedai_channel_bench_tpl`: the 20,000-household demo bank
(`xinedai demo --no-serve`: a model, a strategy and ~17,500 active 信e贷 lines granted by the credit batch),
and the contract accepted for every active line through `channel.services.accept_contract` (audit rows
included). Every run then starts from a fresh copy of it, `xinedai_channel_bench`, migrated to the code's
latest migration, issues a channel credential (`xinedai issue-channel-credential mobile_banking`) and
starts gunicorn (or `--server granian`) on 127.0.0.1:8766.

wrk keeps `--clients` connections busy. Each request is a drawdown of 10,000 RMB over 12 months (annuity)
for the next customer of a shuffled list (`X-Customer-Id-Number`: the household head; a new
`Idempotency-Key`), except that a `--retry-share` of them (20 %) resend, byte for byte, one of the last
`--retry-window` requests of the same wrk thread: the channel retrying. A retry of a request that is
done gets its answer replayed (201, `Idempotent-Replayed: true`); of one still running, 409
`idempotency_in_flight`. A warm-up of a few seconds runs first (its drawdowns are real too).

Then, with the server stopped, the database is checked and every check printed; the script exits 1 if
one fails: no key left in flight; loans = keys answered 201 (each record's stored answer names the loan
drawn under its key); no key with two loans; one disbursement entry and one audit row per loan; no line
over its limit, and every line's used amount = what it had + its new loans; `xinedai ledger verify`.

Prints the machine (cores, CPU, load average before and after), the server, req/s, p50/p90/p99/max,
the status counts, and the CPU the server processes and their PostgreSQL backends spent per request
while measured (from /proc: on a machine shared with other work, the ceiling it implies for two idle
cores says more than the latencies do). Goal (issue "Channel drawdown"): p99 <= 100 ms at 32 concurrent clients, no
duplicate under retries. gunicorn and granian are the `serve` extra (`pip install -e '.[serve]'`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import servers  # bench/servers.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
SERVER = servers.TCP  # the bench's own connections
APP_SERVER = SERVER  # the server under test's (--pg-socket: servers.database_server)
TEMPLATE = "xinedai_channel_bench_tpl"
DB = "xinedai_channel_bench"
PORT = 8766
PATH = "/api/v1/channel/drawdowns"
CHANNEL = "mobile_banking"
AMOUNT_FEN = 1_000_000  # 10,000 RMB: the 信e贷 product's smallest drawdown
TERM_MONTHS = 12
METHOD = "annuity"

# Accept the contract of every active line of the template bank, through the channel's own service.
ACCEPT = """
from django.db import transaction
from xinedai.channel import services
from xinedai.credit.models import CreditLine
with transaction.atomic():
    client, _ = services.issue_credential(None, "%(channel)s", name="bench: contract acceptances")
    n = 0
    for line in CreditLine.objects.filter(status="active").select_related("household__village__grid__outlet"):
        services.accept_contract(client, line.household, line, contract_version="XED-BENCH-1", text_sha256="%(sha)s")
        n += 1
print(n)
"""

# wrk runs this per thread. Thread t takes the customers t, t + T, t + 2T … of the list (from the end in
# the warm-up); a share of requests resend one of the thread's last `window` requests unchanged.
# response() counts statuses and replays; done() prints the percentiles and the counts as one JSON line.
WRK_SCRIPT = """
local customers = {%(customers)s}
local share, window, prefix, reverse = %(share)s, %(window)d, "%(prefix)s", %(reverse)s
local base = {["Authorization"] = "Bearer %(token)s", ["Content-Type"] = "application/json"}
local threads, all = 0, {}
setup = function(thread)
  thread:set("id", threads)
  thread:set("nthreads", %(wrk_threads)d)
  threads = threads + 1
  table.insert(all, thread)
end
fresh, retries, replayed, statuses = 0, 0, 0, {}  -- globals: done() reads them with thread:get
local sent = {}
init = function(args)
  math.randomseed(os.time() + 7919 * id)
end
request = function()
  if fresh > 0 and math.random() < share then
    retries = retries + 1
    local back = math.random(math.min(fresh, window)) - 1
    return sent[((fresh - 1 - back) %% window) + 1]
  end
  local i = (id + fresh * nthreads) %% #customers
  if reverse then i = #customers - 1 - i end
  local c = customers[i + 1]
  fresh = fresh + 1
  local headers = {["X-Customer-Id-Number"] = c[1], ["Idempotency-Key"] = prefix .. "-" .. id .. "-" .. fresh}
  for k, v in pairs(base) do headers[k] = v end
  local body = '{"line_id": ' .. c[2] .. ', "amount_fen": %(amount)d, "term_months": %(term)d, "method": "%(method)s"}'
  local req = wrk.format("POST", "%(path)s", headers, body)
  sent[((fresh - 1) %% window) + 1] = req
  return req
end
response = function(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
  -- header names are case-insensitive; some servers send them in lower case
  if status == 201 and (headers["Idempotent-Replayed"] or headers["idempotent-replayed"]) then
    replayed = replayed + 1
  end
end
done = function(summary, latency, requests)
  local counts, nfresh, nretries, nreplayed = {}, 0, 0, 0
  for _, t in ipairs(all) do
    for k, v in pairs(t:get("statuses")) do counts[k] = (counts[k] or 0) + v end
    nfresh = nfresh + t:get("fresh")
    nretries = nretries + t:get("retries")
    nreplayed = nreplayed + t:get("replayed")
  end
  local parts = {}
  for k, v in pairs(counts) do table.insert(parts, string.format('"%%s": %%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    "BENCH {\\"requests\\": %%d, \\"seconds\\": %%.3f, \\"p50\\": %%.3f, \\"p90\\": %%.3f, \\"p99\\": %%.3f, "
    .. "\\"max\\": %%.3f, \\"socket_errors\\": %%d, \\"fresh\\": %%d, \\"retries\\": %%d, \\"replayed\\": %%d, "
    .. "\\"statuses\\": {%%s}}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, e.connect + e.read + e.write + e.timeout,
    nfresh, nretries, nreplayed, table.concat(parts, ", ")))
end
"""


def env(database: str = DB) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{APP_SERVER}/{database}",
        "XINEDAI_VAR_DIR": str(ROOT / "var" / "bench-channel"),
        "DJANGO_SETTINGS_MODULE": "xinedai.settings",
        "XINEDAI_ALLOWED_HOSTS": "127.0.0.1",
    }


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


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(server: servers.Processes) -> dict[str, dict[int, float]]:
    """CPU so far of the server processes (the balancer's included) and of the PostgreSQL backends serving
    the bench database."""
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        backends = [
            r[0]
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'", [DB]
            )
        ]
    return {
        "server": {pid: cpu_seconds(pid) for pid in server.all_pids()},
        "postgres": {pid: cpu_seconds(pid) for pid in backends},
    }


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    return {side: sum(max(0.0, cpu - before[side].get(pid, 0.0)) for pid, cpu in after[side].items()) for side in after}


def wait_for_requests_to_finish(limit: float = 15.0, quiet: float = 0.5) -> float:
    """Seconds until the server is idle: no key in flight and no new key for `quiet` seconds (at most
    `limit`). wrk hangs up on the requests it has open when it stops; the server still runs them, and
    those it had queued too, but granian, stopped at that moment, would abandon them mid-transaction
    (decision 0011), as an operator draining a server before a restart would not."""
    import psycopg

    start = time.perf_counter()
    last, since = (-1, -1), start
    with psycopg.connect(f"{SERVER}/{DB}", autocommit=True) as conn:
        while (now := time.perf_counter()) - start < limit:
            row = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE status = 'in_flight') FROM channel_idempotencyrecord"
            ).fetchone()
            seen = (row[0], row[1]) if row else (0, 0)
            if seen != last:
                last, since = seen, now
            elif seen[1] == 0 and now - since >= quiet:
                return since - start
            time.sleep(0.05)
    return time.perf_counter() - start


def xinedai(*args: str, database: str = DB) -> str:
    py = str(ROOT / ".venv" / "bin" / "python")
    out = subprocess.run([py, "-m", "xinedai", *args], env=env(database), check=True, capture_output=True, text=True)
    return out.stdout.strip()


def build_template(households: int) -> None:
    """The demo bank with every active line's contract accepted; built under another name, renamed when done."""
    import psycopg

    building = f"{TEMPLATE}_building"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {building} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {building}")
    t = time.perf_counter()
    xinedai("demo", "--no-serve", "--households", str(households), database=building)
    accepted = xinedai("shell", "-c", ACCEPT % {"channel": CHANNEL, "sha": "b" * 64}, database=building)
    with psycopg.connect(f"{SERVER}/{building}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        conn.execute(f"ALTER DATABASE {building} RENAME TO {TEMPLATE}")
    print(
        f"template    {TEMPLATE}: {households:,} households, {int(accepted.splitlines()[-1]):,} contracts accepted, "
        f"built in {time.perf_counter() - t:.0f} s"
    )


def prepare(args: argparse.Namespace) -> tuple[str, list[tuple[str, int]], dict[int, int], str]:
    """A fresh copy of the template; returns the credential, the customers (ID number, line) and the lines'
    used amounts before the run."""
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [TEMPLATE]).fetchone()
    if args.rebuild or not exists:
        build_template(args.households)
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB} TEMPLATE {TEMPLATE}")
    # A template built before the latest migrations still serves: its copy is brought up to date (seconds).
    xinedai("migrate", "--no-input")
    token = xinedai("issue-channel-credential", CHANNEL, "--name", "bench")
    with psycopg.connect(f"{SERVER}/{DB}") as conn:
        rows = conn.execute(
            "SELECT m.id_number, l.id, l.used_fen FROM credit_creditline l"
            " JOIN households_member m ON m.household_id = l.household_id AND m.relation = 'head'"
            " WHERE l.status = 'active' AND l.limit_fen - l.used_fen >= %s AND l.expires_on > current_date"
            " AND EXISTS (SELECT 1 FROM channel_contractacceptance a WHERE a.line_id = l.id)"
            " ORDER BY l.id",
            [AMOUNT_FEN],
        ).fetchall()
        row = conn.execute("SHOW server_version").fetchone()
        pg = f"PostgreSQL {row[0] if row else '?'}"
        # The demo bank comes with two years of lending: the checks count only what the run adds.
        for table in BASELINE_TABLES:
            BASELINE[table] = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]  # type: ignore[index]
    servers.settle()
    customers = [(r[0], r[1]) for r in rows]
    random.Random(args.seed).shuffle(customers)
    return token, customers, {r[1]: r[2] for r in rows}, pg


def server_command(args: argparse.Namespace) -> tuple[list[str], str]:
    if args.server == "granian":
        return servers.granian(
            workers=args.workers,
            threads=args.threads,
            port=PORT,
            clients=args.clients,
            extra=("--workers-kill-timeout=30",),
        )
    gunicorn = shutil.which("gunicorn", path=str(ROOT / ".venv" / "bin")) or "gunicorn"
    # As bench/decision_api.py: sync workers (a request at a time each, a connection per request) beat
    # keep-alive gthread workers on p99 on this machine.
    worker_class = args.worker_class or ("sync" if args.threads == 1 else "gthread")
    cmd = [
        gunicorn,
        f"--workers={args.workers}",
        f"--worker-class={worker_class}",
        f"--threads={args.threads}",
        f"--backlog={max(64, 4 * args.clients)}",
        f"--bind=127.0.0.1:{PORT}",
        "--graceful-timeout=30",
        "--worker-tmp-dir=/dev/shm",  # the workers' heartbeat file in memory (docs/operations.md)
        "--log-level=warning",
        "xinedai.wsgi:application",
    ]
    kind = worker_class if worker_class == "sync" else f"gthread × {args.threads} threads"
    return cmd, f"gunicorn {args.workers} workers ({kind})"


def wait_until_up() -> None:
    for _ in range(150):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
            conn.request("GET", "/api/v1/channel/openapi.json")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def run_wrk(args: argparse.Namespace, token: str, customers: list[tuple[str, int]], *, warmup: bool) -> dict[str, Any]:
    script = WRK_SCRIPT % {
        "customers": ",".join(f'{{"{n}",{line}}}' for n, line in customers),
        "share": args.retry_share,
        "window": args.retry_window,
        "prefix": f"{'w' if warmup else 'm'}{args.seed}",
        "reverse": "true" if warmup else "false",
        "wrk_threads": args.wrk_threads,
        "token": token,
        "path": PATH,
        "amount": AMOUNT_FEN,
        "term": TERM_MONTHS,
        "method": METHOD,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        seconds = args.warmup if warmup else args.duration
        cmd = ["wrk", "-t", str(args.wrk_threads), "-c", str(args.clients), "-s", fh.name, "-d", f"{seconds}s"]
        # wrk leaves a request slower than its timeout out of the latencies: 30 s keeps every one in.
        cmd += ["--timeout", "30s"]
        out = subprocess.run([*cmd, f"http://127.0.0.1:{PORT}{PATH}"], check=True, capture_output=True, text=True)
    finally:
        os.unlink(fh.name)
    if args.verbose:
        print(out.stdout)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("BENCH "))
    result: dict[str, Any] = json.loads(line[len("BENCH ") :])
    return result


# Checks after the run -------------------------------------------------------------------------------


BASELINE_TABLES = ("lending_loan", "ledger_journalentry", "core_auditentry")
BASELINE: dict[str, int] = {}  # the largest id of each before the run (prepare)


def check(results: dict[str, Any], clients: int, used_before: dict[int, int]) -> list[tuple[bool, str]]:
    import psycopg

    first_201 = sum(r["statuses"].get("201", 0) - r["replayed"] for r in results.values())
    out: list[tuple[bool, str]] = []
    with psycopg.connect(f"{SERVER}/{DB}") as conn:

        def one(sql: str, params: list[Any] | None = None) -> Any:
            row = conn.execute(sql, params or []).fetchone()
            return row[0] if row else None

        in_flight = one("SELECT count(*) FROM channel_idempotencyrecord WHERE status <> 'done'")
        out.append((in_flight == 0, f"keys left in flight: {in_flight}"))
        new_loan = f"id > {BASELINE['lending_loan']}"
        loans = one(f"SELECT count(*) FROM lending_loan WHERE {new_loan}")
        accepted = one(
            "SELECT count(*) FROM channel_idempotencyrecord WHERE path = %s AND status = 'done'"
            " AND response_status = 201",
            [PATH],
        )
        matched = one(
            "SELECT count(*) FROM channel_idempotencyrecord r JOIN lending_loan l"
            " ON l.drawdown_key = r.channel || ':' || r.key AND l.id = (r.response_body::jsonb ->> 'id')::bigint"
            f" AND l.{new_loan} WHERE r.path = %s AND r.response_status = 201",
            [PATH],
        )
        out.append(
            (
                loans == accepted == matched,
                f"loans {loans:,} = keys answered 201 {accepted:,} = stored answers naming their key's loan "
                f"{matched:,}",
            )
        )
        # Each wrk run (warm-up, measured) stops with up to `clients` requests still running; the server
        # finishes them, and wrk never sees their answers.
        late, cut = loans - first_201, clients * len(results)
        out.append(
            (
                0 <= late <= cut,
                f"first answers 201 seen by wrk {first_201:,}; loans beyond them {late} "
                f"(requests still running when the {len(results)} wrk runs stopped: at most {cut})",
            )
        )
        dup = one("SELECT count(*) FROM (SELECT drawdown_key FROM lending_loan GROUP BY 1 HAVING count(*) > 1) x")
        out.append((dup == 0, f"keys with more than one loan: {dup}"))
        new_entry = f"e.id > {BASELINE['ledger_journalentry']}"
        entries = one(f"SELECT count(*) FROM ledger_journalentry e WHERE e.kind = 'disbursement' AND {new_entry}")
        twice = one(
            "SELECT count(*) FROM (SELECT p.loan_id FROM ledger_posting p JOIN ledger_journalentry e"
            " ON e.id = p.entry_id WHERE e.kind = 'disbursement' GROUP BY p.loan_id"
            " HAVING count(DISTINCT e.id) > 1) x"
        )
        out.append(
            (entries == loans and twice == 0, f"disbursement entries {entries:,}, loans disbursed twice {twice}")
        )
        new_audit = f"id > {BASELINE['core_auditentry']}"
        audited = one(f"SELECT count(*) FROM core_auditentry WHERE action = 'lending.drawdown' AND {new_audit}")
        out.append((audited == loans, f"drawdown audit rows {audited:,}"))
        over = one("SELECT count(*) FROM credit_creditline WHERE used_fen > limit_fen")
        out.append((over == 0, f"lines over their limit: {over}"))
        drawn = dict(
            conn.execute(
                f"SELECT line_id, sum(principal_fen) FROM lending_loan WHERE {new_loan} GROUP BY line_id"
            ).fetchall()
        )
        used = dict(
            conn.execute(
                "SELECT id, used_fen FROM credit_creditline WHERE id = ANY(%s)", [list(used_before)]
            ).fetchall()
        )
        wrong = sum(1 for line, u in used.items() if u != used_before[line] + drawn.get(line, 0))
        out.append(
            (wrong == 0, f"lines whose used amount ≠ before + new loans: {wrong} (of {len(drawn):,} lines drawn on)")
        )
    verify = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "xinedai", "ledger", "verify", "--quiet"],
        env=env(),
        capture_output=True,
        text=True,
    )
    last = (verify.stdout.strip().splitlines() or ["(no output)"])[-1]
    out.append((verify.returncode == 0, f"xinedai ledger verify: {last}"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections (closed loop)")
    parser.add_argument("--server", choices=["gunicorn", "granian"], default="gunicorn")
    parser.add_argument("--workers", type=int, default=3, help="server worker processes")
    parser.add_argument("--worker-class", choices=["sync", "gthread"], help="default sync for 1 thread")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker")
    parser.add_argument("--duration", type=int, default=30, help="seconds measured")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up first")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--retry-share", type=float, default=0.2, help="share of requests that are retries")
    parser.add_argument("--retry-window", type=int, default=100, help="a retry resends one of this many last")
    parser.add_argument("--households", type=int, default=20000, help="size of the template bank")
    parser.add_argument("--rebuild", action="store_true", help="build the template database anew")
    parser.add_argument("--seed", type=int, default=1, help="shuffles the customers; part of the keys")
    parser.add_argument("--verbose", action="store_true", help="print wrk's own report too")
    servers.add_pg_socket_argument(parser)
    servers.add_balancer_argument(parser)
    args = parser.parse_args()
    global APP_SERVER
    APP_SERVER = servers.database_server(args.pg_socket)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (apt-get install wrk)")

    token, customers, used_before, pg = prepare(args)
    cmd, described = server_command(args)
    load_before = load_average()
    server, balanced = servers.start(
        args.server,
        cmd,
        env(),
        balancer=args.balancer,
        workers=args.workers,
        threads=args.threads,
        port=PORT,
        clients=args.clients,
        extra=("--workers-kill-timeout=30",),
    )
    described = (balanced or described) + servers.database_described(args.pg_socket)
    try:
        wait_until_up()
        results = {"warm-up": run_wrk(args, token, customers, warmup=True)}
        cpu_before = cpu_snapshot(server)
        held = servers.ConnectionSample(server.pid, PORT, after=args.duration / 2)
        results["measured"] = run_wrk(args, token, customers, warmup=False)
        cpu = cpu_used(cpu_before, cpu_snapshot(server))
        load_after = load_average()
        drained = wait_for_requests_to_finish()
        served = server.haproxy_served()
    finally:
        server.terminate()  # graceful: gunicorn finishes the requests still running before its workers exit
        server.wait(60)
    checks = check(results, args.clients, used_before)

    result = results["measured"]
    statuses = result["statuses"]
    print(f"machine     {machine()} · {pg} on the same machine")
    print(f"load avg    {load_before} before · {load_after} at the end (1, 5, 15 min)")
    print(
        f"drained     the requests wrk hung up on had finished {drained:.2f} s after it stopped (none for 0.5 s after)"
    )
    print(
        f"server      {described} · wrk -t{args.wrk_threads} -c{args.clients} {args.duration} s · "
        f"{len(customers):,} customers with an active line · retries {args.retry_share:.0%} "
        f"(of the last {args.retry_window} per wrk thread)"
    )
    if served:
        print(f"balance     {' / '.join(f'{n:,}' for n in served)} requests given to the workers (warm-up included)")
    elif args.server == "granian":
        print(f"balance     {held.described()}")
    rps = result["requests"] / result["seconds"]
    print(
        f"requests    {result['requests']:,} in {result['seconds']:.1f} s = {rps:,.0f} req/s "
        f"({result['fresh']:,} first requests, {result['retries']:,} retries sent), "
        f"socket errors {result['socket_errors']}"
    )
    print(
        f"latency ms  p50 {result['p50']:.1f} · p90 {result['p90']:.1f} · p99 {result['p99']:.1f} · "
        f"max {result['max']:.1f}  (goal p99 <= 100)"
    )
    per = {side: seconds * 1000 / result["requests"] for side, seconds in cpu.items()}
    cores = os.cpu_count() or 1
    print(
        f"cpu/request server {per['server']:.1f} ms · PostgreSQL {per['postgres']:.1f} ms (the measured mix) → "
        f"{cores} idle cores would serve at most ~{cores * 1000 / sum(per.values()):,.0f} req/s"
    )
    shown = ", ".join(f"{k} {v:,}" for k, v in sorted(statuses.items()))
    print(f"statuses    {shown} (201 replayed: {result['replayed']:,})")
    failed = 0
    for ok, text in checks:
        print(f"check       {'ok  ' if ok else 'FAIL'} {text}")
        failed += not ok
    if failed:
        print(f"{failed} check(s) failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
