"""Ledger read models: account and sub-ledger balances (one loan, many loans, one credit line) and the
trial balance. All are set-based SQL sums of `side * amount_fen`, reported in each account's normal side.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from django.db import connections, router

from xinedai.core.bulk import BulkLoader
from xinedai.core.errors import ValidationFailed

from .models import Account, JournalEntry, Posting


def _tables() -> tuple[Any, str, str, str]:
    connection = connections[router.db_for_read(Posting)]
    qn = connection.ops.quote_name
    return connection, qn(Posting._meta.db_table), qn(JournalEntry._meta.db_table), qn(Account._meta.db_table)


def _account(code: str) -> Account:
    account = Account.objects.filter(code=code).first()
    if account is None:
        raise ValidationFailed(f"科目不存在：{code}", f"No such account: {code}", code="ledger_unknown_account")
    return account


def _as_of(on: dt.date | None, entries: str) -> tuple[str, list[Any]]:
    """A WHERE fragment keeping the postings of entries posted on or before `on` (all when None)."""
    if on is None:
        return "", []
    return f" AND p.entry_id IN (SELECT e.id FROM {entries} e WHERE e.posted_on <= %s)", [on]


def balance_fen(
    account_code: str, *, loan_id: int | None = None, line_id: int | None = None, on: dt.date | None = None
) -> int:
    """Balance of an account in its normal side (a debit account's debit balance is positive), for the
    whole bank or one loan's or one credit line's sub-ledger, as of the end of business date `on`."""
    account = _account(account_code)
    connection, postings, entries, _ = _tables()
    where, params = "p.account_id = %s", [account.pk]
    if loan_id is not None:
        where, params = f"p.loan_id = %s AND {where}", [loan_id, *params]
    if line_id is not None:
        where, params = f"p.line_id = %s AND {where}", [line_id, *params]
    as_of, as_of_params = _as_of(on, entries)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT CAST(COALESCE(SUM(p.side * p.amount_fen), 0) AS BIGINT) FROM {postings} p WHERE {where}{as_of}",
            [*params, *as_of_params],
        )
        return int(cursor.fetchone()[0]) * account.normal_side


class LoanBalances(NamedTuple):
    """Balances of one account per loan, as two aligned arrays sorted by loan id."""

    loan_ids: np.ndarray
    balance_fen: np.ndarray

    def as_dict(self) -> dict[int, int]:
        return dict(zip(self.loan_ids.tolist(), self.balance_fen.tolist(), strict=True))


def subledger_sql(account_code: str, *, on: dt.date | None = None) -> tuple[str, list[Any]]:
    """SQL (and its parameters) of a relation `(loan_id, balance_fen)`: every loan's balance of one account
    in the account's normal side, for joining with another table — e.g. a lending check comparing each
    loan's principal outstanding with its principal sub-ledger in one statement. Loans with postings
    only; their balance may be 0."""
    account = _account(account_code)
    _, postings, entries, _ = _tables()
    as_of, as_of_params = _as_of(on, entries)
    sql = (
        f"SELECT p.loan_id AS loan_id, CAST(SUM(p.side * p.amount_fen) AS BIGINT) * %s AS balance_fen FROM {postings} p"
        f" WHERE p.account_id = %s AND p.loan_id IS NOT NULL{as_of} GROUP BY p.loan_id"
    )
    return sql, [int(account.normal_side), account.pk, *as_of_params]


def balances_by_loan(
    account_code: str, loan_ids: Sequence[int] | np.ndarray | None = None, *, on: dt.date | None = None
) -> LoanBalances:
    """Every loan's balance of one account (or only those of `loan_ids`), by one GROUP BY.

    Loans without postings on the account are absent. On PostgreSQL the two columns come back packed
    as two bytea values that numpy reads in place, so a million loans cost no Python per row.
    """
    sql, params = subledger_sql(account_code, on=on)
    loader = BulkLoader(router.db_for_read(Posting))
    if loan_ids is not None:
        wanted, wanted_params = loader.id_set("s.loan_id", np.asarray(loan_ids, dtype=np.int64).tolist())
        sql, params = f"SELECT s.loan_id, s.balance_fen FROM ({sql}) s WHERE {wanted}", [*params, *wanted_params]
    ids, balances = _int_columns(loader, f"SELECT * FROM ({sql}) b ORDER BY 1", params, 2)
    if ids.size > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        order = np.argsort(ids, kind="stable")
        ids, balances = ids[order], balances[order]
    return LoanBalances(ids, balances)


def _int_columns(loader: BulkLoader, sql: str, params: list[Any], n: int) -> list[np.ndarray]:
    """The bigint columns of a query as numpy arrays."""
    connection = loader.connection
    if loader.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not rows:
            return [np.empty(0, dtype=np.int64) for _ in range(n)]
        return [np.asarray(column, dtype=np.int64) for column in zip(*rows, strict=True)]
    import psycopg

    # One row of n bytea values, each a column's int8send() values concatenated: the aggregates of one
    # query consume the same rows in the same order, so the columns line up.
    names = [f"c{i}" for i in range(n)]
    packed = ", ".join(f"string_agg(int8send(r.{c}::bigint), ''::bytea)" for c in names)
    connection.ensure_connection()
    raw = connection.connection
    query = psycopg.ClientCursor(raw).mogrify(f"SELECT {packed} FROM ({sql}) AS r({', '.join(names)})", params)
    with psycopg.Cursor(raw) as cursor:
        cursor.execute(query, binary=True)
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return [np.empty(0, dtype=np.int64) for _ in range(n)]
    return [np.frombuffer(value, dtype=">i8").astype(np.int64) for value in row]


@dataclass
class TrialBalanceRow:
    code: str
    name: str
    kind: str
    normal_side: int
    debit_fen: int
    credit_fen: int

    @property
    def balance_fen(self) -> int:
        """Balance in the account's normal side."""
        return (self.debit_fen - self.credit_fen) * self.normal_side


@dataclass
class TrialBalance:
    on: dt.date | None
    rows: list[TrialBalanceRow]

    @property
    def debit_fen(self) -> int:
        return sum(r.debit_fen for r in self.rows)

    @property
    def credit_fen(self) -> int:
        return sum(r.credit_fen for r in self.rows)

    @property
    def balanced(self) -> bool:
        return self.debit_fen == self.credit_fen


def trial_balance(on: dt.date | None = None) -> TrialBalance:
    """Debit and credit totals of every account of the chart (试算平衡表), as of business date `on`."""
    connection, postings, entries, _ = _tables()
    as_of, params = _as_of(on, entries)
    sql = (
        "SELECT p.account_id,"
        " CAST(SUM(CASE WHEN p.side = 1 THEN p.amount_fen ELSE 0 END) AS BIGINT),"
        " CAST(SUM(CASE WHEN p.side = -1 THEN p.amount_fen ELSE 0 END) AS BIGINT)"
        f" FROM {postings} p WHERE 1 = 1{as_of} GROUP BY p.account_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        totals = {row[0]: (int(row[1]), int(row[2])) for row in cursor.fetchall()}
    rows = [
        TrialBalanceRow(a.code, a.name, a.kind, a.normal_side, *totals.pop(a.pk, (0, 0)))
        for a in Account.objects.order_by("code")
    ]
    # Postings on an account missing from the chart still count (ledger verify reports them).
    rows += [TrialBalanceRow(f"#{pk}", "?", "", 1, d, c) for pk, (d, c) in sorted(totals.items())]
    return TrialBalance(on, rows)
