"""Each index on the busiest write tables earns its keep: a drawdown inserts a loan, its schedule and a
journal entry, and every index of those tables is written with every row."""

import pytest
from django.db import IntegrityError, connection, transaction

from xinedai.ledger.models import JournalEntry
from xinedai.lending.models import Instalment, Loan, Repayment

pytestmark = pytest.mark.django_db


def _indexes(model) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [model._meta.db_table])
        return [row[0] for row in cursor.fetchall()]


def test_business_keys_have_one_equality_index_and_no_like_index():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: its unique=True and db_index=True add a LIKE-only index")
    for model, column in ((Loan, "drawdown_key"), (Repayment, "key"), (JournalEntry, "key"), (Loan, "status")):
        on_column = [d for d in _indexes(model) if f"({column})" in d]
        assert len(on_column) == 1, (model.__name__, column, on_column)
        assert "pattern_ops" not in on_column[0]
    assert not any("pattern_ops" in d for m in (Loan, Instalment, Repayment, JournalEntry) for d in _indexes(m))
    # lookups by loan are served by the unique (loan, schedule_version, number) index
    assert [d for d in _indexes(Instalment) if "(loan_id)" in d] == []
    assert any("(loan_id, schedule_version, number)" in d for d in _indexes(Instalment))


def test_the_keys_stay_unique():
    for model, field in ((Loan, "drawdown_key"), (Repayment, "key"), (JournalEntry, "key")):
        constraint = next(c for c in model._meta.constraints if getattr(c, "fields", None) == (field,))
        assert constraint.name.startswith("one_")
    with connection.cursor() as cursor, pytest.raises(IntegrityError), transaction.atomic():
        table = JournalEntry._meta.db_table
        for _ in range(2):
            cursor.execute(
                f"INSERT INTO {table} (kind, posted_on, created_at, key, memo, posting_count, total_fen, body_sha256)"
                " VALUES ('disbursement', '2026-11-29', '2026-11-29 08:00:00+00:00', 'same-key', '', 2, 1, '')"
            )
    assert not JournalEntry.objects.filter(key="same-key").exists()  # refused: neither row stays
