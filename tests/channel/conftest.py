"""Channel fixtures: the credit tests' bank with the catalogue loaded, a credential per channel, a frozen
business date, and helpers that call the channel API the way a channel server does."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from tests.conftest import TODAY, Bank, pid
from tests.credit.conftest import credit  # noqa: F401  (a fixture, re-exported for these tests)
from xinedai.channel import services
from xinedai.channel.models import ChannelClient
from xinedai.credit import services as credit_services
from xinedai.credit.models import CreditLine

URL = "/api/v1/channel"
Y = 100
H1, H2, H3 = pid(1), pid(2), pid(3)  # the heads of the bank's three households
CONTRACT_SHA = "a" * 64


@pytest.fixture(autouse=True)
def _frozen_today(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("xinedai.channel.api.business_today", lambda: TODAY)


@dataclass
class Channels:
    bank: Bank
    mobile: ChannelClient
    mobile_secret: str
    wechat: ChannelClient
    wechat_secret: str

    def client(self, secret: str | None = None) -> Client:
        return Client(headers={"Authorization": f"Bearer {secret or self.mobile_secret}"})


@pytest.fixture
def channels(credit) -> Channels:  # type: ignore[no-untyped-def]  # noqa: F811
    from xinedai.products.services import seed_catalogue

    with transaction.atomic():
        seed_catalogue()
        mobile, mobile_secret = services.issue_credential(None, "mobile_banking", name="mobile banking")
        wechat, wechat_secret = services.issue_credential(None, "wechat", name="wechat")
    return Channels(credit, mobile, mobile_secret, wechat, wechat_secret)


@pytest.fixture
def line(channels) -> CreditLine:  # type: ignore[no-untyped-def]
    """h1's active 信e贷 line, granted by the model on the pure-online channel (as a channel application
    would), its contract not yet accepted."""
    bank = channels.bank
    with transaction.atomic():
        decision = credit_services.decide(None, household=bank.h1, channel="online", today=TODAY)
        return credit_services.grant_line(None, decision, today=TODAY)


@pytest.fixture
def signed_line(channels, line) -> CreditLine:  # type: ignore[no-untyped-def]
    with transaction.atomic():
        services.accept_contract(
            channels.mobile, channels.bank.h1, line, contract_version="XED-2026-01", text_sha256=CONTRACT_SHA
        )
    return line


def get(client: Client, path: str, *, customer: str | None = H1) -> Any:
    headers = {"X-Customer-Id-Number": customer} if customer else {}
    return client.get(URL + path, headers=headers)


def post(client: Client, path: str, body: dict[str, Any], *, key: str | None = "k1", customer: str | None = H1) -> Any:
    headers = {}
    if customer:
        headers["X-Customer-Id-Number"] = customer
    if key:
        headers["Idempotency-Key"] = key
    return client.post(URL + path, json.dumps(body), content_type="application/json", headers=headers)


def drawdown_body(line: CreditLine, amount: int = 50_000 * Y, **overrides: Any) -> dict[str, Any]:
    return {"line_id": line.pk, "amount_fen": amount, "term_months": 12, "method": "annuity", **overrides}


def next_day(monkeypatch, days: int = 1) -> dt.date:  # type: ignore[no-untyped-def]
    day = TODAY + dt.timedelta(days=days)
    monkeypatch.setattr("xinedai.channel.api.business_today", lambda: day)
    return day
