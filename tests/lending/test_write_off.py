"""Write-off (核销) of a loss-class loan and recovery (清收) after it: maker ≠ checker, one balanced entry
that takes the loan off the books and keeps the claim off-balance (账销案存), the line frozen for good,
the day-end batch leaving the loan alone, and recoveries principal first — `ledger verify` after each."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from tests.lending.test_eod import grant
from tests.lending.test_loans import TODAY, Y, clean, draw, pay
from xinedai.core.dates import now
from xinedai.core.errors import BusinessError
from xinedai.credit import services as credit_services
from xinedai.credit.batch import decide_batch
from xinedai.credit.models import CreditLine
from xinedai.ledger.choices import AccountCode, EntryKind, Side
from xinedai.ledger.models import JournalEntry, Posting
from xinedai.lending.models import Loan, Repayment
from xinedai.servicing import eod, services
from xinedai.servicing.choices import RiskClass
from xinedai.servicing.models import BusinessDay, WriteOffRequest

DAY = dt.timedelta(days=1)


@pytest.fixture
def line(credit):  # type: ignore[no-untyped-def]
    return grant(credit, credit.h1)


def classify_loss(credit, loan, today):  # type: ignore[no-untyped-def]
    """Classified loss by an approved manual classification (a year of day-ends would do it by days)."""
    with transaction.atomic():
        request = services.request_classification(
            credit.users["co"], loan.pk, risk_class=RiskClass.LOSS, reason="借款人失联，经营场所关闭"
        )
    with transaction.atomic():
        services.approve_classification(credit.users["risk"], request.pk, today=today)


def legs(entry: JournalEntry) -> dict[tuple[str, int], int]:
    return {
        (p.account.code, p.side): p.amount_fen for p in Posting.objects.filter(entry=entry).select_related("account")
    }


def written_off(credit, line):  # type: ignore[no-untyped-def]
    """h1's loan drawn on TODAY, accruing for two day-ends, classified loss, written off on TODAY + 3."""
    loan = draw(line)
    for d in range(3):
        eod.run(TODAY + d * DAY)
    classify_loss(credit, loan, TODAY + 2 * DAY)
    with transaction.atomic():
        request = services.request_write_off(credit.users["co"], loan.pk, reason="借款人失联两年，诉讼终结")
    with transaction.atomic():
        services.approve_write_off(credit.users["risk"], request.pk, today=TODAY + 3 * DAY)
    return Loan.objects.get(pk=loan.pk), WriteOffRequest.objects.get(pk=request.pk)


def test_the_write_off_rule_knows_the_loss_class_and_the_active_status():
    from xinedai.lending.choices import LoanStatus
    from xinedai.servicing import rules

    assert rules.LOSS_CLASS == RiskClass.LOSS
    assert rules.may_write_off(LoanStatus.ACTIVE, RiskClass.LOSS)
    assert not rules.may_write_off(LoanStatus.ACTIVE, RiskClass.DOUBTFUL)
    assert not rules.may_write_off(LoanStatus.WRITTEN_OFF, RiskClass.LOSS)
    assert not rules.may_write_off(LoanStatus.ACTIVE, None)


def test_only_a_loss_class_loan_can_be_proposed_and_only_by_those_allowed(line, credit):
    loan = draw(line)
    eod.run(TODAY)
    co, am1 = credit.users["co"], credit.users["am1"]
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.request_write_off(co, loan.pk, reason="经营失败")
    assert err.value.code == "not_loss_class"
    classify_loss(credit, loan, TODAY + DAY)
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.request_write_off(am1, loan.pk, reason="经营失败")
    assert err.value.code == "forbidden"  # an account manager may not propose a write-off
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.request_write_off(co, loan.pk, reason="   ")
    assert err.value.code == "reason_required"
    assert not WriteOffRequest.objects.exists()
    with transaction.atomic():
        request = services.request_write_off(co, loan.pk, reason="借款人失联")
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.request_write_off(co, loan.pk, reason="再次")
    assert err.value.code == "request_pending"
    assert list(WriteOffRequest.objects.values_list("pk", flat=True)) == [request.pk]
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.approve_write_off(credit.users["bm"], request.pk)  # a branch manager may propose, not approve
    assert err.value.code == "forbidden"
    assert Loan.objects.get(pk=loan.pk).status == "active"
    assert not JournalEntry.objects.filter(kind=EntryKind.WRITE_OFF).exists()


def test_the_maker_cannot_approve_and_a_rejection_needs_a_note(line, credit):
    loan = draw(line)
    eod.run(TODAY)
    classify_loss(credit, loan, TODAY + DAY)
    risk = credit.users["risk"]
    with transaction.atomic():
        request = services.request_write_off(risk, loan.pk, reason="借款人死亡，无遗产")
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.approve_write_off(risk, request.pk)
    assert err.value.code == "maker_is_checker"
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.reject_write_off(risk, request.pk, note="证据不足")
    assert err.value.code == "maker_is_checker"
    assert WriteOffRequest.objects.get(pk=request.pk).status == "pending"
    assert Loan.objects.get(pk=loan.pk).status == "active"


