"""Hot-path reads: a `.values()` queryset compiled to SQL once per process, then run with new values.

Django builds and compiles a queryset on every call. For the few reads of a request that must answer in
a couple of milliseconds (the decision API) that costs several times what the database does, and
PostgreSQL in turn spends more planning such a query than running it. A Statement keeps the SQL of a
queryset, the positions of its marked parameters and the ORM's value converters; each run substitutes
the marked values, and on PostgreSQL goes through a cursor that prepares the statement on the
connection, so it is planned once per connection (docs/decisions/0006).

Only exact lookups may take a marker (`filter(pk=MARK)`): the ORM passes their value through unchanged.
Everything else in the queryset is fixed when it is compiled, so a caller keys its statements by every
input the queryset was built from.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

import psycopg
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, IntegrityError, connections, models, router, transaction
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import QuerySet

# Planning a prepared statement is skipped only once psycopg has prepared it; Django opens connections
# with preparing switched off (prepare_threshold=None) because Django's own cursors bind client-side and
# never could. Statements ask for it explicitly, so any value that is not None works.
_PREPARE_THRESHOLD = 1 << 30


@dataclass(frozen=True)
class Marker:
    """A stand-in value for a parameter given at run time. Make one per parameter, of a type the lookup
    accepts unchanged (an int for a key, a str for a code)."""

    value: Any


@dataclass(frozen=True)
class Statement:
    sql: str | None  # None: the queryset can match nothing (Django's EmptyResultSet)
    params: tuple[Any, ...]
    slots: tuple[tuple[int, int], ...]  # (position in params, index of the run-time value)
    names: tuple[str, ...]
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]
    alias: str

    @classmethod
    def compile(cls, queryset: QuerySet[Any], *markers: Marker) -> Statement:
        """Compile a `.values(...)` queryset built with `markers` as some of its parameter values."""
        query = queryset.query
        compiler = query.get_compiler(queryset.db)
        names = tuple(query.selected or [*query.extra_select, *query.values_select, *query.annotation_select])
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return cls(None, (), (), names, (), queryset.db)
        slots: list[tuple[int, int]] = []
        for i, marker in enumerate(markers):
            found = [p for p, value in enumerate(params) if type(value) is type(marker.value) and value == marker.value]
            if not found:
                raise ValueError(f"marker {marker.value!r} is not a parameter of the compiled query")
            slots.extend((p, i) for p in found)
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        converters = tuple((pos, tuple(convs), expr) for pos, (convs, expr) in compiler.get_converters(fields).items())
        return cls(sql, tuple(params), tuple(slots), names, converters, queryset.db)

    def rows(self, *values: Any) -> list[dict[str, Any]]:
        if self.sql is None:
            return []
        params = list(self.params)
        for pos, i in self.slots:
            params[pos] = values[i]
        connection = connections[self.alias]
        with _cursor(connection) as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        out = []
        for row in fetched:
            values_ = list(row)
            for pos, convs, expr in self.converters:
                value = values_[pos]
                for convert in convs:
                    value = convert(value, expr, connection)
                values_[pos] = value
            out.append(dict(zip(self.names, values_, strict=True)))
        return out

    def first(self, *values: Any) -> dict[str, Any] | None:
        rows = self.rows(*values)
        return rows[0] if rows else None


class _PreparingCursor(psycopg.Cursor[Any]):
    """Server-side binding, and every statement prepared on its connection (psycopg keeps the names)."""

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: Any = None) -> Any:
        return super().execute(query, params, prepare=True, binary=binary)


class _DebugCursor(CursorDebugWrapper):
    """Logs the statement with its values: psycopg keeps no text of a prepared execution for Django to read."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(self.db.ops.compose_sql(sql, params), params):
            return CursorWrapper.execute(self, sql, params)


