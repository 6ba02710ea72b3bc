"""The day-end batch on small hand-built loans: each step's figures, day by day, against independent
calculations — and `ledger verify` clean after every scenario."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from tests.lending.test_loans import TODAY, Y, clean, draw, pay
from xinedai.credit import services as credit_services
from xinedai.credit.models import CreditLine
from xinedai.ledger.choices import AccountCode, EntryKind
from xinedai.ledger.models import JournalEntry, Posting
from xinedai.ledger.queries import balance_fen
from xinedai.lending import rules as lending_rules
from xinedai.lending.models import Loan
from xinedai.servicing import eod
from xinedai.servicing.choices import RiskClass
from xinedai.servicing.models import BusinessDay, ClassificationChange, LoanState, PortfolioDay

DAY = dt.timedelta(days=1)


def grant(credit, household):  # type: ignore[no-untyped-def]
    """An active 信e贷 line for a household of the credit tests' bank, the catalogue loaded."""
    from xinedai.products.services import seed_catalogue

    with transaction.atomic():
        seed_catalogue()
        decision = credit_services.decide(credit.users["am1"], household=household, today=TODAY)
        return credit_services.grant_line(credit.users["risk"], decision, today=TODAY)


@pytest.fixture
def line(credit):  # type: ignore[no-untyped-def]
    """h1's line of 210,000 yuan (as in test_loans)."""
    return grant(credit, credit.h1)


def run_through(first: dt.date, last: dt.date) -> list[eod.DayResult]:
    out = []
    on = first
    while on <= last:
        out.append(eod.run(on))
        on += DAY
    return out


def state(loan: Loan) -> LoanState:
    return LoanState.objects.get(loan_id=loan.pk)


def receivable(loan: Loan) -> tuple[int, int]:
    """(interest receivable kept on the loan, its ledger sub-ledger balance)."""
    loan.refresh_from_db()
    return loan.interest_receivable_fen, balance_fen(AccountCode.INTEREST_RECEIVABLE, loan_id=loan.pk)


def entry_amount(kind: str, on: dt.date, loan: Loan, account: str) -> int:
    """What the day's batch entry of `kind` posted to `account` for one loan (signed, account's normal side)."""
    entry = JournalEntry.objects.filter(key=f"{kind}:{on.isoformat()}").first()
    if entry is None:
        return 0
    return sum(
        p.side * p.amount_fen for p in Posting.objects.filter(entry=entry, loan_id=loan.pk, account__code=account)
    )


