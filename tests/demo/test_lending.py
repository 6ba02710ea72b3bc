"""The demo bank's lending history: a plan within the product's terms and the case study's proportions,
run through the real lending services and day-end batch, so that the ledger verifies and the five
categories, the snapshots and the loans' balances agree; seeded once only."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import numpy as np
import pytest
from django.core.management import call_command
from django.db.models import F, Q, Sum

from xinedai.core.models import AuditEntry
from xinedai.credit.models import CreditLine
from xinedai.demo import lending as demo
from xinedai.demo.seeding import seed_bank
from xinedai.households.models import Household
from xinedai.ledger.choices import AccountCode
from xinedai.ledger.models import JournalEntry, Posting
from xinedai.ledger.queries import balances_by_loan
from xinedai.lending import rules
from xinedai.lending.models import Loan, Repayment
from xinedai.products.services import CATALOGUE
from xinedai.servicing.choices import NPL_CLASSES, RiskClass
from xinedai.servicing.models import BusinessDay, LoanState, PortfolioDay

TODAY = dt.date(2026, 6, 30)
N, DAYS = 800, 200  # the bank and the history the end-to-end test runs: well under a minute
START = TODAY - dt.timedelta(days=demo.HISTORY_DAYS)
XINEDAI = next(terms for code, _, _, terms in CATALOGUE if code == "xinedai")
TERMS = demo.Terms(
    min_amount_fen=XINEDAI.min_amount_fen,
    max_amount_fen=XINEDAI.max_amount_fen,
    min_term_months=XINEDAI.min_term_months,
    max_term_months=XINEDAI.max_term_months,
    methods=tuple(m for m in XINEDAI.repayment_methods if m != "revolving"),
)


def synthetic_candidates(n: int, seed: int = 3) -> list[demo.Candidate]:
    """Households like the demo's: lines of 10,000–300,000 RMB, files of every age, risk around 2 %."""
    rng = np.random.default_rng(seed)
    limits = rng.choice([3, 5, 8, 10, 15, 20, 25, 30], size=n, p=[0.1, 0.1, 0.1, 0.2, 0.1, 0.15, 0.05, 0.2])
    return [
        demo.Candidate(
            household_id=1000 + i,
            line_id=5000 + i,
            limit_fen=int(limits[i]) * 10_000_00,
            on_file_day=int(rng.integers(-300, 700)),
            risk=float(rng.beta(1.5, 70)),
            stream=i,
        )
        for i in range(n)
    ]


def plan(candidates: list[demo.Candidate], seed: int = 1) -> demo.Plan:
    borrowers, outstanding = demo.scaled_targets(20_000)
    return demo.plan_history(
        candidates,
        terms=TERMS,
        start=START,
        days=demo.HISTORY_DAYS,
        seed=seed,
        target_borrowers=borrowers,
        target_outstanding_fen=outstanding,
    )


@pytest.fixture(scope="module")
def big_plan() -> demo.Plan:
    return plan(synthetic_candidates(17_500))


def test_targets_scale_with_the_bank():
    assert demo.scaled_targets(20_000) == (2_685, 411_970_000_00)  # the case study's branch
    assert demo.scaled_targets(1_500) == (201, 30_897_750_00)
    assert demo.scaled_targets(0) == (0, 0)


def test_plan_meets_the_case_study_figures(big_plan):
    # Borrowers are chosen until 2,685 have a balance on the last day; resizing the loans to the balance
    # target can make or unmake a second loan, so the count may move by a few.
    assert abs(big_plan.borrowers_at_end - 2_685) <= 27
    assert abs(big_plan.outstanding_fen_at_end - 411_970_000_00) < 0.15 * 411_970_000_00
    assert big_plan.households < 17_500
    ever = {loan.household_id for loan in big_plan.loans}
    assert len(ever) == big_plan.households  # every chosen household borrows at least once


