"""`xinedai credit-renew [--date YYYY-MM-DD] [--within DAYS] [--product CODE]`: the annual re-review of the
lines the model granted (run daily before the day-end batch, or weekly with a wider window)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xinedai.core.dates import business_today
from xinedai.core.errors import BusinessError
from xinedai.credit.batch import renew_due_lines
from xinedai.credit.models import CreditLine


class Command(BaseCommand):
    help = (
        "Decide again, with the active model and strategy, the model-granted lines that expire within the "
        "window or have expired with loans on them; renew or replace them, and list those left for a person."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="business date (default: today in Asia/Shanghai)")
        parser.add_argument("--within", type=int, default=30, help="days ahead a line's expiry falls (default 30)")
        parser.add_argument("--product", default="xinedai", help="catalogue product code (default xinedai)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            as_of = dt.date.fromisoformat(options["date"]) if options["date"] else business_today()
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from exc
        if not 0 <= options["within"] <= 366:
            raise CommandError("--within: between 0 and 366 days")

        def progress(step: str, done: int, total: int) -> None:
            if sys.stderr.isatty() or done == total:
                self.stderr.write(f"\r{step}: {done:,} / {total:,}", ending="\n" if done == total else "")

        try:
            result = renew_due_lines(
                None, as_of=as_of, within_days=options["within"], product_code=options["product"], progress=progress
            )
        except BusinessError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{as_of}: {result.due:,} lines due · {result.replaced:,} undrawn granted anew · "
            f"{result.renewed:,} drawn renewed in place · {len(result.held):,} left for review"
        )
        if result.held:
            codes = dict(
                CreditLine.objects.filter(pk__in=[pk for pk, _ in result.held]).values_list("pk", "household__code")
            )
            for pk, why in result.held:
                self.stdout.write(f"  line {pk} ({codes.get(pk, '?')}): {why}")
