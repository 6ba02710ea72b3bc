"""Credit: scorecard model versions (trained, approved by a second person, one active per family)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import ModelStatus


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
    trained_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")

    class Meta:
        ordering = ["family", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["family", "version"], name="one_number_per_model_version"),
            models.UniqueConstraint(fields=["family"], condition=models.Q(status="active"),
                                    name="one_active_model_per_family"),
        ]
        permissions = [("approve_scoremodel", "Can approve and activate a scorecard model")]

    def __str__(self) -> str:
        return f"{self.family} v{self.version} ({self.status})"
