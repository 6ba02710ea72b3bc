"""Lending use cases: draw a loan down on a credit line, repay it, reverse a repayment made by mistake,
write it off and recover it after. One transaction's worth each.

Both lock what they change (the line for a drawdown, the loan and then its line for a repayment), are
exactly-once by a business key that the database enforces (Loan.drawdown_key, Repayment.key; a retry
with the same key returns the first result, the same key with other terms is refused), post a balanced
journal entry through the ledger in the same transaction, and write an audit row. Services never commit.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings

from xinedai.core import audit, statements
from xinedai.core.dates import business_today, now
from xinedai.core.errors import BusinessError, ValidationFailed
from xinedai.credit.choices import LineStatus
from xinedai.credit.models import CreditLine
from xinedai.households.models import Household
from xinedai.ledger import services as ledger
from xinedai.ledger.choices import AccountCode, EntryKind, Side
from xinedai.ledger.models import JournalEntry
from xinedai.products.models import ProductVersion
from xinedai.products.queries import rate_on, version_in_force

from . import rules
from .choices import SCHEDULED_METHODS, InstalmentStatus, LoanStatus
from .models import Instalment, Loan, Repayment

RATE_PLACES = Decimal("0.000001")


class KeyReused(BusinessError):
    """An Idempotency-Key / business key used before for a different request."""

    code = "key_reused"
    status = 409


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _invalid(zh: str, en: str, code: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(zh, en, code=code, **details)


def penalty_markup() -> Decimal:
    """The penalty-interest markup over the contract rate (+50 % by default; XINEDAI_PENALTY_MARKUP)."""
    return Decimal(str(getattr(settings, "XINEDAI_PENALTY_MARKUP", "0.5")))


# Drawdown -----------------------------------------------------------------------------------------

# The drawdown's two reads by key, compiled once per process and prepared on PostgreSQL (core.statements,
# docs/decisions/0006): a channel drawdown must answer in well under 100 ms at 32 concurrent clients.
_PK = statements.Marker(-(2**62) + 3)
_KEY = statements.Marker("<drawdown key>")


@functools.cache
def _line_statement() -> statements.Statement:
    queryset = CreditLine.objects.select_for_update().filter(pk=_PK.value).values(*statements.columns(CreditLine))
    return statements.Statement.compile(queryset, _PK)


@functools.cache
def _loan_statement() -> statements.Statement:
    queryset = Loan.objects.filter(drawdown_key=_KEY.value).order_by().values(*statements.columns(Loan))
    return statements.Statement.compile(queryset, _KEY)


def _locked_line(pk: int) -> CreditLine:
    statement = _line_statement()
    row = statement.first(pk)
    if row is None:
        raise CreditLine.DoesNotExist(f"credit line {pk}")
    line: CreditLine = statements.instance(CreditLine, row, statement.alias)
    return line


def _loan_by_key(key: str) -> Loan | None:
    statement = _loan_statement()
    row = statement.first(key)
    return statements.instance(Loan, row, statement.alias) if row is not None else None


def drawdown(
    actor: Any,
    line: CreditLine,
    *,
    amount_fen: int,
    term_months: int,
    method: str,
    key: str,
    channel: str,
    today: dt.date | None = None,
    locked: bool = False,
    terms: ProductVersion | None = None,
    scope_path: str | None = None,
) -> Loan:
    """Disburse a loan on an active line, exactly once per key. Two drawdowns racing on one line never
    together exceed its available limit: the line row is locked before the check.

    `locked`: the caller has locked the line's row in this transaction (SELECT … FOR UPDATE) and passes
    the row it read under that lock; otherwise (the default) the line is locked and read here. `terms`:
    the line's product version in force on `today` if the caller has read it; otherwise it is read here."""
    today = today or business_today()
    if not key or len(key) > 120:
        raise _invalid("缺少幂等键", "An idempotency key is required", "key_required", field="key")
    if not locked:
        line = _locked_line(line.pk)
    # After the lock: a concurrent request with the same key has committed its loan by now.
    existing = _loan_by_key(key)
    if existing is not None:
        if (existing.line_id, existing.principal_fen, existing.term_months, existing.method) != (
            line.pk,
            amount_fen,
            term_months,
            method,
        ):
            raise KeyReused("该请求编号已用于另一笔用信", "The key was used for a different drawdown", key=key)
        return existing
    if line.status != LineStatus.ACTIVE:
        raise _invalid("授信额度不可用", "The credit line is not active", "line_not_active", line_status=line.status)
    if line.expires_on < today:
        raise _invalid("授信额度已到期", "The credit line has expired", "line_expired")
    if type(amount_fen) is not int or amount_fen <= 0:
        raise _invalid("用信金额无效", "Enter a positive amount", "amount_invalid", field="amount_fen")
    if amount_fen > line.available_fen:
        raise _invalid(
            "超过可用额度",
            "The amount exceeds the available limit",
            "amount_over_available",
            field="amount_fen",
            available_fen=line.available_fen,
        )
    if terms is None:
        terms = version_in_force(line.product_code, today)
    if terms is None:
        raise _invalid("该产品当前未在售", "The product is not on sale", "product_not_on_sale")
    if method not in terms.repayment_methods or method not in SCHEDULED_METHODS:
        raise _invalid(
            "该产品不支持此还款方式",
            "The product does not allow this repayment method",
            "method_not_allowed",
            field="method",
            allowed=[m for m in terms.repayment_methods if m in SCHEDULED_METHODS],
        )
    if not terms.min_amount_fen <= amount_fen <= terms.max_amount_fen:
        raise _invalid(
            "金额超出产品范围", "The amount is outside the product's range", "amount_range", field="amount_fen"
        )
    if not terms.min_term_months <= term_months <= terms.max_term_months:
        raise _invalid("期限超出产品范围", "The term is outside the product's range", "term_range", field="term_months")
    rate = rate_on(terms, today)
    if rate is None:
        raise _invalid("无法确定利率", "No rate is known for today", "rate_unknown")
    rate = rate.quantize(RATE_PLACES)
    try:
        instalments = rules.schedule(amount_fen, rate, term_months, method, today)
    except rules.TermsError as exc:
        raise _invalid("用信条件无效", "The drawdown terms are invalid", exc.code) from exc
    after = {
        "line": line.pk,
        "amount_fen": amount_fen,
        "term_months": term_months,
        "method": method,
        "rate": str(rate),
        "channel": channel,
    }
    # The loan and its audit row in one prepared statement on PostgreSQL (core.audit.create_with_record).
    new = Loan(
        household_id=line.household_id,
        line=line,
        product_code=line.product_code,
        drawdown_key=key,
        channel=channel,
        principal_fen=amount_fen,
        annual_rate=rate,
        penalty_rate=(rate * (1 + penalty_markup())).quantize(RATE_PLACES),
        term_months=term_months,
        method=method,
        start_on=today,
        maturity_on=rules.add_months(today, term_months),
        principal_outstanding_fen=amount_fen,
        created_at=now(),
        created_by=_user(actor),
    )
    # The audit row carries the borrower's outlet, so that the outlet's and branch's auditors see it.
    scope = scope_path if scope_path is not None else _scope_of(line.household_id)
    loan: Loan = audit.create_with_record(  # type: ignore[assignment]
        new, actor, "lending.drawdown", after=after, scope_path=scope
    )
    _keep_schedule(loan, _write_schedule(loan, instalments))
    line.used_fen += amount_fen
    statements.save_fields(line, ["used_fen"])  # one prepared UPDATE on PostgreSQL
    ledger.post(
        kind=EntryKind.DISBURSEMENT,
        posted_on=today,
        key=f"disbursement:loan:{loan.pk}",
        lines=[
            (AccountCode.LOAN_PRINCIPAL, Side.DEBIT, amount_fen, loan.pk, line.pk),
            (AccountCode.CUSTOMER_CLEARING, Side.CREDIT, amount_fen, loan.pk, line.pk),
        ],
        actor=_user(actor),
        memo=f"用信放款 {line.product_code}",
        new_key=True,  # keyed by the loan inserted above, in this transaction: no entry can have its key
        scope_path=scope,
    )
    return loan


