"""Servicing: the business days the day-end batch has run, each loan's servicing state (running period,
days past due, five-category class), the classification thresholds, manual classifications and the
daily portfolio snapshot the monitoring pages read.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import ChangeCause, DayStatus, RequestStatus, RiskClass


class BusinessDay(models.Model):
    """One business date the day-end batch (`xinedai eod`) has started: which step it reached, when it
    started and finished, and what each step did. Dates run one after the other, none skipped; a date
    that is `done` is never run again, a `running` one is resumed after the last step it completed."""

    business_on = models.DateField(unique=True)
    status = models.CharField(max_length=16, choices=DayStatus.choices, default=DayStatus.RUNNING)
    step = models.CharField(max_length=16, blank=True)  # the last step completed ("" before the first)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # {step: {"seconds": …, "loans": …, "total_fen": …, …}}: each step writes its own entry as it commits.
    counts = models.JSONField(default=dict)
    runs = models.PositiveSmallIntegerField(default=1)  # how many times the date was started (resumes + 1)

    class Meta:
        ordering = ["-business_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="running"), name="servicing_one_running_business_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.business_on} {self.status} ({self.step or '-'})"


class LoanState(models.Model):
    """The servicing view of one loan, kept by the day-end batch: the running instalment's period (whose
    scheduled interest is accrued day by day), what is overdue and since when, and its classification.

    One row per loan, created by the first day-end batch after the drawdown. `schedule_version` is the
    schedule the period was read from: 0 means "read it again" (a repayment re-amortised the loan since,
    or the row was made before any batch). `manual_class` is the floor an approved manual classification
    set; `risk_class` is the worse of it and `auto_class` (by days past due), so the batch never upgrades
    a manual downgrade on its own.
    """

    # Loans are never deleted (no delete path; PROTECT). The batch inserts a million rows at once from
    # the loan table itself, so the reference is not re-checked per row by a trigger (decision 0005).
    loan = models.OneToOneField(
        "lending.Loan", primary_key=True, on_delete=models.PROTECT, related_name="servicing", db_constraint=False
    )
    schedule_version = models.PositiveSmallIntegerField(default=0)
    period_number = models.PositiveSmallIntegerField(null=True, blank=True)  # null: past the last due date
    period_start_on = models.DateField(null=True, blank=True)  # the previous due date, or the drawdown date
    period_due_on = models.DateField(null=True, blank=True)
    period_interest_fen = models.BigIntegerField(default=0)
    overdue_since = models.DateField(null=True, blank=True)  # the oldest unpaid due date before today
    days_past_due = models.IntegerField(default=0)
    overdue_principal_fen = models.BigIntegerField(default=0)
    overdue_interest_fen = models.BigIntegerField(default=0)
    auto_class = models.PositiveSmallIntegerField(choices=RiskClass.choices, default=RiskClass.NORMAL)
    manual_class = models.PositiveSmallIntegerField(choices=RiskClass.choices, null=True, blank=True)
    risk_class = models.PositiveSmallIntegerField(choices=RiskClass.choices, default=RiskClass.NORMAL)
    classified_on = models.DateField(null=True, blank=True)  # when risk_class last changed
    updated_on = models.DateField(null=True, blank=True)  # the business date of the last batch that touched it

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(days_past_due__gte=0), name="servicing_dpd_not_negative"),
            models.CheckConstraint(
                condition=Q(risk_class__gte=models.F("auto_class")), name="servicing_class_not_better_than_auto"
            ),
        ]
        indexes = [
            # The overdue and classification steps work on small sets: loans overdue, loans whose
            # instalment fell due yesterday, loans classified worse than normal by days past due. The
            # accrual step reads every row anyway; columns it changes daily carry no index (HOT updates).
            models.Index(
                fields=["overdue_since"], name="servicing_state_overdue", condition=Q(overdue_since__isnull=False)
            ),
            models.Index(fields=["period_start_on"], name="servicing_state_period_start"),
            models.Index(fields=["auto_class"], name="servicing_state_auto_class", condition=Q(auto_class__gt=1)),
            # The loan list's filters by days past due and by class (servicing.queries.filter_loans): a few
            # percent of the loans. Only those rows are in these indexes, so the daily update of every
            # loan that is current stays HOT.
            models.Index(fields=["days_past_due"], name="servicing_state_dpd", condition=Q(days_past_due__gt=0)),
            models.Index(fields=["risk_class"], name="servicing_state_risk_class", condition=Q(risk_class__gt=1)),
        ]

    def __str__(self) -> str:
        return f"loan {self.loan_id}: class {self.risk_class}, {self.days_past_due} days past due"


class ClassThreshold(models.Model):
    """One threshold of the five-category classification by days past due, effective from a date: a loan
    is at least `risk_class` when its days past due exceed `min_days_past_due`. The set in force on a date
    is the one with the latest `effective_on` not after it. Seeded by migration with the 2023 rules."""

    effective_on = models.DateField()
    risk_class = models.PositiveSmallIntegerField(choices=RiskClass.choices)
    min_days_past_due = models.PositiveIntegerField()
    source = models.CharField(max_length=200, blank=True)  # the regulation or decision it comes from

    class Meta:
        ordering = ["-effective_on", "risk_class"]
        constraints = [
            models.UniqueConstraint(fields=["effective_on", "risk_class"], name="servicing_one_threshold_per_class"),
            models.CheckConstraint(
                condition=Q(risk_class__gte=2) & Q(risk_class__lte=5), name="servicing_threshold_class"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.effective_on}: class {self.risk_class} when > {self.min_days_past_due} days"


class TwoPersonRequest(models.Model):
    """What a request one person makes and another decides keeps (maker ≠ checker): the reason, who made
    it and when, its status, and who decided it, when and with what note (servicing.services)."""

    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    made_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        abstract = True


class ClassificationRequest(TwoPersonRequest):
    """A manual classification of a loan (usually a downgrade on information the days past due do not
    show), with its reason: made by one person, approved or rejected by another (maker ≠ checker). Once
    approved it is the loan's floor until another approved request replaces it."""

    loan = models.ForeignKey("lending.Loan", on_delete=models.PROTECT, related_name="classification_requests")
    risk_class = models.PositiveSmallIntegerField(choices=RiskClass.choices)
    previous_class = models.PositiveSmallIntegerField(choices=RiskClass.choices)

    class Meta:
        ordering = ["-made_at", "-id"]
        verbose_name = _("classification request")
        permissions = [
            ("request_classification", "Can request a manual five-category classification"),
            ("approve_classification", "Can approve a manual five-category classification"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["loan"], condition=Q(status="pending"), name="servicing_one_pending_request_per_loan"
            ),
        ]

    def __str__(self) -> str:
        return f"loan {self.loan_id} → class {self.risk_class} ({self.status})"


