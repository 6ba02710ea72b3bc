"""Reversing a repayment made by mistake (还款冲正): on its own day, before the day-end batch, by a
supervisor who did not record it. The journal entry gets its mirror image and the loan, its schedule and
its line go back to exactly what they were — `ledger verify` after each; every refusal writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from tests.lending.test_loans import TODAY, Y, clean, draw, pay
from tests.lending.test_write_off import written_off
from xinedai.core.errors import BusinessError
from xinedai.credit.models import CreditLine
from xinedai.ledger import verify
from xinedai.ledger.choices import EntryKind
from xinedai.ledger.models import JournalEntry, Posting
from xinedai.lending import services as lending
from xinedai.lending.models import Instalment, Loan, Repayment
from xinedai.monitoring.queries import written_off_between
from xinedai.servicing import eod, services
from xinedai.servicing.models import WriteOffRequest

DAY = dt.timedelta(days=1)


def snapshot(loan: Loan, today: dt.date) -> dict:
    """Everything a repayment changes, as a customer, the books and the batch see it."""
    loan = Loan.objects.get(pk=loan.pk)
    rows = Instalment.objects.filter(loan=loan, schedule_version=loan.schedule_version).order_by("number")
    owed = lending.owed(loan, today) if loan.status == "active" else None
    return {
        "loan": {
            name: getattr(loan, name)
            for name in (
                "status",
                "settled_on",
                "principal_outstanding_fen",
                "interest_receivable_fen",
                "penalty_receivable_fen",
                "offbook_interest_fen",
                "offbook_penalty_fen",
                "written_off_principal_fen",
            )
        },
        "schedule": [
            (r.number, r.due_on, r.principal_fen, r.interest_fen, r.paid_principal_fen, r.paid_interest_fen, r.status)
            for r in rows
        ],
        "owed": owed and {k: v for k, v in owed.items() if k != "rows"},
        "line_used": CreditLine.objects.get(pk=loan.line_id).used_fen,
    }


def reverse(actor, repayment, *, today, reason="客户账户扣款失败"):  # type: ignore[no-untyped-def]
    with transaction.atomic():
        return services.reverse_repayment(actor, repayment.loan_id, repayment.pk, reason=reason, today=today)


def written(*models) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    return tuple(m.objects.count() for m in (JournalEntry, Posting, Repayment, Instalment, *models))


def test_a_partial_repayment_reversed_leaves_the_loan_as_it_was_and_the_ledger_mirrored(line, credit):
    loan = draw(line, 120_000 * Y)
    first = loan.instalments.order_by("number").first()
    day = first.due_on
    before = snapshot(loan, day)
    repayment = pay(loan, key="p1", today=day, amount=first.interest_fen + 1_000 * Y)
    assert snapshot(loan, day) != before
    reversed_ = reverse(credit.users["bm"], repayment, today=day)
    assert reversed_.reversed and reversed_.reversed_by == credit.users["bm"]
    assert reversed_.reversal_reason == "客户账户扣款失败"
    assert snapshot(loan, day) == before
    entry = JournalEntry.objects.get(pk=repayment.journal_entry_id)
    mirror = JournalEntry.objects.get(pk=reversed_.reversal_entry_id)
    assert (mirror.kind, mirror.reverses_id, mirror.posted_on, mirror.total_fen) == (
        EntryKind.REVERSAL,
        entry.pk,
        day,
        entry.total_fen,
    )
    clean()
    # the customer pays again, under a new key: the same allocation as the first time
    again = pay(loan, key="p2", today=day, amount=first.interest_fen + 1_000 * Y)
    assert (again.interest_fen, again.principal_fen) == (repayment.interest_fen, repayment.principal_fen)
    # the reversed key still names the reversed repayment: a retry of it pays nothing
    assert pay(loan, key="p1", today=day, amount=first.interest_fen + 1_000 * Y).pk == repayment.pk
    assert Repayment.objects.filter(loan=loan, reversed_at__isnull=True).count() == 1
    clean()


def test_an_early_repayment_reversed_brings_the_schedule_back_as_a_new_version(line, credit):
    loan = draw(line, 120_000 * Y)
    first = loan.instalments.order_by("number").first()
    pay(loan, key="due", today=first.due_on, amount=first.principal_fen + first.interest_fen)
    mid = first.due_on + 10 * DAY
    before = snapshot(loan, mid)
    early = pay(loan, key="early", today=mid, amount=30_000 * Y)
    assert Loan.objects.get(pk=loan.pk).schedule_version == 2
    reverse(credit.users["bm"], early, today=mid)
    assert snapshot(loan, mid) == before
    loan.refresh_from_db()
    assert loan.schedule_version == 3  # versions only grow: 2 stays as history
    assert Instalment.objects.filter(loan=loan, schedule_version=2, status="superseded").count() == 12
    clean()
    # and an early repayment after it re-amortises again from the restored schedule
    again = pay(loan, key="early2", today=mid, amount=30_000 * Y)
    assert (again.principal_fen, again.interest_fen) == (early.principal_fen, early.interest_fen)
    assert Loan.objects.get(pk=loan.pk).schedule_version == 4
    clean()


def test_a_payoff_reversed_makes_the_loan_active_again_and_takes_the_limit_back(line, credit):
    loan = draw(line, 50_000 * Y)
    day = TODAY + 20 * DAY
    before = snapshot(loan, day)
    payoff = pay(loan, key="off", today=day, payoff=True)
    line.refresh_from_db()
    assert (Loan.objects.get(pk=loan.pk).status, line.used_fen) == ("settled", 0)
    reverse(credit.users["om1"], payoff, today=day)
    assert snapshot(loan, day) == before
    assert Loan.objects.get(pk=loan.pk).settled_on is None
    clean()


def test_repayments_are_reversed_newest_first_and_a_reversal_only_once(line, credit):
    loan = draw(line, 120_000 * Y)
    day = loan.instalments.order_by("number").first().due_on
    start = snapshot(loan, day)
    first = pay(loan, key="a", today=day, amount=500 * Y)
    middle = snapshot(loan, day)
    second = pay(loan, key="b", today=day, amount=700 * Y)
    counts = written()
    with pytest.raises(BusinessError) as err:
        reverse(credit.users["bm"], first, today=day)
    assert err.value.code == "not_latest" and err.value.details["later"] == [second.pk]
    assert written() == counts
    reverse(credit.users["bm"], second, today=day)
    assert snapshot(loan, day) == middle
    counts = written()
    with pytest.raises(BusinessError) as err:
        reverse(credit.users["bm"], second, today=day)
    assert err.value.code == "already_reversed"
    assert written() == counts
    reverse(credit.users["bm"], first, today=day)
    assert snapshot(loan, day) == start
    clean()


def test_a_reversal_is_refused_on_another_day_after_the_batch_or_by_the_recorder(line, credit):
    loan = draw(line, 120_000 * Y)
    repayment = pay(loan, key="a", today=TODAY + 3 * DAY, amount=500 * Y)
    counts = written()
    with pytest.raises(BusinessError) as err:
        reverse(credit.users["bm"], repayment, today=TODAY + 4 * DAY)
    assert err.value.code == "not_same_day"
    with pytest.raises(BusinessError) as err:  # an account manager may not
        reverse(credit.users["am1"], repayment, today=TODAY + 3 * DAY)
    assert err.value.code == "forbidden"
    with pytest.raises(BusinessError) as err:
        reverse(credit.users["bm"], repayment, today=TODAY + 3 * DAY, reason="  ")
    assert err.value.code == "reason_required"
    assert written() == counts
    # the recorder of a repayment never reverses it
    with transaction.atomic():
        own = lending.repay(
            credit.users["bm"], loan, key="own", channel="counter", amount_fen=300 * Y, today=TODAY + 3 * DAY
        )
    counts = written()
    with pytest.raises(BusinessError) as err:
        reverse(credit.users["bm"], own, today=TODAY + 3 * DAY)
    assert err.value.code == "maker_is_checker"
    assert written() == counts
    reverse(credit.users["om1"], own, today=TODAY + 3 * DAY)
    # once the day's batch has begun, its repayments stand: the batch accrued on what they left
    for d in range(4):
        eod.run(TODAY + d * DAY)
    counts = written()
    with pytest.raises(BusinessError) as err:
        reverse(credit.users["bm"], repayment, today=TODAY + 3 * DAY)
    assert err.value.code == "day_closed"
    assert written() == counts
    clean()


def test_a_reversal_is_refused_once_the_loan_changed_or_the_freed_limit_was_drawn(line, credit):
    loan = draw(line, 200_000 * Y)  # the line: 210,000 yuan
    day = TODAY + 5 * DAY
    repayment = pay(loan, key="a", today=day, amount=50_000 * Y)  # frees ~50,000 yuan of the line
    other = draw(line, 55_000 * Y, key="k2", today=day)  # and the customer draws it again
    counts = written()
    with pytest.raises(BusinessError) as err:
        reverse(credit.users["bm"], repayment, today=day)
    assert err.value.code == "limit_drawn_since"
    assert written() == counts
    pay(other, key="o", today=day, payoff=True)
    # the loan changed under the repayment by another route than a repayment: refused too
    Loan.objects.filter(pk=loan.pk).update(penalty_receivable_fen=1)
    with pytest.raises(BusinessError) as err:
        reverse(credit.users["bm"], repayment, today=day)
    assert err.value.code == "loan_changed"
    Loan.objects.filter(pk=loan.pk).update(penalty_receivable_fen=0)
    reverse(credit.users["bm"], repayment, today=day)
    clean()


def test_a_recovery_reversed_puts_the_claim_back_and_no_longer_counts_as_recovered(line, credit):
    loan, request = written_off(credit, line)
    day = TODAY + 5 * DAY
    before = snapshot(loan, day)
    recovery = pay(loan, key="r1", today=day, amount=30_000 * Y)
    write_offs = WriteOffRequest.objects.filter(pk=request.pk)
    assert written_off_between(write_offs, TODAY, day)["recovered_fen"] == 30_000 * Y
    reverse(credit.users["bm"], recovery, today=day)
    assert snapshot(loan, day) == before
    assert written_off_between(write_offs, TODAY, day)["recovered_fen"] == 0
    assert lending.recoverable_fen(Loan.objects.get(pk=loan.pk)) == before["loan"]["written_off_principal_fen"] + (
        before["loan"]["offbook_interest_fen"] + before["loan"]["offbook_penalty_fen"]
    )
    clean()


def test_verify_reports_a_reversal_the_repayment_does_not_know_of(line, credit):
    loan = draw(line, 120_000 * Y)
    day = TODAY + 2 * DAY
    repayment = pay(loan, key="a", today=day, amount=500 * Y)
    done = reverse(credit.users["bm"], repayment, today=day)
    Repayment.objects.filter(pk=repayment.pk).update(reversed_at=None, reversal_entry_id=None)
    report = verify.run()
    assert [(d.check, d.entry_id) for d in report.differences if d.check == "lending.repayment_reversals"] == [
        ("lending.repayment_reversals", repayment.journal_entry_id)
    ]
    Repayment.objects.filter(pk=repayment.pk).update(reversed_at=done.reversed_at, reversal_entry_id=repayment.pk)
    report = verify.run()
    assert [d.check for d in report.differences] == ["lending.repayment_reversals"]


def test_the_demo_bounces_a_repayment_and_the_customer_pays_it_again(line, credit):
    from xinedai.demo import lending as demo

    loan = draw(line, 120_000 * Y)
    day = TODAY + 9 * DAY
    repayment = pay(loan, key="demo:1:1", today=day, amount=800 * Y)
    paid_once = snapshot(loan, day)
    assert demo._bounce(repayment, day, credit.users["bm"], None) == 1
    assert snapshot(loan, day) == paid_once  # the loan ends the day as if the first debit had worked
    assert Repayment.objects.get(pk=repayment.pk).reversed
    assert Repayment.objects.get(key="demo:1:1:again").amount_fen == 800 * Y
    clean()
