"""`xinedai demo`: create the database, migrate, seed the demo bank if empty, print accounts, serve."""

from __future__ import annotations

import atexit
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation

from xinedai.demo.lending import HISTORY_DAYS


class Command(BaseCommand):
    help = "Run the demo bank: migrate, seed if empty, print the demo accounts, serve on http://127.0.0.1:8000."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--households", type=int, default=20000, help="households to seed when empty")
        parser.add_argument("--seed", type=int, default=20220630)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="prepare the database and exit")
        parser.add_argument("--no-worker", action="store_true", help="do not start the background-job worker")
        parser.add_argument(
            "--history-days",
            type=int,
            default=HISTORY_DAYS,
            help="days of lending history (drawdowns, repayments, day-end batches) to seed; 0 for none",
        )

    def handle(self, *args, **opts) -> None:  # type: ignore[no-untyped-def]
        from xinedai.demo.lending import summary_lines
        from xinedai.demo.seeding import demo_accounts, seed_bank
        from xinedai.households.models import Household

        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"database: {settings.DATABASES['default']['NAME']}")
        call_command("migrate", interactive=False, verbosity=0)
        if not Household.objects.exists():
            self.stdout.write(f"seeding the demo bank ({opts['households']:,} households) …")
            started = time.monotonic()
            last = {"pct": -1}

            tty = sys.stderr.isatty()
            step = 5 if tty else 25  # a redrawn line on a terminal; a few plain lines in a log
            start = "\r" if tty else ""

            def progress(phase: str, done: int, total: int) -> None:
                pct = done * 100 // max(total, 1)
                if pct // step != last["pct"] // step or done == total:
                    last["pct"] = pct
                    sys.stderr.write(f"{start}  {phase:<12} {done:>9,}/{total:,} {pct:3d}%")
                    if done == total or not tty:
                        sys.stderr.write("\n")
                    sys.stderr.flush()

            result = seed_bank(
                households=opts["households"],
                seed=opts["seed"],
                progress=progress,
                history_days=opts["history_days"],
            )
            self.stdout.write(f"seeded in {time.monotonic() - started:.1f} s")
            if result.history:
                with translation.override(settings.LANGUAGE_CODE):  # class names in the bank's language
                    self.stdout.write("\n" + "\n".join(summary_lines(result.history)))
        with translation.override(settings.LANGUAGE_CODE):  # role names in the bank's language
            self._print_accounts(demo_accounts())
        self._print_customer(opts)
        if opts["no_serve"]:
            return
        if not opts["no_worker"]:
            worker = subprocess.Popen([sys.executable, "-m", "xinedai", "db_worker", "--interval", "1"])
            atexit.register(worker.terminate)
        from waitress import serve

        from xinedai.wsgi import application

        self.stdout.write(self.style.SUCCESS(f"\nOpen http://{opts['host']}:{opts['port']}/  (Ctrl-C to stop)"))
        serve(application, host=opts["host"], port=opts["port"], threads=8, ident="xinedai")

    def _print_customer(self, opts: dict[str, Any]) -> None:
        """A demo customer with an active line, for the customer pages (/m/): the code prints on this console."""
        from xinedai.credit.models import CreditLine

        line = (
            CreditLine.objects.filter(status="active", used_fen=0, household__members__relation="head")
            .exclude(household__members__phone__isnull=True)
            .order_by("pk")
            .first()
        )
        if line is None:
            return
        phone = line.household.members.get(relation="head").phone
        self.stdout.write(
            f"\nCustomer pages (客户自助): http://{opts['host']}:{opts['port']}/m/  — sign in with {phone};"
            " the one-time code is printed on this console"
        )

    def _print_accounts(self, accounts: list[tuple[str, str, str, str]]) -> None:
        self.stdout.write("\nDemo accounts (演示账号):")
        self.stdout.write(f"  {'username':<12} {'password':<14} {'role':<22} scope")
        seen_roles: dict[str, int] = {}
        for username, password, role, scope in accounts:
            seen_roles[role] = seen_roles.get(role, 0) + 1
            if seen_roles[role] <= 2:
                self.stdout.write(f"  {username:<12} {password:<14} {role:<22} {scope}")
        more = sum(max(0, n - 2) for n in seen_roles.values())
        if more:
            self.stdout.write(f"  … and {more} more accounts of the same roles (same password)")