def test_approval_writes_the_loan_off_in_one_balanced_entry_and_freezes_its_line(line, credit):
    loan = draw(line)
    for d in range(3):
        eod.run(TODAY + d * DAY)
    classify_loss(credit, loan, TODAY + 2 * DAY)
    loan.refresh_from_db()
    principal, interest = loan.principal_outstanding_fen, loan.interest_receivable_fen
    assert principal == 100_000 * Y and interest > 0  # a manual loss class does not stop accrual: on the books
    with transaction.atomic():
        request = services.request_write_off(credit.users["co"], loan.pk, reason="借款人失联两年，诉讼终结")
    with transaction.atomic():
        services.approve_write_off(credit.users["risk"], request.pk, note="同意", today=TODAY + 3 * DAY)

    loan.refresh_from_db()
    assert (loan.status, loan.written_off_on) == ("written_off", TODAY + 3 * DAY)
    assert (loan.principal_outstanding_fen, loan.interest_receivable_fen, loan.penalty_receivable_fen) == (0, 0, 0)
    assert (loan.written_off_principal_fen, loan.offbook_interest_fen) == (principal, interest)
    request.refresh_from_db()
    assert (request.status, request.principal_fen, request.interest_fen) == ("approved", principal, interest)
    entry = JournalEntry.objects.get(kind=EntryKind.WRITE_OFF)
    assert legs(entry) == {
        (AccountCode.LOAN_LOSS, Side.DEBIT): principal + interest,
        (AccountCode.LOAN_PRINCIPAL, Side.CREDIT): principal,
        (AccountCode.INTEREST_RECEIVABLE, Side.CREDIT): interest,
        (AccountCode.WRITTEN_OFF_PRINCIPAL, Side.DEBIT): principal,
        (AccountCode.OFF_BALANCE_INTEREST, Side.DEBIT): interest,
        (AccountCode.OFF_BALANCE_CONTRA, Side.CREDIT): principal + interest,
    }
    assert entry.posted_on == TODAY + 3 * DAY
    line.refresh_from_db()
    assert (line.status, line.used_fen) == ("frozen", 0)
    clean()

    # The day-end batch serves active loans only: nothing accrues on the written-off loan any more.
    eod.run(TODAY + 3 * DAY)
    eod.run(TODAY + 4 * DAY)
    loan.refresh_from_db()
    assert (loan.interest_receivable_fen, loan.offbook_interest_fen) == (0, interest)
    assert not Posting.objects.filter(loan_id=loan.pk, entry_id__gt=entry.pk).exists()
    clean()


def batch(credit, on):  # type: ignore[no-untyped-def]
    with transaction.atomic():
        return decide_batch(
            [credit.h1.pk, credit.h2.pk],
            actor=credit.users["risk"],
            model=credit_services.active_model(),
            strategy=credit_services.active_strategy(),
            channel="combined",
            as_of=on,
        )


def test_a_customer_owing_on_a_written_off_loan_gets_no_new_line_until_it_is_recovered(line, credit):
    loan, _request = written_off(credit, line)
    risk = credit.users["risk"]
    with transaction.atomic():
        decision = credit_services.decide(risk, household=credit.h1, today=TODAY + 4 * DAY)
    assert decision.limit_fen > 0  # the model still scores the file; the grant is what is refused
    with pytest.raises(BusinessError) as err, transaction.atomic():
        credit_services.grant_line(risk, decision, today=TODAY + 4 * DAY)
    assert err.value.code == "written_off_debt"
    with pytest.raises(BusinessError) as err, transaction.atomic():
        draw(CreditLine.objects.get(pk=line.pk), 1_000 * Y, key="after")
    assert err.value.code == "line_not_active"
    assert list(Loan.objects.filter(line_id=line.pk).values_list("pk", flat=True)) == [loan.pk]
    result = batch(credit, TODAY + 4 * DAY)
    assert (result.decided, result.blocked) == (2, 1)
    assert list(CreditLine.objects.filter(household=credit.h1).values_list("status", flat=True)) == ["frozen"]
    assert CreditLine.objects.filter(household=credit.h2, status="active").exists()

    # The frozen line expires like any other; the customer is still refused while anything is owed.
    CreditLine.objects.filter(pk=line.pk).update(expires_on=TODAY + 4 * DAY)
    for d in range(3, 5):
        eod.run(TODAY + d * DAY)
    assert CreditLine.objects.get(pk=line.pk).status == "expired"
    assert batch(credit, TODAY + 5 * DAY).blocked == 1
    assert not CreditLine.objects.filter(household=credit.h1, status="active").exists()

    # Recovered in full: the block lifts.
    pay(loan, key="all", today=TODAY + 5 * DAY, payoff=True)
    with transaction.atomic():
        decision = credit_services.decide(risk, household=credit.h1, today=TODAY + 5 * DAY)
        renewed = credit_services.grant_line(risk, decision, today=TODAY + 5 * DAY)
    assert (renewed.status, renewed.used_fen) == ("active", 0) and renewed.pk != line.pk
    assert Loan.objects.get(pk=loan.pk).status == "written_off"
    clean()


