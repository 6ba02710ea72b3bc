"""Posting one journal entry: balanced in total and loan by loan, validated line by line, idempotent on its
business key, audited once, and never written in part."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.db import IntegrityError, connection, transaction

from tests.ledger.conftest import ON, C, D, counts, disburse, repay
from xinedai.core.errors import ValidationFailed
from xinedai.core.models import AuditEntry
from xinedai.ledger import services
from xinedai.ledger.choices import CHART, EntryKind
from xinedai.ledger.choices import AccountCode as A
from xinedai.ledger.models import Account, JournalEntry, Posting
from xinedai.ledger.services import KeyConflict, Line, Unbalanced

pytestmark = pytest.mark.django_db


def post(lines, *, key="test:1", kind=EntryKind.DISBURSEMENT, on=ON, actor=None, memo=""):  # type: ignore[no-untyped-def]
    with transaction.atomic():
        return services.post(kind=kind, posted_on=on, key=key, lines=lines, actor=actor, memo=memo)


def test_the_chart_is_seeded():
    assert list(Account.objects.values_list("code", "name", "kind", "normal_side")) == sorted(
        (code, name, str(kind), int(side)) for code, name, kind, side in CHART
    )


def test_a_balanced_entry_is_written_with_its_control_totals_and_one_audit_row(clerk):
    entry = disburse(7, 1_000_000, line=3, actor=clerk)
    entry.refresh_from_db()
    assert (entry.kind, entry.posted_on, entry.key, entry.created_by, entry.reverses) == (
        "disbursement",
        ON,
        "disbursement:drawdown:7",
        clerk,
        None,
    )
    assert (entry.posting_count, entry.total_fen, len(entry.body_sha256)) == (2, 1_000_000, 64)
    assert entry.created_at.tzinfo is not None
    rows = list(entry.postings.order_by("id").values_list("account__code", "side", "amount_fen", "loan_id", "line_id"))
    assert rows == [(A.LOAN_PRINCIPAL, 1, 1_000_000, 7, 3), (A.CUSTOMER_CLEARING, -1, 1_000_000, 7, 3)]
    audit = AuditEntry.objects.get(action="ledger.post")
    assert (audit.actor, audit.object_id) == (clerk, str(entry.pk))
    assert audit.after == {
        "kind": "disbursement",
        "key": "disbursement:drawdown:7",
        "posted_on": "2026-06-30",
        "postings": 2,
        "total_fen": 1_000_000,
    }


def test_line_tuples_and_line_objects_and_numpy_integers_are_accepted():
    entry = post(
        [
            Line(A.CUSTOMER_CLEARING, D, 150, loan_id=9),
            (A.LOAN_PRINCIPAL, C, np.int64(100), np.int64(9)),
            (A.INTEREST_RECEIVABLE, C, 50, 9),
        ],
        kind=EntryKind.REPAYMENT,
    )
    assert sorted(entry.postings.values_list("amount_fen", flat=True)) == [50, 100, 150]


def test_unbalanced_entry_is_refused_and_nothing_is_written():
    before = counts()
    with pytest.raises(Unbalanced) as exc:
        post([(A.LOAN_PRINCIPAL, D, 100, 1), (A.CUSTOMER_CLEARING, C, 99, 1)])
    assert exc.value.code == "ledger_unbalanced"
    assert exc.value.details == {"debit_fen": 100, "credit_fen": 99}
    assert "借贷不平" in exc.value.message_zh
    assert counts() == before


def test_an_entry_must_balance_loan_by_loan():
    # Balanced in total, but loan 1 got the debit and loan 2 the credit.
    with pytest.raises(Unbalanced) as exc:
        post([(A.LOAN_PRINCIPAL, D, 100, 1), (A.CUSTOMER_CLEARING, C, 100, 2)])
    assert exc.value.details == {"loan_id": 1, "difference_fen": 100}
    # Lines without a loan balance among themselves too.
    with pytest.raises(Unbalanced) as exc:
        post([(A.LOAN_PRINCIPAL, D, 100, 1), (A.CUSTOMER_CLEARING, C, 100)])
    assert exc.value.details == {"loan_id": 1, "difference_fen": 100}
    assert counts()[:2] == (0, 0)


def test_several_loans_in_one_entry_each_balanced():
    entry = post(
        [
            (A.LOAN_PRINCIPAL, D, 100, 1),
            (A.CUSTOMER_CLEARING, C, 100, 1),
            (A.LOAN_PRINCIPAL, D, 300, 2),
            (A.CUSTOMER_CLEARING, C, 300, 2),
        ]
    )
    assert (entry.posting_count, entry.total_fen) == (4, 400)


@pytest.mark.parametrize(
    ("lines", "field", "code"),
    [
        ([(A.LOAN_PRINCIPAL, D, 100, 1)], "lines", "ledger_too_few_lines"),
        ([], "lines", "ledger_too_few_lines"),
        ([(A.LOAN_PRINCIPAL, D, 0, 1), (A.CUSTOMER_CLEARING, C, 0, 1)], "lines[0].amount_fen", "ledger_invalid_line"),
        ([(A.LOAN_PRINCIPAL, D, -5, 1), (A.CUSTOMER_CLEARING, C, -5, 1)], "lines[0].amount_fen", "ledger_invalid_line"),
        (
            [(A.LOAN_PRINCIPAL, D, 1.5, 1), (A.CUSTOMER_CLEARING, C, 1.5, 1)],
            "lines[0].amount_fen",
            "ledger_invalid_line",
        ),
        (
            [(A.LOAN_PRINCIPAL, D, True, 1), (A.CUSTOMER_CLEARING, C, 1, 1)],
            "lines[0].amount_fen",
            "ledger_invalid_line",
        ),
        ([(A.LOAN_PRINCIPAL, D, 1, 1), (A.CUSTOMER_CLEARING, C, "1", 1)], "lines[1].amount_fen", "ledger_invalid_line"),
        ([(A.LOAN_PRINCIPAL, "D", 1, 1), (A.CUSTOMER_CLEARING, C, 1, 1)], "lines[0].side", "ledger_invalid_line"),
        ([(A.LOAN_PRINCIPAL, 2, 1, 1), (A.CUSTOMER_CLEARING, C, 1, 1)], "lines[0].side", "ledger_invalid_line"),
        ([(A.LOAN_PRINCIPAL, D, 1, 0), (A.CUSTOMER_CLEARING, C, 1, 0)], "lines[0].loan_id", "ledger_invalid_line"),
        ([(A.LOAN_PRINCIPAL, D, 1, 1, "x"), (A.CUSTOMER_CLEARING, C, 1, 1)], "lines[0].line_id", "ledger_invalid_line"),
        ([(A.LOAN_PRINCIPAL, D), (A.CUSTOMER_CLEARING, C, 1)], "lines[0]", "ledger_invalid_line"),
        (
            [(A.LOAN_PRINCIPAL, D, 1, 1, 2), (A.CUSTOMER_CLEARING, C, 1, 1, 3)],
            "lines[1].line_id",
            "ledger_loan_line_mismatch",
        ),
        ([("999999", D, 1, 1), (A.CUSTOMER_CLEARING, C, 1, 1)], "lines", "ledger_unknown_account"),
    ],
)
def test_bad_lines_are_refused_naming_the_line(lines, field, code):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        post(lines)
    assert (exc.value.field, exc.value.code) == (field, code)
    assert exc.value.message_zh and exc.value.message_en
    assert counts() == before


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"kind": "reversal"}, "ledger_invalid_kind"),
        ({"kind": "gift"}, "ledger_invalid_kind"),
        ({"key": ""}, "ledger_invalid_key"),
        ({"key": "k" * 201}, "ledger_invalid_key"),
        ({"on": dt.datetime(2026, 6, 30, 12, 0)}, "ledger_invalid_date"),
        ({"on": "2026-06-30"}, "ledger_invalid_date"),
    ],
)
def test_bad_headers_are_refused(kwargs, code):
    with pytest.raises(ValidationFailed) as exc:
        post([(A.LOAN_PRINCIPAL, D, 1, 1), (A.CUSTOMER_CLEARING, C, 1, 1)], **kwargs)
    assert exc.value.code == code
    assert counts()[:2] == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_posting_needs_the_callers_transaction():
    with pytest.raises(RuntimeError, match="transaction"):
        services.post(
            kind=EntryKind.DISBURSEMENT,
            posted_on=ON,
            key="k",
            lines=[(A.LOAN_PRINCIPAL, D, 1, 1), (A.CUSTOMER_CLEARING, C, 1, 1)],
        )
    assert counts()[:2] == (0, 0)


def test_the_same_key_with_the_same_lines_returns_the_first_entry():
    first = disburse(5, 20_000)
    before = counts()
    again = post(
        # the same lines in another order are the same body
        [(A.CUSTOMER_CLEARING, C, 20_000, 5, None), (A.LOAN_PRINCIPAL, D, 20_000, 5)],
        key="disbursement:drawdown:5",
    )
    assert again.pk == first.pk
    assert counts() == before


@pytest.mark.parametrize(
    ("lines", "kind", "on"),
    [
        ([(A.LOAN_PRINCIPAL, D, 20_001, 5), (A.CUSTOMER_CLEARING, C, 20_001, 5)], EntryKind.DISBURSEMENT, ON),
        ([(A.LOAN_PRINCIPAL, D, 20_000, 6), (A.CUSTOMER_CLEARING, C, 20_000, 6)], EntryKind.DISBURSEMENT, ON),
        ([(A.LOAN_PRINCIPAL, D, 20_000, 5), (A.CUSTOMER_CLEARING, C, 20_000, 5)], EntryKind.WRITE_OFF, ON),
        (
            [(A.LOAN_PRINCIPAL, D, 20_000, 5), (A.CUSTOMER_CLEARING, C, 20_000, 5)],
            EntryKind.DISBURSEMENT,
            dt.date(2026, 7, 1),
        ),
    ],
)
def test_the_same_key_with_a_different_body_is_refused(lines, kind, on):
    first = disburse(5, 20_000)
    before = counts()
    with pytest.raises(KeyConflict) as exc:
        post(lines, key="disbursement:drawdown:5", kind=kind, on=on)
    assert (exc.value.code, exc.value.status) == ("ledger_key_conflict", 409)
    assert exc.value.details == {"key": "disbursement:drawdown:5", "entry_id": first.pk}
    assert counts() == before


def test_a_refused_post_leaves_the_callers_earlier_work_alone():
    """The service raises; the caller's transaction decides. Work before the failure is the caller's."""
    with transaction.atomic():
        disburse(1, 100)
        with pytest.raises(Unbalanced), transaction.atomic():
            services.post(
                kind=EntryKind.DISBURSEMENT,
                posted_on=ON,
                key="x",
                lines=[(A.LOAN_PRINCIPAL, D, 1, 2), (A.CUSTOMER_CLEARING, C, 2, 2)],
            )
    assert JournalEntry.objects.count() == 1 and Posting.objects.count() == 2


def _captured(action) -> list[str]:  # type: ignore[no-untyped-def]
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        action()
    return [q["sql"] for q in ctx.captured_queries]


def test_a_key_known_to_be_new_is_posted_without_looking_for_it_and_still_audited(clerk):
    """new_key=True (a disbursement keyed by the loan its transaction has just made): no look-up of the key,
    no savepoint, the same entry, postings and audit row as a post that looks."""
    lines = [(A.LOAN_PRINCIPAL, D, 700, 8, 2), (A.CUSTOMER_CLEARING, C, 700, 8, 2)]
    made = []

    def fresh() -> None:
        with transaction.atomic():
            made.append(
                services.post(
                    kind=EntryKind.DISBURSEMENT, posted_on=ON, key="new:8", lines=lines, actor=clerk, new_key=True
                )
            )

    sql = _captured(fresh)
    assert not [q for q in sql if 'FROM "ledger_journalentry"' in q and q.startswith("SELECT")]
    if connection.vendor == "postgresql":  # the savepoint of fresh()'s own atomic block, nothing else
        assert [q.split(" ")[0] for q in sql if "SAVEPOINT" in q] == ["SAVEPOINT", "RELEASE"]
    looked = disburse(9, 700, line=2, actor=clerk)
    entry = made[0]
    assert entry.pk and entry._state.adding is False
    assert list(entry.postings.order_by("id").values_list("account__code", "side", "amount_fen", "loan_id")) == [
        (A.LOAN_PRINCIPAL, 1, 700, 8),
        (A.CUSTOMER_CLEARING, -1, 700, 8),
    ]
    audits = {a.object_id: a for a in AuditEntry.objects.filter(action="ledger.post")}
    a, b = audits[str(entry.pk)], audits[str(looked.pk)]
    assert (a.actor, a.object_type, a.object_repr) == (clerk, "ledger.journalentry", f"{ON} disbursement new:8")
    assert {**a.after, "key": None} == {**b.after, "key": None} and b.object_repr.endswith(looked.key)
    # the caller's promise broken: the insert fails the transaction instead of replaying
    before = counts()
    with pytest.raises(IntegrityError), transaction.atomic():
        services.post(kind=EntryKind.DISBURSEMENT, posted_on=ON, key="new:8", lines=lines, new_key=True)
    assert counts() == before


def test_account_ids_are_read_once_per_process_and_again_after_the_chart_is_synced():
    services.sync_chart()
    assert _captured(lambda: disburse(1, 100)).count(_CHART_READ) == 1
    assert _captured(lambda: disburse(2, 100)).count(_CHART_READ) == 0
    assert _captured(lambda: repay(2, 60, 40)).count(_CHART_READ) == 0  # the whole chart was read

    def unknown() -> None:
        with pytest.raises(ValidationFailed) as exc:
            post([("999999", D, 1, 1), (A.CUSTOMER_CLEARING, C, 1, 1)])
        assert exc.value.code == "ledger_unknown_account"

    assert _captured(unknown).count(_CHART_READ) == 1  # a code not known yet: the chart is read again
    services.sync_chart()  # what a flushed test database runs (post_migrate): the chart may have new ids
    assert _captured(lambda: disburse(3, 100)).count(_CHART_READ) == 1


_CHART_READ = 'SELECT "ledger_account"."code" AS "code", "ledger_account"."id" AS "id" FROM "ledger_account"'
