"""Channel codes, idempotency statuses and application outcomes, defined once.

The channel codes are the catalogue's entry points (products.choices.EntryPoint) that a server calls
from — the outlet counter is staff work, not a channel client — so a product's `entry_points` say
directly which channel may sell it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from xinedai.products.choices import EntryPoint

CHANNELS = (EntryPoint.MOBILE_BANKING, EntryPoint.WECHAT)
CHANNEL_CHOICES = [(c.value, c.label) for c in CHANNELS]
CHANNEL_CODES = frozenset(c.value for c in CHANNELS)


class IdempotencyStatus(models.TextChoices):
    IN_FLIGHT = "in_flight", _("In flight")
    DONE = "done", _("Done")


class ApplicationOutcome(models.TextChoices):
    GRANTED = "granted", _("Line granted")
    DECLINED = "declined", _("Declined by the model")
    DECIDED = "decided", _("Decided: an account manager grants the line")
    SUBMITTED = "submitted", _("Submitted for offline approval")
