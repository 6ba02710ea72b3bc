"""Write-off requests: maker ≠ checker, one pending and one approved per loan."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lending", "0005_write_off"),
        ("servicing", "0005_loan_list_filters"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="WriteOffRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reason", models.CharField(max_length=500)),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Awaiting approval"), ("approved", "Approved"), ("rejected", "Rejected")],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("made_at", models.DateTimeField()),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("decision_note", models.CharField(blank=True, max_length=500)),
                ("written_off_on", models.DateField(blank=True, null=True)),
                ("principal_fen", models.BigIntegerField(default=0)),
                ("interest_fen", models.BigIntegerField(default=0)),
                ("penalty_fen", models.BigIntegerField(default=0)),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "loan",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="write_off_requests",
                        to="lending.loan",
                    ),
                ),
                (
                    "made_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "verbose_name": "write-off request",
                "ordering": ["-made_at", "-id"],
                "permissions": [
                    ("request_write_off", "Can propose writing off a loss-class loan"),
                    ("approve_write_off", "Can approve writing off a loan"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "pending")),
                        fields=("loan",),
                        name="servicing_one_pending_write_off_per_loan",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("status", "approved")),
                        fields=("loan",),
                        name="servicing_one_write_off_per_loan",
                    ),
                ],
            },
        ),
    ]
