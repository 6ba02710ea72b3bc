"""Seed the chart of accounts the loan book posts to (codes: xinedai.ledger.choices.AccountCode)."""

from django.db import migrations

# Frozen here as it was at this migration; later accounts come with later migrations.
CHART = [
    ("130301", "贷款本金", "asset", 1),
    ("113201", "应收贷款利息", "asset", 1),
    ("113202", "应收罚息", "asset", 1),
    ("300101", "客户结算清算往来", "liability", -1),
    ("601101", "贷款利息收入", "income", -1),
    ("601102", "罚息收入", "income", -1),
    ("670101", "贷款核销损失", "expense", 1),
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
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
