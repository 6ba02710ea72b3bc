"""The Idempotency-Key contract of every channel write, and the transactions that frame such a write.

1. **Claim** the key in a short transaction of its own: insert an in-flight IdempotencyRecord, unique by
   (channel, key). It commits before any work starts, so a concurrent duplicate finds it at once.
   A key already there: a different request fingerprint → 422 `idempotency_key_mismatch`; done → the
   stored response is replayed (same status, same bytes, header `Idempotent-Replayed: true`); in flight
   → 409 `idempotency_in_flight`.
2. **Work** in one transaction that runs the use case, then stores the response in the record by a
   conditional update (this attempt's number, still in flight) — so the work and the response it produced
   commit together or not at all, and work whose claim was taken over meanwhile is rolled back (409).
3. A **business failure** (BusinessError, 4xx) rolls the work back; its response is then stored in a
   short transaction and replayed like a success. An unexpected error releases the claim (deletes the
   record), so that a retry runs again.
4. A **crash** between claim and commit leaves an in-flight record with no work behind it (the work
   transaction rolled back with the connection). On PostgreSQL the claim records its connection's
   backend process (id and start): a retry that finds that process gone takes the claim over at once.
   Otherwise (SQLite, a pooler, a process still there) after XINEDAI_CHANNEL_INFLIGHT_EXPIRY_SECONDS (300)
   a retry takes the claim over: the attempt number goes up in a conditional update, and only the
   attempt holding the current number may store a response. If the first attempt was merely slow, the
   first of the two conditional updates decides: the slow attempt stored its response first (the
   takeover then finds the record done and replays it), or its store matches no row and its work rolls
   back while the retry runs. Either way the work commits once.
5. **Retention**: done records are deleted XINEDAI_CHANNEL_IDEMPOTENCY_RETENTION_DAYS (30) after they
   completed (purge_done, run by channel.tasks); a retry after that is a new request. Records in flight
   are never deleted.

The fingerprint is the SHA-256 of the method, the path, the customer's ID number header and the canonical
JSON body (keys sorted, no spaces). This module owns its transactions as ATOMIC_REQUESTS does for pages:
the channel API's views are mounted non-atomic (channel.api.urls).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, router, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse

from xinedai.core import audit, statements
from xinedai.core.dates import now
from xinedai.core.errors import BusinessError

from .choices import IdempotencyStatus
from .models import ChannelClient, IdempotencyRecord

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
CUSTOMER_HEADER = "X-Customer-Id-Number"
MAX_KEY_LENGTH = 100
REPLAYED_HEADER = "Idempotent-Replayed"

Work = Callable[[], tuple[int, Any]]


def inflight_expiry() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "XINEDAI_CHANNEL_INFLIGHT_EXPIRY_SECONDS", 300)))


def retention_days() -> int:
    """How long a done record is kept, so that a retry is replayed (XINEDAI_CHANNEL_IDEMPOTENCY_RETENTION_DAYS)."""
    return int(getattr(settings, "XINEDAI_CHANNEL_IDEMPOTENCY_RETENTION_DAYS", 30))


class KeyRequired(BusinessError):
    code = "idempotency_key_required"
    status = 400


class KeyMismatch(BusinessError):
    code = "idempotency_key_mismatch"
    status = 422


class InFlight(BusinessError):
    code = "idempotency_in_flight"
    status = 409


def _in_flight() -> InFlight:
    return InFlight(
        "相同幂等键的请求正在处理中,请稍后重试",
        "A request with this Idempotency-Key is still in flight: retry shortly",
    )


def check_key(key: str | None) -> str:
    if not key:
        raise KeyRequired(
            "写操作须带 Idempotency-Key 请求头", "Every write needs an Idempotency-Key header", field=HEADER
        )
    if len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise KeyRequired(
            f"Idempotency-Key 应为不超过{MAX_KEY_LENGTH}个可打印ASCII字符",
            f"An Idempotency-Key is at most {MAX_KEY_LENGTH} printable ASCII characters",
            code="idempotency_key_invalid",
            field=HEADER,
        )
    return key


def canonical_body(raw: bytes) -> str:
    """The body as canonical JSON: the same JSON document always hashes the same, however it was spaced."""
    if not raw.strip():
        return ""
    return json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(request: HttpRequest) -> str:
    parts = [request.method or "", request.path, request.headers.get(CUSTOMER_HEADER, "").strip().upper()]
    parts.append(canonical_body(request.body))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def render(body: Any) -> str:
    return json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False)


def respond(status: int, text: str, *, replayed: bool = False) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="application/json; charset=utf-8")
    if replayed:
        response[REPLAYED_HEADER] = "true"
    return response


_CHANNEL = statements.Marker("<channel>")
_KEY = statements.Marker("<idempotency key>")


@functools.cache
def _record_statement() -> statements.Statement:
    queryset = IdempotencyRecord.objects.filter(channel=_CHANNEL.value, key=_KEY.value).order_by()
    return statements.Statement.compile(queryset.values(*statements.columns(IdempotencyRecord)), _CHANNEL, _KEY)


def _record(channel: str, key: str) -> IdempotencyRecord | None:
    """The channel's record of the key (a prepared read on PostgreSQL, core.statements)."""
    statement = _record_statement()
    row = statement.first(channel, key)
    return None if row is None else statements.instance(IdempotencyRecord, row, statement.alias)


