"""The entry's business key keeps one unique index, without the LIKE-only index that unique=True adds on
PostgreSQL (keys are looked up by equality only; every disbursement and repayment writes an entry).

SQLite rebuilds the table to alter the field and so drops its immutability trigger (0003): the trigger is
installed again after the rebuild, and again after the rebuild of a reversal.
"""

from django.conf import settings
from django.db import migrations, models

TABLE = "ledger_journalentry"
SQLITE_TRIGGER = [
    f"DROP TRIGGER IF EXISTS {TABLE}_immutable",
    f"CREATE TRIGGER {TABLE}_immutable BEFORE UPDATE ON {TABLE} BEGIN"
    f" SELECT RAISE(ABORT, 'ledger rows are immutable: UPDATE on {TABLE} refused; correct with a reversal'); END",
]


def reinstall_sqlite_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_TRIGGER:
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0004_off_balance_accounts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # unapplying: runs last, after the table was rebuilt
        migrations.RunPython(migrations.RunPython.noop, reinstall_sqlite_trigger),
        migrations.AlterField(
            model_name="journalentry",
            name="key",
            field=models.CharField(max_length=200),
        ),
        migrations.AddConstraint(
            model_name="journalentry",
            constraint=models.UniqueConstraint(fields=("key",), name="one_entry_per_key"),
        ),
        migrations.RunPython(reinstall_sqlite_trigger, migrations.RunPython.noop),
    ]
