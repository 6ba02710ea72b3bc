"""Ledger app: the double-entry journal every movement of money is posted to (issue 4)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "xinedai.ledger"
    verbose_name = _("Ledger")
