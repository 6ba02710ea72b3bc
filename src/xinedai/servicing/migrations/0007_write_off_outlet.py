"""A write-off keeps the grid and outlet its loan was booked to, for the monitoring pages (read without the loans)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lending", "0005_write_off"),
        ("org", "0001_initial"),
        ("servicing", "0006_write_off_request"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="writeoffrequest",
            name="grid",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="org.grid",
            ),
        ),
        migrations.AddField(
            model_name="writeoffrequest",
            name="outlet",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="org.orgunit",
            ),
        ),
        migrations.AddIndex(
            model_name="writeoffrequest",
            index=models.Index(fields=["written_off_on"], name="servicing_write_off_on"),
        ),
    ]
