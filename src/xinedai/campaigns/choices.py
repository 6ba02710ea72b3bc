"""Campaign, campaign-household and objection statuses: value, label (Chinese via translation), badge colour."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CampaignStatus(models.TextChoices):
    COLLECTING = "collecting", _("Collecting files")
    REVIEWING = "reviewing", _("Committee review")
    POSTED = "posted", _("Public posting")
    SCORED = "scored", _("Pre-approved")
    ACTIVATED = "activated", _("Activated")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_CAMPAIGN_STATUSES = (
    CampaignStatus.COLLECTING,
    CampaignStatus.REVIEWING,
    CampaignStatus.POSTED,
    CampaignStatus.SCORED,
)
CAMPAIGN_BADGE = {
    "collecting": "gray",
    "reviewing": "blue",
    "posted": "amber",
    "scored": "teal",
    "activated": "green",
    "cancelled": "red",
}


class HouseholdStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting committee review")
    APPROVED = "approved", _("Approved by the committee")
    VETOED = "vetoed", _("Vetoed by the committee")
    EXCLUDED = "excluded", _("Objection upheld")
    POSTED = "posted", _("Pre-approved, posted")
    DECLINED = "declined", _("No limit granted")
    EXISTING_LINE = "existing_line", _("Already has a line")
    ACTIVATED = "activated", _("Line activated")
    REVOKED = "revoked", _("Line revoked")


# Households that have been through scoring (whatever its outcome); a re-run never touches them again.
SCORED_STATUSES = (
    HouseholdStatus.POSTED,
    HouseholdStatus.DECLINED,
    HouseholdStatus.EXISTING_LINE,
    HouseholdStatus.ACTIVATED,
    HouseholdStatus.REVOKED,
)
HOUSEHOLD_BADGE = {
    "pending": "gray",
    "approved": "blue",
    "vetoed": "red",
    "excluded": "red",
    "posted": "amber",
    "declined": "gray",
    "existing_line": "indigo",
    "activated": "green",
    "revoked": "red",
}


class ReviewResult(models.TextChoices):
    APPROVE = "approve", _("Approve")
    VETO = "veto", _("Veto")


class Resolution(models.TextChoices):
    UPHELD = "upheld", _("Upheld")
    DISMISSED = "dismissed", _("Dismissed")


RESOLUTION_BADGE = {"": "amber", "upheld": "red", "dismissed": "green"}


class ScoringState(models.TextChoices):
    IDLE = "idle", _("Not run")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


POSTING_DAYS = 7  # the usual 公示 period; the last day counts (starts_on + 6)
