"""Lending: loans drawn on credit lines, their repayment schedules and the repayments made on them.

A loan's money is in the ledger (ledger app, sub-ledger by loan id); the balances kept on the loan row
are the servicing view of the same figures, updated in the same transaction as every posting, and
`xinedai ledger verify` proves the two agree (lending.checks).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from xinedai.products.choices import RepaymentMethod

from .choices import InstalmentStatus, LoanStatus


class Loan(models.Model):
    """A drawdown (用信) on a household's credit line: principal, the contract's rates and term, and the
    balances servicing keeps. Created exactly once per drawdown key, whatever the retries and channels."""

    household = models.ForeignKey("households.Household", on_delete=models.PROTECT, related_name="loans")
    line = models.ForeignKey("credit.CreditLine", on_delete=models.PROTECT, related_name="loans")
    product_code = models.CharField(max_length=32)
    # The business key of the drawdown (channel + its Idempotency-Key, or a page's form token): the
    # database refuses a second loan for it, so a disbursement happens once (one_loan_per_drawdown_key).
    drawdown_key = models.CharField(max_length=120)
    channel = models.CharField(max_length=16)
    principal_fen = models.BigIntegerField()
    annual_rate = models.DecimalField(max_digits=8, decimal_places=6)
    penalty_rate = models.DecimalField(max_digits=8, decimal_places=6)  # on overdue principal, per year
    term_months = models.PositiveSmallIntegerField()
    method = models.CharField(max_length=20, choices=RepaymentMethod.choices)
    start_on = models.DateField()
    maturity_on = models.DateField()
    status = models.CharField(max_length=16, choices=LoanStatus.choices, default=LoanStatus.ACTIVE)
    principal_outstanding_fen = models.BigIntegerField()
    interest_receivable_fen = models.BigIntegerField(default=0)  # accrued by the day-end batch, not yet paid
    penalty_receivable_fen = models.BigIntegerField(default=0)
    # Non-accrual (非应计): from the day-end that found the loan more than 90 days past due, what it accrues
    # is owed but not income; kept off-balance (表外) until paid, or until the loan is back within 90 days.
    accrual_stopped_on = models.DateField(null=True, blank=True)
    offbook_interest_fen = models.BigIntegerField(default=0)
    offbook_penalty_fen = models.BigIntegerField(default=0)
    # Written off (核销, servicing.services.approve_write_off): the loan leaves the balance sheet, and what it
    # still owed in principal is kept off-balance until recovered (账销案存); its interest and penalty stay in
    # the offbook_* columns above. Recoveries reduce these (lending.services.recover).
    written_off_on = models.DateField(null=True, blank=True)
    written_off_principal_fen = models.BigIntegerField(default=0)
    schedule_version = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    settled_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-start_on", "-id"]
        # Keys and codes are looked up by equality only: a UniqueConstraint or an Index, not unique=True or
        # db_index=True, which on PostgreSQL add a second, LIKE-only index to every insert.
        indexes = [
            models.Index(fields=["status"], name="lending_loan_status"),
            # The staff loan list, newest first: a page is read off this index, then checked against the
            # user's scope, instead of sorting every loan in scope (2.7 s for a branch at 1 M loans).
            # start_on never changes, so the day-end batch's updates of a loan stay HOT.
            models.Index(fields=["start_on", "id"], name="lending_loan_start_on_id"),
            # The day-end batch looks for non-accrual loans back within 90 days: a few among a million.
            models.Index(
                fields=["accrual_stopped_on"],
                name="lending_loan_non_accrual",
                condition=models.Q(accrual_stopped_on__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["drawdown_key"], name="one_loan_per_drawdown_key"),
            models.CheckConstraint(condition=models.Q(principal_fen__gt=0), name="loan_principal_positive"),
            models.CheckConstraint(
                condition=models.Q(principal_outstanding_fen__gte=0)
                & models.Q(principal_outstanding_fen__lte=models.F("principal_fen")),
                name="loan_outstanding_within_principal",
            ),
            models.CheckConstraint(
                condition=models.Q(written_off_principal_fen__gte=0)
                & models.Q(written_off_principal_fen__lte=models.F("principal_fen")),
                name="loan_written_off_within_principal",
            ),
        ]

    def __str__(self) -> str:
        return f"loan {self.pk}: {self.principal_fen} fen ({self.status})"


class Instalment(models.Model):
    """One instalment of a loan's schedule. A repayment fills `paid_*`; an early repayment replaces the
    unpaid rest of the schedule (a new `schedule_version`), and the replaced rows stay as they were."""

    # No index of its own: one_instalment_per_number (loan, schedule_version, number) serves lookups by loan.
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="instalments", db_index=False)
    schedule_version = models.PositiveSmallIntegerField()
    number = models.PositiveSmallIntegerField()
    due_on = models.DateField()
    principal_fen = models.BigIntegerField()
    interest_fen = models.BigIntegerField()
    paid_principal_fen = models.BigIntegerField(default=0)
    paid_interest_fen = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=InstalmentStatus.choices, default=InstalmentStatus.PENDING)

    class Meta:
        ordering = ["loan", "schedule_version", "number"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "schedule_version", "number"], name="one_instalment_per_number"),
            models.CheckConstraint(
                condition=models.Q(paid_principal_fen__gte=0)
                & models.Q(paid_principal_fen__lte=models.F("principal_fen"))
                & models.Q(paid_interest_fen__gte=0)
                & models.Q(paid_interest_fen__lte=models.F("interest_fen")),
                name="instalment_paid_within_due",
            ),
        ]

    def __str__(self) -> str:
        return f"loan {self.loan_id} #{self.number} due {self.due_on}"


class Repayment(models.Model):
    """A repayment and how it was allocated (penalty, overdue interest, overdue principal, current
    interest, current principal), once per repayment key."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="repayments")
    key = models.CharField(max_length=120)  # one_repayment_per_key
    channel = models.CharField(max_length=16)
    paid_on = models.DateField()
    amount_fen = models.BigIntegerField()
    penalty_fen = models.BigIntegerField(default=0)
    overdue_interest_fen = models.BigIntegerField(default=0)
    overdue_principal_fen = models.BigIntegerField(default=0)
    interest_fen = models.BigIntegerField(default=0)
    principal_fen = models.BigIntegerField(default=0)
    payoff = models.BooleanField(default=False)
    journal_entry_id = models.BigIntegerField()
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What the repayment changed, so that a same-day reversal (冲正) puts back exactly what was there:
    # the loan's fields before and after, the schedule's rows before, the limit it gave back to the line.
    # Null for repayments recorded before reversals existed: those cannot be reversed.
    restore = models.JSONField(null=True, blank=True, editable=False)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(  # never looked up by: no index for every repayment to carry
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    reversal_reason = models.CharField(max_length=500, blank=True)
    reversal_entry_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        permissions = [("reverse_repayment", "Can reverse a repayment on the day it was made")]
        constraints = [
            models.UniqueConstraint(fields=["key"], name="one_repayment_per_key"),
            models.CheckConstraint(
                condition=models.Q(reversed_at__isnull=True, reversal_entry_id__isnull=True)
                | models.Q(reversed_at__isnull=False, reversal_entry_id__isnull=False),
                name="repayment_reversal_complete",
            ),
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="repayment_positive"),
            models.CheckConstraint(
                condition=models.Q(
                    amount_fen=models.F("penalty_fen")
                    + models.F("overdue_interest_fen")
                    + models.F("overdue_principal_fen")
                    + models.F("interest_fen")
                    + models.F("principal_fen")
                ),
                name="repayment_fully_allocated",
            ),
        ]
        verbose_name = _("repayment")

    def __str__(self) -> str:
        return f"repayment {self.pk}: {self.amount_fen} fen"

    @property
    def reversed(self) -> bool:
        return self.reversed_at is not None
