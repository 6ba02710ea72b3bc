"""Ledger fixtures: a clerk, short names for the chart and sides, and the loan book's typical entries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction

from xinedai.core.models import AuditEntry
from xinedai.ledger import services
from xinedai.ledger.choices import AccountCode as A
from xinedai.ledger.choices import EntryKind, Side
from xinedai.ledger.models import JournalEntry, Posting

D, C = Side.DEBIT, Side.CREDIT
ON = dt.date(2026, 6, 30)


@pytest.fixture
def clerk(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("clerk", password="x")


def counts() -> tuple[int, int, int]:
    """(entries, postings, audit rows): what a refused operation must leave unchanged."""
    return JournalEntry.objects.count(), Posting.objects.count(), AuditEntry.objects.count()


def disburse(loan: int, amount: int, *, line: int | None = None, actor: Any = None, on: dt.date = ON) -> JournalEntry:
    with transaction.atomic():
        return services.post(
            kind=EntryKind.DISBURSEMENT,
            posted_on=on,
            key=f"disbursement:drawdown:{loan}",
            lines=[(A.LOAN_PRINCIPAL, D, amount, loan, line), (A.CUSTOMER_CLEARING, C, amount, loan, line)],
            actor=actor,
        )


def repay(loan: int, principal: int, interest: int, *, n: int = 1, on: dt.date = ON) -> JournalEntry:
    with transaction.atomic():
        return services.post(
            kind=EntryKind.REPAYMENT,
            posted_on=on,
            key=f"repayment:{loan}:{n}",
            lines=[
                (A.CUSTOMER_CLEARING, D, principal + interest, loan),
                (A.LOAN_PRINCIPAL, C, principal, loan),
                (A.INTEREST_RECEIVABLE, C, interest, loan),
            ],
        )


@pytest.fixture(autouse=True)
def _only_the_ledgers_own_checks(monkeypatch):  # type: ignore[no-untyped-def]
    """Other domains register reconciliation checks (lending compares its loans with the ledger); these
    tests post for loans that do not exist there, so verify runs the ledger's own checks only."""
    from xinedai.ledger import checks

    monkeypatch.setattr(checks, "_REGISTRY", {})
