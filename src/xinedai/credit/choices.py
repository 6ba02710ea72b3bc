"""Credit kinds and statuses, defined once: value, label (Chinese via translation), badge colour."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ModelStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")
    REJECTED = "rejected", _("Rejected")


MODEL_BADGE = {"draft": "amber", "active": "green", "retired": "gray", "rejected": "red"}