def _cursor(connection: Any) -> Any:
    if connection.vendor != "postgresql" or not getattr(settings, "XINEDAI_PREPARED_STATEMENTS", True):
        return connection.cursor()
    # The checks Django's own connection.cursor() makes, then a preparing cursor wrapped like Django's.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _PREPARE_THRESHOLD
    cursor = _PreparingCursor(raw)
    return _DebugCursor(cursor, connection) if connection.queries_logged else connection.make_cursor(cursor)


def prepared_on(alias: str) -> bool:
    """Whether hot-path statements are prepared on this database's connections (PostgreSQL, unless off)."""
    return connections[alias].vendor == "postgresql" and getattr(settings, "XINEDAI_PREPARED_STATEMENTS", True)


# Fields whose database value is the attribute's own value when it holds exactly this Python type (or
# None): get_db_prep_save() only checks and converts it. On PostgreSQL Django hands psycopg an integer in
# the column's own wrapper (Int4, Int8…), which prepare_values() applies too.
_DIRECT_TYPES: dict[type[models.Field[Any, Any]], type] = {
    models.SmallIntegerField: int,
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
}
_AUTO_KEYS = (models.AutoField, models.BigAutoField, models.SmallAutoField)
_SAMPLES: dict[type, Any] = {int: 7, str: "x", bool: True}
_PLANS: dict[tuple[str, tuple[Any, ...]], tuple[tuple[Any, str, type | None, Any], ...]] = {}


def _direct(field: Any, connection: Any) -> tuple[type | None, Any]:
    """(exact type, wrapper) when `field`'s get_db_prep_save(pre_save(obj)) of a value of that exact type is
    the value itself (wrapper None) or the value in the wrapper type; (None, None) for any other field."""
    if type(field).pre_save is not models.Field.pre_save:  # auto_now and the like compute their value
        return None, None
    exact: type | None
    if isinstance(field, models.ForeignKey):
        exact = int if type(field.target_field) in _AUTO_KEYS else None
    else:
        exact = _DIRECT_TYPES.get(type(field))
    if exact is None:
        return None, None
    sample = _SAMPLES[exact]
    prepared = field.get_db_prep_save(sample, connection)
    if type(prepared) is exact and prepared == sample:
        return exact, None
    wrapper = type(prepared)
    if prepared == sample and type(wrapper(sample)) is wrapper:  # e.g. psycopg's Int4(7)
        return exact, wrapper
    return None, None


def prepare_values(obj: models.Model, fields: Sequence[Any], connection: Any, *, add: bool) -> list[Any]:
    """`[f.get_db_prep_save(f.pre_save(obj, add), connection) for f in fields]`, the values save() sends,
    without the ORM's chain of calls for plain integers, strings and booleans (~2.5 µs a field; a decision
    writes 38 fields, a drawdown 65). Every other field, or value, goes through that chain as before."""
    key = (connection.alias, tuple(fields))
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = tuple((f, f.attname, *_direct(f, connection)) for f in fields)
    values: list[Any] = []
    for field, attname, exact, wrapper in plan:
        if exact is not None:
            value = getattr(obj, attname)
            if value is None:
                values.append(None)
                continue
            if type(value) is exact:
                values.append(value if wrapper is None else wrapper(value))
                continue
        values.append(field.get_db_prep_save(field.pre_save(obj, add), connection))
    return values


_INSERTS: dict[tuple[str, type[models.Model], int], tuple[str, list[Any], list[Any]]] = {}
_INSERTS_LOCK = threading.Lock()


