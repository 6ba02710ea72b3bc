"""Credit kinds and statuses, defined once: value, label (Chinese via translation), badge colour."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ModelStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")
    REJECTED = "rejected", _("Rejected")


MODEL_BADGE = {"draft": "amber", "active": "green", "retired": "gray", "rejected": "red"}


class StrategyStatus(models.TextChoices):
    DRAFT = "draft", _("Awaiting approval")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")
    REJECTED = "rejected", _("Rejected")


class IntakeMode(models.TextChoices):
    OFFLINE_APPROVAL = "offline_approval", _("Offline approval, online disbursement")
    MODEL = "model", _("Model calculation")
    SMALL_CREDIT = "small_credit", _("Small-amount credit")


class Channel(models.TextChoices):
    ONLINE = "online", _("Pure online")
    COMBINED = "combined", _("Online and offline")


class LineStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    POSTED = "posted", _("Posted for public review")
    ACTIVE = "active", _("Active")
    FROZEN = "frozen", _("Frozen")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


LIVE_LINE_STATUSES = (LineStatus.PENDING, LineStatus.POSTED, LineStatus.ACTIVE, LineStatus.FROZEN)
LINE_BADGE = {
    "pending": "gray",
    "posted": "amber",
    "active": "green",
    "frozen": "blue",
    "expired": "gray",
    "revoked": "red",
}

BINDING_LABELS = {
    "product_cap": _("Product cap"),
    "channel_cap": _("Channel cap"),
    "net_assets": _("Net assets"),
    "disposable_income": _("Disposable income"),
    "grade_cap": _("Grade cap"),
    "exposure": _("Existing exposure"),
    "decline": _("Score below the lowest grade"),
}
