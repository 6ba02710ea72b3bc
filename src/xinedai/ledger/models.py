"""Ledger: the chart of accounts, journal entries and their postings (double entry, append-only)."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import Q

from xinedai.core.errors import BusinessError

from .choices import AccountKind, EntryKind, Side


class Immutable(BusinessError):
    """An attempt to change or delete a journal entry or posting: corrections are reversals."""

    code = "ledger_immutable"
    status = 409


def _refuse(what: str) -> NoReturn:
    raise Immutable(
        f"账务记录不可修改或删除（{what}），请以冲正更正",
        f"Ledger rows are never changed or deleted ({what}); correct them with a reversal",
    )


class AppendOnlyQuerySet(models.QuerySet):
    """Querysets of ledger rows refuse bulk UPDATE and DELETE (the database refuses them too)."""

    def update(self, **kwargs: Any) -> int:
        _refuse(f"{self.model.__name__} update")

    def delete(self) -> tuple[int, dict[str, int]]:
        _refuse(f"{self.model.__name__} delete")


class AppendOnly(models.Model):
    """Rows are inserted once: save() on an existing row and delete() raise `Immutable`."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding or kwargs.get("force_update") or kwargs.get("update_fields"):
            _refuse(f"{type(self).__name__} #{self.pk} update")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse(f"{type(self).__name__} #{self.pk} delete")


class InsertOrderIndex(models.Index):
    """A BRIN index on PostgreSQL, a B-tree elsewhere: for a column that grows with the insert order.

    Postings are appended entry after entry and never updated or deleted, so the table is physically
    ordered by entry: a BRIN index of a few pages finds an entry's postings, where a B-tree costs about a
    second of every million-posting batch to maintain (docs/decisions/0007). Ranges filled since the
    last summary are always scanned until autovacuum summarises them (autosummarize).
    """

    def create_sql(self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any) -> Any:
        if schema_editor.connection.vendor != "postgresql":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        statement: Any = super().create_sql(model, schema_editor, using=" USING brin", **kwargs)
        statement.parts["extra"] = f" WITH (pages_per_range = 32, autosummarize = on){statement.parts['extra']}"
        return statement


class Account(models.Model):
    """One account of the bank's chart of accounts (会计科目) that the loan book posts to.

    `normal_side` is the side on which the account's balance is positive (debit for assets and
    expenses, credit for liabilities, equity and income); balances are reported in that sign. The
    chart is seeded by a data migration; codes are the `choices.AccountCode` constants.
    """

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=AccountKind.choices)
    normal_side = models.SmallIntegerField(choices=Side.choices)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(normal_side__in=(1, -1)), name="ledger_account_side_is_plus_or_minus_one"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class JournalEntry(AppendOnly):
    """One business event that moved money — a disbursement, a repayment, a day's accrual, a write-off,
    a reversal — as a balanced set of postings on one business date.

    `key` is the event's business key ("disbursement:drawdown:123", "accrual:2026-11-29"): posting the
    same event twice returns the first entry. `posting_count` and `total_fen` (the sum of the debits,
    equal to the sum of the credits) are control totals that `ledger verify` re-adds from the postings;
    `body_sha256` fingerprints the posted lines so that a replay with different lines is refused. A
    reversal points at the entry it reverses; an entry is reversed at most once. Never updated or
    deleted (the ORM and the database refuse it).
    """

    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    posted_on = models.DateField(db_index=True)  # the bank's business date of the event
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    key = models.CharField(max_length=200)  # one_entry_per_key: equality lookups only, no LIKE index
    memo = models.CharField(max_length=500, blank=True)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    posting_count = models.BigIntegerField()
    total_fen = models.BigIntegerField()
    body_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-posted_on", "-id"]
        verbose_name_plural = "journal entries"
        constraints = [
            models.UniqueConstraint(fields=["key"], name="one_entry_per_key"),
            models.CheckConstraint(
                condition=Q(kind="reversal", reverses__isnull=False) | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="ledger_entry_reversal_points_at_its_entry",
            ),
            models.CheckConstraint(condition=Q(posting_count__gte=2), name="ledger_entry_has_two_postings"),
            models.CheckConstraint(condition=Q(total_fen__gt=0), name="ledger_entry_total_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.posted_on} {self.kind} {self.key}"


class Posting(AppendOnly):
    """One line of a journal entry: an amount (always > 0, in fen) on the debit or credit side of an
    account, tagged with the loan (and credit line) it belongs to so that each loan's sub-ledger can
    be derived. The signed amount is `side * amount_fen` (+ debit, − credit).

    `loan_id` and `line_id` are plain integers without a database foreign key: the day-end batch
    writes millions of postings, and a per-row constraint check costs more than the batch (decision
    0005); the entry and account references carry no database constraint for the same reason.
    `ledger verify` proves the references instead. A loan's sub-ledger is indexed; `line_id` is not
    (an index costs ~1.5 s per million batch postings) — it serves set-wise reconciliation, and a
    request that needs one line's figure reads the line's own row. Never updated or deleted.
    """

    entry = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="postings", db_constraint=False, db_index=False
    )
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    side = models.SmallIntegerField(choices=Side.choices)
    amount_fen = models.BigIntegerField()
    loan_id = models.BigIntegerField(null=True, blank=True)
    line_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["entry_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="ledger_posting_amount_positive"),
            models.CheckConstraint(condition=Q(side__in=(1, -1)), name="ledger_posting_side_is_plus_or_minus_one"),
        ]
        indexes = [
            InsertOrderIndex(fields=["entry"], name="ledger_posting_entry"),
            # A loan's sub-ledger, account by account (balances, statements, verify's per-loan checks).
            models.Index(fields=["loan_id", "account"], name="ledger_posting_loan", condition=Q(loan_id__isnull=False)),
        ]

    def __str__(self) -> str:
        side = "Dr" if self.side == Side.DEBIT else "Cr"
        return f"{side} {self.account_id} {self.amount_fen} (loan {self.loan_id})"

    @property
    def signed_fen(self) -> int:
        return int(self.side) * self.amount_fen
