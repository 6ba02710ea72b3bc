"""Campaigns: a village campaign, its roster snapshot with review and scoring outcome, and objections."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from xinedai.core.dates import now
from xinedai.core.masking import mask_name
from xinedai.credit.choices import Channel

from .choices import OPEN_CAMPAIGN_STATUSES, CampaignStatus, HouseholdStatus, Resolution, ScoringState

SCORING_STALE_AFTER = dt.timedelta(minutes=15)


class Campaign(models.Model):
    """A whole-village credit campaign (整村授信) for one village, from roster to activated lines.

    The order of its life is in campaigns.services. One open campaign per village at a time.
    """

    name = models.CharField(_("campaign name"), max_length=100)
    village = models.ForeignKey(
        "org.Village", on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("village")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.COLLECTING
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.COMBINED)
    posting_starts_on = models.DateField(_("posting starts"), null=True, blank=True)
    posting_ends_on = models.DateField(_("posting ends"), null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    review_started_at = models.DateTimeField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    activated_on = models.DateField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)
    # The batch job's state: kept on the row (small, committed between chunks); live counts are in
    # core.progress files, since a chunk's transaction would hide them.
    scoring_state = models.CharField(max_length=16, choices=ScoringState.choices, default=ScoringState.IDLE)
    scoring_runs = models.PositiveIntegerField(default=0)
    scoring_error = models.CharField(max_length=300, blank=True)
    scoring_updated_at = models.DateTimeField(null=True, blank=True)  # heartbeat: set per chunk

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("village campaign")
        verbose_name_plural = _("village campaigns")
        constraints = [
            models.UniqueConstraint(
                fields=["village"],
                condition=models.Q(status__in=OPEN_CAMPAIGN_STATUSES),
                name="one_open_campaign_per_village",
            ),
            models.CheckConstraint(
                condition=models.Q(posting_ends_on__isnull=True)
                | models.Q(posting_ends_on__gte=models.F("posting_starts_on")),
                name="campaign_posting_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scoring_busy(self) -> bool:
        """Queued or running, and heard from recently. A job whose worker died goes stale and may be
        started again; a second run alongside a live one would still be safe (chunks serialise on the
        campaign row and take only unscored rows), only wasteful."""
        if self.scoring_state not in (ScoringState.QUEUED, ScoringState.RUNNING):
            return False
        return self.scoring_updated_at is None or self.scoring_updated_at > now() - SCORING_STALE_AFTER


class CampaignHousehold(models.Model):
    """One household of a campaign's roster: the committee's review, then the scoring outcome.

    Rows are the roster snapshot taken when review starts. A row is marked scored (scored_at, decision,
    line) in the same transaction that wrote its decision and line, so a re-run never scores it twice.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="households")
    household = models.ForeignKey("households.Household", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=HouseholdStatus.choices, default=HouseholdStatus.PENDING)
    reviewed_on = models.DateField(_("committee review date"), null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    veto_reason = models.CharField(_("veto reason"), max_length=300, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    decision = models.ForeignKey(
        "credit.CreditDecision", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    line = models.ForeignKey("credit.CreditLine", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    limit_fen = models.BigIntegerField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["campaign", "household__code"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "household"], name="one_row_per_campaign_household"),
            models.CheckConstraint(
                condition=~models.Q(status="vetoed") | ~models.Q(veto_reason=""), name="veto_needs_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.household_id} ({self.status})"

    def masked_repr(self) -> str:
        return f"{self.campaign_id}/{self.household.masked_repr()}"


class Objection(models.Model):
    """An objection raised during public posting (公示) against a household, and how it was resolved.

    Upheld: the household gets no line (a posted line is revoked). Dismissed: it goes on as approved.
    """

    campaign_household = models.ForeignKey(CampaignHousehold, on_delete=models.PROTECT, related_name="objections")
    objector = models.CharField(_("objector"), max_length=100)
    content = models.TextField(_("content"), max_length=1000)
    raised_on = models.DateField(_("raised on"))
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.CharField(_("resolution"), max_length=16, choices=Resolution.choices, blank=True)
    resolution_note = models.CharField(_("resolution note"), max_length=300, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]

    def __str__(self) -> str:
        return f"objection {self.pk} ({self.resolution or 'open'})"

    def masked_repr(self) -> str:
        return f"objection {self.pk} by {mask_name(self.objector)}"

    @property
    def is_open(self) -> bool:
        return not self.resolution
