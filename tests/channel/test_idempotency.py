"""The Idempotency-Key contract on every channel write: required; the same key and request replays the first
response byte for byte (business failures included); another request under the key is refused (422); a key
in flight answers 409 until its claim goes stale, when a retry takes it over; a crash releases it."""

import datetime as dt
import json

import pytest
from django.test import RequestFactory

from xinedai.channel import idempotency, services
from xinedai.channel.models import ContractAcceptance, IdempotencyRecord
from xinedai.core.dates import now
from xinedai.lending import services as lending
from xinedai.lending.models import Loan

from .conftest import CONTRACT_SHA, H1, H2, URL, drawdown_body, post


def test_every_write_needs_a_key(channels, signed_line):
    client = channels.client()
    for path, body in [
        ("/applications", {"product": "xinedai"}),
        ("/contract-acceptances", {"line_id": signed_line.pk, "contract_version": "v1", "text_sha256": CONTRACT_SHA}),
        ("/drawdowns", drawdown_body(signed_line)),
        ("/loans/1/repayments", {"payoff": True}),
    ]:
        resp = post(client, path, body, key=None)
        assert resp.status_code == 400, path
        assert resp.json()["code"] == "idempotency_key_required"
    resp = post(client, "/drawdowns", drawdown_body(signed_line), key="x" * 101)
    assert resp.status_code == 400 and resp.json()["code"] == "idempotency_key_invalid"
    assert not IdempotencyRecord.objects.exists() and not Loan.objects.exists()
    assert ContractAcceptance.objects.count() == 1  # the fixture's


def test_the_same_request_replays_the_first_response_byte_for_byte(channels, signed_line):
    client = channels.client()
    first = post(client, "/drawdowns", drawdown_body(signed_line), key="same")
    assert first.status_code == 201 and idempotency.REPLAYED_HEADER not in first
    # the same JSON spaced and ordered differently is the same request
    body = json.dumps(dict(reversed(list(drawdown_body(signed_line).items()))), indent=2)
    again = client.post(
        f"{URL}/drawdowns",
        body,
        content_type="application/json",
        headers={"Idempotency-Key": "same", "X-Customer-Id-Number": H1},
    )
    assert again.status_code == 201 and again[idempotency.REPLAYED_HEADER] == "true"
    assert again.content == first.content
    # a second credential of the same channel (a rotation) is the same channel: still a replay
    _, secret = services.issue_credential(None, "mobile_banking", name="rotated")
    assert post(channels.client(secret), "/drawdowns", drawdown_body(signed_line), key="same").content == first.content
    assert Loan.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.status, record.response_status, record.response_body) == ("done", 201, first.content.decode())
    assert (record.method, record.path, record.attempt) == ("POST", f"{URL}/drawdowns", 1)


def test_another_request_under_the_same_key_is_refused(channels, signed_line):
    client = channels.client()
    assert post(client, "/drawdowns", drawdown_body(signed_line), key="k").status_code == 201
    for path, body, customer in [
        ("/drawdowns", drawdown_body(signed_line, 20_000 * 100), H1),  # another amount
        ("/drawdowns", drawdown_body(signed_line), H2),  # another customer
        ("/applications", {"product": "xinedai"}, H1),  # another endpoint
    ]:
        resp = post(client, path, body, key="k", customer=customer)
        assert resp.status_code == 422, resp.content
        assert resp.json()["code"] == "idempotency_key_mismatch"
        assert resp.json()["details"] == {"first_request": f"POST {URL}/drawdowns"}
    assert Loan.objects.count() == 1
    # keys belong to a channel: WeChat's "k" is another request altogether
    resp = post(channels.client(channels.wechat_secret), "/drawdowns", drawdown_body(signed_line), key="k")
    assert resp.status_code == 201
    assert sorted(Loan.objects.values_list("drawdown_key", flat=True)) == ["mobile_banking:k", "wechat:k"]


def test_a_business_failure_is_stored_and_replayed(channels, line):
    client = channels.client()
    first = post(client, "/drawdowns", drawdown_body(line), key="early")
    assert first.status_code == 422 and first.json()["code"] == "contract_not_accepted"
    accept = {"line_id": line.pk, "contract_version": "v1", "text_sha256": CONTRACT_SHA}
    assert post(client, "/contract-acceptances", accept, key="sign").status_code == 201
    # the customer has signed since, but a retry under the same key is told what it was told the first time
    again = post(client, "/drawdowns", drawdown_body(line), key="early")
    assert (again.status_code, again.content) == (422, first.content)
    assert not Loan.objects.exists()
    assert post(client, "/drawdowns", drawdown_body(line), key="new").status_code == 201