def test_accrual_reaches_the_instalment_interest_on_its_due_date(line):
    loan = draw(line, 100_000 * Y)
    first, second = loan.instalments.order_by("number")[:2]
    period = (first.due_on - TODAY).days  # 2026-06-30 → 2026-07-30: 30 days
    assert period == 30
    results = run_through(TODAY, first.due_on)
    assert results[0].steps[0].counts["accruing"] == 0  # the drawdown day itself accrues nothing
    for d in range(1, period + 1):
        on = TODAY + d * DAY
        expected = first.interest_fen * d // period - first.interest_fen * (d - 1) // period
        assert entry_amount("accrual", on, loan, AccountCode.INTEREST_RECEIVABLE) == expected, on
        assert entry_amount("accrual", on, loan, AccountCode.INTEREST_INCOME) == -expected, on
    assert receivable(loan) == (first.interest_fen, first.interest_fen)
    s = state(loan)
    assert (s.period_number, s.period_start_on, s.period_due_on) == (1, TODAY, first.due_on)
    assert (s.days_past_due, s.overdue_since, s.risk_class) == (0, None, RiskClass.NORMAL)  # due today: not overdue
    clean()

    # The next day the unpaid instalment is overdue: one day past due, penalty on its principal, special
    # mention; and the second period starts accruing.
    nxt = first.due_on + DAY
    eod.run(nxt)
    s = state(loan)
    assert (s.overdue_since, s.days_past_due, s.overdue_principal_fen, s.overdue_interest_fen) == (
        first.due_on,
        1,
        first.principal_fen,
        first.interest_fen,
    )
    assert (s.period_number, s.period_start_on, s.period_due_on) == (2, first.due_on, second.due_on)
    assert s.risk_class == RiskClass.SPECIAL_MENTION
    penalty = lending_rules.daily_interest_fen(first.principal_fen, loan.penalty_rate, 1)
    assert penalty > 0
    assert entry_amount("penalty", nxt, loan, AccountCode.PENALTY_INTEREST_RECEIVABLE) == penalty
    days2 = (second.due_on - first.due_on).days
    assert entry_amount("accrual", nxt, loan, AccountCode.INTEREST_RECEIVABLE) == second.interest_fen // days2
    loan.refresh_from_db()
    assert loan.penalty_receivable_fen == penalty
    assert balance_fen(AccountCode.PENALTY_INTEREST_RECEIVABLE, loan_id=loan.pk) == penalty
    assert ClassificationChange.objects.filter(loan_id=loan.pk).values_list("from_class", "to_class").get() == (1, 2)
    clean()

    # Paid the day after: penalty, the overdue interest and principal. That day's batch finds it cured.
    cure = nxt + DAY
    pay(loan, key="cure", today=cure, amount=penalty + first.interest_fen + first.principal_fen)
    eod.run(cure)
    s = state(loan)
    assert (s.overdue_since, s.days_past_due, s.overdue_principal_fen, s.risk_class) == (None, 0, 0, RiskClass.NORMAL)
    assert entry_amount("penalty", cure, loan, AccountCode.PENALTY_INTEREST_RECEIVABLE) == 0
    loan.refresh_from_db()
    assert loan.penalty_receivable_fen == 0
    # what is left receivable is the second period's accrual through day 2
    assert receivable(loan) == (second.interest_fen * 2 // days2,) * 2
    clean()


def test_a_paid_instalment_leaves_nothing_receivable_and_nothing_overdue(line):
    loan = draw(line, 60_000 * Y, term=6, method="equal_principal")
    first = loan.instalments.order_by("number").first()
    run_through(TODAY, first.due_on - DAY)
    pay(loan, key="on-time", today=first.due_on, amount=first.principal_fen + first.interest_fen)
    eod.run(first.due_on)
    assert receivable(loan) == (0, 0)  # the due date's true-up: nothing due is unpaid
    eod.run(first.due_on + DAY)
    s = state(loan)
    assert (s.overdue_since, s.days_past_due, s.period_number) == (None, 0, 2)
    assert JournalEntry.objects.filter(kind=EntryKind.PENALTY).count() == 0
    clean()


def test_an_early_repayment_mid_period_is_made_good_on_the_due_date(line):
    loan = draw(line, 120_000 * Y)
    first = loan.instalments.order_by("number").first()
    mid = TODAY + 10 * DAY
    run_through(TODAY, mid - DAY)
    pay(loan, key="early", today=mid, amount=40_000 * Y)  # re-amortises: a new schedule version
    loan.refresh_from_db()
    assert loan.schedule_version == 2
    run_through(mid, first.due_on)
    new_first = loan.instalments.get(schedule_version=2, number=1)
    assert state(loan).schedule_version == 2
    assert receivable(loan) == (new_first.interest_fen, new_first.interest_fen)
    clean()


@pytest.mark.parametrize(
    ("days", "before", "after"),
    [
        (90, RiskClass.SPECIAL_MENTION, RiskClass.SUBSTANDARD),
        (270, RiskClass.SUBSTANDARD, RiskClass.DOUBTFUL),
        (360, RiskClass.DOUBTFUL, RiskClass.LOSS),
    ],
)
def test_classification_at_each_threshold(line, days, before, after):
    loan = draw(line, 50_000 * Y)
    first = loan.instalments.order_by("number").first()
    on = first.due_on + days * DAY  # the first date ever run: every loan is examined
    eod.run(on)
    s = state(loan)
    assert (s.overdue_since, s.days_past_due, s.auto_class, s.risk_class) == (first.due_on, days, before, before)
    eod.run(on + DAY)
    s = state(loan)
    assert (s.days_past_due, s.auto_class, s.risk_class, s.classified_on) == (days + 1, after, after, on + DAY)
    change = ClassificationChange.objects.filter(loan_id=loan.pk).latest("id")
    assert (change.from_class, change.to_class, change.days_past_due, change.cause) == (before, after, days + 1, "dpd")
    clean()


def test_a_date_runs_once_and_none_is_skipped(line):
    loan = draw(line)
    eod.run(TODAY)
    result = eod.run(TODAY + DAY)
    assert [s.step for s in result.steps] == [
        "accrual",
        "overdue",
        "non_accrual",
        "penalty",
        "classify",
        "lines",
        "snapshot",
    ]
    before = (JournalEntry.objects.count(), Posting.objects.count(), receivable(loan))
    again = eod.run(TODAY + DAY)
    assert again.already_done and not again.steps
    assert (JournalEntry.objects.count(), Posting.objects.count(), receivable(loan)) == before
    for wrong, code in [(TODAY + 3 * DAY, "eod_date_out_of_order"), (TODAY - DAY, "eod_date_out_of_order")]:
        with pytest.raises(eod.EodRefused) as err:
            eod.run(wrong)
        assert err.value.code == code
        assert err.value.details["expected"] == (TODAY + 2 * DAY).isoformat()
    assert not BusinessDay.objects.filter(business_on__in=[TODAY + 3 * DAY, TODAY - DAY]).exists()
    assert (JournalEntry.objects.count(), Posting.objects.count(), receivable(loan)) == before
    assert eod.next_date() == TODAY + 2 * DAY
    clean()


def test_line_expiry_at_the_end_of_its_last_day(line, credit):
    loan = draw(line)
    other = grant(credit, credit.h2)
    CreditLine.objects.filter(pk=line.pk).update(expires_on=TODAY + DAY)
    CreditLine.objects.filter(pk=other.pk).update(expires_on=TODAY + 2 * DAY)
    eod.run(TODAY)
    assert CreditLine.objects.get(pk=line.pk).status == "active"  # its last day is tomorrow
    result = eod.run(TODAY + DAY)
    lines = next(s for s in result.steps if s.step == "lines")
    assert lines.counts == {"seconds": lines.seconds, "expired": 1}
    assert CreditLine.objects.get(pk=line.pk).status == "expired"
    assert CreditLine.objects.get(pk=other.pk).status == "active"
    eod.run(TODAY + 2 * DAY)  # the loan on the expired line runs on
    loan.refresh_from_db()
    assert loan.status == "active" and loan.interest_receivable_fen > 0
    assert CreditLine.objects.get(pk=other.pk).status == "expired"
    clean()


def test_snapshot_by_grid_manager_product_and_class(line, credit):
    a = draw(line, 80_000 * Y, key="a")
    b = draw(line, 20_000 * Y, key="b", term=6)
    line2 = grant(credit, credit.h2)
    c = draw(line2, 30_000 * Y, key="c")
    run_through(TODAY, TODAY + 2 * DAY)
    rows = list(
        PortfolioDay.objects.filter(business_on=TODAY + 2 * DAY)
        .order_by("grid_id")
        .values_list("grid_id", "outlet_id", "manager_id", "product_code", "risk_class", "loan_count", "borrower_count")
    )
    assert rows == [
        (credit.g1a.pk, credit.o1.pk, credit.users["am1"].pk, "xinedai", 1, 2, 1),
        (credit.g1b.pk, credit.o1.pk, credit.users["am2"].pk, "xinedai", 1, 1, 1),
    ]
    cell = PortfolioDay.objects.get(business_on=TODAY + 2 * DAY, grid=credit.g1a)
    for loan in (a, b, c):
        loan.refresh_from_db()
    assert cell.principal_outstanding_fen == a.principal_outstanding_fen + b.principal_outstanding_fen
    assert cell.interest_receivable_fen == a.interest_receivable_fen + b.interest_receivable_fen > 0
    assert cell.overdue_principal_fen == 0 and cell.penalty_receivable_fen == 0
    assert PortfolioDay.objects.filter(business_on=TODAY).count() == 2  # one set of rows per date
    clean()


@pytest.mark.parametrize("start", [TODAY, dt.date(2027, 1, 31)])  # a 30-day and a 28-day first period
def test_paying_off_mid_period_leaves_no_accrued_interest_behind(line, start):
    loan = draw(line, 120_000 * Y, today=start)
    mid = start + 20 * DAY  # in a 28-day period, 19/28 of the instalment's interest exceeds 20 days' interest
    run_through(start, mid - DAY)
    accrued, _ = receivable(loan)
    assert accrued > 0
    r = pay(loan, key="off", today=mid, payoff=True)
    loan.refresh_from_db()
    assert loan.status == "settled"
    # what the customer paid for the period is income; the accrual beyond it is taken back, not left owing
    assert receivable(loan) == (0, 0)
    income = balance_fen(AccountCode.INTEREST_INCOME, loan_id=loan.pk)
    assert income == r.interest_fen
    clean()
