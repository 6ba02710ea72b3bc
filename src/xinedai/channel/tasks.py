"""Scheduled jobs of the channel domain: purging the Idempotency-Key records channels can no longer retry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django_tasks import task

from xinedai.core.dates import now
from xinedai.core.errors import ValidationFailed

from . import idempotency

CHUNK_SIZE = 5000


def purge_idempotency_records(
    *,
    older_than_days: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Delete the done Idempotency-Key records completed more than `older_than_days` ago (default:
    XINEDAI_CHANNEL_IDEMPOTENCY_RETENTION_DAYS), `chunk_size` at a time, each chunk a transaction of its
    own — short locks, and a crash keeps what was done. Records in flight are left alone. `progress` is
    called with the running total after each chunk. Returns how many were deleted. Must not run inside
    another transaction; safe to run again or alongside the channel API."""
    days = idempotency.retention_days() if older_than_days is None else older_than_days
    if type(days) is not int or days < 1:
        raise ValidationFailed(
            "保留天数至少为1天",
            "Keep the records at least one day: channels retry for minutes to days",
            code="retention_too_short",
            field="older_than_days",
        )
    if chunk_size < 1:
        raise ValidationFailed("每批条数须为正数", "The chunk size must be positive", code="chunk_size_invalid")
    completed_before = now() - dt.timedelta(days=days)
    total = 0
    while True:
        with transaction.atomic():
            deleted = idempotency.purge_done(completed_before, limit=chunk_size)
        total += deleted
        if progress is not None:
            progress(total)
        if deleted < chunk_size:
            return total


@task()
def purge_idempotency_records_task(older_than_days: int | None = None) -> int:
    """The purge as a django-tasks task: the bank's scheduler enqueues it once a day (django-tasks has no
    scheduler of its own; `xinedai channel-purge-idempotency` from cron does the same)."""
    return purge_idempotency_records(older_than_days=older_than_days)