def _fingerprint(path: str, body: dict, customer: str = H1) -> str:
    request = RequestFactory().post(
        path, json.dumps(body), content_type="application/json", headers={"X-Customer-Id-Number": customer}
    )
    return idempotency.fingerprint(request)


def _left_in_flight(channels, key: str, body: dict, **fields) -> IdempotencyRecord:  # type: ignore[no-untyped-def]
    """The claim a drawdown request that crashed (or was abandoned) mid-way leaves behind."""
    claimed = now()
    return IdempotencyRecord.objects.create(
        channel="mobile_banking",
        key=key,
        fingerprint=_fingerprint(f"{URL}/drawdowns", body),
        method="POST",
        path=f"{URL}/drawdowns",
        client=channels.mobile,
        claimed_at=claimed,
        created_at=claimed,
        **fields,
    )


def test_a_key_in_flight_answers_409_until_its_claim_goes_stale(channels, signed_line, settings):
    body = drawdown_body(signed_line)
    record = _left_in_flight(channels, "crashed", body)
    claimed = record.claimed_at
    resp = post(channels.client(), "/drawdowns", body, key="crashed")
    assert resp.status_code == 409 and resp.json()["code"] == "idempotency_in_flight"
    assert not Loan.objects.exists()
    # another request under the key is still a mismatch, in flight or not
    assert post(channels.client(), "/drawdowns", {**body, "term_months": 6}, key="crashed").status_code == 422
    # after XINEDAI_CHANNEL_INFLIGHT_EXPIRY_SECONDS the claim is stale: a retry takes it over and runs
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        claimed_at=claimed - dt.timedelta(seconds=settings.XINEDAI_CHANNEL_INFLIGHT_EXPIRY_SECONDS + 1)
    )
    resp = post(channels.client(), "/drawdowns", body, key="crashed")
    assert resp.status_code == 201, resp.content
    record.refresh_from_db()
    assert (record.status, record.attempt, record.response_body) == ("done", 2, resp.content.decode())
    assert Loan.objects.get().drawdown_key == "mobile_banking:crashed"


def test_the_attempt_that_lost_its_claim_cannot_store_a_response(channels, signed_line):
    """A slow first attempt whose claim a retry took over must not finish: its work is rolled back."""
    from xinedai.channel.idempotency import _store

    at = now()
    record = IdempotencyRecord.objects.create(
        channel="mobile_banking",
        key="k",
        fingerprint="f",
        method="POST",
        path="/",
        client=channels.mobile,
        claimed_at=at,
        created_at=at,
        attempt=2,
    )
    assert _store(record.pk, 1, 201, "{}") is False
    assert _store(record.pk, 2, 201, "{}") is True
    assert _store(record.pk, 2, 201, "{}") is False  # done already


def test_an_unexpected_error_releases_the_claim(channels, signed_line, monkeypatch):
    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the core banking link dropped")

    real = lending.drawdown
    monkeypatch.setattr(lending, "drawdown", boom)
    with pytest.raises(RuntimeError):
        post(channels.client(), "/drawdowns", drawdown_body(signed_line), key="retry-me")
    assert not IdempotencyRecord.objects.exists() and not Loan.objects.exists()
    monkeypatch.setattr(lending, "drawdown", real)
    resp = post(channels.client(), "/drawdowns", drawdown_body(signed_line), key="retry-me")
    assert resp.status_code == 201, resp.content


def test_a_malformed_body_claims_no_key(channels, signed_line):
    resp = post(channels.client(), "/drawdowns", drawdown_body(signed_line, "100"), key="typo")
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_request"
    assert not IdempotencyRecord.objects.exists()
    assert post(channels.client(), "/drawdowns", drawdown_body(signed_line), key="typo").status_code == 201


def _takeover(key: str) -> None:
    """What a retry does to a stale claim: raise its attempt number (channel.idempotency._claim)."""
    from django.db.models import F

    IdempotencyRecord.objects.filter(key=key, status="in_flight").update(attempt=F("attempt") + 1, claimed_at=now())