def _write_schedule(loan: Loan, instalments: list[rules.Instalment]) -> list[Instalment]:
    """A new loan's schedule (version 1): one prepared INSERT … SELECT FROM unnest on PostgreSQL
    (core.statements.insert_many), bulk_create elsewhere. Returns the rows as written."""
    alias = loan._state.db or "default"
    if not statements.prepared_on(alias):
        return Instalment.objects.bulk_create(
            Instalment(
                loan=loan,
                schedule_version=1,
                number=i.number,
                due_on=i.due_on,
                principal_fen=i.principal_fen,
                interest_fen=i.interest_fen,
            )
            for i in instalments
        )
    n = len(instalments)
    ids = statements.insert_many(
        alias,
        Instalment,
        {
            "loan_id": [loan.pk] * n,
            "schedule_version": [1] * n,
            "number": [i.number for i in instalments],
            "due_on": [i.due_on for i in instalments],
            "principal_fen": [i.principal_fen for i in instalments],
            "interest_fen": [i.interest_fen for i in instalments],
        },
    )
    names = [f.attname for f in Instalment._meta.concrete_fields]
    rows = []
    for pk, i in zip(ids, instalments, strict=True):
        values = {
            "id": pk,
            "loan_id": loan.pk,
            "schedule_version": 1,
            "number": i.number,
            "due_on": i.due_on,
            "principal_fen": i.principal_fen,
            "interest_fen": i.interest_fen,
            "paid_principal_fen": 0,
            "paid_interest_fen": 0,
            "status": InstalmentStatus.PENDING.value,
        }
        rows.append(Instalment.from_db(alias, names, [values[n] for n in names]))  # as the ORM loads a row
    return rows


