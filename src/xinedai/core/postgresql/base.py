"""Django's PostgreSQL backend, with CONN_HEALTH_CHECKS rate-limited per connection.

Django's health check sends `SELECT 1` before the first query of every request that reuses a
connection: on the decision API that is a sixth round trip for five statements of real work. Here a
connection that passed a check (or was opened) less than `XINEDAI_DB_HEALTH_CHECK_SECONDS` ago (default
1) is trusted without one; a connection idle for longer — the case the check exists for: a server
restart, or a pooler or firewall that dropped it — is still checked before it is used. A connection that
breaks within that second fails the request that meets it, and Django closes it when that request ends
(its errors_occurred check), as it would without health checks.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db.backends.postgresql import base
from psycopg import _queries

# psycopg converts a query's %s placeholders to $n once and keeps the result in a 128-entry LRU, except for
# queries longer than 4 KiB (a guard against ORMs' multi-row INSERTs of varying length, which we write with
# COPY or unnest instead). The decision's read of the household with its file, head, exposure, live line
# and scope (households.access, 4.2 KiB) was therefore parsed again on every call, ~0.18 ms. Up to 16 KiB
# is kept now: at most 2 MiB per process.
if getattr(_queries, "MAX_CACHED_STATEMENT_LENGTH", 0) < 16384:
    _queries.MAX_CACHED_STATEMENT_LENGTH = 16384


class DatabaseWrapper(base.DatabaseWrapper):
    health_check_enabled: bool  # Django's own attributes, which its type stubs do not declare
    health_check_done: bool
    health_checked_at = float("-inf")

    def connect(self) -> None:
        super().connect()
        self.health_checked_at = time.monotonic()  # new connections are healthy (Django's own rule)

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and time.monotonic() - self.health_checked_at < getattr(settings, "XINEDAI_DB_HEALTH_CHECK_SECONDS", 1.0)
        ):
            self.health_check_done = True
            return
        pending = self.connection is not None and self.health_check_enabled and not self.health_check_done
        super().close_if_health_check_failed()
        if pending and self.connection is not None:
            self.health_checked_at = time.monotonic()
