"""What `xinedai ledger verify` checks about the receivables the day-end batch accrues: each loan's
interest and penalty receivable agree with its sub-ledger (registered with ledger.checks at start-up).
One statement per account over all loans, whatever their number."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connections, router

from xinedai.ledger.checks import Difference
from xinedai.ledger.choices import AccountCode
from xinedai.ledger.queries import subledger_sql
from xinedai.lending.models import Loan


def _receivable_differences(account: str, column: str) -> Iterator[Difference]:
    connection = connections[router.db_for_read(Loan)]
    loan = connection.ops.quote_name(Loan._meta.db_table)
    sub, params = subledger_sql(account)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT l.id, l.{column}, COALESCE(b.balance_fen, 0) FROM {loan} l"
            f" LEFT JOIN ({sub}) b ON b.loan_id = l.id WHERE l.{column} <> COALESCE(b.balance_fen, 0)"
            " UNION ALL"
            f" SELECT b.loan_id, NULL, b.balance_fen FROM ({sub}) b"
            f" WHERE b.balance_fen <> 0 AND NOT EXISTS (SELECT 1 FROM {loan} l WHERE l.id = b.loan_id)"
            " ORDER BY 1",
            [*params, *params],
        )
        rows = cursor.fetchall()
    for loan_id, kept, balance in rows:
        if kept is None:
            yield Difference(expected=0, actual=int(balance), loan_id=loan_id, account=account, note="no such loan")
        else:
            yield Difference(
                expected=int(kept), actual=int(balance), loan_id=loan_id, account=account, note=f"loan.{column}"
            )


def interest_receivable_matches_ledger() -> Iterator[Difference]:
    """Each loan's interest_receivable_fen equals its interest receivable sub-ledger balance."""
    return _receivable_differences(AccountCode.INTEREST_RECEIVABLE, "interest_receivable_fen")


def penalty_receivable_matches_ledger() -> Iterator[Difference]:
    """Each loan's penalty_receivable_fen equals its penalty interest receivable sub-ledger balance."""
    return _receivable_differences(AccountCode.PENALTY_INTEREST_RECEIVABLE, "penalty_receivable_fen")


def offbook_interest_matches_ledger() -> Iterator[Difference]:
    """Each loan's offbook_interest_fen (a non-accrual loan's interest, owed but not income) equals its
    off-balance interest sub-ledger balance."""
    return _receivable_differences(AccountCode.OFF_BALANCE_INTEREST, "offbook_interest_fen")


def offbook_penalty_matches_ledger() -> Iterator[Difference]:
    """Each loan's offbook_penalty_fen equals its off-balance penalty sub-ledger balance."""
    return _receivable_differences(AccountCode.OFF_BALANCE_PENALTY, "offbook_penalty_fen")


def written_off_principal_matches_ledger() -> Iterator[Difference]:
    """Each loan's written_off_principal_fen (written off, still owed: 账销案存) equals its off-balance
    written-off principal sub-ledger balance."""
    return _receivable_differences(AccountCode.WRITTEN_OFF_PRINCIPAL, "written_off_principal_fen")
