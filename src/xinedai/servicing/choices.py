"""Servicing kinds and statuses, defined once: the five categories, business-day states, the batch's steps."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class RiskClass(models.IntegerChoices):
    """The five-category classification (商业银行金融资产风险分类办法, 2023). Stored as a rank, 1 (best) to
    5 (worst), so that "the worse of two" is a MAX in SQL and a downgrade is a larger number."""

    NORMAL = 1, pgettext_lazy("five-category", "Normal")
    SPECIAL_MENTION = 2, pgettext_lazy("five-category", "Special mention")
    SUBSTANDARD = 3, pgettext_lazy("five-category", "Substandard")
    DOUBTFUL = 4, pgettext_lazy("five-category", "Doubtful")
    LOSS = 5, pgettext_lazy("five-category", "Loss")


RISK_BADGE = {1: "green", 2: "amber", 3: "orange", 4: "red", 5: "gray"}
# Non-performing loans (不良贷款): substandard, doubtful and loss.
NPL_CLASSES = (RiskClass.SUBSTANDARD, RiskClass.DOUBTFUL, RiskClass.LOSS)


# The 2023 rules (商业银行金融资产风险分类办法, CBIRC/PBOC order 2023 No. 1, in force from 2023-07-01):
# (class, days past due to exceed). Seeded by migration 0002 and put back after a test flush (apps.py).
RULES_2023_EFFECTIVE_ON = "2023-07-01"
RULES_2023_SOURCE = "商业银行金融资产风险分类办法（2023年第1号令）"
RULES_2023: tuple[tuple[int, int], ...] = (
    (RiskClass.SPECIAL_MENTION, 0),
    (RiskClass.SUBSTANDARD, 90),
    (RiskClass.DOUBTFUL, 270),
    (RiskClass.LOSS, 360),
)


class DayStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")


class Step(models.TextChoices):
    """The day-end batch's steps, in the order they run; each is one transaction."""

    ACCRUAL = "accrual", _("Interest accrual")
    OVERDUE = "overdue", _("Due and overdue detection")
    NON_ACCRUAL = "non_accrual", _("Non-accrual transfer")
    PENALTY = "penalty", _("Penalty interest")
    CLASSIFY = "classify", _("Five-category classification")
    LINES = "lines", _("Credit line expiry")
    SNAPSHOT = "snapshot", _("Daily portfolio snapshot")


STEPS: tuple[str, ...] = tuple(Step.values)


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


REQUEST_BADGE = {"pending": "amber", "approved": "green", "rejected": "red"}


class ChangeCause(models.TextChoices):
    """Why a loan's classification changed: the batch by days past due, or an approved manual decision."""

    DAYS_PAST_DUE = "dpd", _("Days past due")
    MANUAL = "manual", _("Manual classification")
