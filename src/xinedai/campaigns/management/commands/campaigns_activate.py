"""`xinedai campaigns-activate [--date YYYY-MM-DD] [--campaign ID]`: activate lines of campaigns whose
posting period has ended (run daily after the business day closes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from xinedai.campaigns import services
from xinedai.campaigns.choices import CampaignStatus, HouseholdStatus
from xinedai.campaigns.models import Campaign, CampaignHousehold
from xinedai.core.dates import business_today
from xinedai.core.errors import BusinessError


class Command(BaseCommand):
    help = "Activate the posted lines of village campaigns whose posting period has ended."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="business date (default: today in Asia/Shanghai)")
        parser.add_argument("--campaign", type=int, help="only this campaign")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            as_of = dt.date.fromisoformat(options["date"]) if options["date"] else business_today()
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from exc
        qs = Campaign.objects.filter(
            status__in=(CampaignStatus.SCORED, CampaignStatus.ACTIVATED), posting_ends_on__lt=as_of
        ).order_by("pk")
        if options["campaign"]:
            qs = qs.filter(pk=options["campaign"])
        # An activated campaign only comes back when it has posted lines left (objections resolved since).
        qs = qs.exclude(
            status=CampaignStatus.ACTIVATED,
        ) | qs.filter(
            status=CampaignStatus.ACTIVATED,
            pk__in=CampaignHousehold.objects.filter(status=HouseholdStatus.POSTED).values("campaign_id"),
        )
        total = 0
        for campaign in qs.distinct().order_by("pk"):
            try:
                with transaction.atomic():
                    n = services.activate(None, campaign, as_of=as_of)
            except BusinessError as exc:
                self.stderr.write(f"{campaign.pk} {campaign.name}: {exc.message}")
                continue
            total += n
            self.stdout.write(f"{campaign.pk} {campaign.name}: {n}")
        self.stdout.write(f"activated {total} lines as of {as_of}")
