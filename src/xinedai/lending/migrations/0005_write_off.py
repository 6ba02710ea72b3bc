"""A loan written off (核销): the date, and the principal written off that is still owed (账销案存)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("credit", "0007_offline_application_product"),
        ("households", "0001_initial"),
        ("lending", "0004_equality_only_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="loan",
            name="written_off_on",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="loan",
            name="written_off_principal_fen",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="loan",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("written_off_principal_fen__gte", 0), ("written_off_principal_fen__lte", models.F("principal_fen"))
                ),
                name="loan_written_off_within_principal",
            ),
        ),
    ]
