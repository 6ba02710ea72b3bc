"""Shared fixtures: a small bank built through the services, a frozen business date, isolated files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from xinedai.core.ids import make_resident_id
from xinedai.households import services as hh
from xinedai.org import services as org

TODAY = dt.date(2026, 6, 30)
PASSWORD = "test-pass-123"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):  # type: ignore[no-untyped-def]
    """SQLite tests run on a database file, not Django's default shared in-memory one: racing threads
    then each hold a connection of their own and contend for the file's write lock through the production
    options (BEGIN IMMEDIATE, busy timeout, WAL) as requests do. The file is in this session's temporary
    directory, which pytest-xdist makes one per worker, so neither workers nor two runs in one checkout
    share it."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.getbasetemp() / "test.sqlite3")


@pytest.fixture(autouse=True)
def _nothing_reused_from_another_test():  # type: ignore[no-untyped-def]
    """Each test starts with empty per-process caches (core.reuse): another test's bank had other rows."""
    from xinedai.core import reuse

    reuse.forget_all()
    yield
    reuse.forget_all()


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.VAR_DIR = tmp_path / "var"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.LANGUAGE_CODE = "zh-hans"
    # Fast hashing: the suite creates and signs in many users; production keeps Django's default.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pid(n: int, year: int = 1980) -> str:
    """A valid resident ID number, distinct for each n."""
    return make_resident_id("370211", dt.date(year, 1 + n % 12, 1 + n % 28), n % 1000)


@dataclass
class Bank:
    ho: Any
    branch: Any
    o1: Any
    o2: Any
    g1: Any
    g1a: Any
    g1b: Any
    g2: Any
    v1: Any
    v2: Any
    v3: Any
    users: dict[str, Any]
    h1: Any
    h2: Any
    h3: Any

    def client(self, username: str) -> Client:
        c = Client()
        assert c.login(username=username, password=PASSWORD)
        return c


def file_values(**overrides: int) -> dict[str, int]:
    values = {
        "asset_house_fen": 50_000_000,
        "asset_deposit_fen": 8_000_000,
        "liab_bank_fen": 2_000_000,
        "income_planting_fen": 12_000_000,
        "expense_living_fen": 5_000_000,
    }
    values.update(overrides)
    return values


@pytest.fixture
def bank(db) -> Bank:  # type: ignore[no-untyped-def]
    return build_bank()


def build_bank() -> Bank:
    """Head office → branch → outlets O1 (grids G1 ⊃ G1a, G1b) and O2 (G2); one household per village."""
    with transaction.atomic():
        ho = org.create_org_unit(None, code="HO", name="总行", kind="head_office", parent=None)
        branch = org.create_org_unit(None, code="B01", name="西海岸分行", kind="branch", parent=ho)
        o1 = org.create_org_unit(None, code="O1", name="灵山卫支行", kind="outlet", parent=branch)
        o2 = org.create_org_unit(None, code="O2", name="王台支行", kind="outlet", parent=branch)
        users = {}
        for username, role, unit in [
            ("am1", "account_manager", o1),
            ("am2", "account_manager", o1),
            ("am3", "account_manager", o2),
            ("om1", "outlet_manager", o1),
            ("co", "credit_officer", branch),
            ("bm", "branch_manager", branch),
            ("risk", "head_office_risk", ho),
            ("admin", "administrator", ho),
            ("auditor", "auditor", ho),
        ]:
            users[username] = org.create_staff(
                None,
                username=username,
                password=PASSWORD,
                display_name=username,
                role=role,
                org_unit=unit,
                employee_no=username.upper(),
            ).user
        g1 = org.create_grid(None, code="G1", name="灵山卫总网格", outlet=o1, owner=users["am1"])
        g1a = org.create_grid(None, code="G1a", name="灵山卫一网格", outlet=o1, parent=g1, owner=users["am1"])
        g1b = org.create_grid(None, code="G1b", name="灵山卫二网格", outlet=o1, parent=g1, owner=users["am2"])
        g2 = org.create_grid(None, code="G2", name="王台网格", outlet=o2, owner=users["am3"])
        v1 = org.create_village(None, code="V1", name="东村", grid=g1a, village_type="greenhouse")
        v2 = org.create_village(None, code="V2", name="西村", grid=g1b)
        v3 = org.create_village(None, code="V3", name="南村", grid=g2, kind="community", village_type="urban")
        hs = []
        for n, (village, name) in enumerate([(v1, "张三丰"), (v2, "李四"), (v3, "王五")], start=1):
            hs.append(
                hh.create_household(
                    users["am1"],
                    village=village,
                    head=hh.PersonInput(name, pid(n), f"1380000{n:04d}"),
                    size=3,
                    segments=["greenhouse"],
                    file_values=file_values(),
                    reason="建档",
                    today=TODAY,
                )
            )
    return Bank(ho, branch, o1, o2, g1, g1a, g1b, g2, v1, v2, v3, users, *hs)


def make_line(household: Any, **fields: Any) -> Any:
    """A credit line row as a test needs it, written directly (no decision): an active, combined-channel
    信e贷 line granted by an officer, unused, unless `fields` say otherwise."""
    from xinedai.credit.models import CreditLine

    values: dict[str, Any] = {
        "product_code": "xinedai",
        "limit_fen": 100_000 * 100,
        "used_fen": 0,
        "intake_mode": "offline_approval",
        "channel": "combined",
        "status": "active",
        "granted_at": "2026-06-30T02:00:00Z",
        **fields,
    }
    return CreditLine.objects.create(household=household, **values)


def close_response(response) -> None:  # type: ignore[no-untyped-def]
    """Close a streamed response (releasing its file) without the request_finished handler closing
    the test's database connection, as Django's test client itself does around a request."""
    from django.core.signals import request_finished
    from django.db import close_old_connections

    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
