"""The day-end batch: one journal entry, postings written set-wise from numpy arrays, checked loan by loan
before anything is written, idempotent on its key."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import transaction

from tests.ledger.conftest import ON, C, D, counts, disburse
from xinedai.core.errors import ValidationFailed
from xinedai.core.models import AuditEntry
from xinedai.ledger import queries, services, verify
from xinedai.ledger.choices import AccountCode as A
from xinedai.ledger.choices import EntryKind
from xinedai.ledger.models import JournalEntry, Posting
from xinedai.ledger.services import KeyConflict, Leg, Unbalanced

pytestmark = pytest.mark.django_db

LOANS = np.array([11, 12, 13, 14], dtype=np.int64)
INTEREST = np.array([120, 0, 37, 5], dtype=np.int64)  # loan 12 accrues nothing today


def accrue(legs=None, *, key="accrual:2026-06-30", loans=LOANS, line_ids=None, progress=None, actor=None):  # type: ignore[no-untyped-def]
    if legs is None:
        legs = [(A.INTEREST_RECEIVABLE, D, INTEREST), (A.INTEREST_INCOME, C, INTEREST)]
    with transaction.atomic():
        return services.post_many(
            kind=EntryKind.ACCRUAL,
            posted_on=ON,
            key=key,
            loan_ids=loans,
            legs=legs,
            line_ids=line_ids,
            actor=actor,
            memo="日终计提",
            progress=progress,
        )


def test_a_batch_is_one_entry_with_a_posting_per_loan_and_leg(clerk):
    seen = []
    entry = accrue(actor=clerk, progress=lambda phase, done, total: seen.append((phase, done, total)))
    entry.refresh_from_db()
    assert (entry.kind, entry.posting_count, entry.total_fen, entry.memo, entry.created_by) == (
        "accrual",
        6,
        162,
        "日终计提",
        clerk,
    )
    rows = sorted(entry.postings.values_list("loan_id", "account__code", "side", "amount_fen", "line_id"))
    assert rows == [
        (11, A.INTEREST_RECEIVABLE, 1, 120, None),
        (11, A.INTEREST_INCOME, -1, 120, None),
        (13, A.INTEREST_RECEIVABLE, 1, 37, None),
        (13, A.INTEREST_INCOME, -1, 37, None),
        (14, A.INTEREST_RECEIVABLE, 1, 5, None),
        (14, A.INTEREST_INCOME, -1, 5, None),
    ]
    assert seen[-1] == ("write", 2, 2)
    audits = AuditEntry.objects.filter(object_type="ledger.journalentry")
    assert audits.count() == 1  # one per batch, not one per posting
    assert audits.get().after == {
        "kind": "accrual",
        "key": "accrual:2026-06-30",
        "posted_on": "2026-06-30",
        "loans": 4,
        "postings": 6,
        "total_fen": 162,
    }
    assert queries.balances_by_loan(A.INTEREST_RECEIVABLE).as_dict() == {11: 120, 13: 37, 14: 5}
    assert queries.balances_by_loan(A.INTEREST_INCOME).as_dict() == {11: 120, 13: 37, 14: 5}
    assert verify.run().clean


def test_a_batch_with_line_ids_and_three_legs():
    principal = np.array([1_000, 2_000], dtype=np.int64)
    interest = np.array([30, 0], dtype=np.int64)
    entry = accrue(
        [
            Leg(A.CUSTOMER_CLEARING, D, principal + interest),
            Leg(A.LOAN_PRINCIPAL, C, principal),
            Leg(A.INTEREST_RECEIVABLE, C, interest),
        ],
        key="repayment:auto-debit:2026-06-30",
        loans=np.array([21, 22]),
        line_ids=np.array([7, 8]),
    )
    assert (entry.posting_count, entry.total_fen) == (5, 3_030)
    assert set(entry.postings.values_list("loan_id", "line_id")) == {(21, 7), (22, 8)}


def test_two_batches_in_one_transaction():
    with transaction.atomic():
        first = accrue()
        second = accrue(
            [(A.PENALTY_INTEREST_RECEIVABLE, D, INTEREST), (A.PENALTY_INTEREST_INCOME, C, INTEREST)],
            key="penalty:2026-06-30",
        )
    assert first.pk != second.pk
    assert Posting.objects.count() == 12


def test_an_unbalanced_batch_is_refused_and_nothing_is_written():
    disburse(1, 100)
    before = counts()
    income = INTEREST.copy()
    income[2] -= 1  # loan 13 credits one fen less than it debits
    with pytest.raises(Unbalanced) as exc:
        accrue([(A.INTEREST_RECEIVABLE, D, INTEREST), (A.INTEREST_INCOME, C, income)])
    assert exc.value.code == "ledger_unbalanced"
    assert exc.value.details == {"loans": [{"loan_id": 13, "difference_fen": 1}], "count": 1}
    assert counts() == before


def test_a_batch_balanced_in_total_but_not_loan_by_loan_is_refused():
    shifted = np.roll(INTEREST, 1)  # the same total, credited to the wrong loans
    with pytest.raises(Unbalanced) as exc:
        accrue([(A.INTEREST_RECEIVABLE, D, INTEREST), (A.INTEREST_INCOME, C, shifted)])
    assert exc.value.details["count"] == 4
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize(
    ("legs", "loans", "line_ids", "field"),
    [
        ([(A.INTEREST_RECEIVABLE, D, INTEREST)], LOANS, None, "legs"),
        ([(A.INTEREST_RECEIVABLE, D, -INTEREST), (A.INTEREST_INCOME, C, -INTEREST)], LOANS, None, "legs[0].amounts"),
        ([(A.INTEREST_RECEIVABLE, D, INTEREST[:3]), (A.INTEREST_INCOME, C, INTEREST)], LOANS, None, "legs[0].amounts"),
        (
            [(A.INTEREST_RECEIVABLE, D, INTEREST * 1.0), (A.INTEREST_INCOME, C, INTEREST)],
            LOANS,
            None,
            "legs[0].amounts",
        ),
        ([(A.INTEREST_RECEIVABLE, 0, INTEREST), (A.INTEREST_INCOME, C, INTEREST)], LOANS, None, "legs[0].side"),
        ([(A.INTEREST_RECEIVABLE, D, INTEREST), (A.INTEREST_INCOME, C, INTEREST)], LOANS - 11, None, "loan_ids"),
        ([(A.INTEREST_RECEIVABLE, D, INTEREST), (A.INTEREST_INCOME, C, INTEREST)], LOANS, LOANS[:2], "line_ids"),
        ([(A.INTEREST_RECEIVABLE, D, INTEREST * 0), (A.INTEREST_INCOME, C, INTEREST * 0)], LOANS, None, "legs"),
        ([("000000", D, INTEREST), (A.INTEREST_INCOME, C, INTEREST)], LOANS, None, "legs"),
        ([(A.INTEREST_RECEIVABLE, D), (A.INTEREST_INCOME, C, INTEREST)], LOANS, None, "legs[0]"),
    ],
)
def test_bad_batches_are_refused_naming_the_field(legs, loans, line_ids, field):
    with pytest.raises(ValidationFailed) as exc:
        accrue(legs, loans=loans, line_ids=line_ids)
    assert exc.value.field == field
    assert counts() == (0, 0, 0)


def test_the_same_batch_again_returns_the_first_entry_and_a_different_one_is_refused():
    first = accrue()
    before = counts()
    assert accrue().pk == first.pk
    assert counts() == before
    changed = INTEREST.copy()
    changed[0] += 1
    with pytest.raises(KeyConflict):
        accrue([(A.INTEREST_RECEIVABLE, D, changed), (A.INTEREST_INCOME, C, changed)])
    with pytest.raises(KeyConflict):
        accrue(line_ids=np.array([1, 2, 3, 4]))
    assert counts() == before


def test_a_batch_can_be_reversed_as_a_whole():
    entry = accrue()
    with transaction.atomic():
        reversal = services.reverse(entry, posted_on=ON, actor=None, reason="利率参数错误")
    assert (reversal.posting_count, reversal.total_fen) == (6, 162)
    assert queries.balances_by_loan(A.INTEREST_RECEIVABLE).as_dict() == {11: 0, 13: 0, 14: 0}
    assert verify.run().clean
    assert JournalEntry.objects.count() == 2


def test_a_large_batch():
    n = 20_000
    rng = np.random.default_rng(7)
    loans = np.arange(1, n + 1, dtype=np.int64)
    interest = rng.integers(0, 5_000, n)
    entry = accrue(
        [(A.INTEREST_RECEIVABLE, D, interest), (A.INTEREST_INCOME, C, interest)], loans=loans, key="accrual:big"
    )
    assert entry.posting_count == 2 * int(np.count_nonzero(interest))
    assert entry.total_fen == int(interest.sum())
    balances = queries.balances_by_loan(A.INTEREST_RECEIVABLE)
    keep = interest > 0
    assert np.array_equal(balances.loan_ids, loans[keep])
    assert np.array_equal(balances.balance_fen, interest[keep])
    assert verify.run().clean