# The schedule a drawdown wrote, kept on the loan object it returns: the caller's response (owed(), the
# channel's loan detail) then needs no read of what this transaction has just written. Used only while the
# loan object's schedule_version is still the one it was written as.
_WRITTEN = "_lending_written_schedule"


def _scope_of(household_id: int) -> str:
    """The org path of a household's outlet: the scope of its audit rows."""
    path = Household.objects.filter(pk=household_id).values_list("village__grid__outlet__path", flat=True).first()
    return path or ""


def _keep_schedule(loan: Loan, rows: list[Instalment]) -> None:
    setattr(loan, _WRITTEN, (loan.schedule_version, rows))


# Repayment ----------------------------------------------------------------------------------------


def _current(loan: Loan) -> list[Instalment]:
    """The loan's current schedule in number order: the rows its drawdown wrote if this is the loan object
    drawdown() returned and they were not used yet, otherwise read. Used once: a repayment made since
    (repay() locks and changes a fresh object) would leave them stale on this one."""
    kept = loan.__dict__.pop(_WRITTEN, None)
    if kept is not None and kept[0] == loan.schedule_version:
        return list(kept[1])
    return list(
        loan.instalments.filter(schedule_version=loan.schedule_version).exclude(status=InstalmentStatus.SUPERSEDED)
    )


def owed(loan: Loan, today: dt.date) -> dict[str, Any]:
    """What the loan owes on `today`, by allocation bucket, and what paying it off would take.

    Overdue: instalments due before today and unpaid. Current: the instalment due today. What is not yet
    due can be repaid early with its interest since the last due date (rules.early_principal).
    """
    rows = _current(loan)
    overdue = [r for r in rows if r.due_on < today]
    due_today = [r for r in rows if r.due_on == today]
    past = [r.due_on for r in rows if r.due_on <= today]
    since = max(past) if past else loan.start_on
    buckets = {
        "penalty": loan.penalty_receivable_fen + loan.offbook_penalty_fen,  # off-balance: owed all the same
        "overdue_interest": sum(r.interest_fen - r.paid_interest_fen for r in overdue),
        "overdue_principal": sum(r.principal_fen - r.paid_principal_fen for r in overdue),
        "interest": sum(r.interest_fen - r.paid_interest_fen for r in due_today),
        "principal": sum(r.principal_fen - r.paid_principal_fen for r in due_today),
    }
    not_due = loan.principal_outstanding_fen - buckets["overdue_principal"] - buckets["principal"]
    days = (today - since).days
    early_interest = rules.daily_interest_fen(not_due, loan.annual_rate, days) if not_due > 0 else 0
    payoff = sum(buckets.values()) + not_due + early_interest
    return {
        "buckets": buckets,
        "not_due_principal_fen": not_due,
        "days_since_due": days,
        "payoff_fen": payoff,
        "rows": rows,
    }


def _post_for_loan(
    loan: Loan,
    legs: Sequence[tuple[str, int, int]],
    *,
    kind: str,
    key: str,
    today: dt.date,
    actor: Any,
    memo: str,
    scope: str,
) -> Any:
    """One balanced journal entry of this loan's legs (account, side, amount) on its line; legs of 0 are
    left out. Repayments, write-offs and recoveries post through it."""
    return ledger.post(
        kind=kind,
        posted_on=today,
        key=key,
        lines=[(account, side, amount, loan.pk, loan.line_id) for account, side, amount in legs if amount > 0],
        actor=_user(actor),
        memo=memo,
        scope_path=scope,
    )


