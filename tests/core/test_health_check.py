"""The PostgreSQL backend's health check (core/postgresql): at most once a second per connection, and
still before a connection idle for longer is used — which replaces one the server dropped."""

import pytest
from django.db import connection, connections

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def checks(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    assert connection.settings_dict["ENGINE"] == "xinedai.core.postgresql"
    calls = []
    wrapper = type(connections["default"])
    real = wrapper.is_usable

    def counted(self):
        usable = real(self)
        calls.append(usable)
        return usable

    monkeypatch.setattr(wrapper, "is_usable", counted)
    # A connection of its own: one left open by an earlier test may reach CONN_MAX_AGE during this one,
    # and Django then closes it at the request's start without a health check.
    connection.close()
    connection.ensure_connection()
    assert connection.health_check_enabled
    return calls


def next_request():
    """What Django does at each request's start and end (close_old_connections)."""
    connection.close_if_unusable_or_obsolete()


def backend_pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_connection_checked_within_the_second_is_trusted(checks):
    next_request()
    backend_pid()  # checked now if the connection was opened (or last checked) over a second ago
    assert checks in ([], [True])
    before = len(checks)
    for _ in range(5):
        next_request()
        backend_pid()
    assert len(checks) == before  # checked or opened a moment ago: no SELECT 1 before the next five


def test_a_connection_idle_for_longer_is_checked_before_use(checks, settings):
    settings.XINEDAI_DB_HEALTH_CHECK_SECONDS = 1.0
    pid = backend_pid()
    connection.health_checked_at -= 2  # as if the last check were two seconds ago
    next_request()
    assert backend_pid() == pid
    assert checks == [True]
    next_request()
    backend_pid()
    assert checks == [True]  # checked just now: trusted for the next second


def test_a_dropped_connection_is_replaced_before_the_request_uses_it(checks):
    import psycopg

    pid = backend_pid()
    db = connection.settings_dict
    dsn = f"host={db['HOST'] or '127.0.0.1'} user={db['USER']} dbname=postgres"
    if db["PORT"]:
        dsn += f" port={db['PORT']}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    connection.health_checked_at -= 2
    next_request()
    assert backend_pid() != pid  # the check found it dead; a new connection served the query
    assert checks == [False]
