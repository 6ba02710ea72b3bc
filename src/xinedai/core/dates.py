"""The bank's business date (Asia/Shanghai). Logic takes a date argument; only edges call today()."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BANK_TZ = ZoneInfo("Asia/Shanghai")


def now() -> dt.datetime:
    """An aware UTC instant."""
    return dt.datetime.now(tz=dt.UTC)


def business_today() -> dt.date:
    """Today's business date in the bank's time zone; call at the edges (views, commands), not in rules."""
    return now().astimezone(BANK_TZ).date()
