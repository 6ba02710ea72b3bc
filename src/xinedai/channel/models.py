"""Channel: the credentials of channel servers, the idempotency records of their writes, and what customers
applied for and accepted through them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import CHANNEL_CHOICES, ApplicationOutcome, IdempotencyStatus


class ChannelClient(models.Model):
    """A credential of a channel server (mobile banking, WeChat). Only a SHA-256 of the secret is stored;
    the secret is shown once. A channel may hold two live credentials while it rotates them."""

    channel = models.CharField(_("channel"), max_length=16, choices=CHANNEL_CHOICES)
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["channel", "-created_at"]
        verbose_name = _("channel credential")
        verbose_name_plural = _("channel credentials")

    def __str__(self) -> str:
        return f"{self.channel} {self.prefix}… ({self.name})"


class IdempotencyRecord(models.Model):
    """One channel write, by its Idempotency-Key: who claimed it, the request's fingerprint and, once done,
    the response the channel was given — replayed as it was for every retry of the same request.

    The key is the channel's (not one credential's), so retries survive a credential rotation.
    """

    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    key = models.CharField(max_length=100)
    # SHA-256 of method, path, customer ID number and the canonical JSON body (channel.idempotency).
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=200)
    client = models.ForeignKey(ChannelClient, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=IdempotencyStatus.choices, default=IdempotencyStatus.IN_FLIGHT)
    # Raised when a stale in-flight claim is taken over; only the attempt holding the number may finish.
    attempt = models.PositiveIntegerField(default=1)
    claimed_at = models.DateTimeField()
    # PostgreSQL: the backend process of the connection that claimed the key, which runs the work in a
    # transaction of its own; once that process is gone, the work has rolled back (channel.idempotency).
    holder_pid = models.PositiveIntegerField(null=True, blank=True)
    holder_started_at = models.DateTimeField(null=True, blank=True)  # that process's start (ids are reused)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The exact bytes sent (JSON text, not a JSON column: jsonb would reorder the keys of a replay).
    response_body = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["channel", "key"], name="one_record_per_channel_key")]

    def __str__(self) -> str:
        return f"{self.channel}:{self.key} ({self.status})"


class ChannelApplication(models.Model):
    """A customer's application through a channel and where it went: a model or small-credit decision (and
    the line it granted), or an offline application for an account manager and a credit officer. Also
    what the per-customer daily application limit counts."""

    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    client = models.ForeignKey(ChannelClient, on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey("households.Household", on_delete=models.PROTECT, related_name="+")
    product_code = models.CharField(max_length=32)
    mode = models.CharField(max_length=20)  # credit.choices.IntakeMode
    outcome = models.CharField(max_length=16, choices=ApplicationOutcome.choices)
    requested_limit_fen = models.BigIntegerField(null=True, blank=True)
    decision = models.ForeignKey(
        "credit.CreditDecision", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    line = models.ForeignKey("credit.CreditLine", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    offline_application = models.ForeignKey(
        "credit.OfflineApplication", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    applied_on = models.DateField()  # the business date: the daily limit counts per business date
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["household", "applied_on"], name="channel_app_household_day")]

    def __str__(self) -> str:
        return f"application {self.pk}: {self.product_code} {self.mode} ({self.outcome})"


class ContractAcceptance(models.Model):
    """A customer's acceptance of a loan contract for a credit line: which product and line, which contract
    version and the SHA-256 of the exact text shown, when, and through which channel. A drawdown through a
    channel needs one for its line."""

    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    client = models.ForeignKey(ChannelClient, on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey("households.Household", on_delete=models.PROTECT, related_name="+")
    product_code = models.CharField(max_length=32)
    line = models.ForeignKey("credit.CreditLine", on_delete=models.PROTECT, related_name="+")
    contract_version = models.CharField(max_length=40)
    text_sha256 = models.CharField(max_length=64)
    accepted_at = models.DateTimeField()

    class Meta:
        ordering = ["-accepted_at", "-id"]
        indexes = [models.Index(fields=["household", "line"], name="channel_accept_household_line")]

    def __str__(self) -> str:
        return f"acceptance {self.pk}: line {self.line_id} {self.contract_version}"
