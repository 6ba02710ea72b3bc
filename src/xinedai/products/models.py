"""Products: the catalogue (one row per product), its versions (terms, maker ≠ checker) and the LPR table."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import rules
from .choices import GuaranteeType, LprTenor, RateKind, VersionStatus


class Product(models.Model):
    """A credit product the bank sells (信e贷 or one of its variants): its stable code and its name.

    Everything that moves money or limits lives in ProductVersion and changes only with a second approver.
    """

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=60)
    family = models.CharField(_("product family"), max_length=32, default="xinedai", db_index=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["family", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class ProductVersion(models.Model):
    """One version of a product's terms. Proposed by one person; in force only once another approves it.

    Terms are never edited after the proposal: a change is a new version. An approved version stays in
    force until an approved version with a later start date supersedes it (rules.effective_index).
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=VersionStatus.choices, default=VersionStatus.PROPOSED)
    guarantee_type = models.CharField(max_length=16, choices=GuaranteeType.choices)
    intake_modes = models.JSONField(default=list)
    channels = models.JSONField(default=list)
    entry_points = models.JSONField(default=list)
    min_amount_fen = models.BigIntegerField()
    max_amount_fen = models.BigIntegerField()
    min_term_months = models.PositiveSmallIntegerField()
    max_term_months = models.PositiveSmallIntegerField()
    repayment_methods = models.JSONField(default=list)
    rate_kind = models.CharField(max_length=16, choices=RateKind.choices)
    annual_rate = models.DecimalField(max_digits=8, decimal_places=6, null=True, blank=True)
    lpr_tenor = models.CharField(max_length=4, choices=LprTenor.choices, blank=True)
    spread_bp = models.IntegerField(null=True, blank=True)
    segments = models.JSONField(default=list, blank=True)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    proposed_at = models.DateTimeField()
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["product", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="one_number_per_product_version"),
            models.CheckConstraint(
                condition=models.Q(min_amount_fen__gt=0) & models.Q(min_amount_fen__lte=models.F("max_amount_fen")),
                name="product_amount_range",
            ),
            # Belt and braces behind rules.check_terms: no version ever stored above the combined cap.
            models.CheckConstraint(
                condition=models.Q(max_amount_fen__lte=rules.COMBINED_CAP_FEN), name="product_amount_cap"
            ),
            models.CheckConstraint(
                condition=models.Q(min_term_months__gte=1) & models.Q(min_term_months__lte=models.F("max_term_months")),
                name="product_term_range",
            ),
            models.CheckConstraint(
                condition=(models.Q(rate_kind="fixed") & models.Q(annual_rate__isnull=False))
                | (models.Q(rate_kind="lpr_spread") & models.Q(spread_bp__isnull=False) & ~models.Q(lpr_tenor="")),
                name="product_rate_given",
            ),
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True) | models.Q(effective_to__gte=models.F("effective_from")),
                name="product_dates_ordered",
            ),
        ]
        permissions = [
            ("propose_productversion", "Can propose a product or a change of its terms"),
            ("approve_productversion", "Can approve or reject a proposed product version"),
        ]

    def __str__(self) -> str:
        return f"{self.product.code} v{self.version} ({self.status})"

    def terms(self) -> rules.ProductTerms:
        return rules.ProductTerms(
            guarantee_type=self.guarantee_type,
            intake_modes=tuple(self.intake_modes),
            channels=tuple(self.channels),
            entry_points=tuple(self.entry_points),
            min_amount_fen=self.min_amount_fen,
            max_amount_fen=self.max_amount_fen,
            min_term_months=self.min_term_months,
            max_term_months=self.max_term_months,
            repayment_methods=tuple(self.repayment_methods),
            rate_kind=self.rate_kind,
            annual_rate=Decimal(self.annual_rate) if self.annual_rate is not None else None,
            lpr_tenor=self.lpr_tenor,
            spread_bp=self.spread_bp,
            segments=tuple(self.segments),
            effective_from=self.effective_from,
            effective_to=self.effective_to,
        )

    @staticmethod
    def fields_of(terms: rules.ProductTerms) -> dict[str, Any]:
        values = terms.as_dict()
        for name in rules.LIST_FIELDS:
            values[name] = list(values[name])
        return values

    def covers(self, on: dt.date) -> bool:
        return rules.covers(self.terms(), on)


class LprRate(models.Model):
    """The Loan Prime Rate published by the National Interbank Funding Center, from the date it applies."""

    tenor = models.CharField(max_length=4, choices=LprTenor.choices)
    effective_on = models.DateField()
    rate = models.DecimalField(max_digits=7, decimal_places=6)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["tenor", "-effective_on"]
        constraints = [
            models.UniqueConstraint(fields=["tenor", "effective_on"], name="one_lpr_per_tenor_and_date"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="lpr_positive"),
        ]

    def __str__(self) -> str:
        return f"LPR {self.tenor} {self.effective_on}: {self.rate}"
