"""Racing requests on PostgreSQL (SQLite takes its write lock at BEGIN, so it serialises them anyway):
200 duplicate disbursements give one loan, and racing drawdowns never together exceed the line."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections, transaction

from tests.lending.test_loans import TODAY, Y
from xinedai.core.errors import BusinessError
from xinedai.credit import services as credit_services
from xinedai.credit.models import CreditLine
from xinedai.ledger import verify
from xinedai.ledger.choices import EntryKind
from xinedai.ledger.models import JournalEntry
from xinedai.lending import services
from xinedai.lending.models import Loan

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def live_line(transactional_db, credit):  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite serialises writers at BEGIN anyway")
    from xinedai.products.services import seed_catalogue

    with transaction.atomic():
        seed_catalogue()
        decision = credit_services.decide(credit.users["am1"], household=credit.h1, today=TODAY)
        return credit_services.grant_line(credit.users["risk"], decision, today=TODAY)


def _race(n: int, attempt) -> tuple[list[int], list[str]]:  # type: ignore[no-untyped-def]
    loans: list[int] = []
    refused: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(min(n, 20))

    def one(i: int) -> None:
        try:
            if i < 20:
                start.wait()
            with transaction.atomic():
                loan = attempt(i)
            with lock:
                loans.append(loan.pk)
        except BusinessError as exc:
            with lock:
                refused.append(exc.code)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(one, range(n)))
    return loans, refused


def test_200_duplicate_disbursements_give_exactly_one(live_line):
    def attempt(i: int) -> Loan:
        return services.drawdown(
            None, live_line, amount_fen=50_000 * Y, term_months=12, method="annuity", key="dup", channel="wechat"
        )

    loans, refused = _race(200, attempt)
    assert not refused and len(loans) == 200 and len(set(loans)) == 1
    assert Loan.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.DISBURSEMENT).count() == 1
    assert CreditLine.objects.get(pk=live_line.pk).used_fen == 50_000 * Y
    assert verify.run().clean


def test_racing_drawdowns_never_exceed_the_line(live_line):
    def attempt(i: int) -> Loan:  # 40 × 30,000 asked of a 210,000 line: at most 7 fit
        return services.drawdown(
            None, live_line, amount_fen=30_000 * Y, term_months=12, method="annuity", key=f"k{i}", channel="mobile"
        )

    loans, refused = _race(40, attempt)
    assert len(loans) == 7 and set(refused) == {"amount_over_available"} and len(refused) == 33
    line = CreditLine.objects.get(pk=live_line.pk)
    assert line.used_fen == 210_000 * Y and line.used_fen <= line.limit_fen
    assert verify.run().clean