def repay(
    actor: Any,
    loan: Loan,
    *,
    key: str,
    channel: str,
    amount_fen: int | None = None,
    payoff: bool = False,
    today: dt.date | None = None,
) -> Repayment:
    """Repay a loan: penalty, then overdue interest, overdue principal, current interest, current
    principal; anything beyond repays principal early (with its interest since the last due date) and
    the rest of the schedule is re-amortised (same method, same due dates and maturity). An amount above
    what paying off would take is refused. Exactly once per key."""
    today = today or business_today()
    if not key or len(key) > 120:
        raise _invalid("缺少幂等键", "An idempotency key is required", "key_required", field="key")
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    existing = Repayment.objects.filter(key=key).first()
    if existing is not None:
        if (
            existing.loan_id != loan.pk
            or (not payoff and existing.amount_fen != amount_fen)
            or (payoff and not existing.payoff)
        ):
            raise KeyReused("该请求编号已用于另一笔还款", "The key was used for a different repayment", key=key)
        return existing
    if loan.status == LoanStatus.WRITTEN_OFF:  # paid on a written-off loan: a recovery (清收)
        return _recover(actor, loan, key=key, channel=channel, amount_fen=amount_fen, payoff=payoff, today=today)
    if loan.status != LoanStatus.ACTIVE:
        raise _invalid("该笔贷款已结清", "The loan is not active", "loan_not_active", loan_status=loan.status)
    state = owed(loan, today)
    if payoff:
        amount_fen = state["payoff_fen"]
    if type(amount_fen) is not int or amount_fen <= 0:
        raise _invalid("还款金额无效", "Enter a positive amount", "amount_invalid", field="amount_fen")
    if amount_fen > state["payoff_fen"]:
        raise _invalid(
            "还款金额超过应还总额",
            "The amount is more than paying the loan off would take",
            "overpayment",
            field="amount_fen",
            payoff_fen=state["payoff_fen"],
        )
    before = _loan_state(loan)
    schedule_before = [_row_state(r) for r in state["rows"]]
    buckets = state["buckets"]
    fixed = sum(buckets.values())
    alloc = rules.allocate(min(amount_fen, fixed), buckets) if min(amount_fen, fixed) > 0 else dict.fromkeys(buckets, 0)
    early, early_interest = 0, 0
    if amount_fen > fixed:
        rest = amount_fen - fixed
        early, early_interest = rules.early_principal(
            rest, state["not_due_principal_fen"], loan.annual_rate, state["days_since_due"]
        )
        early += rest - early - early_interest  # a fen the rounding leaves goes to principal, not interest
    interest_paid = alloc["overdue_interest"] + alloc["interest"] + early_interest
    principal_paid = alloc["overdue_principal"] + alloc["principal"] + early
    _apply_to_instalments(state["rows"], today, alloc)
    if early:
        _reschedule(loan, state["rows"], today, state["not_due_principal_fen"] - early)
    from_receivable = min(interest_paid, loan.interest_receivable_fen)
    # A non-accrual loan's interest and penalty are kept off-balance (表外欠息): paid, they are income now.
    from_offbook = min(interest_paid - from_receivable, loan.offbook_interest_fen)
    penalty_booked = min(alloc["penalty"], loan.penalty_receivable_fen)
    penalty_offbook = alloc["penalty"] - penalty_booked
    loan.interest_receivable_fen -= from_receivable
    loan.offbook_interest_fen -= from_offbook
    loan.penalty_receivable_fen -= penalty_booked
    loan.offbook_penalty_fen -= penalty_offbook
    loan.principal_outstanding_fen -= principal_paid
    settled = loan.principal_outstanding_fen == 0 and loan.penalty_receivable_fen == loan.offbook_penalty_fen == 0
    # Interest the day-end batch accrued ahead of what the customer owed at settlement (it spreads an
    # instalment's interest over the days of its period; an early payoff charges by the day): taken back.
    unearned = loan.interest_receivable_fen if settled else 0
    loan.interest_receivable_fen -= unearned
    unearned_offbook = loan.offbook_interest_fen if settled else 0  # likewise, noted off-balance
    loan.offbook_interest_fen -= unearned_offbook
    if settled:
        loan.status, loan.settled_on = LoanStatus.SETTLED, today
    loan.save()
    line = CreditLine.objects.select_for_update().get(pk=loan.line_id)
    line.used_fen -= principal_paid
    line.save(update_fields=["used_fen"])
    lines = [
        (AccountCode.CUSTOMER_CLEARING, Side.DEBIT, amount_fen),
        (AccountCode.PENALTY_INTEREST_RECEIVABLE, Side.CREDIT, penalty_booked),
        (AccountCode.PENALTY_INTEREST_INCOME, Side.CREDIT, penalty_offbook),
        (AccountCode.INTEREST_RECEIVABLE, Side.CREDIT, from_receivable),
        (AccountCode.INTEREST_INCOME, Side.CREDIT, interest_paid - from_receivable),
        (AccountCode.LOAN_PRINCIPAL, Side.CREDIT, principal_paid),
        (AccountCode.INTEREST_INCOME, Side.DEBIT, unearned),
        (AccountCode.INTEREST_RECEIVABLE, Side.CREDIT, unearned),
        (AccountCode.OFF_BALANCE_CONTRA, Side.DEBIT, from_offbook + penalty_offbook + unearned_offbook),
        (AccountCode.OFF_BALANCE_INTEREST, Side.CREDIT, from_offbook + unearned_offbook),
        (AccountCode.OFF_BALANCE_PENALTY, Side.CREDIT, penalty_offbook),
    ]
    scope = _scope_of(loan.household_id)  # the borrower's outlet: the scope of the audit rows
    entry = _post_for_loan(
        loan,
        lines,
        kind=EntryKind.REPAYMENT,
        key=f"repayment:{key}",
        today=today,
        actor=actor,
        memo="还款",
        scope=scope,
    )
    repayment = Repayment.objects.create(
        loan=loan,
        key=key,
        channel=channel,
        paid_on=today,
        amount_fen=amount_fen,
        penalty_fen=alloc["penalty"],
        overdue_interest_fen=alloc["overdue_interest"],
        overdue_principal_fen=alloc["overdue_principal"],
        interest_fen=alloc["interest"] + early_interest,
        principal_fen=alloc["principal"] + early,
        payoff=payoff or settled,
        journal_entry_id=entry.pk,
        created_at=now(),
        created_by=_user(actor),
        restore={
            "before": before,
            "after": _loan_state(loan),
            "schedule": schedule_before,
            "line_freed_fen": principal_paid,
        },
    )
    audit.record(
        actor,
        "lending.repay",
        repayment,
        after={
            "loan": loan.pk,
            "amount_fen": amount_fen,
            "principal_fen": principal_paid,
            "interest_fen": interest_paid,
            "penalty_fen": alloc["penalty"],
            "settled": settled,
        },
        scope_path=scope,
    )
    return repayment


