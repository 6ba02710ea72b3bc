"""Lending app: loans drawn on credit lines — schedules, drawdowns, repayments (issue 4)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LendingConfig(AppConfig):
    name = "xinedai.lending"
    verbose_name = _("Lending")
