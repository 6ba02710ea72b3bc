"""Read models of the organisation: grid lists with their file coverage figures."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q

from xinedai.core.dates import now

FRESH_DAYS = 365


def fresh_since() -> dt.datetime:
    return now() - dt.timedelta(days=FRESH_DAYS)


def coverage_counts(households_qs, group_field: str) -> dict:  # type: ignore[no-untyped-def]
    """{group value: (on file, three elements complete, file updated in the last 12 months)}."""
    since = fresh_since()
    rows = (
        households_qs.values(group_field)
        .annotate(
            n=Count("pk"),
            complete=Count("pk", filter=Q(three_elements_complete=True)),
            fresh=Count("pk", filter=Q(file_updated_at__gte=since)),
        )
        .order_by()
    )
    return {r[group_field]: (r["n"], r["complete"], r["fresh"]) for r in rows}
