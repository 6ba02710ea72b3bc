"""Non-accrual (非应计): a loan more than 90 days past due stops earning income. Its accrued interest and
penalty leave the income statement for off-balance memo accounts (表外欠息), what it accrues from then on
is kept there, a repayment of it is income when paid, and a loan back within 90 days returns to accrual
— with the ledger verifying at every step."""

from __future__ import annotations

import pytest

from tests.lending.test_eod import DAY, grant, run_through
from tests.lending.test_loans import TODAY, Y, clean, draw, pay
from xinedai.ledger.choices import AccountCode, EntryKind
from xinedai.ledger.models import JournalEntry
from xinedai.ledger.queries import balance_fen
from xinedai.lending.models import Loan, Repayment
from xinedai.servicing.choices import RiskClass
from xinedai.servicing.models import LoanState

A = AccountCode


@pytest.fixture
def line(credit):  # type: ignore[no-untyped-def]
    return grant(credit, credit.h1)


def books(loan: Loan) -> dict[str, int]:
    loan.refresh_from_db()
    return {
        "receivable": loan.interest_receivable_fen,
        "penalty": loan.penalty_receivable_fen,
        "offbook": loan.offbook_interest_fen,
        "offbook_penalty": loan.offbook_penalty_fen,
        "income": balance_fen(A.INTEREST_INCOME, loan_id=loan.pk),
        "penalty_income": balance_fen(A.PENALTY_INTEREST_INCOME, loan_id=loan.pk),
        "memo": balance_fen(A.OFF_BALANCE_INTEREST, loan_id=loan.pk),
        "memo_penalty": balance_fen(A.OFF_BALANCE_PENALTY, loan_id=loan.pk),
    }


def test_past_90_days_the_interest_moves_off_balance_and_stays_there_until_paid(line):
    loan = draw(line, 120_000 * Y)
    first = loan.instalments.order_by("number").first()
    day_90 = first.due_on + 90 * DAY
    run_through(TODAY, day_90)
    before = books(loan)
    assert loan.accrual_stopped_on is None and LoanState.objects.get(loan_id=loan.pk).days_past_due == 90
    assert before["receivable"] > 0 and before["penalty"] > 0 and before["offbook"] == before["memo"] == 0
    assert before["income"] >= before["receivable"]  # accrued interest was income

    run_through(day_90 + DAY, day_90 + DAY)  # 91 days past due
    after = books(loan)
    state = LoanState.objects.get(loan_id=loan.pk)
    assert (loan.accrual_stopped_on, state.days_past_due, state.risk_class) == (
        day_90 + DAY,
        91,
        RiskClass.SUBSTANDARD,
    )
    # the day's accrual happened on-book, then everything receivable moved off-balance
    assert after["receivable"] == after["penalty"] == 0
    moved = after["offbook"] + after["offbook_penalty"]
    assert after["offbook"] == after["memo"] > before["receivable"]
    assert after["offbook_penalty"] == after["memo_penalty"] > 0
    # income keeps only what the loan was paid (nothing): the accruals were taken back
    assert after["income"] == 0 and after["penalty_income"] == 0
    assert JournalEntry.objects.filter(kind=EntryKind.NON_ACCRUAL, key=f"non-accrual:{day_90 + DAY}").count() == 1
    assert balance_fen(A.OFF_BALANCE_CONTRA, loan_id=loan.pk) == moved
    clean()

    run_through(day_90 + 2 * DAY, day_90 + 10 * DAY)  # still non-accrual: accruals go off-balance only
    later = books(loan)
    assert later["income"] == later["penalty_income"] == later["receivable"] == later["penalty"] == 0
    assert later["offbook"] > after["offbook"] and later["offbook_penalty"] > after["offbook_penalty"]
    assert later["offbook"] == later["memo"] and later["offbook_penalty"] == later["memo_penalty"]
    clean()

    # Paid off: what the customer pays for interest and penalty becomes income, and nothing is left anywhere.
    payoff_day = day_90 + 11 * DAY
    r = pay(loan, key="off", today=payoff_day, payoff=True)
    assert r.penalty_fen == later["offbook_penalty"]
    end = books(loan)
    assert loan.status == "settled"
    assert end["receivable"] == end["penalty"] == end["offbook"] == end["offbook_penalty"] == 0
    assert end["memo"] == end["memo_penalty"] == balance_fen(A.OFF_BALANCE_CONTRA, loan_id=loan.pk) == 0
    paid = Repayment.objects.filter(loan=loan)
    assert end["income"] == sum(p.interest_fen + p.overdue_interest_fen for p in paid)
    assert end["penalty_income"] == sum(p.penalty_fen for p in paid)
    clean()


def test_a_loan_brought_back_within_90_days_returns_to_accrual(line):
    loan = draw(line, 120_000 * Y)
    first = loan.instalments.order_by("number").first()
    stop_day = first.due_on + 91 * DAY
    run_through(TODAY, stop_day)
    loan.refresh_from_db()
    assert loan.accrual_stopped_on == stop_day
    # the customer pays everything overdue (penalty, overdue interest and principal): nothing is overdue
    cure_day = stop_day + DAY
    state = LoanState.objects.get(loan_id=loan.pk)
    owed = loan.offbook_penalty_fen + state.overdue_interest_fen + state.overdue_principal_fen
    pay(loan, key="cure", today=cure_day, amount=owed)
    paid = books(loan)
    assert paid["offbook_penalty"] == 0 and paid["penalty_income"] > 0  # the off-balance penalty was income when paid
    clean()
    run_through(cure_day, cure_day)
    back = books(loan)
    assert loan.accrual_stopped_on is None and LoanState.objects.get(loan_id=loan.pk).days_past_due == 0
    # what was off-balance (the running period's interest accrued meanwhile) is back on the balance sheet
    assert back["offbook"] == back["memo"] == 0 and back["receivable"] > 0
    assert JournalEntry.objects.filter(kind=EntryKind.NON_ACCRUAL, key=f"accrual-resumed:{cure_day}").count() == 1
    run_through(cure_day + DAY, cure_day + 3 * DAY)
    assert books(loan)["receivable"] > back["receivable"] and books(loan)["offbook"] == 0
    clean()


def test_the_limit_is_a_setting(line, settings):
    settings.XINEDAI_NON_ACCRUAL_DAYS = 30
    loan = draw(line, 120_000 * Y)
    first = loan.instalments.order_by("number").first()
    run_through(TODAY, first.due_on + 30 * DAY)
    loan.refresh_from_db()
    assert loan.accrual_stopped_on is None
    run_through(first.due_on + 31 * DAY, first.due_on + 31 * DAY)
    loan.refresh_from_db()
    assert loan.accrual_stopped_on == first.due_on + 31 * DAY
    clean()