class WriteOffRequest(TwoPersonRequest):
    """A write-off (核销) of a loss-class loan, with its reason and the recovery efforts behind it: made by
    one person, approved (the loan is written off at once) or rejected by another (maker ≠ checker). The
    amounts are those the approval took off the balance sheet."""

    loan = models.ForeignKey("lending.Loan", on_delete=models.PROTECT, related_name="write_off_requests")
    written_off_on = models.DateField(null=True, blank=True)
    principal_fen = models.BigIntegerField(default=0)  # principal outstanding when written off
    interest_fen = models.BigIntegerField(default=0)  # interest owed then, on the books and off
    penalty_fen = models.BigIntegerField(default=0)  # penalty interest owed then, on the books and off
    # The loan's grid and outlet when it was written off, as the snapshot keeps them for each day: the
    # monitoring pages read write-offs by outlet without the loan table (monitoring.views.portfolio).
    outlet = models.ForeignKey(
        "org.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    grid = models.ForeignKey(
        "org.Grid", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )

    class Meta:
        ordering = ["-made_at", "-id"]
        verbose_name = _("write-off request")
        permissions = [
            ("request_write_off", "Can propose writing off a loss-class loan"),
            ("approve_write_off", "Can approve writing off a loan"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["loan"], condition=Q(status="pending"), name="servicing_one_pending_write_off_per_loan"
            ),
            models.UniqueConstraint(
                fields=["loan"], condition=Q(status="approved"), name="servicing_one_write_off_per_loan"
            ),
        ]
        indexes = [models.Index(fields=["written_off_on"], name="servicing_write_off_on")]

    def __str__(self) -> str:
        return f"write off loan {self.loan_id} ({self.status})"


class ClassificationChange(models.Model):
    """One change of a loan's five-category class: from, to, on which business date, why (the batch by
    days past due, or an approved manual request). The history regulators and NPL reviews ask for."""

    loan_id = models.BigIntegerField(db_index=True)  # a plain id: the batch writes these set-wise
    changed_on = models.DateField()
    from_class = models.PositiveSmallIntegerField(choices=RiskClass.choices)
    to_class = models.PositiveSmallIntegerField(choices=RiskClass.choices)
    days_past_due = models.IntegerField()
    cause = models.CharField(max_length=16, choices=ChangeCause.choices)
    request_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-changed_on", "-id"]
        indexes = [models.Index(fields=["changed_on"], name="servicing_change_on")]

    def __str__(self) -> str:
        return f"loan {self.loan_id} {self.from_class}→{self.to_class} on {self.changed_on}"


class PortfolioDay(models.Model):
    """The day-end portfolio snapshot: one row per business date × grid × product × class, with the
    grid's outlet and account manager (owner) as they were that day — what the monitoring pages read
    for balances, overdue and NPL figures by outlet, grid, manager, product and time.

    Counts and money add up across rows. `borrower_count` counts distinct households within the row
    only: a household holding loans of two products (or two classes) counts once in each.
    """

    business_on = models.DateField()
    # Plain references: rows are written set-wise by the batch and only ever read (decision 0005).
    outlet = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+", db_constraint=False)
    grid = models.ForeignKey(
        "org.Grid", on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    product_code = models.CharField(max_length=32)
    risk_class = models.PositiveSmallIntegerField(choices=RiskClass.choices)
    loan_count = models.IntegerField()
    borrower_count = models.IntegerField()
    overdue_loan_count = models.IntegerField()
    principal_outstanding_fen = models.BigIntegerField()
    overdue_principal_fen = models.BigIntegerField()
    # 逾期贷款余额: the whole principal outstanding of the loans with anything overdue (not only what is due)
    overdue_balance_fen = models.BigIntegerField(default=0)
    interest_receivable_fen = models.BigIntegerField()
    penalty_receivable_fen = models.BigIntegerField()

    class Meta:
        ordering = ["-business_on", "grid_id", "product_code", "risk_class"]
        constraints = [
            models.UniqueConstraint(
                fields=["business_on", "grid", "product_code", "risk_class"], name="servicing_one_snapshot_cell"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.business_on} grid {self.grid_id} {self.product_code} class {self.risk_class}"
