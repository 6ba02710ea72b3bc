"""Bulk writing of many rows: PostgreSQL COPY or SQLite executemany, with ids reserved up front."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from django.db import DEFAULT_DB_ALIAS, connections, models


class BulkLoader:
    """Writes whole columns into one table at a time, in the caller's transaction.

    Ids are reserved before writing so that rows can point at each other (household → current file,
    member → household) without reading anything back. On PostgreSQL the table's sequence is moved past
    the reserved block first, so ordinary inserts made later never collide with it.
    """

    def __init__(self, using: str = DEFAULT_DB_ALIAS) -> None:
        self.connection = connections[using]
        self.vendor = self.connection.vendor
        if self.vendor not in ("postgresql", "sqlite"):
            raise NotImplementedError(f"bulk loading is not implemented for {self.vendor}")

    def reserve(self, model: type[models.Model], n: int) -> int:
        """Reserve n consecutive ids for model; returns the first."""
        table = model._meta.db_table
        pk = str(model._meta.pk.column)  # type: ignore[union-attr]
        qn = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            if self.vendor == "sqlite":
                # The write lock is held since BEGIN IMMEDIATE, so nobody else can take these ids.
                cursor.execute(f"SELECT COALESCE(MAX({qn(pk)}), 0) FROM {qn(table)}")
                return int(cursor.fetchone()[0]) + 1
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [qn(table), pk])
            seq = cursor.fetchone()[0]
            # setval is not transactional: concurrent inserts take ids after the reserved block.
            cursor.execute(
                f"SELECT setval(%s, GREATEST((SELECT COALESCE(MAX({qn(pk)}), 0) FROM {qn(table)}),"
                f" (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {seq})) + %s)",
                [seq, n],
            )
            return int(cursor.fetchone()[0]) - n + 1

    def id_set(self, column: str, ids: Sequence[int]) -> tuple[str, list[Any]]:
        """A WHERE fragment `column IN <ids>` bound as ONE parameter, for id sets of any size.

        Tens of thousands of `%s` placeholders are slow to build and exceed SQLite's variable limit;
        PostgreSQL takes an array, SQLite a JSON list read by json_each.
        """
        values = [int(i) for i in ids]
        if self.vendor == "postgresql":
            # An array literal in one text parameter: adapting a list of a million ints costs seconds.
            return f"{column} = ANY(%s::bigint[])", ["{" + ",".join(map(str, values)) + "}"]
        return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(values)]

    def write(self, model: type[models.Model], columns: dict[str, Sequence[Any]]) -> int:
        """Insert rows given column-wise (field name → values, all of equal length). Returns the row count."""
        fields = [model._meta.get_field(name) for name in columns]
        names = [str(f.column) for f in fields]  # type: ignore[union-attr]
        values = list(columns.values())
        n = len(values[0]) if values else 0
        if n == 0:
            return 0
        qn = self.connection.ops.quote_name
        table = qn(model._meta.db_table)
        cols = ", ".join(qn(c) for c in names)
        if self.vendor == "postgresql":
            with self.connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in zip(*values, strict=True):
                    copy.write_row(row)
            return n
        values = [self._sqlite_values(f, v) for f, v in zip(fields, values, strict=True)]
        sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(names))})"
        self.connection.ensure_connection()
        self.connection.connection.executemany(sql, zip(*values, strict=True))
        return n

    def write_ints(self, table: str, columns: dict[str, np.ndarray]) -> int:
        """Insert integer columns (numpy arrays of equal length) into a table, e.g. a staging table.

        On PostgreSQL the rows go as one binary COPY built by numpy (big-endian int8 fields laid out
        in a structured array), so no Python code runs per row; SQLite takes executemany.
        """
        names = list(columns)
        arrays = [np.asarray(columns[c], dtype=np.int64) for c in names]
        n = len(arrays[0]) if arrays else 0
        if n == 0:
            return 0
        qn = self.connection.ops.quote_name
        cols = ", ".join(qn(c) for c in names)
        if self.vendor == "postgresql":
            layout = [("fields", ">i2")]
            for i in range(len(names)):
                layout += [(f"len{i}", ">i4"), (f"val{i}", ">i8")]
            rows = np.empty(n, dtype=np.dtype(layout))
            rows["fields"] = len(names)
            for i, values in enumerate(arrays):
                rows[f"len{i}"] = 8
                rows[f"val{i}"] = values
            payload = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + rows.tobytes() + b"\xff\xff"
            statement = f"COPY {qn(table)} ({cols}) FROM STDIN (FORMAT binary)"
            with self.connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
                copy.write(payload)
            return n
        sql = f"INSERT INTO {qn(table)} ({cols}) VALUES ({', '.join('?' * len(names))})"
        self.connection.ensure_connection()
        self.connection.connection.executemany(sql, zip(*(a.tolist() for a in arrays), strict=True))
        return n

    @contextmanager
    def indexes_deferred(self, models_: Sequence[type[models.Model]]) -> Iterator[bool]:
        """Drop the tables' secondary indexes, unique and foreign-key constraints; rebuild them on exit.

        The textbook bulk-load order on PostgreSQL: one sorted build per index and one validating join
        per foreign key instead of millions of row-by-row index inserts and deferred trigger checks. The
        definitions are read from the catalogue and replayed verbatim, so the schema after is the schema
        before; DDL is transactional, so a failure rolls the drop back too. It locks the tables for the
        whole load, which is why callers use it only to fill empty tables. Yields False (and does
        nothing) on other databases.
        """
        if self.vendor != "postgresql":
            yield False
            return
        tables = [m._meta.db_table for m in models_]
        qn = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u')"
                # A key that another table's foreign key points at must stay (dropping it would fail).
                " AND (contype = 'f' OR NOT EXISTS (SELECT 1 FROM pg_constraint f"
                " WHERE f.contype = 'f' AND f.conindid = pg_constraint.conindid))"
                " ORDER BY contype, conname",
                [tables],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i"
                " WHERE indrelid = ANY(%s::regclass[]) AND NOT indisprimary AND NOT EXISTS"
                " (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))"
                " ORDER BY 1",
                [tables],
            )
            indexes = cursor.fetchall()
            # ALTER TABLE refuses tables with queued deferred checks (the org rows written just before
            # in this transaction): run those checks now. Django's constraints are all deferrable.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table, name, _kind, _definition in constraints:  # 'f' sorts first: FKs go before keys
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {qn(name)}")
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {name}")
            # Sorting for index builds in memory rather than in temporary files (this transaction only).
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        yield True
        with self.connection.cursor() as cursor:
            for _name, definition in indexes:
                cursor.execute(definition)
            for table, name, _kind, definition in sorted(constraints, key=lambda c: c[2], reverse=True):
                cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {qn(name)} {definition}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # back to Django's INITIALLY DEFERRED

    def _sqlite_values(self, field: Any, values: Sequence[Any]) -> Sequence[Any]:
        ops = self.connection.ops
        if isinstance(field, models.DateTimeField):
            return [None if v is None else ops.adapt_datetimefield_value(v) for v in values]
        if isinstance(field, models.DateField):
            return [None if v is None else ops.adapt_datefield_value(v) for v in values]
        if isinstance(field, models.BooleanField):
            return [None if v is None else int(v) for v in values]
        return values