# Write-off (核销) and recovery (清收) --------------------------------------------------------------


def write_off(actor: Any, loan: Loan, *, key: str, today: dt.date, reason: str, scope_path: str = "") -> Loan:
    """Take an active loan off the balance sheet (核销): its principal and the interest and penalty it has
    on the books become a loss, and the bank keeps the whole claim off-balance (账销案存) to go on
    recovering it. The loan stops accruing for good (the day-end batch serves active loans only); its
    line gives back the principal as used and is frozen, so the customer cannot draw on it again, and no
    new line is granted while anything written off is still owed.

    The caller has checked who approved it and why (servicing.services.approve_write_off); `key` names
    that approval and keys the entry. A second call finds the loan written off and is refused, so the
    entry is posted once. Returns the loan, locked."""
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    if loan.status != LoanStatus.ACTIVE:
        raise _invalid(
            "只有未结清的贷款可以核销",
            "Only an active loan can be written off",
            "loan_not_active",
            loan_status=loan.status,
        )
    principal, interest, penalty = (
        loan.principal_outstanding_fen,
        loan.interest_receivable_fen,
        loan.penalty_receivable_fen,
    )
    on_book = principal + interest + penalty
    if on_book + loan.offbook_interest_fen + loan.offbook_penalty_fen <= 0:
        raise _invalid("该笔贷款已无欠款", "Nothing is owed on the loan", "nothing_owed")
    legs = [
        (AccountCode.LOAN_LOSS, Side.DEBIT, on_book),
        (AccountCode.LOAN_PRINCIPAL, Side.CREDIT, principal),
        (AccountCode.INTEREST_RECEIVABLE, Side.CREDIT, interest),
        (AccountCode.PENALTY_INTEREST_RECEIVABLE, Side.CREDIT, penalty),
        # 账销案存: what was written off stays owed, noted off-balance beside the non-accrual interest
        (AccountCode.WRITTEN_OFF_PRINCIPAL, Side.DEBIT, principal),
        (AccountCode.OFF_BALANCE_INTEREST, Side.DEBIT, interest),
        (AccountCode.OFF_BALANCE_PENALTY, Side.DEBIT, penalty),
        (AccountCode.OFF_BALANCE_CONTRA, Side.CREDIT, on_book),
    ]
    before = {
        "status": loan.status,
        "principal_outstanding_fen": principal,
        "interest_receivable_fen": interest,
        "penalty_receivable_fen": penalty,
        "offbook_interest_fen": loan.offbook_interest_fen,
        "offbook_penalty_fen": loan.offbook_penalty_fen,
    }
    loan.status, loan.written_off_on = LoanStatus.WRITTEN_OFF, today
    loan.principal_outstanding_fen, loan.written_off_principal_fen = 0, principal
    loan.interest_receivable_fen, loan.offbook_interest_fen = 0, loan.offbook_interest_fen + interest
    loan.penalty_receivable_fen, loan.offbook_penalty_fen = 0, loan.offbook_penalty_fen + penalty
    loan.accrual_stopped_on = loan.accrual_stopped_on or today
    loan.save(
        update_fields=[
            "status",
            "written_off_on",
            "principal_outstanding_fen",
            "written_off_principal_fen",
            "interest_receivable_fen",
            "offbook_interest_fen",
            "penalty_receivable_fen",
            "offbook_penalty_fen",
            "accrual_stopped_on",
        ]
    )
    line = CreditLine.objects.select_for_update().get(pk=loan.line_id)
    line_before = {"status": line.status, "used_fen": line.used_fen}
    line.used_fen -= principal
    if line.status in (LineStatus.ACTIVE, LineStatus.PENDING, LineStatus.POSTED):
        # The line is drawn no more; the customer gets no new one while anything written off is owed
        # (lending.queries.written_off_debtors, checked by every grant).
        line.status = LineStatus.FROZEN
    line.save(update_fields=["used_fen", "status"])
    scope = scope_path or _scope_of(loan.household_id)
    entry = None
    if any(amount for _, _, amount in legs):
        entry = _post_for_loan(
            loan,
            legs,
            kind=EntryKind.WRITE_OFF,
            key=f"write-off:{key}",
            today=today,
            actor=actor,
            memo=f"贷款核销：{reason}"[:500],
            scope=scope,
        )
    audit.record(
        actor,
        "lending.write_off",
        loan,
        before=before,
        after={
            "status": loan.status,
            "written_off_principal_fen": principal,
            "loss_fen": on_book,
            "offbook_interest_fen": loan.offbook_interest_fen,
            "offbook_penalty_fen": loan.offbook_penalty_fen,
            "entry": entry.pk if entry else None,
        },
        reason=reason,
        scope_path=scope,
    )
    if line_before["status"] != line.status:
        audit.record(
            actor,
            "credit.line.freeze",
            line,
            before=line_before,
            after={"status": line.status, "used_fen": line.used_fen, "loan": loan.pk},
            reason="贷款核销",
            scope_path=scope,
        )
    return loan


