"""The database refuses changes to journal entries and postings (docs/decisions/0007).

PostgreSQL refuses UPDATE and DELETE. SQLite refuses UPDATE only: Django flushes a SQLite test database
with DELETE (PostgreSQL's flush is a TRUNCATE, which fires no row trigger), so a DELETE trigger would
break every transactional test that leaves ledger rows behind; there the ORM refuses deletes and
`xinedai ledger verify` detects one through the entries' control totals.

SQLite also drops a table's triggers when Django's schema editor rebuilds the table (most ALTERs): a
later migration that alters these tables on SQLite must install the triggers again (`ledger verify`
and tests/ledger check that they are in place).
"""

from django.db import migrations

TABLES = ("ledger_journalentry", "ledger_posting")

POSTGRESQL = [
    """
    CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'ledger rows are immutable: % on % refused; correct with a reversal', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    *(
        f"CREATE TRIGGER {t}_immutable BEFORE UPDATE OR DELETE ON {t} FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        for t in TABLES
    ),
]
POSTGRESQL_REVERSE = [
    *(f"DROP TRIGGER IF EXISTS {t}_immutable ON {t}" for t in TABLES),
    "DROP FUNCTION IF EXISTS ledger_refuse_change()",
]

SQLITE = [
    f"CREATE TRIGGER {t}_immutable BEFORE UPDATE ON {t} BEGIN"
    f" SELECT RAISE(ABORT, 'ledger rows are immutable: UPDATE on {t} refused; correct with a reversal'); END"
    for t in TABLES
]
SQLITE_REVERSE = [f"DROP TRIGGER IF EXISTS {t}_immutable" for t in TABLES]


def _run(statements):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for sql in statements.get(vendor, ()):
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_chart_of_accounts")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        )
    ]
