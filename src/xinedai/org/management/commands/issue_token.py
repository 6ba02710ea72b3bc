"""`xinedai issue-token USERNAME [--name NAME]`: create a staff API token and print its secret once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from xinedai.org.services import issue_token


class Command(BaseCommand):
    help = "Create an API token for a staff member; the secret is printed once and never stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, *args, **opts) -> None:  # type: ignore[no-untyped-def]
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"no such user: {opts['username']}")
        with transaction.atomic():
            token, secret = issue_token(None, user, name=opts["name"])
        self.stdout.write(secret)
        self.stderr.write(f"token {token.prefix}… for {user.username}: send it as 'Authorization: Bearer <token>'")