def recoverable_fen(loan: Loan) -> int:
    """What a written-off loan still owes: the principal written off and the interest and penalty kept
    off-balance (0 for a loan that is not written off)."""
    if loan.status != LoanStatus.WRITTEN_OFF:
        return 0
    return loan.written_off_principal_fen + loan.offbook_interest_fen + loan.offbook_penalty_fen


def _recover(
    actor: Any, loan: Loan, *, key: str, channel: str, amount_fen: int | None, payoff: bool, today: dt.date
) -> Repayment:
    """Money received on a written-off loan (清收), the loan locked by the caller: principal first, then
    interest, then penalty (先本后息: what is recovered first reduces the loss). The principal recovered
    takes back part of the loss; interest and penalty are income when received. The off-balance claim
    goes down by the same amounts. More than is still owed is refused."""
    claim = recoverable_fen(loan)
    if claim <= 0:
        raise _invalid("该笔核销贷款已全部收回", "The written-off loan has been recovered in full", "nothing_owed")
    if payoff:
        amount_fen = claim
    if type(amount_fen) is not int or amount_fen <= 0:
        raise _invalid("还款金额无效", "Enter a positive amount", "amount_invalid", field="amount_fen")
    if amount_fen > claim:
        raise _invalid(
            "还款金额超过尚欠金额",
            "The amount is more than is still owed on the written-off loan",
            "overpayment",
            field="amount_fen",
            payoff_fen=claim,
        )
    before = _loan_state(loan)
    principal = min(amount_fen, loan.written_off_principal_fen)
    interest = min(amount_fen - principal, loan.offbook_interest_fen)
    penalty = amount_fen - principal - interest
    loan.written_off_principal_fen -= principal
    loan.offbook_interest_fen -= interest
    loan.offbook_penalty_fen -= penalty
    recovered = recoverable_fen(loan) == 0
    if recovered:
        loan.settled_on = today  # the claim is closed; the loan stays written off in its history
    loan.save(update_fields=["written_off_principal_fen", "offbook_interest_fen", "offbook_penalty_fen", "settled_on"])
    legs = [
        (AccountCode.CUSTOMER_CLEARING, Side.DEBIT, amount_fen),
        (AccountCode.LOAN_LOSS, Side.CREDIT, principal),
        (AccountCode.INTEREST_INCOME, Side.CREDIT, interest),
        (AccountCode.PENALTY_INTEREST_INCOME, Side.CREDIT, penalty),
        (AccountCode.OFF_BALANCE_CONTRA, Side.DEBIT, amount_fen),
        (AccountCode.WRITTEN_OFF_PRINCIPAL, Side.CREDIT, principal),
        (AccountCode.OFF_BALANCE_INTEREST, Side.CREDIT, interest),
        (AccountCode.OFF_BALANCE_PENALTY, Side.CREDIT, penalty),
    ]
    scope = _scope_of(loan.household_id)
    entry = _post_for_loan(
        loan,
        legs,
        kind=EntryKind.RECOVERY,
        key=f"repayment:{key}",
        today=today,
        actor=actor,
        memo="核销贷款收回",
        scope=scope,
    )
    repayment = Repayment.objects.create(
        loan=loan,
        key=key,
        channel=channel,
        paid_on=today,
        amount_fen=amount_fen,
        penalty_fen=penalty,
        overdue_interest_fen=interest,
        overdue_principal_fen=principal,
        payoff=recovered,
        journal_entry_id=entry.pk,
        created_at=now(),
        created_by=_user(actor),
        restore={"before": before, "after": _loan_state(loan), "line_freed_fen": 0},
    )
    audit.record(
        actor,
        "lending.recover",
        repayment,
        after={
            "loan": loan.pk,
            "amount_fen": amount_fen,
            "principal_fen": principal,
            "interest_fen": interest,
            "penalty_fen": penalty,
            "still_owed_fen": recoverable_fen(loan),
        },
        scope_path=scope,
    )
    return repayment