def test_plan_stays_within_the_product_terms_and_the_lines(big_plan):
    for loan in big_plan.loans:
        assert XINEDAI.min_amount_fen <= loan.amount_fen <= XINEDAI.max_amount_fen
        assert loan.amount_fen <= loan.line_limit_fen and loan.amount_fen % 1_000_00 == 0
        assert loan.method in XINEDAI.repayment_methods
        assert XINEDAI.min_term_months <= loan.term_months <= XINEDAI.max_term_months
        days = [d for d, _ in loan.events]
        assert days == sorted(days) and len(set(days)) == len(days)
        assert all(loan.drawn < d < demo.HISTORY_DAYS for d in days)
    # A line never carries more than its limit at once, counting each loan at its full amount.
    by_line: dict[int, list[demo.PlannedLoan]] = {}
    for loan in big_plan.loans:
        by_line.setdefault(loan.line_id, []).append(loan)
    for loans in by_line.values():
        for day in {loan.drawn for loan in loans}:
            drawn = sum(x.amount_fen for x in loans if x.drawn <= day and (x.settles is None or x.settles > day))
            assert drawn <= loans[0].line_limit_fen


def test_borrowers_behave_like_a_rural_bank(big_plan):
    methods = Counter(loan.method for loan in big_plan.loans)
    assert methods.most_common(1)[0][0] == rules.INTEREST_ONLY
    assert {rules.ANNUITY, rules.EQUAL_PRINCIPAL} <= set(methods)
    short = sum(loan.term_months <= 6 for loan in big_plan.loans)
    assert 0.1 < short / len(big_plan.loans) < 0.3
    pays = late = 0
    for loan in big_plan.loans:
        on = START + dt.timedelta(days=loan.drawn)
        dues = [(rules.add_months(on, k) - START).days for k in range(1, loan.term_months + 1)]
        for day, kind in loan.events:
            if kind == "pay":
                pays += 1
                late += day not in dues
    assert 0.02 < late / pays < 0.15  # most pay on the due date, a minority days or weeks late
    kinds = Counter(kind for loan in big_plan.loans for _, kind in loan.events)
    assert kinds["payoff"] > 50 and kinds["prepay"] > 5
    defaulted = [loan for loan in big_plan.loans if loan.defaulted]
    assert 0.01 < len(defaulted) / big_plan.borrowers_at_end < 0.08
    # Riskier households stop paying more often.
    risk = {c.household_id: c.risk for c in synthetic_candidates(17_500)}
    bad = np.mean([risk[loan.household_id] for loan in defaulted])
    assert bad > 1.3 * np.mean([risk[loan.household_id] for loan in big_plan.loans])


def test_plan_is_deterministic_for_a_seed():
    few = synthetic_candidates(2_000)
    a, b, c = plan(few, seed=5), plan(few, seed=5), plan(few, seed=6)
    assert [vars(x) for x in a.loans] == [vars(x) for x in b.loans]
    assert [vars(x) for x in a.loans] != [vars(x) for x in c.loans]


def test_no_candidates_no_plan():
    empty = demo.plan_history(
        [], terms=TERMS, start=START, days=30, seed=1, target_borrowers=5, target_outstanding_fen=1
    )
    assert empty.loans == [] and empty.borrowers_at_end == 0
    bullet_only = demo.Terms(1_000_00, 5_000_000_00, 1, 12, ("bullet",))
    nothing = demo.plan_history(
        synthetic_candidates(50),
        terms=bullet_only,
        start=START,
        days=30,
        seed=1,
        target_borrowers=5,
        target_outstanding_fen=1,
    )
    assert nothing.loans == []