def _holder_check() -> Any:
    """The connection of the records (a DatabaseWrapper) when claims record their holder, else None."""
    connection = connections[router.db_for_write(IdempotencyRecord)]
    if connection.vendor != "postgresql" or not getattr(settings, "XINEDAI_CHANNEL_CLAIM_HOLDER_CHECK", True):
        return None
    return connection


def _holder() -> tuple[int | None, dt.datetime | None]:
    """The PostgreSQL backend process of this request's connection and when it started: recorded with the
    claim. Read once per connection (the process id from libpq, its start from pg_stat_activity)."""
    connection = _holder_check()
    if connection is None:
        return None, None
    connection.ensure_connection()
    raw = connection.connection
    known = getattr(connection, "_xinedai_claim_holder", None)
    if known is None or known[0] is not raw:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")
            pid, started = cursor.fetchone()
        known = (raw, pid, started)
        connection._xinedai_claim_holder = known
    return known[1], known[2]


def _holder_gone(record: IdempotencyRecord) -> bool:
    """Whether the connection that claimed the key no longer exists (PostgreSQL). Its work ran in a
    transaction on that connection, which rolled back when the connection went: the claim need not wait
    for its expiry. A claim without a holder (SQLite, behind a pooler) waits for it."""
    connection = _holder_check()
    if connection is None or record.holder_pid is None or record.holder_started_at is None:
        return False
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL answers from the activity snapshot taken at its first look.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND backend_start = %s",
            [record.holder_pid, record.holder_started_at],
        )
        return cursor.fetchone() is None


