"""The write-off's off-balance account (已核销贷款本金: written off, still owed) and the recovery entry kind.
Codes in xinedai.ledger.choices.AccountCode. The kind's choices change no SQL (choices are not in the
schema), so SQLite does not rebuild the entry table and its immutability trigger stays."""

from django.db import migrations, models

# Frozen here as it was at this migration.
CHART = [("910201", "已核销贷款本金", "off_balance", 1)]


def seed(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    db = schema_editor.connection.alias
    have = set(Account.objects.using(db).values_list("code", flat=True))
    Account.objects.using(db).bulk_create(
        Account(code=code, name=name, kind=kind, normal_side=side)
        for code, name, kind, side in CHART
        if code not in have
    )


def unseed(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    Account.objects.using(schema_editor.connection.alias).filter(code__in=[c[0] for c in CHART]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0005_equality_only_keys"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
        migrations.AlterField(
            model_name="journalentry",
            name="kind",
            field=models.CharField(
                choices=[
                    ("disbursement", "Disbursement"),
                    ("repayment", "Repayment"),
                    ("accrual", "Interest accrual"),
                    ("penalty", "Penalty interest accrual"),
                    ("write_off", "Write-off"),
                    ("recovery", "Recovery of a written-off loan"),
                    ("non_accrual", "Non-accrual transfer"),
                    ("reversal", "Reversal"),
                ],
                max_length=16,
            ),
        ),
    ]
