"""`xinedai ledger verify` (prove the ledger, exit 1 on any difference) and `xinedai ledger trial-balance`."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xinedai.core.money import format_yuan
from xinedai.ledger import queries, verify


class Command(BaseCommand):
    help = "Verify the double-entry ledger and the registered reconciliations, or print the trial balance."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{verify,trial-balance}")
        check = sub.add_parser(
            "verify", help="check every entry, reversal and registered reconciliation; exit 1 on any difference"
        )
        check.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
        tb = sub.add_parser("trial-balance", help="debit and credit totals of every account")
        tb.add_argument("--on", help="as of the end of this business date YYYY-MM-DD (default: everything)")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "verify":
            self.verify(quiet=opts["quiet"])
        else:
            self.trial_balance(opts["on"])

    def verify(self, *, quiet: bool) -> None:
        def progress(done: int, total: int, title: str) -> None:
            if quiet:
                return
            if done < total:
                self.stderr.write(f"[{done + 1}/{total}] {title}")
                self.stderr.flush()

        report = verify.run(progress=progress)
        for result in report.results:
            state = "ok" if not result.differences else f"{len(result.differences)} difference(s)"
            self.stdout.write(f"{result.name:<24} {state:<20} {result.seconds:7.2f} s  {result.title}")
        for difference in report.differences:
            self.stdout.write(f"DIFFERENCE {difference.line()}")
        summary = f"{report.entries} entries, {report.postings} postings, {len(report.results)} checks"
        if report.clean:
            self.stdout.write(f"ledger verified: {summary}, no differences")
            return
        failed = sorted({r.name for r in report.results if r.differences})
        self.stdout.write(
            f"ledger NOT verified: {summary}, {len(report.differences)} difference(s) in {', '.join(failed)}"
        )
        sys.exit(1)

    def trial_balance(self, on: str | None) -> None:
        try:
            as_of = dt.date.fromisoformat(on) if on else None
        except ValueError as exc:
            raise CommandError(f"--on: {exc}") from exc
        tb = queries.trial_balance(as_of)
        self.stdout.write(f"trial balance {'as of ' + as_of.isoformat() if as_of else '(all entries)'}")
        # The account's (Chinese, double-width) name goes last, so that the figures line up.
        self.stdout.write(f"{'code':<8} {'debit':>20} {'credit':>20} {'balance':>20}  account")
        for row in tb.rows:
            self.stdout.write(
                f"{row.code:<8} {format_yuan(row.debit_fen):>20} {format_yuan(row.credit_fen):>20}"
                f" {format_yuan(row.balance_fen):>20}  {row.name}"
            )
        self.stdout.write(f"{'total':<8} {format_yuan(tb.debit_fen):>20} {format_yuan(tb.credit_fen):>20}")
        self.stdout.write("balanced" if tb.balanced else "NOT balanced: debits differ from credits")
