"""Households, their people, their versioned financial files, supporting documents and roster imports."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from xinedai.core.masking import mask_name
from xinedai.org.models import Village

from . import rules
from .choices import DocumentKind, ImportStatus, Relation


class Household(models.Model):
    """A household: the credit subject. It lives in a village, and so in a grid and an outlet."""

    code = models.CharField(_("household code"), max_length=24, unique=True)
    village = models.ForeignKey(Village, on_delete=models.PROTECT, related_name="households", verbose_name=_("village"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    size = models.PositiveSmallIntegerField(_("family members"), default=1)
    # Comma-delimited segment codes with leading/trailing commas (",greenhouse,breeder,") so that a
    # `contains` filter works the same on SQLite and PostgreSQL.
    segments = models.CharField(_("segments"), max_length=120, default=",", db_index=True)
    head_name = models.CharField(_("head of household"), max_length=50, db_index=True)
    three_elements_complete = models.BooleanField(_("three elements complete"), default=False, db_index=True)
    current_file = models.OneToOneField(
        "FileVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("current file"),
    )
    file_updated_at = models.DateTimeField(_("file updated"), null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("household")
        verbose_name_plural = _("households")
        permissions = [
            ("reveal_pii", "Can see full ID numbers, mobile numbers and names (audited)"),
            ("import_households", "Can import household rosters"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.head_name}"

    def masked_repr(self) -> str:
        return f"{self.code} {mask_name(self.head_name)}"

    @property
    def segment_list(self) -> list[str]:
        return [s for s in self.segments.split(",") if s]

    @staticmethod
    def pack_segments(codes: list[str]) -> str:
        return "," + ",".join(sorted(set(codes))) + "," if codes else ","


class Member(models.Model):
    """A person of a household. A resident ID number belongs to one person in one household, bank-wide."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="members")
    name = models.CharField(_("name"), max_length=50)
    id_number = models.CharField(_("resident ID number"), max_length=18, null=True, blank=True, unique=True)
    phone = models.CharField(_("mobile number"), max_length=11, null=True, blank=True)
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    is_male = models.BooleanField(null=True)

    class Meta:
        ordering = ["household", "pk"]
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            models.UniqueConstraint(
                fields=["household"], condition=models.Q(relation="head"), name="one_head_per_household"
            )
        ]

    def __str__(self) -> str:
        return self.masked_repr()

    def masked_repr(self) -> str:
        return mask_name(self.name)

    @property
    def three_elements_complete(self) -> bool:
        return rules.three_elements_complete(self.name, self.id_number, self.phone)


def _money(label: Any) -> models.BigIntegerField:
    return models.BigIntegerField(label, default=0)


class FileVersion(models.Model):
    """One saved version of a household's financial file (档案). Rows are never changed after insert."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="file_versions")
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField(db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason for change"), max_length=300)
    source = models.CharField(max_length=16, default="form")  # form | import | seed | api

    asset_house_fen = _money(_("house"))
    asset_land_fen = _money(_("land contract and lease rights"))
    asset_greenhouse_fen = _money(_("greenhouses"))
    asset_livestock_fen = _money(_("livestock"))
    asset_vehicle_fen = _money(_("vehicles"))
    asset_deposit_fen = _money(_("deposits"))
    asset_equipment_fen = _money(_("business equipment"))
    asset_other_fen = _money(_("other assets"))
    liab_bank_fen = _money(_("bank loans"))
    liab_private_fen = _money(_("private loans"))
    liab_other_fen = _money(_("other liabilities"))
    income_planting_fen = _money(_("planting income"))
    income_breeding_fen = _money(_("breeding income"))
    income_business_fen = _money(_("business income"))
    income_wages_fen = _money(_("wages"))
    income_transfer_fen = _money(_("transfers"))
    income_other_fen = _money(_("other income"))
    expense_living_fen = _money(_("living expenses"))
    expense_production_fen = _money(_("production expenses"))
    expense_other_fen = _money(_("other expenses"))
    credit_current_overdue_fen = _money(_("currently overdue"))
    credit_existing_limit_fen = _money(_("existing credit limits"))
    credit_overdue_count_24m = models.PositiveSmallIntegerField(_("overdue times in 24 months"), default=0)
    credit_inquiries_6m = models.PositiveSmallIntegerField(_("credit inquiries in 6 months"), default=0)
    credit_existing_lines = models.PositiveSmallIntegerField(_("existing credit lines"), default=0)

    total_assets_fen = models.BigIntegerField(default=0)
    total_liabilities_fen = models.BigIntegerField(default=0)
    annual_income_fen = models.BigIntegerField(default=0)
    annual_expenses_fen = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["household", "-version"]
        constraints = [models.UniqueConstraint(fields=["household", "version"], name="one_number_per_version")]
        verbose_name = _("file version")
        verbose_name_plural = _("file versions")

    def __str__(self) -> str:
        return f"{self.household_id} v{self.version}"

    def values(self) -> dict[str, int]:
        return {f: getattr(self, f) for f in rules.FILE_FIELDS + tuple(rules.TOTAL_FIELDS.values())}

    def fill_totals(self) -> None:
        for key, value in rules.totals(self.values()).items():
            setattr(self, key, value)

    @property
    def net_assets_fen(self) -> int:
        return self.total_assets_fen - self.total_liabilities_fen

    @property
    def disposable_income_fen(self) -> int:
        return self.annual_income_fen - self.annual_expenses_fen


def document_path(instance: Document, filename: str) -> str:
    return f"documents/{instance.household_id}/{instance.sha256[:2]}/{instance.sha256}{instance.extension}"


class Document(models.Model):
    """A supporting document (photo or PDF) attached to a file version, stored under MEDIA_ROOT."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="documents")
    file_version = models.ForeignKey(FileVersion, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=32, choices=DocumentKind.choices)
    dated_on = models.DateField(_("document date"))
    file = models.FileField(upload_to=document_path, max_length=255)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    extension = models.CharField(max_length=8)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.dated_on}"


class ImportJob(models.Model):
    """A roster import: the uploaded file, its progress, and row-level errors when it is rejected."""

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    original_name = models.CharField(max_length=200)
    stored_path = models.CharField(max_length=255)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    phase = models.CharField(max_length=16, default="")  # reading | validating | writing
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    imported_rows = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING)
