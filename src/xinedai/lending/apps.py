"""Lending app: loans drawn on credit lines — schedules, drawdowns, repayments (issue 4)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LendingConfig(AppConfig):
    name = "xinedai.lending"
    verbose_name = _("Lending")

    def ready(self) -> None:
        from xinedai.ledger import checks as ledger_checks

        from . import checks

        ledger_checks.register("lending.principal", checks.principal_matches_ledger)
        ledger_checks.register("lending.line_used", checks.line_used_matches_loans)
        ledger_checks.register("lending.repayment_reversals", checks.repayment_reversals_match_ledger)
