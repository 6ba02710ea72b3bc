"""The server command lines the API benchmarks share (bench/decision_api.py, bench/channel_drawdown.py)."""

from __future__ import annotations

import argparse
import os
import shutil
import threading
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
