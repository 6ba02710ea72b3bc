"""Servicing page fixtures: the credit tests' bank with a loan in each of its three grids, drawn through
lending.services and carried through the real day-end batch (servicing.eod.run)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction

from tests.conftest import Bank
from tests.credit.conftest import credit  # noqa: F401  (a fixture, re-exported for these tests)
from xinedai.credit import services as credit_services
from xinedai.lending import services as lending
from xinedai.lending.models import Loan

TODAY = dt.date(2026, 6, 30)  # the credit tests' business date: the first day-end the tests run
EARLY = dt.date(2026, 5, 20)  # h2's loan was drawn then: its first instalment fell due on 2026-06-20
Y = 100


@dataclass
class Book:
    bank: Bank
    a: Loan  # h1 (灵山卫一网格, am1, outlet O1): drawn today, current
    b: Loan  # h2 (灵山卫二网格, am2, outlet O1): its first instalment unpaid since 2026-06-20
    c: Loan  # h3 (王台网格, am3, outlet O2): drawn today, current


def line_for(bank: Bank, household: Any) -> Any:
    """An active 信e贷 line for the household (decided and granted by head-office risk), catalogue loaded."""
    from xinedai.products.services import seed_catalogue

    with transaction.atomic():
        seed_catalogue()
        decision = credit_services.decide(bank.users["risk"], household=household, today=TODAY)
        return credit_services.grant_line(bank.users["risk"], decision, today=TODAY)


def draw(line: Any, amount_fen: int, key: str, today: dt.date = TODAY) -> Loan:
    with transaction.atomic():
        return lending.drawdown(
            None, line, amount_fen=amount_fen, term_months=12, method="annuity", key=key, channel="mobile", today=today
        )


def build_book(bank: Bank) -> Book:
    a = draw(line_for(bank, bank.h1), 100_000 * Y, "a")
    b = draw(line_for(bank, bank.h2), 50_000 * Y, "b", today=EARLY)
    c = draw(line_for(bank, bank.h3), 80_000 * Y, "c")
    return Book(bank, a, b, c)


@pytest.fixture
def book(credit) -> Book:  # type: ignore[no-untyped-def]  # noqa: F811
    """Three loans, and the day-end batch run for TODAY (the first date ever: every loan examined)."""
    from xinedai.servicing import eod

    made = build_book(credit)
    eod.run(TODAY)
    return made