def test_recoveries_go_to_principal_first_and_are_refused_beyond_the_claim(line, credit):
    loan, _request = written_off(credit, line)
    principal, interest = loan.written_off_principal_fen, loan.offbook_interest_fen
    with pytest.raises(BusinessError) as err:
        pay(loan, key="r0", today=TODAY + 5 * DAY, amount=principal + interest + 1)
    assert err.value.code == "overpayment"
    assert not Repayment.objects.filter(loan=loan).exists()
    first = pay(loan, key="r1", today=TODAY + 5 * DAY, amount=30_000 * Y)
    assert (first.overdue_principal_fen, first.overdue_interest_fen, first.penalty_fen) == (30_000 * Y, 0, 0)
    again = pay(loan, key="r1", today=TODAY + 5 * DAY, amount=30_000 * Y)  # a retry: the same recovery
    assert again.pk == first.pk
    entry = JournalEntry.objects.get(kind=EntryKind.RECOVERY)
    assert legs(entry) == {
        (AccountCode.CUSTOMER_CLEARING, Side.DEBIT): 30_000 * Y,
        (AccountCode.LOAN_LOSS, Side.CREDIT): 30_000 * Y,
        (AccountCode.OFF_BALANCE_CONTRA, Side.DEBIT): 30_000 * Y,
        (AccountCode.WRITTEN_OFF_PRINCIPAL, Side.CREDIT): 30_000 * Y,
    }
    clean()
    rest = principal - 30_000 * Y + interest
    last = pay(loan, key="r2", today=TODAY + 6 * DAY, payoff=True)
    assert (last.amount_fen, last.overdue_principal_fen, last.overdue_interest_fen) == (
        rest,
        principal - 30_000 * Y,
        interest,
    )
    assert last.payoff
    loan.refresh_from_db()
    assert (loan.status, loan.settled_on) == ("written_off", TODAY + 6 * DAY)
    assert loan.written_off_principal_fen == loan.offbook_interest_fen == loan.offbook_penalty_fen == 0
    with pytest.raises(BusinessError) as err:
        pay(loan, key="r3", today=TODAY + 7 * DAY, amount=1)
    assert err.value.code == "nothing_owed"
    assert Repayment.objects.filter(loan=loan).count() == 2
    interest_posted = legs(JournalEntry.objects.get(key="repayment:r2"))
    assert interest_posted[(AccountCode.INTEREST_INCOME, Side.CREDIT)] == interest
    clean()


def test_recording_a_recovery_is_for_written_off_loans_only(line, credit):
    loan = draw(line)
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.record_recovery(credit.users["co"], loan.pk, amount_fen=100, key="x")
    assert err.value.code == "loan_not_written_off"
    assert not Repayment.objects.exists()
    loan, _request = written_off(credit, line)
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.record_recovery(credit.users["am1"], loan.pk, amount_fen=100, key="x")
    assert err.value.code == "forbidden"
    assert not Repayment.objects.exists()
    with transaction.atomic():
        recovery = services.record_recovery(credit.users["co"], loan.pk, amount_fen=100, key="x", today=TODAY + 5 * DAY)
    assert (recovery.channel, recovery.overdue_principal_fen) == ("counter", 100)
    clean()


def test_no_write_off_is_approved_while_a_day_end_batch_is_running(line, credit):
    loan = draw(line)
    eod.run(TODAY)
    classify_loss(credit, loan, TODAY + DAY)
    with transaction.atomic():
        request = services.request_write_off(credit.users["co"], loan.pk, reason="借款人失联")
    BusinessDay.objects.create(business_on=TODAY + DAY, status="running", started_at=now())
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.approve_write_off(credit.users["risk"], request.pk, today=TODAY + DAY)
    assert err.value.code == "eod_running"
    assert Loan.objects.get(pk=loan.pk).status == "active"
    assert WriteOffRequest.objects.get(pk=request.pk).status == "pending"


def test_the_demo_history_writes_off_loans_in_loss_for_a_quarter(line, credit):
    from xinedai.demo import lending as demo

    loan = draw(line)
    eod.run(TODAY)
    classify_loss(credit, loan, TODAY)  # classified loss on TODAY
    running = {0: demo._Running(loan.pk, line.pk, [])}
    frozen: set[int] = set()
    used = {line.pk: loan.principal_fen}
    review = TODAY + dt.timedelta(days=demo.WRITE_OFF_AFTER_DAYS_IN_LOSS - 1)
    with transaction.atomic():
        assert demo._write_off_losses(review, running, frozen, used, proposer="co", approver="risk") == 0
    with transaction.atomic():
        n = demo._write_off_losses(review + DAY, running, frozen, used, proposer="co", approver="risk")
    assert n == 1 and running == {} and frozen == {line.pk} and used == {line.pk: 0}
    assert Loan.objects.get(pk=loan.pk).status == "written_off"
    request = WriteOffRequest.objects.get(loan=loan)
    assert (request.made_by, request.decided_by) == (credit.users["co"], credit.users["risk"])
    clean()
