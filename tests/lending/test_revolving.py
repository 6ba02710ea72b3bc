"""Revolving drawdowns (随借随还): interest by the day at annual / 360 on the drawn balance, settled
monthly; principal repaid any day, in part or whole, freeing the line to draw again — through the same
drawdown, repayment and day-end code as every other method, and `ledger verify` clean after each."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.lending.test_eod import DAY, grant, receivable, run_through, state
from tests.lending.test_loans import TODAY, Y, clean, draw, pay
from xinedai.ledger.choices import AccountCode
from xinedai.ledger.queries import balance_fen
from xinedai.lending import rules
from xinedai.lending.models import Loan


@pytest.fixture
def line(credit):  # type: ignore[no-untyped-def]
    """h1's active 信e贷 line of 210,000 yuan (信e贷 allows 随借随还)."""
    return grant(credit, credit.h1)


def daily(balance: int, loan: Loan, days: int = 1) -> int:
    return rules.daily_interest_fen(balance, loan.annual_rate, days)


def test_a_revolving_drawdown_charges_its_balance_by_the_day(line):
    loan = draw(line, 120_000 * Y, method="revolving")
    rows = list(loan.instalments.order_by("number"))
    assert len(rows) == 12 and loan.method == "revolving"
    assert [r.principal_fen for r in rows] == [0] * 11 + [120_000 * Y]
    assert rows[0].due_on == dt.date(2026, 7, 30)  # drawn Jun 30: a 30-day first period
    assert rows[0].interest_fen == daily(120_000 * Y, loan, 30)
    assert rows[1].interest_fen == daily(120_000 * Y, loan, 31)  # Jul 30 → Aug 30
    clean()


def test_partial_repayment_mid_period_then_a_new_drawdown_on_the_freed_line(line):
    loan = draw(line, 120_000 * Y, method="revolving")
    mid = TODAY + 17 * DAY
    r = pay(loan, key="part", today=mid, amount=50_000 * Y)
    # nothing is due yet: the amount repays principal plus that principal's interest for 17 days
    assert r.principal_fen + r.interest_fen == 50_000 * Y
    assert r.interest_fen == daily(r.principal_fen, loan, 17)
    loan.refresh_from_db()
    line.refresh_from_db()
    assert loan.principal_outstanding_fen == 120_000 * Y - r.principal_fen
    assert line.used_fen == loan.principal_outstanding_fen  # the repaid principal can be drawn again
    # the rest of the schedule charges the lower balance: period 1 in full (owed since the drawdown)
    first = loan.instalments.get(schedule_version=2, number=1)
    assert first.interest_fen == daily(loan.principal_outstanding_fen, loan, 30)
    # so period 1 costs exactly the drawn balance day by day, to the fen of two roundings
    exact = rules.daily_interest_fen(120_000 * Y, loan.annual_rate, 17) + daily(
        loan.principal_outstanding_fen, loan, 13
    )
    assert abs(r.interest_fen + first.interest_fen - exact) <= 2
    again = draw(line, line.available_fen, key="again", method="revolving", today=mid)
    line.refresh_from_db()
    assert line.available_fen == 0 and again.principal_fen > 50_000 * Y - 1
    clean()


def test_the_day_end_batch_accrues_the_drawn_balance_and_the_interest_falls_due_monthly(line):
    loan = draw(line, 120_000 * Y, method="revolving")
    first = loan.instalments.order_by("number").first()
    days = run_through(TODAY, first.due_on - DAY)
    per_day = daily(120_000 * Y, loan)
    accrued, ledger_side = receivable(loan)
    assert accrued == ledger_side
    # each date after the drawdown accrues a day (the due date itself trues the period up)
    assert abs(accrued - per_day * (len(days) - 1)) <= 1
    run_through(first.due_on, first.due_on)
    assert receivable(loan) == (first.interest_fen, first.interest_fen)  # trued up on the due date
    pay(loan, key="interest-1", today=first.due_on, amount=first.interest_fen)
    run_through(first.due_on + DAY, first.due_on + 3 * DAY)
    assert state(loan).days_past_due == 0 and state(loan).overdue_since is None
    assert balance_fen(AccountCode.LOAN_PRINCIPAL, loan_id=loan.pk) == 120_000 * Y
    clean()


def test_unpaid_monthly_interest_goes_overdue_and_a_payoff_any_day_settles(line):
    loan = draw(line, 60_000 * Y, method="revolving")
    first = loan.instalments.order_by("number").first()
    run_through(TODAY, first.due_on + 5 * DAY)
    s = state(loan)
    assert s.overdue_since == first.due_on and s.days_past_due == 5
    assert s.overdue_interest_fen == first.interest_fen and s.overdue_principal_fen == 0
    payoff_day = first.due_on + 6 * DAY
    r = pay(loan, key="off", today=payoff_day, payoff=True)
    assert r.overdue_interest_fen == first.interest_fen
    assert r.principal_fen == 60_000 * Y
    assert r.interest_fen == daily(60_000 * Y, loan, 6)  # six days into period 2
    loan.refresh_from_db()
    line.refresh_from_db()
    assert loan.status == "settled" and line.used_fen == 0
    assert receivable(loan) == (0, 0)
    clean()
