"""Off-balance memo accounts for non-accrual loans (表外欠息): codes in xinedai.ledger.choices.AccountCode."""

from django.db import migrations, models

# Frozen here as they were at this migration.
CHART = [
    ("910101", "表外应收贷款利息", "off_balance", 1),
    ("910102", "表外应收罚息", "off_balance", 1),
    ("919901", "表外科目对方", "off_balance", -1),
]


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
    dependencies = [("ledger", "0003_immutable_rows")]

    operations = [
        migrations.AlterField(
            model_name="account",
            name="kind",
            field=models.CharField(
                choices=[
                    ("asset", "Asset"),
                    ("liability", "Liability"),
                    ("equity", "Equity"),
                    ("income", "Income"),
                    ("expense", "Expense"),
                    ("off_balance", "Off-balance"),
                ],
                max_length=16,
            ),
        ),
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
                    ("non_accrual", "Non-accrual transfer"),
                    ("reversal", "Reversal"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(seed, unseed),
    ]
