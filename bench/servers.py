"""The server command lines the API benchmarks share (bench/decision_api.py, bench/channel_drawdown.py)."""

from __future__ import annotations

import argparse
import shutil
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
