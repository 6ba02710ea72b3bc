"""Credit: scorecard model versions (trained, approved by a second person, one active per family)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import (
    LIVE_LINE_STATUSES,
    AlertStatus,
    ApplicationStatus,
    Channel,
    IntakeMode,
    LineStatus,
    ModelStatus,
    StrategyStatus,
)


class ScoreModel(models.Model):
    """A trained points scorecard: its compiled bins and points, and the training report.

    `compiled` is `credit.scorecard.Scorecard.to_dict()`; `report` holds AUC, KS, Gini on the
    held-out split, IV per variable, the bins with their points and the score distribution kept as
    the PSI baseline. Rows are never edited after training except for their status.
    """

    family = models.CharField(_("product family"), max_length=32, default="xinedai")
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=ModelStatus.choices, default=ModelStatus.DRAFT)
    compiled = models.JSONField()
    report = models.JSONField()
    data_description = models.CharField(max_length=300, blank=True)
    trained_at = models.DateTimeField()
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The approver's note: why it was approved, or why rejected (required then).
    decision_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["family", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["family", "version"], name="one_number_per_model_version"),
            models.UniqueConstraint(
                fields=["family"], condition=models.Q(status="active"), name="one_active_model_per_family"
            ),
        ]
        permissions = [("approve_scoremodel", "Can approve and activate a scorecard model")]

    def __str__(self) -> str:
        return f"{self.family} v{self.version} ({self.status})"


class LimitStrategy(models.Model):
    """A versioned parameter set of the limit strategy (credit.rules.StrategyParams as JSON).

    Proposed by one person, approved by another; exactly one is active.
    """

    version = models.PositiveIntegerField(unique=True)
    params = models.JSONField()
    note = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=16, choices=StrategyStatus.choices, default=StrategyStatus.DRAFT)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="active"), name="one_active_limit_strategy"
            ),
        ]
        permissions = [
            ("approve_limitstrategy", "Can approve a limit strategy"),
            ("propose_limitstrategy", "Can propose a new version of the limit strategy"),
        ]

    def __str__(self) -> str:
        return f"strategy v{self.version} ({self.status})"


# The inputs every model decision records as typed columns (the features of credit.features and the
# exposure the limit was reduced by); anything else a decision records goes to `details`.
INPUT_COLUMNS = (
    "age",
    "family_size",
    "segment",
    "annual_income_yuan",
    "disposable_income_yuan",
    "net_assets_yuan",
    "debt_ratio_pct",
    "overdue_count_24m",
    "inquiries_6m",
    "existing_lines",
    "current_overdue_yuan",
    "exposure_fen",
)


class CreditDecision(models.Model):
    """One credit decision with everything needed to explain it or review it by hand later.

    Inputs (the features and file figures used), the model and strategy versions, the score, grade,
    limit, binding constraint and reason codes. Never updated.

    The inputs are stored as typed columns (INPUT_COLUMNS) plus a JSON of whatever else the decision
    used (candidate limits, the change guard's findings, an officer's reasons): a batch writes a million
    of them, and PostgreSQL parses JSON at ~9 µs a row. `inputs` reads and writes them as one dict.
    """

    # Decisions are append-only records of rows that are never deleted either (households, file versions:
    # no delete path, PROTECT everywhere): the references are not re-checked by a database trigger per
    # row, which costs more than the rest of a million-row batch (docs/decisions/0005).
    household = models.ForeignKey(
        "households.Household",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_decisions",
        db_constraint=False,
    )
    file_version = models.ForeignKey(
        "households.FileVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    # The catalogue product (products.Product.code) the decision is for; its terms capped the limit.
    product_code = models.CharField(max_length=32, default="xinedai")
    mode = models.CharField(max_length=20, choices=IntakeMode.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    score = models.IntegerField(null=True, blank=True)
    grade = models.CharField(max_length=16, blank=True)
    limit_fen = models.BigIntegerField()
    binding = models.CharField(max_length=32)
    reasons = models.JSONField(default=list)
    age = models.IntegerField(null=True, blank=True)
    family_size = models.IntegerField(null=True, blank=True)
    segment = models.CharField(max_length=32, blank=True)
    annual_income_yuan = models.BigIntegerField(null=True, blank=True)
    disposable_income_yuan = models.BigIntegerField(null=True, blank=True)
    net_assets_yuan = models.BigIntegerField(null=True, blank=True)
    debt_ratio_pct = models.IntegerField(null=True, blank=True)
    overdue_count_24m = models.IntegerField(null=True, blank=True)
    inquiries_6m = models.IntegerField(null=True, blank=True)
    existing_lines = models.IntegerField(null=True, blank=True)
    current_overdue_yuan = models.BigIntegerField(null=True, blank=True)
    exposure_fen = models.BigIntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # References to configuration rows that are never deleted (PROTECT, no delete path) are checked by
    # the application, not by per-row database triggers (docs/decisions/0005).
    score_model = models.ForeignKey(
        ScoreModel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    strategy = models.ForeignKey(
        LimitStrategy, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    source = models.CharField(max_length=16, default="api")  # api | page | batch
    created_at = models.DateTimeField()  # read per household (credit.access), never searched bank-wide
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"decision {self.pk}: {self.limit_fen} fen ({self.binding})"

    @property
    def inputs(self) -> dict[str, Any]:
        """Everything the decision used, as one dict: the typed inputs that are set, then the details."""
        out: dict[str, Any] = {}
        for name in INPUT_COLUMNS:
            value = getattr(self, name)
            if value is not None and not (name == "segment" and value == ""):
                out[name] = value
        out.update(self.details or {})
        return out

    @inputs.setter
    def inputs(self, values: dict[str, Any]) -> None:
        for name, value in self.input_fields(values).items():
            setattr(self, name, value)

    @staticmethod
    def input_fields(values: dict[str, Any]) -> dict[str, Any]:
        """The model fields of a decision's inputs: `CreditDecision(**CreditDecision.input_fields(inputs))`."""
        details = dict(values)
        fields: dict[str, Any] = {}
        for name in INPUT_COLUMNS:
            value = details.get(name)
            if isinstance(value, str) if name == "segment" else type(value) is int:
                fields[name] = details.pop(name)
        return {**fields, "details": details}


