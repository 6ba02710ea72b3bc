"""`xinedai import-households PATH [--dry-run]` and `--template OUT.xlsx`."""

from __future__ import annotations

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from xinedai.core.dates import business_today
from xinedai.core.errors import BusinessError
from xinedai.households.roster import RosterRejected, import_roster, write_template


class Command(BaseCommand):
    help = "Import a household roster (.xlsx or .csv): every row valid, or nothing is imported."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="roster file (.xlsx or .csv)")
        parser.add_argument("--dry-run", action="store_true", help="check every row, import nothing")
        parser.add_argument("--template", metavar="OUT", help="write an empty .xlsx template and exit")
        parser.add_argument(
            "--as-user", default=None, help="staff username whose scope applies (default: the first superuser)"
        )

    def handle(self, *args, **opts) -> None:  # type: ignore[no-untyped-def]
        if opts["template"]:
            write_template(Path(opts["template"]))
            self.stdout.write(f"template written: {opts['template']}")
            return
        if not opts["path"]:
            raise CommandError("give a roster PATH, or --template OUT.xlsx")
        path = Path(opts["path"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        users = get_user_model().objects
        user = (
            users.filter(username=opts["as_user"]).first()
            if opts["as_user"]
            else users.filter(is_superuser=True).order_by("pk").first()
        )
        if user is None:
            raise CommandError("no such user (create a superuser or pass --as-user)")
        last = {"pct": -1}

        def progress(phase: str, done: int, total: int) -> None:
            pct = done * 100 // max(total, 1)
            if pct != last["pct"] and (pct % 5 == 0 or done == total):
                last["pct"] = pct
                sys.stderr.write(f"\r{phase:<10} {done:>8}/{total} {pct:3d}%")
                sys.stderr.flush()
                if done == total:
                    sys.stderr.write("\n")

        try:
            with transaction.atomic():
                report = import_roster(path, user, today=business_today(), dry_run=opts["dry_run"], progress=progress)
        except RosterRejected as exc:
            for err in exc.report.errors:
                self.stdout.write(err.line())
            self.stderr.write(
                f"rejected: {len(exc.report.errors)} problem(s) in {exc.report.total_rows} rows; nothing was imported"
            )
            sys.exit(1)
        except BusinessError as exc:
            self.stderr.write(f"rejected: {exc.message_zh} / {exc.message_en}")
            sys.exit(1)
        if report.dry_run:
            self.stdout.write(f"checked {report.total_rows} rows: all valid (dry run, nothing imported)")
        else:
            self.stdout.write(f"imported {report.imported} households")