# Reversal (冲正) -------------------------------------------------------------------------------------

# What a repayment or recovery may change on its loan: kept before and after it (Repayment.restore).
_STATE_FIELDS = (
    "status",
    "settled_on",
    "principal_outstanding_fen",
    "interest_receivable_fen",
    "penalty_receivable_fen",
    "offbook_interest_fen",
    "offbook_penalty_fen",
    "written_off_principal_fen",
    "schedule_version",
)
_ROW_FIELDS = ("number", "due_on", "principal_fen", "interest_fen", "paid_principal_fen", "paid_interest_fen", "status")


def _loan_state(loan: Loan) -> dict[str, Any]:
    state = {name: getattr(loan, name) for name in _STATE_FIELDS}
    state["settled_on"] = loan.settled_on.isoformat() if loan.settled_on else None
    return state


def _row_state(row: Instalment) -> dict[str, Any]:
    state = {name: getattr(row, name) for name in _ROW_FIELDS}
    state["id"], state["due_on"] = row.pk, row.due_on.isoformat()
    return state


def reverse_repayment(actor: Any, repayment: Repayment, *, reason: str, today: dt.date) -> Repayment:
    """Undo a repayment or recovery made today by mistake (冲正): its journal entry is reversed (the mirror
    image, posted today), and the loan, its schedule and its line are put back exactly as they were before
    it. Only the loan's latest repayment not already reversed, only on the day it was made, and only while
    nothing else has changed the loan since: otherwise what "before" means is no longer certain and the
    bank posts a new event instead. A reversed repayment keeps its key: paying again takes a new one.

    The caller has checked who may do it and that the day has not been closed
    (servicing.services.reverse_repayment). Returns the repayment, locked and marked reversed."""
    loan = Loan.objects.select_for_update().get(pk=repayment.loan_id)
    repayment = Repayment.objects.select_for_update().get(pk=repayment.pk)
    if not reason or not reason.strip():
        raise _invalid("冲正须说明原因", "A reversal needs a reason", "reason_required", field="reason")
    if repayment.reversed_at is not None:
        raise _invalid(
            "该笔还款已经冲正", "The repayment has already been reversed", "already_reversed", repayment=repayment.pk
        )
    if repayment.paid_on != today:
        raise _invalid(
            "只能冲正当日的还款",
            "Only a repayment made today can be reversed",
            "not_same_day",
            paid_on=repayment.paid_on.isoformat(),
        )
    restore = repayment.restore
    if not restore:
        raise _invalid(
            "该笔还款无法冲正", "This repayment was recorded without what reversing it needs", "not_reversible"
        )
    later = Repayment.objects.filter(loan=loan, pk__gt=repayment.pk, reversed_at__isnull=True).values_list(
        "pk", flat=True
    )
    if later.exists():
        raise _invalid(
            "须先冲正该笔贷款此后的还款",
            "Reverse the loan's later repayments first",
            "not_latest",
            later=list(later),
        )
    if _loan_state(loan) != restore["after"]:
        raise _invalid(
            "该笔还款后贷款已有其他变动，不能冲正",
            "The loan has changed since this repayment: it can no longer be reversed",
            "loan_changed",
        )
    freed = int(restore.get("line_freed_fen", 0))
    line = CreditLine.objects.select_for_update().get(pk=loan.line_id)
    if line.used_fen + freed > line.limit_fen:
        raise _invalid(
            "该笔还款释放的额度已被再次使用，不能冲正",
            "The limit this repayment freed has been drawn again: it can no longer be reversed",
            "limit_drawn_since",
            available_fen=line.limit_fen - line.used_fen,
        )
    entry = JournalEntry.objects.get(pk=repayment.journal_entry_id)
    reversal = ledger.reverse(entry, posted_on=today, actor=_user(actor), reason=f"还款冲正：{reason}")
    before = restore["before"]
    for name in _STATE_FIELDS:
        if name not in ("settled_on", "schedule_version"):  # a date kept as text; versions only grow
            setattr(loan, name, before[name])
    loan.settled_on = dt.date.fromisoformat(before["settled_on"]) if before["settled_on"] else None
    if "schedule" in restore:
        _restore_schedule(loan, before["schedule_version"], restore["schedule"])
    loan.save(update_fields=list(_STATE_FIELDS))
    if freed:
        line.used_fen += freed
        line.save(update_fields=["used_fen"])
    repayment.reversed_at, repayment.reversed_by = now(), _user(actor)
    repayment.reversal_reason, repayment.reversal_entry_id = reason.strip()[:500], reversal.pk
    repayment.save(update_fields=["reversed_at", "reversed_by", "reversal_reason", "reversal_entry_id"])
    audit.record(
        actor,
        "lending.repayment.reverse",
        repayment,
        before=restore["after"],
        after={**before, "loan": loan.pk, "amount_fen": repayment.amount_fen, "reversal_entry": reversal.pk},
        reason=reason,
        scope_path=_scope_of(loan.household_id),
    )
    return repayment


