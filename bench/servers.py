"""The server command lines the API benchmarks share (bench/decision_api.py, bench/channel_drawdown.py)."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
TCP = "postgresql://postgres@127.0.0.1:5432"
SOCKET_DIR = "/var/run/postgresql"


def database_server(socket: bool) -> str:
    """Where the server under test reaches PostgreSQL: over TCP on 127.0.0.1 (the default, as in CI), or
    with `--pg-socket` through the Unix socket of a PostgreSQL on the same machine, as docs/operations.md
    recommends there (a round trip costs less: no TCP stack on either side)."""
    return f"postgresql://postgres@{quote(SOCKET_DIR, safe='')}" if socket else TCP


def add_pg_socket_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pg-socket",
        action="store_true",
        help=f"the server reaches PostgreSQL through its Unix socket ({SOCKET_DIR}), not TCP",
    )


def database_described(socket: bool) -> str:
    """How the server under test reaches PostgreSQL, for the bench's `server` line."""
    return " · PostgreSQL through its Unix socket" if socket else " · PostgreSQL over TCP"


def granian(
    *, workers: int, threads: int, port: int, clients: int, extra: tuple[str, ...] = ()
) -> tuple[list[str], str]:
    """granian as docs/operations.md runs it (decision 0011): Rust HTTP/1.1 with keep-alive (wrk reuses its
    connections), one Python thread per worker process running the application as a sync gunicorn worker
    does. `pip install -e '.[serve]'`."""
    command = shutil.which("granian", path=str(ROOT / ".venv" / "bin")) or "granian"
    cmd = [
        command,
        "--interface=wsgi",
        f"--workers={workers}",
        f"--blocking-threads={threads}",
        f"--backlog={max(128, 4 * clients)}",
        "--host=127.0.0.1",
        f"--port={port}",
        "--no-ws",
        "--http=1",
        *extra,
        "--log-level=warning",
        "xinedai.wsgi:application",
    ]
    return cmd, f"granian {workers} workers × {threads} Python thread(s) (wsgi)"


def settle() -> None:
    """Write the copy just made to disk before the run. PostgreSQL 15 copies a template database through
    its WAL (hundreds of MB), which the kernel would otherwise write back during the run, in the middle of
    which the workers' commits, waiting for their own WAL flush on the same disk, stalled for up to ~0.9 s
    (seen: p99 of 620-770 ms, p95 of 140-180)."""
    import psycopg

    with psycopg.connect(f"{TCP}/postgres", autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    os.sync()


def add_balancer_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--balancer",
        choices=["none", "haproxy"],
        default="none",
        help="granian: haproxy in front of one single-worker granian per --workers, each request to whichever "
        "is free (apt-get install haproxy)",
    )


HAPROXY_CONFIG = """\
global
    maxconn {maxconn}
    nbthread 1
    stats socket {run}/haproxy.sock mode 600 level user

defaults
    mode http
    option http-keep-alive
    # Any idle connection to a worker serves any client's next request.
    http-reuse always
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    timeout queue 120s
    timeout http-keep-alive 120s

frontend api
    bind 127.0.0.1:{port}
    default_backend workers

backend workers
    # One request at a time per worker: the others wait in haproxy's one queue, first come first served,
    # and go to whichever worker is free first, whatever connection they came on.
    balance leastconn
{servers}
"""


