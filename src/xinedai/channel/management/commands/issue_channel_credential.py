"""`xinedai issue-channel-credential CHANNEL [--name NAME]`: create a channel credential, print its secret once."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from xinedai.channel.choices import CHANNEL_CODES
from xinedai.channel.services import issue_credential


class Command(BaseCommand):
    help = "Create a credential for a channel server (mobile_banking, wechat); the secret is printed once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("channel", help=", ".join(sorted(CHANNEL_CODES)))
        parser.add_argument("--name", default="", help="what the credential is for (e.g. the server or the year)")

    def handle(self, *args, **opts) -> None:  # type: ignore[no-untyped-def]
        if opts["channel"] not in CHANNEL_CODES:
            raise CommandError(f"unknown channel {opts['channel']!r}: one of {', '.join(sorted(CHANNEL_CODES))}")
        with transaction.atomic():
            client, secret = issue_credential(None, opts["channel"], name=opts["name"])
        self.stdout.write(secret)
        self.stderr.write(
            f"credential {client.prefix}… for {client.channel}: send it as 'Authorization: Bearer <secret>' "
            f"to /api/v1/channel/; revoke with 'xinedai revoke-channel-credential {client.prefix}'"
        )