def _insert_sql(
    alias: str, model: type[models.Model], entry_model: type[models.Model], n_parts: int
) -> tuple[str, list[Any], list[Any]]:
    """The statement inserting a `model` row and the audit row that names it, for a repr in n_parts pieces."""
    key = (alias, model, n_parts)
    with _INSERTS_LOCK:
        found = _INSERTS.get(key)
    if found is not None:
        return found
    quote = connections[alias].ops.quote_name

    def qn(name: str | None) -> str:
        assert name is not None  # a concrete field has a column
        return quote(name)

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    assert model._meta.pk is not None
    pk = qn(model._meta.pk.column)
    entry_fields = [
        f for f in entry_model._meta.concrete_fields if not f.primary_key and f.name not in ("object_id", "object_repr")
    ]
    repr_sql = f" || d.{pk}::text || ".join(["%s"] * n_parts)
    sql = (
        f"WITH d AS (INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)})"
        f" VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {pk})"
        f" INSERT INTO {qn(entry_model._meta.db_table)}"
        f" ({', '.join(qn(f.column) for f in entry_fields)}, {qn('object_id')}, {qn('object_repr')})"
        f" SELECT {', '.join(['%s'] * len(entry_fields))}, d.{pk}::text, LEFT({repr_sql}, 200) FROM d"
        f" RETURNING {qn('object_id')}"
    )
    with _INSERTS_LOCK:
        _INSERTS[key] = (sql, fields, entry_fields)
    return sql, fields, entry_fields


def insert_with_audit(alias: str, obj: models.Model, entry: models.Model, *, repr_parts: list[str]) -> int:
    """Insert `obj` (its key from the database) and `entry`, an audit row whose object id is that key and
    whose text is repr_parts joined by it, as one prepared statement. Returns the new key."""
    connection = connections[alias]
    sql, fields, entry_fields = _insert_sql(alias, type(obj), type(entry), len(repr_parts))
    params = prepare_values(obj, fields, connection, add=True)
    params += prepare_values(entry, entry_fields, connection, add=True)
    params += repr_parts
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0])


_INSERTS_UNLESS_EXISTS: dict[tuple[str, type[models.Model], tuple[str, ...], bool], tuple[str, tuple[Any, ...]]] = {}


def insert_unless_exists(
    obj: models.Model, conflict: Sequence[str], *, using: str | None = None, flush: bool = True
) -> int | None:
    """Insert `obj` unless a row with the same values of `conflict` (the fields of a unique constraint)
    exists: its new key, or None. On PostgreSQL one prepared `INSERT … ON CONFLICT (…) DO NOTHING
    RETURNING id` (decision 0006): no unique violation is raised, caught or logged by the server, and a
    transaction around it is not spoilt. Elsewhere save(force_insert=True) in a savepoint, None on an
    IntegrityError. Values go through each field's pre_save and get_db_prep_save as save() sends them.
    Like an INSERT, it waits for a concurrent transaction inserting the same values to end.

    `flush=False`, run outside a transaction (autocommit): PostgreSQL commits the row without waiting for
    its WAL to reach the disk (`synchronous_commit` off for this statement's own transaction only). The
    row is visible to others at once all the same. For a row whose loss in a crash loses nothing: any
    later synchronous commit on the server flushes the WAL up to it, so once work that depends on the
    row has committed, the row is as durable as that work. Inside a transaction it has no effect: the
    transaction's own commit decides."""
    alias = using or router.db_for_write(type(obj))
    if not prepared_on(alias):
        try:
            with transaction.atomic(using=alias):
                obj.save(force_insert=True, using=alias)
        except IntegrityError:
            return None
        return int(obj.pk)
    meta = obj._meta
    connection = connections[alias]
    # Only a statement that is its own transaction: never an enclosing one's commit (atomic or not).
    unflushed = not flush and connection.get_autocommit() and not connection.in_atomic_block
    key = (alias, type(obj), tuple(conflict), unflushed)
    found = _INSERTS_UNLESS_EXISTS.get(key)
    if found is None:
        fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
        assert meta.pk is not None
        concrete = {f.name: f for f in meta.concrete_fields}
        target = ", ".join(_qn(alias, concrete[name].column) for name in conflict)
        # set_config(…, true) lasts until the end of the current transaction: in autocommit, this
        # statement's own, whose commit then does not wait for the WAL flush.
        unsynced = " WHERE set_config('synchronous_commit', 'off', true) IS NOT NULL" if unflushed else ""
        sql = (
            f"INSERT INTO {_qn(alias, meta.db_table)} ({', '.join(_qn(alias, f.column) for f in fields)})"
            f" SELECT {', '.join(['%s'] * len(fields))}{unsynced} ON CONFLICT ({target}) DO NOTHING"
            f" RETURNING {_qn(alias, meta.pk.column)}"
        )
        found = _INSERTS_UNLESS_EXISTS[key] = (sql, fields)
    sql, fields = found
    params = prepare_values(obj, fields, connection, add=True)
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    obj.pk = int(row[0])
    obj._state.adding, obj._state.db = False, alias
    return obj.pk


