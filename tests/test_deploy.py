"""The example deployment files (deploy/) stay consistent with the code: haproxy accepts its
configuration, every xinedai command the units run exists, and haproxy's servers are the sockets the
worker units listen on."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import get_commands

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_haproxy_accepts_the_configuration():
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if not haproxy:
        pytest.skip("haproxy is not installed (apt-get install haproxy)")
    out = subprocess.run([haproxy, "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_command_the_units_run_exists():
    commands = set(get_commands())
    used = set()
    for unit in DEPLOY.glob("*.service"):
        used |= set(re.findall(r"/bin/xinedai ([a-z_-]+)", unit.read_text()))
    assert used >= {"db_worker", "credit-renew", "eod", "ledger", "channel-purge-idempotency"}
    # `xinedai credit-renew` runs the management command credit_renew (the wrapper maps - to _).
    assert {u.replace("-", "_") for u in used} <= commands


def test_haproxy_sends_to_the_sockets_the_workers_listen_on():
    worker = (DEPLOY / "xinedai-granian@.service").read_text()
    [pattern] = re.findall(r"--uds (\S+)", worker)
    servers = re.findall(r"^\s*server (\S+) unix@(\S+) maxconn 1 check$", (DEPLOY / "haproxy.cfg").read_text(), re.M)
    assert len(servers) == 3
    assert [path for _, path in servers] == [pattern.replace("%i", str(n)) for n in (1, 2, 3)]
    assert "--workers 1 " in worker and "xinedai.wsgi:application" in worker
