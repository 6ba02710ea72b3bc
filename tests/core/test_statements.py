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
    if not statements.prepared_on("default"):
        pytest.skip("PostgreSQL with prepared statements only (XINEDAI_PREPARED_STATEMENTS)")
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


@pytest.mark.django_db(transaction=True)
def test_create_with_record_writes_what_save_and_record_write(users):
    """The decision API's one-statement insert of a row and its audit row (prepared on PostgreSQL, save()
    then record() elsewhere) writes the same two rows as the ORM would, and nothing when it fails."""
    import datetime as dt

    from django.db import IntegrityError, transaction

    from xinedai.core import audit
    from xinedai.core.dates import now
    from xinedai.core.models import AuditEntry
    from xinedai.credit.models import CreditLine

    def line(household_id, status="expired"):
        # a line's references are not database constraints (decision 0005): any ids do for this test
        return CreditLine(
            household_id=household_id,
            product_code="xinedai",
            limit_fen=12_300,
            intake_mode="model",
            channel="online",
            status=status,
            decision_id=None,
            granted_at=now(),
            expires_on=dt.date(2027, 1, 1),
        )

    after = {"household": "H1", "limit_fen": 12_300, "on": dt.date(2026, 6, 30), "id_number": "370211199001011234"}
    with transaction.atomic():
        fast = audit.create_with_record(line(1), users[1], "credit.line.grant", after=after, scope_path="/HO/")
        slow = line(2)
        slow.save()
        audit.record(users[1], "credit.line.grant", slow, after=after, scope_path="/HO/")
    assert fast.pk and fast._state.adding is False
    fields = ("action", "object_type", "reason", "before", "after", "scope_path", "actor_id")
    rows = {e.object_id: e for e in AuditEntry.objects.all()}
    a, b = rows[str(fast.pk)], rows[str(slow.pk)]
    assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]
    assert a.after["id_number"] != after["id_number"]  # masked, as record() masks
    assert a.object_repr == str(CreditLine.objects.get(pk=fast.pk)) == f"line {fast.pk}: 12300 fen (expired)"
    assert a.at is not None
    assert CreditLine.objects.get(pk=fast.pk).limit_fen == 12_300
    # a failing insert (a second live line of the product) leaves neither row
    before = AuditEntry.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        audit.create_with_record(line(5, "active"), None, "x")
        audit.create_with_record(line(5, "active"), None, "x")
    assert AuditEntry.objects.count() == before and not CreditLine.objects.filter(household_id=5).exists()
    # outside any transaction the two rows are still written together, or neither
    audit.create_with_record(line(6), None, "x")
    assert AuditEntry.objects.filter(object_id=str(CreditLine.objects.get(household_id=6).pk)).count() == 1
    with pytest.raises(IntegrityError):
        audit.create_with_record(line(7, "active"), None, "x")
        audit.create_with_record(line(7, "active"), None, "x")
    assert CreditLine.objects.filter(household_id=7).count() == 1
    assert AuditEntry.objects.count() == before + 2


@pytest.mark.postgres_only
def test_insert_many_writes_what_the_orm_reads_back(users):
    """One prepared INSERT … SELECT FROM unnest for many rows: values quoted as array elements, fields
    left out take their default, keys come back in the order of the rows."""
    import datetime as dt

    from xinedai.core.models import AuditEntry

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    at = dt.datetime(2026, 11, 29, 8, 30, tzinfo=dt.UTC)
    texts = ['a "quoted", {braced} text', "back\\slash and NULL", ""]
    ids = statements.insert_many(
        "default",
        AuditEntry,
        {
            "at": [at, at, at + dt.timedelta(seconds=1)],
            "actor_id": [users[0].pk, None, users[2].pk],
            "action": ["x.one", "x.two", "x.three"],
            "object_type": ["t"] * 3,
            "object_id": ["1", "2", "3"],
            "object_repr": texts,
        },
    )
    rows = list(AuditEntry.objects.filter(pk__in=ids).order_by("pk"))
    assert [r.pk for r in rows] == ids == sorted(ids)
    assert [(r.action, r.object_repr, r.actor_id, r.at) for r in rows] == [
        ("x.one", texts[0], users[0].pk, at),
        ("x.two", texts[1], None, at),
        ("x.three", texts[2], users[2].pk, at + dt.timedelta(seconds=1)),
    ]
    assert [(r.reason, r.before, r.after, r.scope_path) for r in rows] == [("", None, None, "")] * 3  # defaults
    assert statements.insert_many("default", AuditEntry, {"action": []}) == []
    with pytest.raises(ValueError, match="2 values of action for 1 rows"):
        statements.insert_many("default", AuditEntry, {"at": [at], "action": ["a", "b"]})


def test_save_fields_writes_the_named_fields_as_save_update_fields_does(users):
    from django.db import DatabaseError

    user = get_user_model().objects.get(pk=users[0].pk)
    user.first_name, user.last_name = "Mei", "not saved"
    statements.save_fields(user, ["first_name"])
    assert get_user_model().objects.filter(pk=user.pk).values_list("first_name", "last_name").get() == ("Mei", "")
    with CaptureQueriesContext(connection) as ctx:
        statements.save_fields(user, ["first_name"])
    assert [q["sql"].split(" ")[0] for q in ctx.captured_queries] == ["UPDATE"]
    gone = get_user_model()(pk=10**9, username="gone")
    gone._state.adding, gone._state.db = False, "default"
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        statements.save_fields(gone, ["first_name"])