# An expired line that still has loans on it: its loans run on, it holds what is owed on it toward the
# per-customer caps, and the annual re-review renews it in place (docs/decisions/0012).
EXPIRED_WITH_LOANS = models.Q(status=LineStatus.EXPIRED, used_fen__gt=0)


class CreditLine(models.Model):
    """A credit line (授信) of a household, its head the borrower of record. Drawn repeatedly."""

    # Households are never deleted (no delete path; PROTECT from every table): the reference is not
    # re-checked by a database trigger per line, which costs a batch more than the lines themselves
    # (docs/decisions/0005).
    household = models.ForeignKey(
        "households.Household", on_delete=models.PROTECT, related_name="credit_lines", db_constraint=False
    )
    # The catalogue product (products.Product.code, stable); "xinedai" is the base 信e贷 product.
    product_code = models.CharField(max_length=32, default="xinedai")
    limit_fen = models.BigIntegerField()
    used_fen = models.BigIntegerField(default=0)
    intake_mode = models.CharField(max_length=20, choices=IntakeMode.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=LineStatus.choices, default=LineStatus.PENDING)
    # A decision row is never deleted (append-only): not re-checked by a trigger per line (decision 0005).
    decision = models.ForeignKey(
        CreditDecision, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    granted_at = models.DateTimeField()
    expires_on = models.DateField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        ordering = ["-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "product_code"],
                condition=models.Q(status__in=LIVE_LINE_STATUSES),
                name="one_live_line_per_household_product",
            ),
            models.CheckConstraint(
                condition=models.Q(used_fen__gte=0) & models.Q(used_fen__lte=models.F("limit_fen")),
                name="line_used_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return f"line {self.pk}: {self.limit_fen} fen ({self.status})"

    @property
    def available_fen(self) -> int:
        return self.limit_fen - self.used_fen


class OfflineApplication(models.Model):
    """An offline-approval case (线下审批、线上放款): an account manager submits a household, a credit
    officer reviews the file, the model's suggestion and the documents, then approves or rejects.

    The submitter can never review their own case (maker ≠ checker). An approval grants the line in
    the same transaction and keeps the decision and the line it produced.
    """

    household = models.ForeignKey("households.Household", on_delete=models.PROTECT, related_name="offline_applications")
    product_code = models.CharField(_("product"), max_length=32, default="xinedai")
    requested_limit_fen = models.BigIntegerField(_("requested limit"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.COMBINED)
    note = models.CharField(_("note"), max_length=300, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(db_index=True)
    # The model's suggestion computed at submission; null when no model or strategy was active then.
    suggestion = models.ForeignKey(CreditDecision, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED, db_index=True
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    approved_limit_fen = models.BigIntegerField(_("approved limit"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    decision = models.ForeignKey(CreditDecision, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(CreditLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "product_code"],
                condition=models.Q(status="submitted"),
                name="one_open_application_per_product",
            ),
            models.CheckConstraint(condition=models.Q(requested_limit_fen__gt=0), name="application_limit_positive"),
        ]
        permissions = [("review_application", "Can review offline applications and change alerts")]

    def __str__(self) -> str:
        return f"application {self.pk}: {self.requested_limit_fen} fen ({self.status})"


class ChangeAlert(models.Model):
    """A key-information change alert (the case study's 虚增授信额度 risk): a household's key figures
    moved sharply since the file version its live line was granted on, without a new supporting
    document. Until a reviewer accepts it, decisions on that file do not raise the limit.
    """

    household = models.ForeignKey("households.Household", on_delete=models.PROTECT, related_name="change_alerts")
    from_version = models.ForeignKey("households.FileVersion", on_delete=models.PROTECT, related_name="+")
    to_version = models.ForeignKey("households.FileVersion", on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(CreditLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decision = models.ForeignKey(CreditDecision, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    items = models.JSONField(default=list)  # credit.rules.change_guard items: field, before, after, delta
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN, db_index=True)
    raised_at = models.DateTimeField(db_index=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    outcome_note = models.CharField(_("outcome note"), max_length=500, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["household"], condition=models.Q(status="open"), name="one_open_change_alert_per_household"
            ),
        ]

    def __str__(self) -> str:
        return f"change alert {self.pk} ({self.status})"
