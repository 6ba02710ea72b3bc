"""What `xinedai ledger verify` checks about loans: the balances kept on loans and lines agree with the
ledger's sub-ledger, loan by loan and line by line (registered with ledger.checks at start-up)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Sum

from xinedai.credit.models import CreditLine
from xinedai.ledger.checks import Difference
from xinedai.ledger.choices import AccountCode
from xinedai.ledger.queries import balances_by_loan

from .models import Loan


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
