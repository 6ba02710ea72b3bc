"""Balances in each account's normal side — bank-wide, per loan, per line, as of a date — and the trial
balance, all derived from the postings."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.db import connection, transaction

from tests.ledger.conftest import ON, C, D, disburse, repay
from xinedai.core.errors import ValidationFailed
from xinedai.ledger import queries, services
from xinedai.ledger.choices import CHART, EntryKind
from xinedai.ledger.choices import AccountCode as A

pytestmark = pytest.mark.django_db
NEXT = dt.date(2026, 7, 1)


@pytest.fixture
def book():  # type: ignore[no-untyped-def]
    """Loan 1 (line 10) 500,000 fen and loan 2 (line 20) 200,000 fen out on ON; the next day loan 1
    accrues 150, repays 100,000 principal and 150 interest, and loan 2 is written off."""
    disburse(1, 500_000, line=10)
    disburse(2, 200_000, line=20)
    with transaction.atomic():
        services.post_many(
            kind=EntryKind.ACCRUAL,
            posted_on=NEXT,
            key="accrual:2026-07-01",
            loan_ids=np.array([1]),
            legs=[(A.INTEREST_RECEIVABLE, D, np.array([150])), (A.INTEREST_INCOME, C, np.array([150]))],
        )
    repay(1, 100_000, 150, on=NEXT)
    with transaction.atomic():
        services.post(
            kind=EntryKind.WRITE_OFF,
            posted_on=NEXT,
            key="write_off:loan:2",
            lines=[(A.LOAN_LOSS, D, 200_000, 2, 20), (A.LOAN_PRINCIPAL, C, 200_000, 2, 20)],
        )


def test_balances_in_the_normal_side(book):
    assert queries.balance_fen(A.LOAN_PRINCIPAL) == 400_000
    assert queries.balance_fen(A.CUSTOMER_CLEARING) == 700_000 - 100_150  # a credit balance, shown positive
    assert queries.balance_fen(A.INTEREST_INCOME) == 150
    assert queries.balance_fen(A.INTEREST_RECEIVABLE) == 0
    assert queries.balance_fen(A.LOAN_LOSS) == 200_000
    assert queries.balance_fen(A.PENALTY_INTEREST_INCOME) == 0


def test_sub_ledger_balances_per_loan_line_and_date(book):
    assert queries.balance_fen(A.LOAN_PRINCIPAL, loan_id=1) == 400_000
    assert queries.balance_fen(A.LOAN_PRINCIPAL, loan_id=2) == 0
    assert queries.balance_fen(A.LOAN_PRINCIPAL, loan_id=2, on=ON) == 200_000
    assert queries.balance_fen(A.LOAN_PRINCIPAL, on=ON) == 700_000
    assert queries.balance_fen(A.LOAN_PRINCIPAL, on=dt.date(2026, 6, 29)) == 0
    assert queries.balance_fen(A.LOAN_PRINCIPAL, line_id=10, on=ON) == 500_000
    assert queries.balance_fen(A.LOAN_PRINCIPAL, loan_id=3) == 0
    with pytest.raises(ValidationFailed):
        queries.balance_fen("nope")


def test_balances_by_loan_as_aligned_arrays(book):
    got = queries.balances_by_loan(A.LOAN_PRINCIPAL)
    assert got.loan_ids.dtype == np.int64 and got.balance_fen.dtype == np.int64
    assert got.as_dict() == {1: 400_000, 2: 0}
    assert queries.balances_by_loan(A.LOAN_PRINCIPAL, [2, 99]).as_dict() == {2: 0}
    assert queries.balances_by_loan(A.LOAN_PRINCIPAL, np.array([1]), on=ON).as_dict() == {1: 500_000}
    assert queries.balances_by_loan(A.PENALTY_INTEREST_RECEIVABLE).as_dict() == {}


def test_the_sub_ledger_joins_with_another_table(book):
    sql, params = queries.subledger_sql(A.LOAN_PRINCIPAL)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT w.loan_id, COALESCE(s.balance_fen, 0) FROM (SELECT 1 AS loan_id UNION ALL SELECT 3) w"
            f" LEFT JOIN ({sql}) s ON s.loan_id = w.loan_id ORDER BY 1",
            params,
        )
        assert cursor.fetchall() == [(1, 400_000), (3, 0)]


def test_the_trial_balance(book):
    tb = queries.trial_balance()
    got = {r.code: (r.debit_fen, r.credit_fen, r.balance_fen) for r in tb.rows}
    assert got == {
        A.LOAN_PRINCIPAL: (700_000, 300_000, 400_000),
        A.INTEREST_RECEIVABLE: (150, 150, 0),
        A.PENALTY_INTEREST_RECEIVABLE: (0, 0, 0),
        A.CUSTOMER_CLEARING: (100_150, 700_000, 599_850),
        A.INTEREST_INCOME: (0, 150, 150),
        A.PENALTY_INTEREST_INCOME: (0, 0, 0),
        A.LOAN_LOSS: (200_000, 0, 200_000),
        A.OFF_BALANCE_INTEREST: (0, 0, 0),
        A.OFF_BALANCE_PENALTY: (0, 0, 0),
        A.WRITTEN_OFF_PRINCIPAL: (0, 0, 0),
        A.OFF_BALANCE_CONTRA: (0, 0, 0),
    }
    assert [r.code for r in tb.rows] == sorted(code for code, *_ in CHART)
    assert (tb.debit_fen, tb.credit_fen, tb.balanced) == (1_000_300, 1_000_300, True)
    on = queries.trial_balance(ON)
    assert (on.debit_fen, on.credit_fen) == (700_000, 700_000)