def test_insert_unless_exists_inserts_once_and_leaves_the_transaction_usable(users):
    """A new row: its key, read back as save() wrote it. The same unique values again: None, nothing
    written, and the enclosing transaction goes on (no unique violation to roll back)."""
    User = get_user_model()
    fresh = User(username="new-one", email="n@example.org", is_active=True)
    pk = statements.insert_unless_exists(fresh, ("username",))
    assert pk is not None and fresh.pk == pk and not fresh._state.adding
    stored = User.objects.get(pk=pk)
    assert (stored.username, stored.email, stored.is_active) == ("new-one", "n@example.org", True)
    again = User(username="new-one", email="other@example.org")
    with CaptureQueriesContext(connection) as ctx:
        assert statements.insert_unless_exists(again, ("username",)) is None
    assert again.pk is None
    if statements.prepared_on("default"):
        assert [q["sql"].split(" ")[0] for q in ctx.captured_queries] == ["INSERT"]  # one statement
    assert User.objects.filter(username="new-one").values_list("email", flat=True).get() == "n@example.org"
    assert User.objects.count() == len(users) + 1  # the transaction still answers


@pytest.mark.django_db(transaction=True)
def test_an_unflushed_insert_changes_nothing_but_its_own_commit():
    """flush=False outside a transaction: the row is there for everyone at once, and synchronous_commit is
    off for that statement's own transaction only, never for the session's later commits. Inside a
    transaction the statement is the plain one: the transaction's commit is not the insert's to change."""
    from django.db import transaction

    User = get_user_model()
    with CaptureQueriesContext(connection) as ctx:
        pk = statements.insert_unless_exists(User(username="quick"), ("username",), flush=False)
        assert statements.insert_unless_exists(User(username="quick"), ("username",), flush=False) is None
    assert User.objects.filter(pk=pk).exists()
    if not statements.prepared_on("default"):
        return  # save() in a savepoint: the transaction's commit, as ever
    assert all("set_config('synchronous_commit', 'off', true)" in q["sql"] for q in ctx.captured_queries)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        statements.insert_unless_exists(User(username="in-a-transaction"), ("username",), flush=False)
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"
    assert "set_config" not in ctx.captured_queries[0]["sql"]
    assert User.objects.filter(username="in-a-transaction").exists()
    connection.set_autocommit(False)  # a transaction opened by hand, not by atomic()
    try:
        with CaptureQueriesContext(connection) as ctx:
            statements.insert_unless_exists(User(username="by-hand"), ("username",), flush=False)
        assert "set_config" not in ctx.captured_queries[0]["sql"]
        connection.rollback()
    finally:
        connection.set_autocommit(True)
    assert not User.objects.filter(username="by-hand").exists()


def _comparable(value):
    """psycopg's Jsonb wrapper (a JSONField's value on PostgreSQL) has no equality of its own."""
    return ("jsonb", value.obj) if type(value).__name__ == "Jsonb" else value


def _slow(obj, fields, add):
    return [f.get_db_prep_save(f.pre_save(obj, add), connection) for f in fields]


@pytest.mark.parametrize("fill", ["typical", "none", "other types"])
def test_prepare_values_sends_what_the_orms_chain_sends_for_every_field_of_every_model(db, fill):
    """Every concrete field of every model of the platform, with values of the field's plain type, None,
    or values of other types: the same values of the same types as get_db_prep_save(pre_save(...)) gives,
    the wrapper psycopg is given on PostgreSQL included."""
    from django.apps import apps

    compared = direct = 0
    for model in apps.get_models():
        if not model.__module__.startswith("xinedai."):
            continue
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        obj = model()
        for f in fields:
            plain = statements._direct(f, connection)[0]
            direct += plain is not None
            if fill == "none":
                value = None
            elif fill == "typical":
                value = {int: 41, str: "ab", bool: True}.get(plain, getattr(obj, f.attname))
            else:  # not the exact type: the ORM's chain converts it (True → 1, 12 → "12", 1 → True)
                value = {int: True, str: 12, bool: 1}.get(plain, getattr(obj, f.attname))
            setattr(obj, f.attname, value)
        fast = statements.prepare_values(obj, fields, connection, add=False)
        slow = _slow(obj, fields, False)
        assert [type(v) for v in fast] == [type(v) for v in slow], model
        assert [_comparable(v) for v in fast] == [_comparable(v) for v in slow], model
        compared += len(fields)
    assert compared > 300 and direct > 150  # the platform's models, most of their fields taken directly


def test_prepare_values_leaves_fields_that_compute_their_value_to_pre_save(db):
    """auto_now_add and the like are not taken from the attribute: pre_save() computes them when adding."""
    from xinedai.core.models import AuditEntry

    entry = AuditEntry(action="a.b", object_type="t", object_id="1")
    at = AuditEntry._meta.get_field("at")
    assert statements._direct(at, connection) == (None, None)
    [value] = statements.prepare_values(entry, [at], connection, add=True)
    assert value is not None and entry.at is not None


def test_prepare_values_passes_a_choices_member_through_the_orms_chain(db):
    from xinedai.credit.choices import LineStatus
    from xinedai.credit.models import CreditLine

    line = CreditLine(status=LineStatus.ACTIVE, product_code="xinedai")
    fields = [CreditLine._meta.get_field("status"), CreditLine._meta.get_field("product_code")]
    fast = statements.prepare_values(line, fields, connection, add=False)
    assert fast == _slow(line, fields, False) == ["active", "xinedai"]
    assert type(fast[0]) is type(_slow(line, fields, False)[0])
