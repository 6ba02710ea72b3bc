"""Credit kinds and statuses, defined once: value, label (Chinese via translation), badge colour."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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
    # small credit (小额信用)
    "small_cap": _("Small-credit cap"),
    "small_income": _("Small-credit income multiple"),
    "small_refused": _("Small-credit rules not met"),
    # key-information change guard (虚增授信额度): the limit is held at the current line's
    "change_guard": _("Key-information change guard"),
    # offline approval: the credit officer's decision
    "officer": _("Credit officer's decision"),
}

# Why a small-credit request was refused (credit.rules.small_credit_limits reason codes).
SMALL_REFUSAL_LABELS = {
    "current_overdue": _("Amount overdue now"),
    "overdue_history": _("Too many overdue times in 24 months"),
    "three_elements_incomplete": _("Three identity elements incomplete"),
    "below_minimum": _("Below the minimum limit"),
}


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Awaiting review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


APPLICATION_BADGE = {"submitted": "amber", "approved": "green", "rejected": "red", "withdrawn": "gray"}


class AlertStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("status", "Open")
    ACCEPTED = "accepted", _("Accepted: higher limit allowed")
    REJECTED = "rejected", _("Rejected: limit kept")


ALERT_BADGE = {"open": "amber", "accepted": "green", "rejected": "red"}

# File figures the change guard watches (credit.rules.GUARDED), labelled for pages.
GUARDED_LABELS = {
    "total_assets_fen": _("Total assets"),
    "annual_income_fen": _("Annual income"),
    "total_liabilities_fen": _("Total liabilities"),
}


# Scorecard variables as staff read them (reason codes on the decision pages).
FEATURE_LABELS = {
    "age": _("Age"),
    "family_size": _("Family size"),
    "segment": _("Segment"),
    "annual_income_yuan": _("Annual income"),
    "disposable_income_yuan": _("Disposable income"),
    "net_assets_yuan": _("Net assets"),
    "debt_ratio_pct": _("Debt ratio"),
    "overdue_count_24m": _("Overdue times in 24 months"),
    "inquiries_6m": _("Credit inquiries in 6 months"),
    "existing_lines": _("Existing credit lines"),
    "current_overdue_yuan": _("Currently overdue"),
}
