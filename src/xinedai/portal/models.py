"""Portal: one-time sign-in codes sent to customers' mobile numbers."""

from __future__ import annotations

from django.db import models


class OneTimeCode(models.Model):
    """A sign-in code sent to a mobile number: stored as a hash, valid for minutes, a few attempts, used once."""

    phone = models.CharField(max_length=11, db_index=True)
    code_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"code for {self.phone[:3]}****{self.phone[-4:]}"