def test_work_whose_claim_is_taken_over_meanwhile_commits_nothing(channels, signed_line, monkeypatch):
    """The takeover check is the conditional update that stores the response: no row, nothing commits."""
    from xinedai.ledger.models import JournalEntry

    real = lending.drawdown

    def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        loan = real(*args, **kwargs)
        _takeover("slow")
        return loan

    monkeypatch.setattr(lending, "drawdown", slow)
    resp = post(channels.client(), "/drawdowns", drawdown_body(signed_line), key="slow")
    assert resp.status_code == 409 and resp.json()["code"] == "idempotency_in_flight"
    assert not Loan.objects.exists() and not JournalEntry.objects.exists()
    signed_line.refresh_from_db()
    assert signed_line.used_fen == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_slow_attempt_that_loses_its_claim_to_a_retry_is_rolled_back_and_the_retry_disburses(
    channels, signed_line, monkeypatch
):
    """A takeover committed by another connection while the first attempt works (its record is not locked
    until the end): the first attempt's work rolls back (409), the retry holding the claim disburses once."""
    import threading

    from django.db import connection, connections

    from xinedai.ledger.models import JournalEntry

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite serialises writers at BEGIN IMMEDIATE")
    real = lending.drawdown

    def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        loan = real(*args, **kwargs)

        def retry_takes_over() -> None:
            try:
                _takeover("slow")
            finally:
                connections.close_all()

        thread = threading.Thread(target=retry_takes_over)
        thread.start()
        thread.join(timeout=30)
        assert not thread.is_alive()  # the record was not locked by the slow attempt's work
        return loan

    monkeypatch.setattr(lending, "drawdown", slow)
    resp = post(channels.client(), "/drawdowns", drawdown_body(signed_line), key="slow")
    monkeypatch.setattr(lending, "drawdown", real)
    assert resp.status_code == 409 and resp.json()["code"] == "idempotency_in_flight"
    assert not Loan.objects.exists() and not JournalEntry.objects.exists()
    record = IdempotencyRecord.objects.get()
    assert (record.status, record.attempt) == ("in_flight", 2)
    # the retry that took the claim over runs the work (here: its claim has gone stale in turn)
    IdempotencyRecord.objects.filter(pk=record.pk).update(claimed_at=now() - dt.timedelta(hours=1))
    resp = post(channels.client(), "/drawdowns", drawdown_body(signed_line), key="slow")
    assert resp.status_code == 201, resp.content
    assert Loan.objects.count() == 1 and JournalEntry.objects.count() == 1
    record.refresh_from_db()
    assert (record.status, record.attempt) == ("done", 3)


def _other_connection():  # type: ignore[no-untyped-def]
    """Another connection to the test database, as another server process would hold, with its backend."""
    from django.db import connections

    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")
        pid, started = cursor.fetchone()
    return other, pid, started


def _gone(pid: int) -> None:
    """Wait (briefly) until PostgreSQL has ended a closed connection's backend."""
    import time

    from django.db import connection

    for _ in range(100):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # the test runs in one transaction
            cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone() is None:
                return
        time.sleep(0.02)
    raise AssertionError(f"backend {pid} still there")


def test_a_claim_records_the_backend_of_its_connection(channels, signed_line):
    from django.db import connection

    assert post(channels.client(), "/drawdowns", drawdown_body(signed_line), key="k1").status_code == 201
    record = IdempotencyRecord.objects.get(key="k1")
    if connection.vendor != "postgresql":
        assert (record.holder_pid, record.holder_started_at) == (None, None)
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")
        assert (record.holder_pid, record.holder_started_at) == cursor.fetchone()


def test_a_claim_whose_connection_is_gone_is_taken_over_at_once(channels, signed_line, settings):
    """A server process that died mid-request (killed, or a server abandoning a request at shutdown) took its
    connection with it, and the work's transaction rolled back: a retry need not wait for the expiry.
    While the claiming connection is there, the key is in flight (409)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite claims record no holder and wait for the expiry")
    body = drawdown_body(signed_line)
    other, pid, started = _other_connection()
    try:
        record = _left_in_flight(channels, "abandoned", body, holder_pid=pid, holder_started_at=started)
        resp = post(channels.client(), "/drawdowns", body, key="abandoned")
        assert resp.status_code == 409 and resp.json()["code"] == "idempotency_in_flight"
        assert not Loan.objects.exists()
        # a process id that PostgreSQL has given to a newer connection is not the holder
        IdempotencyRecord.objects.filter(pk=record.pk).update(holder_started_at=started - dt.timedelta(seconds=1))
        resp = post(channels.client(), "/drawdowns", body, key="abandoned")
        assert resp.status_code == 201, resp.content
        record.refresh_from_db()
        assert (record.status, record.attempt) == ("done", 2)
        # the same again, the holder's connection really closed: taken over well before the expiry
        record2 = _left_in_flight(channels, "abandoned-2", body, holder_pid=pid, holder_started_at=started)
    finally:
        other.close()
    _gone(pid)
    resp = post(channels.client(), "/drawdowns", body, key="abandoned-2")
    assert resp.status_code == 201, resp.content
    record2.refresh_from_db()
    assert (record2.status, record2.attempt, record2.holder_pid) == ("done", 2, record.holder_pid)
    assert Loan.objects.filter(drawdown_key__in=["mobile_banking:abandoned", "mobile_banking:abandoned-2"]).count() == 2
