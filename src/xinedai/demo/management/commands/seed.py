"""`xinedai seed --households N [--seed S] [--as-of YYYY-MM-DD] [--history-days D]`: build the demo bank and
its households, and optionally its lending history."""

from __future__ import annotations

import datetime as dt
import sys
import unicodedata

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import translation

from xinedai.core.dates import business_today
from xinedai.demo.lending import summary_lines
from xinedai.demo.seeding import seed_bank, seed_lending_history


def _pad(text: str, width: int) -> str:
    """Left-align in a terminal column: CJK characters take two cells."""
    cells = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - cells)


class Command(BaseCommand):
    help = "Seed the demo bank (org tree, role accounts) and top it up to N households. Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--households", type=int, default=20000, help="households the bank should have")
        parser.add_argument("--seed", type=int, default=20220630, help="random seed (same seed, same data)")
        parser.add_argument(
            "--as-of", default=None, help="business date the data is relative to (default: today in Asia/Shanghai)"
        )
        parser.add_argument(
            "--history-days",
            type=int,
            default=0,
            help="days of lending history before --as-of to run through the lending services and day-end batch",
        )

    def handle(self, *args, **opts) -> None:  # type: ignore[no-untyped-def]
        if opts["households"] < 0:
            raise CommandError("--households must be 0 or more")
        if opts["history_days"] < 0:
            raise CommandError("--history-days must be 0 or more")
        as_of = business_today()
        if opts["as_of"]:
            try:
                as_of = dt.date.fromisoformat(opts["as_of"])
            except ValueError:
                raise CommandError("--as-of must be a date, YYYY-MM-DD") from None
        last: dict[str, int] = {}

        def progress(phase: str, done: int, total: int) -> None:
            step = done * 20 // max(total, 1)  # a line every 5%
            if last.get(phase) != step:
                last[phase] = step
                sys.stderr.write(f"{phase:<10} {done:>9}/{total} {done * 100 // max(total, 1):3d}%\n")
                sys.stderr.flush()

        # One transaction for the whole bank: a failure leaves the database as it was. The lending history
        # then commits day by day, as the day-end batch does (seeding.seed_lending_history).
        with transaction.atomic():
            result = seed_bank(households=opts["households"], seed=opts["seed"], progress=progress, as_of=as_of)
        if opts["history_days"]:
            result.history = seed_lending_history(
                seed=opts["seed"], as_of=as_of, days=opts["history_days"], progress=progress
            )

        out = self.stdout
        out.write("")
        out.write(f"{'username':<10} {'password':<14} {_pad('role', 18)} scope")
        for username, password, role, scope in result.accounts:
            out.write(f"{username:<10} {password:<14} {_pad(role, 18)} {scope}")
        out.write("")
        if result.households_created:
            rate = result.households_created / max(result.seconds, 1e-9)
            out.write(
                f"created {result.households_created} households, {result.members_created} members, "
                f"{result.file_versions_created} file versions in {result.seconds:.1f} s "
                f"({rate:,.0f} households/s), as of {result.as_of}"
            )
        else:
            out.write(
                f"the bank already has {opts['households']} or more households: nothing created "
                f"({result.seconds:.1f} s)"
            )
        if result.history:
            with translation.override(settings.LANGUAGE_CODE):  # class names in the bank's language
                for line in summary_lines(result.history):
                    out.write(line)
