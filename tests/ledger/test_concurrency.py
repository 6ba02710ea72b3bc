"""Racing posts of one business key give one entry; racing reversals of one entry give one reversal — on
SQLite (threads contend for the test database file's write lock at BEGIN IMMEDIATE, decision 0003) and on
PostgreSQL (row locks and the unique key)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections, transaction

from tests.ledger.conftest import ON, C, D, disburse
from xinedai.ledger import services, verify
from xinedai.ledger.choices import AccountCode as A
from xinedai.ledger.choices import EntryKind
from xinedai.ledger.models import JournalEntry, Posting
from xinedai.ledger.services import AlreadyReversed


@pytest.fixture
def _committed(transactional_db):  # type: ignore[no-untyped-def]
    """Rows are committed, so that every thread sees them."""


def race(n: int, work: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    results: list[Any] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def run() -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                results.append(work())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_racing_posts_of_one_key_give_one_entry(_committed):
    def post() -> int:
        return services.post(
            kind=EntryKind.DISBURSEMENT,
            posted_on=ON,
            key="disbursement:drawdown:1",
            lines=[(A.LOAN_PRINCIPAL, D, 500_000, 1), (A.CUSTOMER_CLEARING, C, 500_000, 1)],
        ).pk

    results, errors = race(8, post)
    assert errors == []
    assert len(set(results)) == 1 and len(results) == 8
    assert (JournalEntry.objects.count(), Posting.objects.count()) == (1, 2)
    assert verify.run().clean


def test_racing_reversals_give_one_reversal(_committed):
    entry = disburse(1, 500_000)
    results, errors = race(6, lambda: services.reverse(entry, posted_on=ON, actor=None, reason="并发冲正").pk)
    assert len(results) == 1
    assert len(errors) == 5 and all(isinstance(e, AlreadyReversed) for e in errors)
    assert JournalEntry.objects.filter(reverses=entry).count() == 1
    assert verify.run().clean
