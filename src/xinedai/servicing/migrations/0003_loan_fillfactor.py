"""Leave room on each page of the loan table for the day-end batch's daily update (PostgreSQL only).

The batch adds the day's accrual to every active loan's interest_receivable_fen, a column no index
covers. With free space on the page PostgreSQL writes the new row version beside the old one without
touching the loan table's eight indexes (a HOT update) and prunes yesterday's version on its own; on
full pages each of a million updates inserts into every index (28 s of a 1 M-loan batch, measured
with other work running, against ~4 s with room; docs/decisions/0008, bench/README.md). Pages written
from now on are filled to 50 %; VACUUM FULL applies it to old ones.
"""

from django.db import migrations

FORWARD = "ALTER TABLE lending_loan SET (fillfactor = 50)"
BACKWARD = "ALTER TABLE lending_loan RESET (fillfactor)"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("servicing", "0002_classification_thresholds"), ("lending", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
