"""Corrections are reversals: the mirror image of an entry, posted once, never itself reversed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from tests.ledger.conftest import ON, counts, disburse, repay
from xinedai.core.errors import ValidationFailed
from xinedai.core.models import AuditEntry
from xinedai.ledger import queries, services
from xinedai.ledger.choices import AccountCode as A
from xinedai.ledger.services import AlreadyReversed

pytestmark = pytest.mark.django_db
LATER = dt.date(2026, 7, 2)


def reverse(entry, *, on=LATER, actor=None, reason="金额录错"):  # type: ignore[no-untyped-def]
    with transaction.atomic():
        return services.reverse(entry, posted_on=on, actor=actor, reason=reason)


def test_a_reversal_swaps_every_side_and_brings_the_balances_back(clerk):
    disburse(1, 500_000)
    wrong = repay(1, 100_000, 3_000)
    reversal = reverse(wrong, actor=clerk)
    reversal.refresh_from_db()
    assert (reversal.kind, reversal.reverses_id, reversal.posted_on, reversal.key, reversal.memo) == (
        "reversal",
        wrong.pk,
        LATER,
        f"reversal:{wrong.pk}",
        "金额录错",
    )
    assert (reversal.posting_count, reversal.total_fen, reversal.created_by) == (3, 103_000, clerk)
    original = sorted(wrong.postings.values_list("account__code", "side", "amount_fen", "loan_id", "line_id"))
    mirrored = sorted(
        (code, -side, amount, loan, line)
        for code, side, amount, loan, line in reversal.postings.values_list(
            "account__code", "side", "amount_fen", "loan_id", "line_id"
        )
    )
    assert mirrored == original
    assert wrong.reversed_by == reversal
    assert queries.balance_fen(A.LOAN_PRINCIPAL, loan_id=1) == 500_000
    assert queries.balance_fen(A.INTEREST_RECEIVABLE, loan_id=1) == 0
    # As of the day before the reversal, the wrong repayment still counts.
    assert queries.balance_fen(A.LOAN_PRINCIPAL, loan_id=1, on=ON) == 400_000
    audit = AuditEntry.objects.get(action="ledger.reverse")
    assert (audit.actor, audit.reason, audit.before["entry"], audit.object_id) == (
        clerk,
        "金额录错",
        wrong.pk,
        str(reversal.pk),
    )


def test_an_entry_is_reversed_at_most_once():
    entry = disburse(1, 500_000)
    reverse(entry)
    before = counts()
    with pytest.raises(AlreadyReversed) as exc:
        reverse(entry, reason="再冲一次")
    assert (exc.value.code, exc.value.status, exc.value.details) == (
        "ledger_already_reversed",
        409,
        {"entry_id": entry.pk},
    )
    assert counts() == before


def test_a_reversal_is_not_itself_reversed():
    reversal = reverse(disburse(1, 500_000))
    with pytest.raises(ValidationFailed) as exc:
        reverse(reversal)
    assert exc.value.code == "ledger_reverse_reversal"


def test_a_reversal_needs_a_reason_and_a_date_not_before_the_entry():
    entry = disburse(1, 500_000)
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        reverse(entry, reason="  ")
    assert exc.value.code == "ledger_reason_required"
    with pytest.raises(ValidationFailed) as exc:
        reverse(entry, on=dt.date(2026, 6, 29))
    assert (exc.value.code, exc.value.field) == ("ledger_reversal_date", "posted_on")
    assert counts() == before
    assert reverse(entry, on=ON).posted_on == ON  # the same day is fine


def test_the_key_of_a_reversed_entry_stays_taken():
    """A reversed event posted again needs a new key: the old one still names the reversed entry."""
    entry = disburse(1, 500_000)
    reverse(entry)
    assert disburse(1, 500_000).pk == entry.pk  # a replay, not a new posting
