"""What `xinedai ledger verify` checks about loans: the balances kept on loans and lines agree with the
ledger's sub-ledger, loan by loan and line by line, and reversed repayments agree with their reversals
(registered with ledger.checks at start-up)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Sum

from xinedai.credit.models import CreditLine
from xinedai.ledger.checks import Difference
from xinedai.ledger.choices import AccountCode
from xinedai.ledger.models import JournalEntry
from xinedai.ledger.queries import balances_by_loan

from .models import Loan, Repayment


def principal_matches_ledger() -> Iterator[Difference]:
    """Each loan's outstanding principal equals its principal sub-ledger balance (debits − credits)."""
    by_loan = balances_by_loan(AccountCode.LOAN_PRINCIPAL).as_dict()
    for loan_id, outstanding in Loan.objects.values_list("pk", "principal_outstanding_fen").iterator(chunk_size=10_000):
        actual = int(by_loan.pop(loan_id, 0))
        if actual != outstanding:
            yield Difference(expected=outstanding, actual=actual, loan_id=loan_id, account=AccountCode.LOAN_PRINCIPAL)
    for loan_id, balance in by_loan.items():  # postings for a loan that does not exist
        if balance:
            yield Difference(
                expected=0,
                actual=int(balance),
                loan_id=loan_id,
                account=AccountCode.LOAN_PRINCIPAL,
                note="no such loan",
            )


def line_used_matches_loans() -> Iterator[Difference]:
    """Each line's used amount equals the outstanding principal of its loans."""
    outstanding = dict(
        Loan.objects.values("line_id").annotate(s=Sum("principal_outstanding_fen")).values_list("line_id", "s")
    )
    for line_id, used in CreditLine.objects.filter(used_fen__gt=0).values_list("pk", "used_fen").iterator():
        actual = int(outstanding.pop(line_id, 0) or 0)
        if actual != used:
            yield Difference(expected=used, actual=actual, line_id=line_id, note="line used vs loans outstanding")
    for line_id, total in outstanding.items():
        if total:
            yield Difference(expected=0, actual=int(total), line_id=line_id, note="loans outstanding on an unused line")


def repayment_reversals_match_ledger() -> Iterator[Difference]:
    """A repayment marked reversed has its entry reversed by the very entry it names, and a repayment whose
    entry was reversed is marked reversed (冲正: the loan was put back; it must not count as paid)."""
    reversals = JournalEntry.objects.filter(reverses__isnull=False)
    by_entry = dict(
        reversals.filter(reverses_id__in=Repayment.objects.filter(reversed_at__isnull=False).values("journal_entry_id"))
        .values_list("reverses_id", "pk")
        .iterator()
    )
    marked = Repayment.objects.filter(reversed_at__isnull=False).values_list(
        "pk", "journal_entry_id", "reversal_entry_id"
    )
    for pk, entry_id, reversal_id in marked.iterator():
        if by_entry.get(entry_id) != reversal_id:
            yield Difference(
                expected=reversal_id if reversal_id is not None else "none",
                actual=by_entry.get(entry_id, "none"),
                entry_id=entry_id,
                note=f"repayment {pk} marked reversed: the reversal of its entry",
            )
    unmarked = Repayment.objects.filter(reversed_at__isnull=True, journal_entry_id__in=reversals.values("reverses_id"))
    for pk, entry_id, loan_id in unmarked.values_list("pk", "journal_entry_id", "loan_id").iterator():
        yield Difference(
            expected="not reversed",
            actual="reversed",
            entry_id=entry_id,
            loan_id=loan_id,
            note=f"repayment {pk}: its entry is reversed but the repayment is not marked so",
        )