class Processes:
    """The processes serving one benchmark run: a server, or a balancer and the servers behind it. Stopped in
    the reverse order of starting (the balancer first, then what it balanced)."""

    def __init__(self, commands: list[list[str]], env: dict[str, str], run_dir: str | None = None) -> None:
        self.run_dir = run_dir
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []
        for cmd in commands:
            self.add(cmd)

    def add(self, cmd: list[str]) -> None:
        self.procs.append(subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    @property
    def pid(self) -> int:
        """The process that holds the clients' connections (the balancer when there is one)."""
        return self.procs[-1].pid

    def all_pids(self) -> list[int]:
        """Every process of the run: those started and all their descendants (granian's workers)."""
        seen: list[int] = []
        todo = [p.pid for p in self.procs]
        while todo:
            pid = todo.pop()
            seen.append(pid)
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
        return seen

    def haproxy_served(self) -> list[int]:
        """Requests each worker behind haproxy has been given so far (its stats socket), in worker order."""
        if self.run_dir is None:
            return []
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(f"{self.run_dir}/haproxy.sock")
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        rows = data.decode().splitlines()
        header = rows[0].lstrip("# ").split(",")
        served = []
        for row in rows[1:]:
            fields = dict(zip(header, row.split(","), strict=False))
            if fields.get("pxname") == "workers" and fields.get("svname", "").startswith("w"):
                served.append(int(fields["stot"] or 0))
        return served

    def terminate(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()

    def wait(self, timeout: float) -> None:
        for proc in reversed(self.procs):
            proc.wait(timeout)
        if self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)


def start(
    server: str,
    cmd: list[str],
    env: dict[str, str],
    *,
    balancer: str = "none",
    workers: int = 1,
    threads: int = 1,
    port: int = 0,
    clients: int = 32,
    extra: tuple[str, ...] = (),
) -> tuple[Processes, str]:
    """Start `cmd` as it is, or with `balancer="haproxy"` (granian only) haproxy on `port` in front of
    `workers` granian processes of one worker each on Unix sockets: haproxy keeps the clients' connections
    and hands each request to a worker that has none running, so no worker queues behind the clients that
    happened to connect to it (granian alone keeps a connection on the worker that accepted it)."""
    if balancer == "none":
        return Processes([cmd], env), ""
    if server != "granian":
        raise SystemExit("--balancer haproxy puts haproxy in front of granian: add --server granian")
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if not haproxy:
        raise SystemExit("haproxy is needed (apt-get install haproxy)")
    run = tempfile.mkdtemp(prefix="xinedai-bench-")
    granian_bin = shutil.which("granian", path=str(ROOT / ".venv" / "bin")) or "granian"
    workers_started = Processes(
        [
            [
                granian_bin,
                "--interface=wsgi",
                "--workers=1",
                f"--blocking-threads={threads}",
                f"--uds={run}/w{i}.sock",
                "--no-ws",
                "--http=1",
                *extra,
                "--log-level=warning",
                "xinedai.wsgi:application",
            ]
            for i in range(workers)
        ],
        env,
        run_dir=run,
    )
    for _ in range(300):  # haproxy starts once every worker listens
        if all(Path(f"{run}/w{i}.sock").exists() for i in range(workers)):
            break
        time.sleep(0.1)
    lines = "\n".join(f"    server w{i} unix@{run}/w{i}.sock maxconn 1" for i in range(workers))
    config = Path(run) / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(maxconn=max(256, 8 * clients), run=run, port=port, servers=lines))
    workers_started.add([haproxy, "-db", "-f", str(config)])
    described = f"haproxy (leastconn, 1 request at a time per worker) → {workers} granian × 1 worker"
    return workers_started, described


def _established_sockets(port: int) -> set[str]:
    """Inodes of the established TCP connections whose local port is `port` (Linux /proc/net)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 01: ESTABLISHED
                inodes.add(fields[9])
    return inodes


def connections_per_worker(server_pid: int, port: int) -> list[int]:
    """How many client connections each worker process of the server holds now, fewest first.

    granian keeps a client's connection open on the worker that accepted it, and that worker alone serves
    it: with 32 clients split 11 / 21, one worker's clients wait behind 20 others, the other's behind 10,
    and the p99 shows the longer queue. gunicorn's sync workers close every connection and take turns at
    one queue, so they hold at most one each."""
    sockets = _established_sockets(port)
    try:
        children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    except OSError:
        return []
    counts = []
    for child in children:
        held = 0
        try:
            fds = os.listdir(f"/proc/{child}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{child}/fd/{fd}")
            except OSError:
                continue
            held += target.startswith("socket:[") and target[8:-1] in sockets
        counts.append(held)
    return sorted(counts)


class ConnectionSample:
    """connections_per_worker() taken once, `after` seconds into a run (in a thread of its own)."""

    def __init__(self, server_pid: int, port: int, after: float) -> None:
        self.counts: list[int] = []
        self._timer = threading.Timer(after, self._take, args=(server_pid, port))
        self._timer.daemon = True
        self._timer.start()

    def _take(self, server_pid: int, port: int) -> None:
        self.counts = connections_per_worker(server_pid, port)

    def described(self) -> str:
        self._timer.cancel()
        if not self.counts:
            return "not sampled"
        return " / ".join(map(str, self.counts)) + " client connections held by the workers, mid-run"