def _qn(alias: str, name: str | None) -> str:
    assert name is not None  # a concrete field has a column
    return str(connections[alias].ops.quote_name(name))


_MANY: dict[tuple[str, type[models.Model], tuple[str, ...]], tuple[str, tuple[Any, ...]]] = {}


def _array_element(value: Any) -> str:
    """One element of a PostgreSQL array literal (the text form the column's type casts from)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(int(value))  # IntegerChoices too
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):  # and datetime: an aware one keeps its offset
        text = value.isoformat()
    elif isinstance(value, str):
        text = value
    else:
        raise TypeError(f"insert_many takes ints, strings, decimals, dates and None, not {type(value).__name__}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def insert_many(alias: str, model: type[models.Model], columns: dict[str, Sequence[Any]]) -> list[int]:
    """Insert rows given column-wise (field name or attname -> values; a field left out takes its default)
    as ONE prepared statement, `INSERT … SELECT * FROM unnest(%s::type[], …) RETURNING id`; PostgreSQL only.
    Returns the new keys in the order of the rows.

    For the few rows of a request (a loan's schedule, an entry's postings): Django's bulk_create builds
    and compiles a model instance per row, several times what PostgreSQL spends inserting them. Each
    column goes as one array literal in a text parameter, so the statement's parameter types never vary
    and it is prepared once per connection (decision 0006). Values are those of the column's type: ints,
    strings, decimals, dates, aware datetimes, None; nothing is converted as a field's get_db_prep_save
    would (no JSON, no naive datetimes)."""
    meta = model._meta
    given = {meta.get_field(name): values for name, values in columns.items()}
    n = len(next(iter(given.values()))) if given else 0
    if n == 0:
        return []
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    key = (alias, model, tuple(f.attname for f in fields if f in given))
    found = _MANY.get(key)
    if found is None:
        connection = connections[alias]
        assert meta.pk is not None
        sql = (
            f"INSERT INTO {_qn(alias, meta.db_table)} ({', '.join(_qn(alias, f.column) for f in fields)})"
            f" SELECT * FROM unnest({', '.join(f'%s::{f.db_type(connection)}[]' for f in fields)})"
            f" RETURNING {_qn(alias, meta.pk.column)}"
        )
        found = _MANY[key] = (sql, tuple(fields))
    sql, ordered = found
    params = []
    for field in ordered:
        values = given.get(field)
        if values is None:
            values = [field.get_default()] * n
        elif len(values) != n:
            raise ValueError(f"insert_many: {len(values)} values of {field.name} for {n} rows")
        params.append("{" + ",".join(map(_array_element, values)) + "}")
    with _cursor(connections[alias]) as cursor:
        cursor.execute(sql, params)
        return [int(row[0]) for row in cursor.fetchall()]


_UPDATES: dict[tuple[str, type[models.Model], tuple[str, ...]], tuple[str, tuple[Any, ...]]] = {}


def save_fields(obj: models.Model, names: Sequence[str], *, using: str | None = None) -> None:
    """`obj.save(update_fields=names)` as one prepared `UPDATE … WHERE pk = %s` on PostgreSQL (decision
    0006): the ORM builds and compiles an UPDATE on every save. Values go through each field's pre_save
    and get_db_prep_save as save() sends them; no model signals are sent (no model here has receivers).
    Elsewhere it is save(update_fields=names)."""
    alias = using or obj._state.db or "default"
    if not prepared_on(alias):
        obj.save(update_fields=list(names), using=alias)
        return
    meta = obj._meta
    key = (alias, type(obj), tuple(names))
    found = _UPDATES.get(key)
    if found is None:
        concrete = {n: f for f in meta.concrete_fields for n in (f.name, f.attname)}
        fields = tuple(concrete[name] for name in names)
        assert meta.pk is not None
        sql = (
            f"UPDATE {_qn(alias, meta.db_table)} SET {', '.join(f'{_qn(alias, f.column)} = %s' for f in fields)}"
            f" WHERE {_qn(alias, meta.pk.column)} = %s"
        )
        found = _UPDATES[key] = (sql, fields)
    sql, fields = found
    connection = connections[alias]
    params = prepare_values(obj, fields, connection, add=False)
    params.append(obj.pk)
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != 1:
            raise DatabaseError("Save with update_fields did not affect any rows.")  # as save() raises it


_WHERE_UPDATES: dict[tuple[str, type[models.Model], tuple[str, ...], tuple[str, ...]], tuple[str, tuple[Any, ...]]] = {}


def update_where(alias: str, model: type[models.Model], values: dict[str, Any], where: dict[str, Any]) -> int:
    """`model.objects.filter(**where).update(**values)` for equality conditions on concrete fields, as one
    prepared `UPDATE … SET … WHERE a = %s AND …` on PostgreSQL (compiled once per model and field names);
    the queryset update elsewhere. Returns how many rows it updated."""
    if not prepared_on(alias):
        return int(model._default_manager.using(alias).filter(**where).update(**values))
    meta = model._meta
    key = (alias, model, tuple(values), tuple(where))
    found = _WHERE_UPDATES.get(key)
    if found is None:
        concrete = {n: f for f in meta.concrete_fields for n in (f.name, f.attname)}
        fields = tuple(concrete[name] for name in (*values, *where))
        set_sql = ", ".join(f"{_qn(alias, f.column)} = %s" for f in fields[: len(values)])
        where_sql = " AND ".join(f"{_qn(alias, f.column)} = %s" for f in fields[len(values) :])
        found = _WHERE_UPDATES[key] = (f"UPDATE {_qn(alias, meta.db_table)} SET {set_sql} WHERE {where_sql}", fields)
    sql, fields = found
    connection = connections[alias]
    params = [
        f.get_db_prep_save(v, connection) for f, v in zip(fields, (*values.values(), *where.values()), strict=True)
    ]
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


K = TypeVar("K", bound=Hashable)


class StatementCache(Generic[K]):
    """Statements by key, the least recently used dropped beyond `size` (keys may be per user)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[K, Statement] = OrderedDict()
        self._lock = threading.Lock()  # threaded servers (waitress) share a process's caches

    def get(self, key: K, build: Callable[[], Statement]) -> Statement:
        with self._lock:
            statement = self._items.get(key)
            if statement is not None:
                self._items.move_to_end(key)
                return statement
        statement = build()  # outside the lock: compiling may query (e.g. a user's profile)
        with self._lock:
            self._items[key] = statement
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return statement

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def columns(model: type[models.Model], prefix: str = "") -> list[str]:
    """The value names that load a whole `model` row (through the relation `prefix`, e.g. 'user__')."""
    return [prefix + f.attname for f in model._meta.concrete_fields]


def instance(model: type[models.Model], row: dict[str, Any], alias: str, prefix: str = "") -> Any:
    """A model instance from the values of `columns(model, prefix)`, as if the ORM had loaded it; None when
    its key is NULL (an outer join found no row)."""
    names: Sequence[str] = [f.attname for f in model._meta.concrete_fields]
    values = [row[prefix + n] for n in names]
    if values[names.index(model._meta.pk.attname)] is None:
        return None
    return model.from_db(alias, names, values)
