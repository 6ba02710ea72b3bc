"""Servicing app: the day-end batch (`xinedai eod`) and what it keeps — accrual, overdue, classification."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ServicingConfig(AppConfig):
    name = "xinedai.servicing"
    verbose_name = _("Servicing")

    def ready(self) -> None:
        from xinedai.ledger import checks as ledger_checks

        from . import checks

        ledger_checks.register("servicing.interest_receivable", checks.interest_receivable_matches_ledger)
        ledger_checks.register("servicing.penalty_receivable", checks.penalty_receivable_matches_ledger)
        ledger_checks.register("servicing.offbook_interest", checks.offbook_interest_matches_ledger)
        ledger_checks.register("servicing.offbook_penalty", checks.offbook_penalty_matches_ledger)
        ledger_checks.register("servicing.written_off_principal", checks.written_off_principal_matches_ledger)
        # Migration 0002 seeds the 2023 thresholds; a flushed test database gets them back here (flush
        # re-sends post_migrate). Only an empty table is filled: a bank's own rows are never touched.
        post_migrate.connect(_seed_thresholds, sender=self, dispatch_uid="xinedai.servicing.seed_thresholds")


def _seed_thresholds(sender, **kwargs):  # type: ignore[no-untyped-def]
    from django.db import connections

    from .choices import RULES_2023, RULES_2023_EFFECTIVE_ON, RULES_2023_SOURCE
    from .models import ClassThreshold

    using = kwargs.get("using", "default")
    if ClassThreshold._meta.db_table not in connections[using].introspection.table_names():
        return
    if not ClassThreshold.objects.using(using).exists():
        ClassThreshold.objects.using(using).bulk_create(
            ClassThreshold(
                effective_on=RULES_2023_EFFECTIVE_ON, risk_class=c, min_days_past_due=d, source=RULES_2023_SOURCE
            )
            for c, d in RULES_2023
        )
