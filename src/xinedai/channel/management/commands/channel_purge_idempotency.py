"""`xinedai channel-purge-idempotency [--older-than-days N]`: delete the done Idempotency-Key records older
than N days (default XINEDAI_CHANNEL_IDEMPOTENCY_RETENTION_DAYS, 30), in chunks, printing progress."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xinedai.channel import idempotency
from xinedai.channel.choices import IdempotencyStatus
from xinedai.channel.models import IdempotencyRecord
from xinedai.channel.tasks import CHUNK_SIZE, purge_idempotency_records
from xinedai.core.errors import BusinessError


class Command(BaseCommand):
    help = (
        "Delete the channel's done Idempotency-Key records completed more than N days ago (a retry after that "
        "is a new request; loans and repayments keep their own business keys). Records in flight are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than-days",
            type=int,
            default=None,
            help=f"keep the last N days (default {idempotency.retention_days()}: the retention setting)",
        )
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, help="records deleted per transaction")

    def handle(self, *args, **opts) -> None:  # type: ignore[no-untyped-def]
        days = opts["older_than_days"] if opts["older_than_days"] is not None else idempotency.retention_days()
        self.stderr.write(f"deleting done Idempotency-Key records completed more than {days} days ago …")

        def progress(total: int) -> None:
            self.stderr.write(f"  {total:,} deleted")

        try:
            total = purge_idempotency_records(older_than_days=days, chunk_size=opts["chunk_size"], progress=progress)
        except BusinessError as exc:
            raise CommandError(exc.message_en) from exc
        kept = IdempotencyRecord.objects.count()
        in_flight = IdempotencyRecord.objects.filter(status=IdempotencyStatus.IN_FLIGHT).count()
        self.stdout.write(f"deleted {total:,} records; {kept:,} kept ({in_flight:,} in flight)")
