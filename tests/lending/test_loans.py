"""Drawdowns and repayments: exactly once per key, within the line, allocated in order, balanced in the
ledger — and `ledger verify` agrees with loans and lines after each of them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from xinedai.core.errors import BusinessError, ValidationFailed
from xinedai.credit.models import CreditLine
from xinedai.ledger import services as ledger
from xinedai.ledger import verify
from xinedai.ledger.choices import AccountCode, EntryKind, Side
from xinedai.ledger.models import JournalEntry
from xinedai.lending import rules, services
from xinedai.lending.models import Instalment, Loan, Repayment
from xinedai.products.queries import version_in_force

TODAY = dt.date(2026, 6, 30)  # the credit tests' business date
Y = 100


def draw(line, amount=100_000 * Y, *, key="k1", term=12, method="annuity", today=TODAY):
    with transaction.atomic():
        return services.drawdown(
            None, line, amount_fen=amount, term_months=term, method=method, key=key, channel="mobile", today=today
        )


def pay(loan, *, key, today, amount=None, payoff=False):
    with transaction.atomic():
        return services.repay(None, loan, key=key, channel="mobile", amount_fen=amount, payoff=payoff, today=today)


def clean():
    report = verify.run()
    assert report.clean, "\n".join(d.line() for d in report.differences)


def test_a_drawdown_disburses_once_per_key_within_the_line(line):
    loan = draw(line)
    line.refresh_from_db()
    assert line.used_fen == 100_000 * Y and line.available_fen == 110_000 * Y
    rows = list(loan.instalments.order_by("number"))
    expected = rules.schedule(100_000 * Y, loan.annual_rate, 12, "annuity", TODAY)
    assert [(r.due_on, r.principal_fen, r.interest_fen) for r in rows] == [
        (i.due_on, i.principal_fen, i.interest_fen) for i in expected
    ]
    assert loan.penalty_rate == (loan.annual_rate * Decimal("1.5")).quantize(Decimal("0.000001"))
    # a retry with the same key returns the same loan and disburses nothing more
    assert draw(line).pk == loan.pk
    assert Loan.objects.count() == 1 and JournalEntry.objects.filter(kind=EntryKind.DISBURSEMENT).count() == 1
    line.refresh_from_db()
    assert line.used_fen == 100_000 * Y
    with pytest.raises(BusinessError) as err:
        draw(line, 50_000 * Y)  # the same key for another amount
    assert err.value.code == "key_reused" and err.value.status == 409
    with pytest.raises(ValidationFailed) as err:
        draw(line, 110_000 * Y + 1, key="k2")
    assert err.value.code == "amount_over_available"
    with pytest.raises(ValidationFailed) as err:
        draw(line, 10_000 * Y, key="k3", method="bullet")  # 信e贷 does not offer 利随本清
    assert err.value.code == "method_not_allowed"
    assert Loan.objects.count() == 1
    clean()


def _line_reads(ctx: CaptureQueriesContext) -> list[str]:
    sql = [q["sql"] for q in ctx.captured_queries]
    return [q for q in sql if q.startswith("SELECT") and '"credit_creditline"' in q]


def test_a_drawdown_locks_the_line_it_is_given_unless_its_caller_has(line):
    stale = CreditLine.objects.get(pk=line.pk)  # read without a lock, and soon out of date
    with CaptureQueriesContext(connection) as ctx:
        draw(line, 100_000 * Y)
    [read] = _line_reads(ctx)
    assert read.endswith("FOR UPDATE") or connection.vendor != "postgresql"  # SQLite locks at BEGIN
    with pytest.raises(ValidationFailed) as err:  # the locked read's use counts, not the stale object's
        draw(stale, 110_000 * Y + 1, key="k2")
    assert err.value.code == "amount_over_available"
    # a caller that has locked the line and read the product's terms hands both over: nothing is read again
    with transaction.atomic():
        locked = CreditLine.objects.select_for_update().get(pk=line.pk)
        terms = version_in_force(locked.product_code, TODAY)
        with CaptureQueriesContext(connection) as ctx:
            loan = services.drawdown(
                None,
                locked,
                amount_fen=10_000 * Y,
                term_months=6,
                method="annuity",
                key="k3",
                channel="mobile",
                today=TODAY,
                locked=True,
                terms=terms,
            )
    assert _line_reads(ctx) == [] and not [q for q in ctx.captured_queries if "products_productversion" in q["sql"]]
    line.refresh_from_db()
    assert line.used_fen == 110_000 * Y and loan.principal_fen == 10_000 * Y
    clean()


def test_a_drawdown_is_audited_as_a_loan_and_as_a_journal_entry(line):
    from xinedai.core.models import AuditEntry

    loan = draw(line, 30_000 * Y)
    entry = JournalEntry.objects.get(key=f"disbursement:loan:{loan.pk}")
    audits = list(AuditEntry.objects.order_by("pk").values_list("action", "object_type", "object_id"))
    assert audits[-2:] == [
        ("lending.drawdown", "lending.loan", str(loan.pk)),
        ("ledger.post", "ledger.journalentry", str(entry.pk)),
    ]
    assert AuditEntry.objects.get(action="ledger.post").after == {
        "kind": "disbursement",
        "key": entry.key,
        "posted_on": TODAY.isoformat(),
        "postings": 2,
        "total_fen": 30_000 * Y,
    }
    assert (entry.posting_count, entry.total_fen) == (2, 30_000 * Y)
    clean()


def test_repayment_allocation_order_with_penalty_and_overdue(line):
    loan = draw(line)
    first, second = loan.instalments.order_by("number")[:2]
    late = second.due_on + dt.timedelta(days=3)  # two instalments overdue
    with transaction.atomic():  # penalty as the day-end batch will accrue it: posted, and kept on the loan
        ledger.post(
            kind=EntryKind.PENALTY,
            posted_on=late,
            key="penalty:test",
            lines=[
                (AccountCode.PENALTY_INTEREST_RECEIVABLE, Side.DEBIT, 1_234, loan.pk, line.pk),
                (AccountCode.PENALTY_INTEREST_INCOME, Side.CREDIT, 1_234, loan.pk, line.pk),
            ],
        )
        Loan.objects.filter(pk=loan.pk).update(penalty_receivable_fen=1_234)
    amount = 1_234 + first.interest_fen + second.interest_fen + 100
    r = pay(loan, key="r1", today=late, amount=amount)
    assert (r.penalty_fen, r.overdue_interest_fen, r.overdue_principal_fen, r.interest_fen, r.principal_fen) == (
        1_234,
        first.interest_fen + second.interest_fen,
        100,
        0,
        0,
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.paid_interest_fen == first.interest_fen and first.paid_principal_fen == 100  # oldest first
    assert second.paid_interest_fen == second.interest_fen and second.paid_principal_fen == 0
    loan.refresh_from_db()
    line.refresh_from_db()
    assert loan.penalty_receivable_fen == 0 and loan.principal_outstanding_fen == 100_000 * Y - 100
    assert line.used_fen == loan.principal_outstanding_fen
    assert pay(loan, key="r1", today=late, amount=amount).pk == r.pk  # a retried repayment pays once
    assert Repayment.objects.count() == 1
    clean()


def test_early_partial_repayment_reschedules_and_payoff_settles(line):
    loan = draw(line, 120_000 * Y)
    first = loan.instalments.order_by("number").first()
    pay(loan, key="due", today=first.due_on, amount=first.principal_fen + first.interest_fen)
    mid = first.due_on + dt.timedelta(days=10)
    loan.refresh_from_db()
    before = loan.principal_outstanding_fen
    r = pay(loan, key="early", today=mid, amount=30_000 * Y)
    assert r.principal_fen + r.interest_fen == 30_000 * Y
    assert r.interest_fen == rules.daily_interest_fen(r.principal_fen, loan.annual_rate, 10)
    loan.refresh_from_db()
    assert loan.principal_outstanding_fen == before - r.principal_fen and loan.schedule_version == 2
    current = list(Instalment.objects.filter(loan=loan, schedule_version=2).order_by("number"))
    assert [i.number for i in current] == list(range(1, 13))  # same numbers, dates and maturity
    assert current[-1].due_on == loan.maturity_on
    assert sum(i.principal_fen for i in current[1:]) == loan.principal_outstanding_fen
    repayments, entries = Repayment.objects.count(), JournalEntry.objects.count()
    with pytest.raises(ValidationFailed) as err:
        pay(loan, key="over", today=mid, amount=loan.principal_outstanding_fen * 2)
    assert err.value.code == "overpayment"
    assert (Repayment.objects.count(), JournalEntry.objects.count()) == (repayments, entries)  # nothing posted
    assert Loan.objects.get(pk=loan.pk).principal_outstanding_fen == loan.principal_outstanding_fen
    quote = services.owed(loan, mid)
    r = pay(loan, key="off", today=mid, payoff=True)
    assert r.amount_fen == quote["payoff_fen"] and r.payoff
    loan.refresh_from_db()
    line.refresh_from_db()
    assert (loan.status, loan.principal_outstanding_fen, line.used_fen) == ("settled", 0, 0)
    assert line.available_fen == line.limit_fen
    clean()


def test_verify_reports_a_loan_that_disagrees_with_the_ledger(line):
    loan = draw(line)
    Loan.objects.filter(pk=loan.pk).update(principal_outstanding_fen=loan.principal_fen - 1)
    report = verify.run()
    assert not report.clean
    assert any(d.loan_id == loan.pk for d in report.differences)
    CreditLine.objects.filter(pk=line.pk).update(used_fen=1)
    assert any(d.line_id == line.pk for d in verify.run().differences)


def test_the_loan_object_a_drawdown_returns_never_answers_from_a_stale_schedule(line):
    """drawdown() hands back the schedule it wrote for the first answer only: after a repayment made
    through another object, owed() on the returned one reads the schedule as it now is."""
    loan = draw(line, 120_000 * Y)
    fresh = services.owed(loan, TODAY)  # the answer to the drawdown itself: from the rows just written
    assert fresh["buckets"]["overdue_principal"] == 0 and len(fresh["rows"]) == 12
    first, second = Loan.objects.get(pk=loan.pk).instalments.order_by("number")[:2]
    pay(loan, key="i1", today=first.due_on, amount=first.principal_fen + first.interest_fen)
    later = services.owed(loan, second.due_on)  # the same object drawdown() returned
    assert later["buckets"]["overdue_principal"] == later["buckets"]["overdue_interest"] == 0
    assert later["buckets"]["principal"] == second.principal_fen
    clean()


def test_a_repayment_writes_only_the_instalments_it_pays(line):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    loan = draw(line, 120_000 * Y)
    rows = list(Loan.objects.get(pk=loan.pk).instalments.order_by("number"))
    for k, row in enumerate(rows[:4], start=1):
        with CaptureQueriesContext(connection) as ctx:
            pay(loan, key=f"i{k}", today=row.due_on, amount=row.principal_fen + row.interest_fen)
        updates = [q for q in ctx.captured_queries if q["sql"].startswith('UPDATE "lending_instalment"')]
        assert len(updates) == 1, [q["sql"][:80] for q in updates]  # the one due, not the k − 1 paid before
    assert Loan.objects.get(pk=loan.pk).instalments.filter(status="paid").count() == 4
    clean()


def test_drawdown_and_repayment_audit_rows_carry_the_borrowers_outlet(line):
    from xinedai.core.models import AuditEntry

    loan = draw(line, 50_000 * Y)
    first = Loan.objects.get(pk=loan.pk).instalments.order_by("number").first()
    pay(loan, key="r1", today=first.due_on, amount=first.principal_fen + first.interest_fen)
    outlet = line.household.village.grid.outlet.path
    rows = AuditEntry.objects.filter(action__in=["lending.drawdown", "lending.repay", "ledger.post"])
    assert sorted(r.action for r in rows) == ["ledger.post", "ledger.post", "lending.drawdown", "lending.repay"]
    assert {r.scope_path for r in rows} == {outlet} and outlet  # the journal entries' rows too
