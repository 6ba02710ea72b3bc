"""`xinedai revoke-channel-credential PREFIX`: revoke a channel credential.

Its next request is refused (within XINEDAI_API_REUSE_SECONDS by servers already running, core.reuse)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from xinedai.channel.models import ChannelClient
from xinedai.channel.services import revoke_credential


class Command(BaseCommand):
    help = "Revoke a channel credential, named by the prefix printed when it was issued (or --list them)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", nargs="?", help="the credential's prefix, e.g. xch_AbCdEfGh")
        parser.add_argument("--list", action="store_true", help="list the credentials instead")

    def handle(self, *args, **opts) -> None:  # type: ignore[no-untyped-def]
        if opts["list"]:
            for c in ChannelClient.objects.order_by("channel", "created_at"):
                state = f"revoked {c.revoked_at:%Y-%m-%d %H:%M}" if c.revoked_at else "live"
                used = f"{c.last_used_at:%Y-%m-%d %H:%M}" if c.last_used_at else "never"
                self.stdout.write(f"{c.prefix}\t{c.channel}\t{c.name}\t{state}\tlast used {used}")
            return
        if not opts["prefix"]:
            raise CommandError("give the credential's prefix, or --list")
        clients = list(ChannelClient.objects.filter(prefix=opts["prefix"]))
        if len(clients) != 1:
            raise CommandError(f"{len(clients)} credentials have the prefix {opts['prefix']!r}: need exactly one")
        with transaction.atomic():
            client = revoke_credential(None, clients[0])
        self.stderr.write(
            f"credential {client.prefix}… of {client.channel} revoked at {client.revoked_at:%Y-%m-%d %H:%M}"
        )
