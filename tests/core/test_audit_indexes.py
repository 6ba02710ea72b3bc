"""The audit table is written with every decision, drawdown and change: each of its indexes must serve a
query, and the audit log's prefix filters (action, org scope) must be served by one."""

import pytest
from django.db import connection

from xinedai.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_action_and_scope_have_one_prefix_index_each():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: db_index=True on a text column adds a second, LIKE-only index there")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [AuditEntry._meta.db_table])
        indexes = [row[0] for row in cursor.fetchall()]
    for column in ("action", "scope_path"):
        on_column = [d for d in indexes if f"({column}" in d]
        assert len(on_column) == 1 and "varchar_pattern_ops" in on_column[0], (column, on_column)


def test_the_audit_log_filters_use_the_prefix_indexes():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL plans only")
    table = AuditEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # an empty test table: ask whether an index can serve
        for column, prefix in (("action", "credit.line."), ("scope_path", "/HO/BR/")):
            cursor.execute(f"EXPLAIN SELECT id FROM {table} WHERE {column} LIKE %s", [prefix + "%"])
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert ("audit_action_prefix" if column == "action" else "audit_scope_prefix") in plan, plan
            cursor.execute(f"EXPLAIN SELECT id FROM {table} WHERE {column} = %s", [prefix])
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert "prefix" in plan, plan
