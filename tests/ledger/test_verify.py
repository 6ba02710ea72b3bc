"""`xinedai ledger verify`: clean ledger → exit 0; anything written behind the services' back, or a
difference a registered check reports → exit 1 with every difference printed."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from tests.ledger.conftest import ON, disburse, repay
from xinedai.ledger import checks, services
from xinedai.ledger.checks import Difference
from xinedai.ledger.choices import AccountCode as A
from xinedai.ledger.models import Account

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("ledger", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def raw(sql: str, params: list | None = None) -> None:  # type: ignore[type-arg]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def account_id(code: str) -> int:
    return Account.objects.get(code=code).pk


@pytest.fixture
def book():  # type: ignore[no-untyped-def]
    first = disburse(1, 500_000, line=10)
    paid = repay(1, 100_000, 2_000)
    with transaction.atomic():
        services.reverse(paid, posted_on=ON, actor=None, reason="重复入账")
    return first


def test_a_clean_ledger_verifies(book, capsys):
    code, out, err = run("verify")
    assert code == 0
    assert out.splitlines()[-1] == "ledger verified: 3 entries, 8 postings, 5 checks, no differences"
    assert "entries" in out and "DIFFERENCE" not in out
    assert "[1/5] entries balance and match their control totals" in err
    assert run("verify", "--quiet")[2] == ""


def test_an_empty_ledger_verifies():
    assert run("verify")[0] == 0


def test_a_posting_written_behind_the_services_back_is_reported(book):
    raw(
        "INSERT INTO ledger_posting (entry_id, account_id, side, amount_fen, loan_id, line_id)"
        " VALUES (%s, %s, 1, 700, 1, 10)",
        [book.pk, account_id(A.LOAN_PRINCIPAL)],
    )
    code, out, _ = run("verify")
    assert code == 1
    differences = [line for line in out.splitlines() if line.startswith("DIFFERENCE")]
    assert differences == [
        f"DIFFERENCE entry_balance: entry={book.pk} expected=0 actual=700  (debits − credits)",
        f"DIFFERENCE entry_posting_count: entry={book.pk} expected=2 actual=3  (postings of the entry)",
        f"DIFFERENCE entry_total: entry={book.pk} expected=500000 actual=500700  (sum of the debits, fen)",
        f"DIFFERENCE entry_loan_balance: entry={book.pk} loan=1 expected=0 actual=700  (debits − credits of this loan)",
    ]
    assert out.splitlines()[-1] == (
        "ledger NOT verified: 3 entries, 9 postings, 5 checks, 4 difference(s) in entries, loans"
    )


def test_balanced_tampering_is_still_caught_by_the_control_totals(book):
    principal, clearing = account_id(A.LOAN_PRINCIPAL), account_id(A.CUSTOMER_CLEARING)
    raw(
        "INSERT INTO ledger_posting (entry_id, account_id, side, amount_fen, loan_id, line_id)"
        " VALUES (%s, %s, 1, 50, 1, 10), (%s, %s, -1, 50, 1, 10)",
        [book.pk, principal, book.pk, clearing],
    )
    code, out, _ = run("verify")
    assert code == 1
    assert f"DIFFERENCE entry_posting_count: entry={book.pk} expected=2 actual=4" in out
    assert f"DIFFERENCE entry_total: entry={book.pk} expected=500000 actual=500050" in out
    assert "entry_balance" not in out.split("DIFFERENCE", 1)[1]


def test_orphan_postings_unknown_accounts_and_entries_without_postings_are_reported(book):
    raw(
        "INSERT INTO ledger_posting (entry_id, account_id, side, amount_fen, loan_id) VALUES (999999, %s, 1, 5, 3),"
        " (999999, %s, -1, 5, 3)",
        [account_id(A.LOAN_PRINCIPAL), account_id(A.CUSTOMER_CLEARING)],
    )
    raw(
        "INSERT INTO ledger_posting (entry_id, account_id, side, amount_fen)"
        " VALUES (%s, 424242, 1, 9), (%s, 424242, -1, 9)",
        [book.pk, book.pk],
    )
    raw(
        "INSERT INTO ledger_journalentry (kind, posted_on, created_at, key, memo, posting_count, total_fen,"
        " body_sha256) VALUES ('accrual', %s, %s, 'empty', '', 2, 10, '')",
        [ON, dt.datetime(2026, 6, 30, tzinfo=dt.UTC)],
    )
    empty = connection.cursor().execute("SELECT id FROM ledger_journalentry WHERE key = 'empty'").fetchone()[0]
    code, out, _ = run("verify")
    assert code == 1
    assert "DIFFERENCE posting_without_entry: entry=999999 expected=2 actual=0" in out
    assert f"DIFFERENCE posting_without_account: entry={book.pk} account=#424242 expected=0 actual=2" in out
    assert f"DIFFERENCE entry_posting_count: entry={empty} expected=2 actual=0" in out
    assert f"DIFFERENCE entry_total: entry={empty} expected=10 actual=0" in out


def test_a_reversal_that_does_not_mirror_its_entry_is_reported(book):
    reversal = book.pk + 2
    raw(
        "INSERT INTO ledger_posting (entry_id, account_id, side, amount_fen, loan_id) VALUES (%s, %s, -1, 7, 1),"
        " (%s, %s, 1, 7, 1)",
        [reversal, account_id(A.INTEREST_RECEIVABLE), reversal, account_id(A.INTEREST_INCOME)],
    )
    code, out, _ = run("verify")
    assert code == 1
    differences = [line.removeprefix("DIFFERENCE ") for line in out.splitlines() if "DIFFERENCE reversal" in line]
    ir, income = A.INTEREST_RECEIVABLE, A.INTEREST_INCOME
    assert differences == [
        f"reversal_mirror: entry={reversal} loan=1 account={ir} expected=2000 actual=1993  (signed sum, fen)",
        f"reversal_mirror_count: entry={reversal} loan=1 account={ir} expected=1 actual=2  (postings)",
        f"reversal_mirror: entry={reversal} loan=1 account={income} expected=0 actual=7  (signed sum, fen)",
        f"reversal_mirror_count: entry={reversal} loan=1 account={income} expected=0 actual=1  (postings)",
    ]


def test_a_loan_posted_to_two_lines_is_reported(book):
    raw(
        "INSERT INTO ledger_posting (entry_id, account_id, side, amount_fen, loan_id, line_id)"
        " VALUES (%s, %s, 1, 1, 1, 11), (%s, %s, -1, 1, 1, 11)",
        [book.pk, account_id(A.LOAN_PRINCIPAL), book.pk, account_id(A.CUSTOMER_CLEARING)],
    )
    assert "DIFFERENCE loan_line: loan=1 expected=one credit line actual=lines 10 and 11" in run("verify")[1]


def test_a_missing_immutability_trigger_is_reported():
    raw("DROP TRIGGER ledger_posting_immutable" + (" ON ledger_posting" if connection.vendor == "postgresql" else ""))
    code, out, _ = run("verify")
    assert code == 1
    assert (
        "DIFFERENCE immutability_trigger:  expected=installed actual=missing or disabled  (ledger_posting_immutable)"
        in out
    )


def test_registered_checks_run_after_the_ledgers_own(book):
    def principal_matches_loans():  # type: ignore[no-untyped-def]
        yield Difference(expected=500_000, actual=400_000, loan_id=1, account=A.LOAN_PRINCIPAL, note="loan row")

    calls = []
    checks.register("lending.principal", principal_matches_loans)
    checks.register("lending.quiet", lambda: calls.append(1) or [])
    code, out, _ = run("verify")
    assert code == 1 and calls == [1]
    assert (
        f"DIFFERENCE lending.principal: loan=1 account={A.LOAN_PRINCIPAL} expected=500000 actual=400000  (loan row)"
        in out
    )
    assert out.splitlines()[-1].endswith("7 checks, 1 difference(s) in lending.principal")
    checks.unregister("lending.principal")
    assert run("verify")[0] == 0
    assert [name for name, _ in checks.registered()] == ["lending.quiet"]
    with pytest.raises(ValueError):
        checks.register("", principal_matches_loans)


def test_the_trial_balance_command(book):
    code, out, _ = run("trial-balance")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "trial balance (all entries)"
    assert lines[4].split() == [A.LOAN_PRINCIPAL, "6,000.00", "1,000.00", "5,000.00", "贷款本金"]
    assert lines[5].split() == [A.CUSTOMER_CLEARING, "1,020.00", "6,020.00", "5,000.00", "客户结算清算往来"]
    assert lines[-2].split() == ["total", "7,040.00", "7,040.00"]
    assert lines[-1] == "balanced"
    assert run("trial-balance", "--on", "2026-06-29")[1].splitlines()[-2].split() == ["total", "0.00", "0.00"]
    with pytest.raises(Exception, match="--on"):
        call_command("ledger", "trial-balance", "--on", "30/06/2026")
