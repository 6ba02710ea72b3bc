"""Seed the five-category thresholds of 商业银行金融资产风险分类办法 (CBIRC/PBOC order 2023 No. 1), in force
from 2023-07-01: at least special mention when anything is overdue, substandard over 90 days, doubtful
over 270 days, loss over 360 days. Later rules come as rows with a later effective date."""

from django.db import migrations

EFFECTIVE_ON = "2023-07-01"
SOURCE = "商业银行金融资产风险分类办法（2023年第1号令）"
THRESHOLDS = [(2, 0), (3, 90), (4, 270), (5, 360)]  # (class rank, days past due to exceed)


def seed(apps, schema_editor):
    ClassThreshold = apps.get_model("servicing", "ClassThreshold")
    db = schema_editor.connection.alias
    for risk_class, days in THRESHOLDS:
        ClassThreshold.objects.using(db).get_or_create(
            effective_on=EFFECTIVE_ON,
            risk_class=risk_class,
            defaults={"min_days_past_due": days, "source": SOURCE},
        )


def unseed(apps, schema_editor):
    ClassThreshold = apps.get_model("servicing", "ClassThreshold")
    ClassThreshold.objects.using(schema_editor.connection.alias).filter(effective_on=EFFECTIVE_ON).delete()


class Migration(migrations.Migration):
    dependencies = [("servicing", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
