"""Journal entries and postings are never changed or deleted: the ORM refuses, and so does the database
(UPDATE and DELETE on PostgreSQL; UPDATE on SQLite, whose DELETE is caught by ledger verify instead)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from tests.ledger.conftest import ON, C, D, disburse
from xinedai.ledger import services, verify
from xinedai.ledger.choices import CHART
from xinedai.ledger.choices import AccountCode as A
from xinedai.ledger.models import Account, Immutable, JournalEntry, Posting

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry():  # type: ignore[no-untyped-def]
    return disburse(1, 500_000)


def test_the_orm_refuses_to_change_or_delete_an_entry(entry):
    entry.memo = "改一下"
    with pytest.raises(Immutable) as exc:
        entry.save()
    assert (exc.value.code, exc.value.status) == ("ledger_immutable", 409)
    with pytest.raises(Immutable):
        entry.save(update_fields=["memo"])
    with pytest.raises(Immutable):
        entry.delete()
    with pytest.raises(Immutable):
        JournalEntry.objects.filter(pk=entry.pk).update(memo="x")
    with pytest.raises(Immutable):
        JournalEntry.objects.all().delete()
    entry.refresh_from_db()
    assert entry.memo == ""


def test_the_orm_refuses_to_change_or_delete_a_posting(entry):
    posting = entry.postings.first()
    posting.amount_fen = 1
    with pytest.raises(Immutable):
        posting.save()
    with pytest.raises(Immutable):
        posting.delete()
    with pytest.raises(Immutable):
        entry.postings.update(amount_fen=1)
    with pytest.raises(Immutable):
        Posting.objects.filter(entry=entry).delete()
    assert sorted(entry.postings.values_list("amount_fen", flat=True)) == [500_000, 500_000]


def test_accounts_with_postings_cannot_be_deleted_through_the_orm(entry):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        Account.objects.get(pk=entry.postings.first().account_id).delete()


def _raw(sql: str, params: list) -> None:  # type: ignore[type-arg]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_posting SET amount_fen = amount_fen + 1 WHERE entry_id = %s",
        "UPDATE ledger_journalentry SET memo = 'x' WHERE id = %s",
        "UPDATE ledger_journalentry SET posted_on = posted_on WHERE id = %s",
    ],
)
def test_the_database_refuses_updates(entry, sql):
    with pytest.raises(IntegrityError, match="immutable"):
        _raw(sql, [entry.pk])
    assert sorted(Posting.objects.filter(entry=entry).values_list("amount_fen", flat=True)) == [500_000, 500_000]
    assert JournalEntry.objects.get(pk=entry.pk).memo == ""


@pytest.mark.parametrize(
    "sql", ["DELETE FROM ledger_posting WHERE entry_id = %s", "DELETE FROM ledger_journalentry WHERE id = %s"]
)
def test_postgresql_refuses_deletes(entry, sql):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps DELETE for Django's test flush; ledger verify catches a deleted row")
    with pytest.raises(IntegrityError, match="immutable"):
        _raw(sql, [entry.pk])
    assert Posting.objects.filter(entry=entry).count() == 2


def test_a_posting_deleted_behind_the_ledgers_back_is_found_by_verify(entry):
    """On SQLite the database lets a DELETE through (see migration 0003); on PostgreSQL only with the
    triggers switched off. Either way the entry's control totals no longer add up."""
    other = disburse(2, 700)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")  # superuser: triggers off
        cursor.execute(
            "DELETE FROM ledger_posting WHERE id = (SELECT MIN(id) FROM ledger_posting WHERE entry_id = %s)", [entry.pk]
        )
    found = {(d.check, d.entry_id, d.expected, d.actual) for d in verify.run().differences}
    assert found == {
        ("entry_balance", entry.pk, 0, -500_000),
        ("entry_posting_count", entry.pk, 2, 1),
        ("entry_total", entry.pk, 500_000, 0),
        ("entry_loan_balance", entry.pk, 0, -500_000),
    }
    assert other.pk not in {d.entry_id for d in verify.run().differences}


def test_the_triggers_are_installed():
    assert not [d for d in verify.run().differences if d.check == "immutability_trigger"]


@pytest.mark.django_db(transaction=True)
def test_flushing_a_test_database_still_works_and_brings_the_chart_back():
    """Transactional tests end with a flush (TRUNCATE on PostgreSQL, DELETE on SQLite): the triggers must
    not stop it, and the chart seeded by migration comes back through post_migrate."""
    with transaction.atomic():
        entry = services.post(
            kind="disbursement",
            posted_on=ON,
            key="k",
            lines=[(A.LOAN_PRINCIPAL, D, 5, 1), (A.CUSTOMER_CLEARING, C, 5, 1)],
        )
        services.reverse(entry, posted_on=entry.posted_on, actor=None, reason="test")
    call_command("flush", interactive=False, verbosity=0)
    assert (JournalEntry.objects.count(), Posting.objects.count()) == (0, 0)
    assert Account.objects.count() == len(CHART)