# Each day of the history commits (seeding.seed_lending_history): the test runs outside a transaction.
@pytest.mark.django_db(transaction=True)
def test_history_runs_through_the_services_and_is_seeded_once(monkeypatch):
    # A riskier bank than the demo's, so that a short history already shows the classes past 90 days.
    monkeypatch.setattr(demo, "DEFAULT_HAZARD", 3 * demo.DEFAULT_HAZARD)
    out = io.StringIO()
    args = ["--households", str(N), "--seed", "11", "--as-of", TODAY.isoformat(), "--history-days", str(DAYS)]
    call_command("seed", *args, stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    first, last = TODAY - dt.timedelta(days=DAYS), TODAY - dt.timedelta(days=1)
    assert f"Lending history (贷款历史): {first} … {last}, {DAYS} day-end batches" in text
    assert "NPL" in text and "正常" in text  # the classes in the bank's language

    # The calendar: every date run once, in order, ending yesterday.
    days = list(BusinessDay.objects.order_by("business_on").values_list("business_on", "status"))
    assert len(days) == DAYS and days[0][0] == first and days[-1] == (last, "done")

    # The ledger proves itself, and its loan principal is the loans' outstanding balance.
    verify = io.StringIO()
    call_command("ledger", "verify", stdout=verify)
    assert "no differences" in verify.getvalue()
    active = Loan.objects.filter(status="active")
    outstanding = active.aggregate(s=Sum("principal_outstanding_fen"))["s"]
    assert outstanding > 0
    ledger = {k: v for k, v in balances_by_loan(AccountCode.LOAN_PRINCIPAL).as_dict().items() if v}
    assert ledger == dict(active.filter(principal_outstanding_fen__gt=0).values_list("pk", "principal_outstanding_fen"))
    used = CreditLine.objects.aggregate(s=Sum("used_fen"))["s"]
    assert used == outstanding

    # The case study's proportions, scaled to the bank (±15 %).
    borrowers, target = demo.scaled_targets(N)
    have = active.filter(principal_outstanding_fen__gt=0).values("household").distinct().count()
    assert abs(have - borrowers) <= 0.05 * borrowers
    assert abs(outstanding - target) < 0.15 * target

    # Several classes, some non-performing; the last snapshot says the same as the loans.
    classes = Counter(LoanState.objects.filter(loan__status="active").values_list("risk_class", flat=True))
    assert classes[RiskClass.NORMAL] > 0.8 * sum(classes.values())
    assert len(classes) >= 3 and any(classes[c] for c in NPL_CLASSES)
    snapshot = PortfolioDay.objects.filter(business_on=last)
    assert snapshot.aggregate(s=Sum("principal_outstanding_fen"))["s"] == outstanding
    figures = demo.portfolio_figures()
    assert figures["outstanding_fen"] == outstanding and figures["borrowers"] == have
    npl = sum(figures["by_class"][int(c)]["outstanding_fen"] for c in NPL_CLASSES)
    assert figures["npl_fen"] == npl > 0 and 0 < figures["npl_pct"] < 20

    # Repayments of every kind, all through repay(): on time, late with penalty, early payoffs.
    repayments = Repayment.objects.all()
    assert repayments.count() == AuditEntry.objects.filter(action="lending.repay").count()
    assert repayments.filter(overdue_principal_fen=0, overdue_interest_fen=0, penalty_fen=0).count() > (
        0.85 * repayments.count()
    )
    assert repayments.filter(penalty_fen__gt=0).exists()
    assert repayments.filter(payoff=True).exclude(loan__maturity_on=F("paid_on")).exists()
    assert Loan.objects.filter(status="settled").exists()
    assert Loan.objects.count() == AuditEntry.objects.filter(action="lending.drawdown").count()
    assert not Loan.objects.filter(Q(start_on__lt=first) | Q(start_on__gte=TODAY)).exists()

    # Once only: a second seed finds the calendar started and adds nothing.
    counts = (
        Household.objects.count(),
        Loan.objects.count(),
        Repayment.objects.count(),
        JournalEntry.objects.count(),
        Posting.objects.count(),
        BusinessDay.objects.count(),
    )
    again = seed_bank(households=N, seed=11, as_of=TODAY, history_days=DAYS)
    assert again.history == {}
    assert counts == (
        Household.objects.count(),
        Loan.objects.count(),
        Repayment.objects.count(),
        JournalEntry.objects.count(),
        Posting.objects.count(),
        BusinessDay.objects.count(),
    )


@pytest.mark.django_db
def test_a_history_before_the_classification_rules_is_refused_before_anything_is_written():
    from xinedai.products.services import seed_catalogue
    from xinedai.servicing.eod import EodRefused

    seed_catalogue()
    with pytest.raises(EodRefused):  # the 2023 thresholds are the earliest on record
        demo.seed_history(seed=1, as_of=dt.date(2024, 1, 1), days=730)  # from 2022-01-01
    assert not BusinessDay.objects.exists() and not Loan.objects.exists()
    assert demo.seed_history(seed=1, as_of=TODAY, days=30) == {}  # no lines: nothing to borrow on
    assert not BusinessDay.objects.exists()
