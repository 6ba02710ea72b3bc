"""Ledger app: the double-entry journal every movement of money is posted to (issue 4)."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "xinedai.ledger"
    verbose_name = _("Ledger")

    def ready(self) -> None:
        # Migration 0002 seeds the chart; a flushed test database (transactional tests) gets it back
        # here, as flush re-sends post_migrate. Only missing accounts are added, nothing is changed.
        post_migrate.connect(_sync_chart, sender=self, dispatch_uid="xinedai.ledger.sync_chart")


def _sync_chart(sender, **kwargs):  # type: ignore[no-untyped-def]
    from .services import sync_chart

    sync_chart(using=kwargs.get("using", "default"))
