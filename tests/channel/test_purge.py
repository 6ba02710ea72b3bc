"""Purging done Idempotency-Key records: only done ones older than the retention, in set-based chunks, never
one in flight; from the command, the function and the task. A retry after the purge is a new request, and
the loans' and repayments' own business keys still disburse and collect once."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from xinedai.channel import idempotency, tasks
from xinedai.channel.models import IdempotencyRecord
from xinedai.core.dates import now
from xinedai.core.models import AuditEntry
from xinedai.credit.models import CreditLine
from xinedai.ledger import verify
from xinedai.ledger.choices import EntryKind
from xinedai.ledger.models import JournalEntry
from xinedai.lending.models import Loan, Repayment

from .conftest import Y, drawdown_body, post

DAY = dt.timedelta(days=1)


def _record(channels, key: str, *, done_days_ago: float | None = None, claimed_days_ago: float = 0) -> None:  # type: ignore[no-untyped-def]
    at = now()
    IdempotencyRecord.objects.create(
        channel="mobile_banking",
        key=key,
        fingerprint="f" * 64,
        method="POST",
        path="/api/v1/channel/drawdowns",
        client=channels.mobile,
        claimed_at=at - claimed_days_ago * DAY,
        created_at=at - claimed_days_ago * DAY,
        status="in_flight" if done_days_ago is None else "done",
        completed_at=None if done_days_ago is None else at - done_days_ago * DAY,
        response_status=None if done_days_ago is None else 201,
        response_body="" if done_days_ago is None else "{}",
    )


@pytest.fixture
def records(channels):  # type: ignore[no-untyped-def]
    """Three done records from 31-40 days ago, one done 29 days ago, and two left in flight (one very old)."""
    for key, days in [("old1", 40), ("old2", 35), ("old3", 31), ("recent", 29)]:
        _record(channels, key, done_days_ago=days, claimed_days_ago=days)
    _record(channels, "stuck", claimed_days_ago=90)
    _record(channels, "running")


def _keys() -> list[str]:
    return sorted(IdempotencyRecord.objects.values_list("key", flat=True))


def test_done_records_past_the_retention_are_deleted_in_chunks_and_none_in_flight(records):
    totals: list[int] = []
    deleted = tasks.purge_idempotency_records(older_than_days=30, chunk_size=2, progress=totals.append)
    assert deleted == 3
    assert totals == [2, 3]
    assert _keys() == ["recent", "running", "stuck"]
    audits = AuditEntry.objects.filter(action="channel.idempotency.purge").order_by("pk")
    assert [a.after["deleted"] for a in audits] == [2, 1]
    assert {a.object_type for a in audits} == {"channel.idempotencyrecord"}
    # nothing more to do: a second run deletes nothing and writes no audit row
    assert tasks.purge_idempotency_records(older_than_days=30, chunk_size=2) == 0
    assert audits.count() == 2


def test_the_retention_defaults_to_the_setting(records, settings):
    settings.XINEDAI_CHANNEL_IDEMPOTENCY_RETENTION_DAYS = 36
    assert idempotency.retention_days() == 36
    assert tasks.purge_idempotency_records() == 1
    assert _keys() == ["old2", "old3", "recent", "running", "stuck"]


def test_a_chunk_is_one_delete_statement_whatever_its_size(records):
    with CaptureQueriesContext(connection) as queries:
        assert tasks.purge_idempotency_records(older_than_days=30, chunk_size=1000) == 3
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 1
    # no row is read into Python first (Django's delete() would, to cascade or send signals)
    assert not [q for q in queries.captured_queries if q["sql"].startswith('SELECT "channel_idempotencyrecord"')]


@pytest.mark.parametrize("days", [0, -1])
def test_a_retention_under_a_day_is_refused_and_nothing_deleted(records, days):
    with pytest.raises(CommandError, match="at least one day"):
        call_command("channel_purge_idempotency", "--older-than-days", str(days), stdout=StringIO(), stderr=StringIO())
    assert len(_keys()) == 6


def test_the_command_prints_progress_and_the_count(records):
    out, err = StringIO(), StringIO()
    call_command("channel_purge_idempotency", "--older-than-days", "30", "--chunk-size", "2", stdout=out, stderr=err)
    assert out.getvalue() == "deleted 3 records; 3 kept (2 in flight)\n"
    assert err.getvalue().splitlines() == [
        "deleting done Idempotency-Key records completed more than 30 days ago …",
        "  2 deleted",
        "  3 deleted",
    ]


def test_the_task_purges_with_the_setting_or_its_argument(records, settings):
    settings.XINEDAI_CHANNEL_IDEMPOTENCY_RETENTION_DAYS = 36
    assert tasks.purge_idempotency_records_task.enqueue().return_value == 1
    assert tasks.purge_idempotency_records_task.enqueue(30).return_value == 2
    assert _keys() == ["recent", "running", "stuck"]


def _age_all_done_records(days: int = 31) -> None:
    IdempotencyRecord.objects.filter(status="done").update(completed_at=now() - days * DAY)


def test_a_retry_after_the_purge_is_a_new_request_but_disburses_no_second_loan(channels, signed_line):
    client = channels.client()
    body = drawdown_body(signed_line)
    first = post(client, "/drawdowns", body, key="d1")
    assert first.status_code == 201, first.content
    loan = Loan.objects.get()
    _age_all_done_records()
    assert tasks.purge_idempotency_records(older_than_days=30) == 1
    assert not IdempotencyRecord.objects.exists()

    # the same request again: not a replay (the record is gone) but the loan's business key finds the loan
    again = post(client, "/drawdowns", body, key="d1")
    assert again.status_code == 201, again.content
    assert idempotency.REPLAYED_HEADER not in again
    assert again.json()["id"] == loan.pk
    # the same key for other terms: no mismatch record to compare with, but the loan's key refuses it
    _age_all_done_records()
    tasks.purge_idempotency_records(older_than_days=30)
    other = post(client, "/drawdowns", drawdown_body(signed_line, 20_000 * Y), key="d1")
    assert other.status_code == 409 and other.json()["code"] == "key_reused"

    assert Loan.objects.get() == loan
    assert JournalEntry.objects.filter(kind=EntryKind.DISBURSEMENT).count() == 1
    assert CreditLine.objects.get(pk=signed_line.pk).used_fen == body["amount_fen"]

    # a repayment likewise: retried after the purge, it is found by its key, not collected again
    paid = post(client, f"/loans/{loan.pk}/repayments", {"amount_fen": 1_000 * Y}, key="r1")
    assert paid.status_code == 201, paid.content
    _age_all_done_records()
    tasks.purge_idempotency_records(older_than_days=30)
    retried = post(client, f"/loans/{loan.pk}/repayments", {"amount_fen": 1_000 * Y}, key="r1")
    assert retried.status_code == 201, retried.content
    assert retried.json()["repayment"]["id"] == paid.json()["repayment"]["id"]
    assert Repayment.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.REPAYMENT).count() == 1
    assert Loan.objects.get().principal_outstanding_fen == paid.json()["loan"]["principal_outstanding_fen"]
    report = verify.run()
    assert report.clean, report.differences
