"""`xinedai eod --date YYYY-MM-DD [--through YYYY-MM-DD]`: run the day-end batch for a business date (or
each date of a range), resuming a date a crash left unfinished; a date already done does nothing."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xinedai.core.errors import BusinessError
from xinedai.servicing import eod


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{option}: {exc} (expected YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = (
        "Run the day-end batch (accrual, overdue, penalty, classification, line expiry, snapshot) for a business date."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", required=True, help="the business date to close, YYYY-MM-DD")
        parser.add_argument("--through", help="then every following date up to this one, YYYY-MM-DD")
        parser.add_argument("--quiet", action="store_true", help="one line per date, no step lines")

    def handle(self, *args: Any, **opts: Any) -> None:
        first = _date(opts["date"], "--date")
        last = _date(opts["through"], "--through") if opts["through"] else first
        if last < first:
            raise CommandError("--through is before --date")
        on = first
        while on <= last:
            self.run_one(on, quiet=opts["quiet"])
            on += dt.timedelta(days=1)

    def run_one(self, on: dt.date, *, quiet: bool) -> None:
        started = time.perf_counter()
        try:
            result = eod.run(on)
        except BusinessError as exc:
            raise CommandError(f"{on}: {exc.message_en} [{exc.code}]") from exc
        if result.already_done:
            self.stdout.write(f"{on}: already done, nothing to do")
            return
        if result.resumed_after:
            self.stdout.write(f"{on}: resumed after step '{result.resumed_after}'")
        if not quiet:
            for step in result.steps:
                figures = ", ".join(f"{k}={v}" for k, v in step.counts.items() if k != "seconds")
                self.stdout.write(f"  {step.step:<9} {step.seconds:7.2f} s  {figures}")
        self.stdout.write(f"{on}: done in {time.perf_counter() - started:.2f} s")
