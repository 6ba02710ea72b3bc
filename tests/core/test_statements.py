"""Compiled statements give what the ORM gives, with the run-time values in place of their markers."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from xinedai.core import statements

NAME = statements.Marker("<username>")


@pytest.fixture
def users(db):
    User = get_user_model()
    return [User.objects.create_user(username=f"u{i}", password="x", is_staff=i == 1) for i in range(3)]


def by_name():
    queryset = get_user_model().objects.filter(username=NAME.value).values(*statements.columns(get_user_model()))
    return statements.Statement.compile(queryset, NAME)


def test_rows_equal_the_orm_and_instances_equal_its_models(users):
    statement = by_name()
    for user in users:
        row = statement.first(user.username)
        assert row == get_user_model().objects.filter(pk=user.pk).values(*statements.columns(get_user_model())).get()
        built = statements.instance(get_user_model(), row, statement.alias)
        assert (built.pk, built.username, built.is_staff, built.date_joined) == (
            user.pk,
            user.username,
            user.is_staff,
            user.date_joined,  # an aware datetime on SQLite too: the ORM's converters ran
        )
        assert built._state.adding is False and built._state.db == "default"
    assert statement.first("nobody") is None


def test_each_run_is_one_logged_query(users):
    statement = by_name()
    with CaptureQueriesContext(connection) as ctx:
        statement.rows("u0")
        statement.rows("u1")
    assert len(ctx.captured_queries) == 2
    assert "u1" in ctx.captured_queries[1]["sql"]


def test_a_marker_must_be_a_parameter(db):
    with pytest.raises(ValueError, match="not a parameter"):
        statements.Statement.compile(get_user_model().objects.filter(username="x").values("id"), NAME)


def test_a_query_that_can_match_nothing_runs_no_sql(db):
    statement = statements.Statement.compile(get_user_model().objects.filter(pk__in=[]).values("id"))
    with CaptureQueriesContext(connection) as ctx:
        assert statement.rows() == []
    assert ctx.captured_queries == []


def test_a_null_key_from_an_outer_join_is_no_instance():
    assert statements.instance(get_user_model(), dict.fromkeys(statements.columns(get_user_model())), "default") is None


def test_the_cache_drops_the_least_recently_used(db):
    cache: statements.StatementCache[int] = statements.StatementCache(size=2)
    built = []

    def build(n):
        built.append(n)
        return statements.Statement.compile(get_user_model().objects.filter(pk=n).values("id"))

    for n in (1, 2, 1, 3, 1, 2):
        cache.get(n, lambda n=n: build(n))
    assert built == [1, 2, 3, 2]


@pytest.mark.postgres_only
def test_postgresql_prepares_once_per_connection(users):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    statement = by_name()
    for user in users:
        statement.rows(user.username)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%"auth_user"."username" = $1%'],
        )
        assert cursor.fetchall() == [(3,)]
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_generic_plan",)