def _claim(client: ChannelClient, key: str, fp: str, request: HttpRequest) -> tuple[int, int] | HttpResponse:
    """Claim the key for this request: (record id, attempt) to go ahead, or the response to give instead."""
    holder_pid, holder_started_at = _holder()
    for _ in range(5):
        at = now()
        record = IdempotencyRecord(
            channel=client.channel,
            key=key,
            fingerprint=fp,
            method=request.method or "",
            path=request.path[:200],
            client=client,
            claimed_at=at,
            holder_pid=holder_pid,
            holder_started_at=holder_started_at,
            created_at=at,
        )
        # Committed at once outside a transaction (the channel's writes run in autocommit until the work),
        # without waiting for the WAL flush: the claim is seen by a concurrent duplicate at once either
        # way, and the work's own synchronous commit flushes it too. Lost in a crash before that commit,
        # it guarded work that was lost with it, and a retry claims the key anew (decision 0009).
        if statements.insert_unless_exists(record, ("channel", "key"), flush=False) is not None:
            return record.pk, record.attempt
        found = _record(client.channel, key)
        if found is None:  # released by a failed attempt a moment ago: claim it anew
            continue
        if found.fingerprint != fp:
            raise KeyMismatch(
                "该幂等键已用于另一个请求",
                "This Idempotency-Key was used for a different request",
                field=HEADER,
                first_request=f"{found.method} {found.path}",
            )
        if found.status == IdempotencyStatus.DONE:
            return respond(found.response_status or 200, found.response_body, replayed=True)
        if found.claimed_at > at - inflight_expiry() and not _holder_gone(found):
            raise _in_flight()
        # Stale: the attempt that claimed it crashed, its connection gone or its time up (or it is very
        # slow; then this waits for its lock).
        with transaction.atomic():
            taken = IdempotencyRecord.objects.filter(
                pk=found.pk, status=IdempotencyStatus.IN_FLIGHT, attempt=found.attempt
            ).update(
                attempt=F("attempt") + 1,
                claimed_at=at,
                client=client,
                holder_pid=holder_pid,
                holder_started_at=holder_started_at,
            )
        if taken:
            log.warning("channel %s key %s: stale in-flight claim taken over", client.channel, key)
            return found.pk, found.attempt + 1
    raise _in_flight()


def _store(record_id: int, attempt: int, status: int, text: str) -> bool:
    """Store the response of the attempt that still holds the claim; False if another attempt took it.
    One conditional UPDATE, prepared on PostgreSQL (core.statements.update_where)."""
    return bool(
        statements.update_where(
            router.db_for_write(IdempotencyRecord),
            IdempotencyRecord,
            {
                "status": IdempotencyStatus.DONE.value,
                "response_status": status,
                "response_body": text,
                "completed_at": now(),
            },
            {"id": record_id, "attempt": attempt, "status": IdempotencyStatus.IN_FLIGHT.value},
        )
    )


class _TakenOver(Exception):
    pass


def execute(request: HttpRequest, client: ChannelClient, key: str | None, work: Work) -> HttpResponse:
    """Run a channel write under its Idempotency-Key. `work` runs inside the work transaction and returns
    (HTTP status, JSON-able body); a BusinessError it raises becomes the stored (and replayed) response."""
    key = check_key(key)
    claim = _claim(client, key, fingerprint(request), request)
    if isinstance(claim, HttpResponse):
        return claim
    record_id, attempt = claim
    try:
        with transaction.atomic():
            status, body = work()
            text = render(body)
            # The takeover check and the stored response are one conditional UPDATE at the end: no other
            # attempt has raised the number, or nothing of this work commits (docs/decisions/0009).
            if not _store(record_id, attempt, status, text):
                raise _TakenOver
    except _TakenOver:
        raise _in_flight() from None
    except BusinessError as exc:
        status, text = exc.status, render(exc.as_dict())
        with transaction.atomic():
            if not _store(record_id, attempt, status, text):
                raise _in_flight() from None
    except BaseException:
        with transaction.atomic():
            IdempotencyRecord.objects.filter(pk=record_id, attempt=attempt, status=IdempotencyStatus.IN_FLIGHT).delete()
        raise
    return respond(status, text)


def purge_done(completed_before: dt.datetime, *, limit: int) -> int:
    """Delete up to `limit` done records completed before the instant, oldest first, in one statement, with
    one audit row; in the caller's transaction. A record in flight is never touched, however old. Returns
    how many were deleted. A retry of a deleted key is a new request (docs/decisions/0009)."""
    oldest = (
        IdempotencyRecord.objects.filter(status=IdempotencyStatus.DONE, completed_at__lt=completed_before)
        .order_by("pk")
        .values("pk")[:limit]
    )
    deleted, _ = IdempotencyRecord.objects.filter(pk__in=oldest, status=IdempotencyStatus.DONE).delete()
    if deleted:
        audit.record(
            None,
            "channel.idempotency.purge",
            object_type=IdempotencyRecord._meta.label_lower,
            after={"completed_before": completed_before, "deleted": deleted},
        )
    return deleted
