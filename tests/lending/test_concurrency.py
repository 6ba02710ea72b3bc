"""Racing drawdowns, on SQLite and on PostgreSQL alike: 200 duplicate disbursements of one key, whichever
channel sends each, give one loan; racing drawdowns with their own keys never together exceed the line.
Each thread holds a connection of its own (SQLite: on the test database file, tests/conftest.py), so they
contend as concurrent requests do — on the line's row lock, or on SQLite's write lock taken at BEGIN
IMMEDIATE (decision 0003). A lost race is a business refusal, never an error."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from django.db import connections, transaction
from django.db.models import Sum

from tests.lending.test_loans import TODAY, Y
from xinedai.core.errors import BusinessError
from xinedai.credit import services as credit_services
from xinedai.credit.models import CreditLine
from xinedai.ledger import verify
from xinedai.ledger.choices import EntryKind
from xinedai.ledger.models import JournalEntry
from xinedai.lending import services
from xinedai.lending.models import Loan

WORKERS = 20
CHANNELS = ("mobile_banking", "wechat", "portal")


@pytest.fixture
def live_line(transactional_db, credit) -> CreditLine:  # type: ignore[no-untyped-def]
    """h1's active line of 210,000 yuan, committed so that every thread sees it."""
    from xinedai.products.services import seed_catalogue

    with transaction.atomic():
        seed_catalogue()
        decision = credit_services.decide(credit.users["am1"], household=credit.h1, today=TODAY)
        return credit_services.grant_line(credit.users["risk"], decision, today=TODAY)


@dataclass
class Race:
    loans: list[int] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)  # anything else: a 500 in production


def race(n: int, attempt: Callable[[int], Loan]) -> Race:
    """n attempts, each in a transaction of its own on its thread's connection, from WORKERS threads;
    the first WORKERS are released together."""
    result = Race()
    lock = threading.Lock()
    start = threading.Barrier(min(n, WORKERS))

    def one(i: int) -> None:
        try:
            if i < WORKERS:
                start.wait()
            with transaction.atomic():
                loan = attempt(i)
            with lock:
                result.loans.append(loan.pk)
        except BusinessError as exc:
            with lock:
                result.refused.append(exc.code)
        except BaseException as exc:
            with lock:
                result.errors.append(exc)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(one, range(n)))
    return result


def drawdown(line: CreditLine, amount_fen: int, key: str, channel: str) -> Loan:
    return services.drawdown(
        None, line, amount_fen=amount_fen, term_months=12, method="annuity", key=key, channel=channel, today=TODAY
    )


def test_200_duplicate_disbursements_through_three_channels_give_exactly_one(live_line):
    result = race(200, lambda i: drawdown(live_line, 50_000 * Y, "dup", CHANNELS[i % len(CHANNELS)]))
    assert result.errors == []
    assert result.refused == []
    assert len(result.loans) == 200 and len(set(result.loans)) == 1
    loan = Loan.objects.get()
    assert (loan.drawdown_key, loan.principal_fen) == ("dup", 50_000 * Y)
    disbursements = JournalEntry.objects.filter(kind=EntryKind.DISBURSEMENT)
    assert disbursements.count() == 1
    assert CreditLine.objects.get(pk=live_line.pk).used_fen == 50_000 * Y
    report = verify.run()
    assert report.clean, report.differences


def test_racing_drawdowns_never_exceed_the_line(live_line):
    assert live_line.available_fen == 210_000 * Y
    # 40 drawdowns of 30,000 with keys of their own on a 210,000 line: exactly 7 fit
    result = race(40, lambda i: drawdown(live_line, 30_000 * Y, f"k{i}", CHANNELS[i % len(CHANNELS)]))
    assert result.errors == []
    assert len(result.loans) == 7 and len(set(result.loans)) == 7
    assert result.refused == ["amount_over_available"] * 33
    line = CreditLine.objects.get(pk=live_line.pk)
    assert line.used_fen == 210_000 * Y == line.limit_fen
    assert Loan.objects.aggregate(total=Sum("principal_fen"))["total"] == 210_000 * Y
    assert JournalEntry.objects.filter(kind=EntryKind.DISBURSEMENT).count() == 7
    report = verify.run()
    assert report.clean, report.differences