def _restore_schedule(loan: Loan, version: int, rows: list[dict[str, Any]]) -> None:
    """Put the schedule back as the repayment found it. Rows it only filled are emptied again in place; a
    schedule it re-amortised stays as history (superseded) and the rows from before come back as a new
    version, so that versions only ever grow."""
    if loan.schedule_version == version:
        current = {r.pk: r for r in Instalment.objects.filter(loan=loan, schedule_version=version)}
        for saved in rows:
            row = current[saved["id"]]
            if (row.paid_principal_fen, row.paid_interest_fen, row.status) != (
                saved["paid_principal_fen"],
                saved["paid_interest_fen"],
                saved["status"],
            ):
                row.paid_principal_fen, row.paid_interest_fen = saved["paid_principal_fen"], saved["paid_interest_fen"]
                row.status = saved["status"]
                row.save(update_fields=["paid_principal_fen", "paid_interest_fen", "status"])
        return
    Instalment.objects.filter(loan=loan, schedule_version=loan.schedule_version).update(
        status=InstalmentStatus.SUPERSEDED
    )
    loan.schedule_version += 1
    Instalment.objects.bulk_create(
        Instalment(
            loan=loan,
            schedule_version=loan.schedule_version,
            **{name: saved[name] for name in _ROW_FIELDS if name != "due_on"},
            due_on=dt.date.fromisoformat(saved["due_on"]),
        )
        for saved in rows
    )


def _apply_to_instalments(rows: list[Instalment], today: dt.date, alloc: dict[str, int]) -> None:
    """Fill the overdue instalments (oldest first), then today's, with the allocated amounts."""
    left = {k: alloc[k] for k in ("overdue_interest", "overdue_principal", "interest", "principal")}
    for r in sorted(rows, key=lambda r: r.number):
        if r.due_on > today:
            continue
        kind = "overdue_" if r.due_on < today else ""
        take_i = min(left[kind + "interest"], r.interest_fen - r.paid_interest_fen)
        take_p = min(left[kind + "principal"], r.principal_fen - r.paid_principal_fen)
        was = r.status
        if take_i or take_p:
            r.paid_interest_fen += take_i
            r.paid_principal_fen += take_p
            left[kind + "interest"] -= take_i
            left[kind + "principal"] -= take_p
        if r.paid_interest_fen == r.interest_fen and r.paid_principal_fen == r.principal_fen:
            r.status = InstalmentStatus.PAID
        if take_i or take_p or r.status != was:  # rows paid before stay as they are: no write
            r.save(update_fields=["paid_interest_fen", "paid_principal_fen", "status"])


def _reschedule(loan: Loan, rows: list[Instalment], today: dt.date, balance_fen: int) -> None:
    """Replace the instalments not yet due with a re-amortised schedule of the remaining balance."""
    future = [r for r in rows if r.due_on > today]
    paid = loan.term_months - len(future)
    # The whole current version becomes history; the new version repeats what is past, then the new rest.
    Instalment.objects.filter(loan=loan, schedule_version=loan.schedule_version).update(
        status=InstalmentStatus.SUPERSEDED
    )
    loan.schedule_version += 1
    past = [r for r in rows if r.due_on <= today]
    Instalment.objects.bulk_create(
        Instalment(
            loan=loan,
            schedule_version=loan.schedule_version,
            number=r.number,
            due_on=r.due_on,
            principal_fen=r.principal_fen,
            interest_fen=r.interest_fen,
            paid_principal_fen=r.paid_principal_fen,
            paid_interest_fen=r.paid_interest_fen,
            status=r.status,
        )
        for r in past
    )
    if balance_fen > 0:
        new = rules.reschedule(balance_fen, loan.annual_rate, loan.term_months, loan.method, loan.start_on, paid)
        Instalment.objects.bulk_create(
            Instalment(
                loan=loan,
                schedule_version=loan.schedule_version,
                number=i.number,
                due_on=i.due_on,
                principal_fen=i.principal_fen,
                interest_fen=i.interest_fen,
            )
            for i in new
        )
