"""`xinedai products-seed`: create the case study's product catalogue and the LPR history (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from xinedai.products.services import seed_catalogue


class Command(BaseCommand):
    help = "Create the 信e贷 product catalogue (approved versions) and the LPR history; safe to re-run."

    def handle(self, *args: Any, **opts: Any) -> None:
        with transaction.atomic():
            created = seed_catalogue()
        names = ", ".join(p.code for p in created) or "none (already seeded)"
        self.stdout.write(f"products created: {len(created)}: {names}")
