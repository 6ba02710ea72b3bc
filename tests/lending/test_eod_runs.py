"""The day-end batch as operations run it: through `xinedai eod`, committed step by step, crashing in the
middle and resumed without posting anything twice."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.lending.test_eod import grant
from tests.lending.test_loans import TODAY, clean, draw
from xinedai.core.errors import BusinessError
from xinedai.core.models import AuditEntry
from xinedai.ledger.choices import AccountCode, EntryKind
from xinedai.ledger.models import JournalEntry, Posting
from xinedai.ledger.queries import balance_fen
from xinedai.servicing import eod
from xinedai.servicing.choices import Step
from xinedai.servicing.models import BusinessDay

DAY = dt.timedelta(days=1)


@pytest.fixture
def committed_line(transactional_db, credit):  # type: ignore[no-untyped-def]
    """h1's line, committed: these tests see what each step of the batch commits."""
    return grant(credit, credit.h1)


def eod_cli(*args: str) -> str:
    out = StringIO()
    call_command("eod", *args, stdout=out)
    return out.getvalue()


def ledger_counts() -> tuple[int, int]:
    return JournalEntry.objects.count(), Posting.objects.count()


def test_the_command_runs_dates_in_order_once_each(committed_line):
    draw(committed_line)
    text = eod_cli("--date", TODAY.isoformat(), "--through", (TODAY + 2 * DAY).isoformat())
    assert [line.split(":")[0] for line in text.splitlines() if "done in" in line] == [
        TODAY.isoformat(),
        (TODAY + DAY).isoformat(),
        (TODAY + 2 * DAY).isoformat(),
    ]
    assert "accrual" in text and "snapshot" in text
    before = ledger_counts()
    assert eod_cli("--date", (TODAY + 2 * DAY).isoformat()).strip() == f"{TODAY + 2 * DAY}: already done, nothing to do"
    with pytest.raises(CommandError, match="eod_date_out_of_order"):
        eod_cli("--date", (TODAY + 5 * DAY).isoformat())
    with pytest.raises(CommandError, match="expected YYYY-MM-DD"):
        eod_cli("--date", "2026-13-01")
    assert ledger_counts() == before
    assert list(BusinessDay.objects.values_list("status", flat=True)) == ["done"] * 3
    clean()


def test_a_crash_after_posting_rolls_the_step_back_and_the_rerun_resumes(committed_line, monkeypatch):
    loan = draw(committed_line)
    first = loan.instalments.order_by("number").first()
    crash_on = first.due_on + 3 * DAY  # overdue: the penalty step has something to post
    eod.run(crash_on - DAY)
    real = eod.STEP_FUNCTIONS[Step.PENALTY]

    def post_then_crash(b):  # type: ignore[no-untyped-def]
        real(b)  # the penalty entry is posted and the loans updated … then the process dies
        raise RuntimeError("killed")

    monkeypatch.setitem(eod.STEP_FUNCTIONS, Step.PENALTY, post_then_crash)
    with pytest.raises(RuntimeError, match="killed"):
        eod.run(crash_on)
    day = BusinessDay.objects.get(business_on=crash_on)
    # accrual, overdue and non-accrual committed, penalty did not
    assert (day.status, day.step) == ("running", "non_accrual")
    assert JournalEntry.objects.filter(key=f"accrual:{crash_on}").count() == 1
    assert not JournalEntry.objects.filter(key=f"penalty:{crash_on}").exists()
    loan.refresh_from_db()
    penalty_before = loan.penalty_receivable_fen
    assert penalty_before == balance_fen(AccountCode.PENALTY_INTEREST_RECEIVABLE, loan_id=loan.pk)
    clean()  # the committed steps are consistent on their own

    # Another date cannot start while this one is unfinished.
    with pytest.raises(BusinessError) as err:
        eod.run(crash_on + DAY)
    assert err.value.code == "eod_refused"

    monkeypatch.setitem(eod.STEP_FUNCTIONS, Step.PENALTY, real)
    accruals = ledger_counts()
    result = eod.run(crash_on)
    assert result.resumed_after == "non_accrual"
    assert [s.step for s in result.steps] == ["penalty", "classify", "lines", "snapshot"]
    assert JournalEntry.objects.filter(key__endswith=f":{crash_on}").count() == 2  # accrual, penalty: once each
    assert JournalEntry.objects.filter(kind=EntryKind.ACCRUAL, posted_on=crash_on).count() == 1
    entries, postings = ledger_counts()
    assert (entries, postings) == (accruals[0] + 1, accruals[1] + 2)
    loan.refresh_from_db()
    assert loan.penalty_receivable_fen > penalty_before
    day.refresh_from_db()
    assert (day.status, day.step, day.runs) == ("done", "snapshot", 2)
    assert eod.run(crash_on).already_done
    assert ledger_counts() == (entries, postings)
    assert AuditEntry.objects.filter(action="servicing.eod.resume").count() == 1
    clean()
