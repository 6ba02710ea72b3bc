"""The demo bank's lending history: about two years of drawdowns, repayments and day-end batches, run
through the real services (lending.services.drawdown / repay, servicing.eod.run), so the ledger, the
loans' schedules and states, the five categories and the daily snapshots are genuine.

Two halves. `plan_history` is pure (numpy and lending.rules): it picks the borrowers among households
with an active line and writes down, for each, its loans and the days it pays — on the due date, days or
weeks late, early, or never again — from the household's risk under the demo's known default process
(history.default_logit). `run_history` then walks the bank's calendar day by day: the day's repayments,
then its drawdowns, in one transaction, then the day-end batch. Same inputs and seed → the same plan.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Count, Min, Sum

from xinedai.core.dates import BANK_TZ
from xinedai.core.money import format_wan
from xinedai.credit.choices import LineStatus
from xinedai.credit.models import CreditLine
from xinedai.households.models import Household
from xinedai.lending import rules
from xinedai.lending import services as lending
from xinedai.lending.choices import SCHEDULED_METHODS, InstalmentStatus, LoanStatus
from xinedai.lending.models import Instalment, Loan, Repayment
from xinedai.products.choices import EntryPoint
from xinedai.products.models import Product
from xinedai.products.queries import effective_version
from xinedai.servicing import eod
from xinedai.servicing.choices import NPL_CLASSES, RiskClass
from xinedai.servicing.models import BusinessDay, LoanState

from .history import default_logit

Progress = Callable[[str, int, int], None]

HISTORY_DAYS = 730
# The case study's West Coast branch on 2022-06-30 (shared/domain.md): 2,685 borrowers, 411.97 million RMB
# outstanding. The demo's default bank has 20,000 households; a bank of another size scales in proportion.
CASE_HOUSEHOLDS = 20_000
CASE_BORROWERS = 2_685
CASE_OUTSTANDING_FEN = 411_970_000 * 100
PRODUCT = "xinedai"  # the base 信e贷 product, the one the demo's lines are granted for
LIMIT_CAP_FEN = 300_000 * 100  # the largest line (online + offline cap): weights are relative to it
# The demo's credit officer proposes, on the first of each month, writing off the loans classified loss for
# at least this long, and head-office risk approves (maker ≠ checker, servicing.services).
WRITE_OFF_AFTER_DAYS_IN_LOSS = 90
# One repayment in this many bounces (the debit behind it fails): reversed the same day by the branch
# manager, then paid again, so that the demo's loan pages and audit log show a reversal (还款冲正).
BOUNCE_EVERY = 500
REVERSER = "bm01"
PLANNING_RATE = Decimal("0.045")  # only to estimate what will be outstanding; drawdowns use the product's rate

# (method, months, share of drawdowns): mostly one-year interest-only loans renewed at maturity, as rural
# credit lines are used (按月付息、到期还本、续贷); some amortising loans; some short "revolving-style" ones.
LOAN_KINDS: tuple[tuple[str, int, float], ...] = (
    (rules.INTEREST_ONLY, 12, 0.38),
    (rules.INTEREST_ONLY, 24, 0.05),
    (rules.INTEREST_ONLY, 36, 0.03),
    (rules.ANNUITY, 12, 0.10),
    (rules.ANNUITY, 24, 0.08),
    (rules.ANNUITY, 36, 0.08),
    (rules.EQUAL_PRINCIPAL, 12, 0.05),
    (rules.EQUAL_PRINCIPAL, 24, 0.04),
    (rules.EQUAL_PRINCIPAL, 36, 0.03),
    (rules.INTEREST_ONLY, 3, 0.06),
    (rules.INTEREST_ONLY, 6, 0.10),
)
SHORT_MONTHS = 6
# Borrowers are drawn favouring households on file before the history (×12) or in its first year (×4).
OLD_FILE_WEIGHT, MID_FILE_WEIGHT = 12.0, 4.0
CHANNELS = ((EntryPoint.MOBILE_BANKING.value, 0.6), (EntryPoint.WECHAT.value, 0.25), (EntryPoint.OUTLET.value, 0.15))

# Behaviour. The default process's probability p (history.default_logit) is read as a yearly hazard of
# stopping to pay; a third of the households that stop pay up later (after one to eight months). Each
# instalment is paid late with probability LATE_BASE + LATE_PER_RISK·p, by days to a few weeks.
DEFAULT_HAZARD = 2.0
CURE_SHARE = 0.3
LATE_BASE, LATE_PER_RISK, LATE_MAX_DAYS = 0.02, 1.5, 75
PAYOFF_SHARE, PREPAY_SHARE, SECOND_LOAN_SHARE, CHURN_SHARE = 0.08, 0.04, 0.12, 0.18


@dataclass(frozen=True)
class Candidate:
    """A household with an active line: what the plan needs to know of it."""

    household_id: int
    line_id: int
    limit_fen: int
    on_file_day: int  # the day of the history its file was created (negative: before the history starts)
    risk: float  # probability of default under the demo's known process
    # The key of its own random stream: its place among the bank's households (id − the smallest id), so
    # that the same seed plans the same history whatever ids the database hands out (a PostgreSQL
    # sequence does not restart when a test empties the tables).
    stream: int


@dataclass
class PlannedLoan:
    """One loan of the plan: when it is drawn and on what terms, and the days its borrower pays."""

    index: int
    household_id: int
    line_id: int
    line_limit_fen: int
    drawn: int  # day of the history
    amount_fen: int
    term_months: int
    method: str
    channel: str
    # (day, kind): "pay" pays everything due that day; "payoff" settles the loan; "prepay" repays
    # `prepay_permille` ‰ of the principal not yet due on top of what is due.
    events: list[tuple[int, str]] = field(default_factory=list)
    prepay_permille: int = 0
    settles: int | None = None  # the day the loan is repaid in full, None if not within the history
    defaulted: bool = False  # its borrower stopped paying (and had not paid up by the end)


@dataclass
class Plan:
    terms: Terms
    start: dt.date
    days: int
    loans: list[PlannedLoan]
    households: int  # borrowers over the whole history
    borrowers_at_end: int
    outstanding_fen_at_end: int  # estimated, at the planning rate
    target_borrowers: int
    target_outstanding_fen: int


@dataclass
class HistoryResult:
    start: dt.date
    end: dt.date
    days: int
    loans_drawn: int = 0
    repayments: int = 0
    written_off: int = 0
    reversed: int = 0
    seconds: float = 0.0
    seconds_by_part: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Terms:
    """What the product lets a drawdown be (products.ProductVersion): amounts, months, methods."""

    min_amount_fen: int
    max_amount_fen: int
    min_term_months: int
    max_term_months: int
    methods: tuple[str, ...]

    def kinds(self) -> list[tuple[str, int, float]]:
        """The loan kinds of LOAN_KINDS these terms allow."""
        return [k for k in LOAN_KINDS if k[0] in self.methods and self.min_term_months <= k[1] <= self.max_term_months]


# Planning (pure) -----------------------------------------------------------------------------------


def plan_history(
    candidates: list[Candidate],
    *,
    terms: Terms,
    start: dt.date,
    days: int,
    seed: int,
    target_borrowers: int,
    target_outstanding_fen: int,
) -> Plan:
    """Choose borrowers until `target_borrowers` have a balance on the last day, then size the loans so
    that about `target_outstanding_fen` is outstanding then.

    Households are taken in a random order that favours large lines (the case study's 150,000 RMB per
    borrower needs them) and files on record for longer (they had time to borrow). Each household's
    behaviour comes from its own random stream, so choosing more or fewer households leaves the others'
    loans as they were.
    """
    if not candidates or target_borrowers <= 0 or not terms.kinds():
        return Plan(terms, start, days, [], 0, 0, 0, target_borrowers, target_outstanding_fen)
    rng = np.random.default_rng([seed, 730])
    limit = np.array([c.limit_fen for c in candidates], dtype=float) / LIMIT_CAP_FEN
    on_file = np.array([c.on_file_day for c in candidates])
    weight = limit**2 * np.where(on_file < 0, OLD_FILE_WEIGHT, np.where(on_file < days // 2, MID_FILE_WEIGHT, 1.0))
    # Weighted order without replacement (Efraimidis–Spirakis): sort by u^(1/w).
    keys = np.log(rng.random(len(candidates))) / np.maximum(weight, 1e-9)
    order = np.argsort(-keys, kind="stable")

    chosen: list[Candidate] = []
    at_end = 0
    for i in order.tolist():
        c = candidates[i]
        loans = _household_loans(c, terms, start=start, days=days, seed=seed, scale=1.0)
        if not loans:
            continue
        chosen.append(c)
        at_end += _active_at_end(loans)
        if at_end >= target_borrowers:
            break
    scale = 1.0
    plan_loans: list[PlannedLoan] = []
    for _ in range(4):  # amounts are clipped to the lines: a few rounds converge
        plan_loans = [
            loan for c in chosen for loan in _household_loans(c, terms, start=start, days=days, seed=seed, scale=scale)
        ]
        outstanding = sum(_outstanding_at_end(loan, start) for loan in plan_loans)
        if not outstanding or abs(outstanding - target_outstanding_fen) < 0.02 * target_outstanding_fen:
            break
        scale *= target_outstanding_fen / outstanding
    plan_loans.sort(key=lambda loan: (loan.drawn, loan.household_id, loan.index))
    borrowers = len({loan.household_id for loan in plan_loans if loan.settles is None or loan.settles >= days})
    return Plan(
        terms=terms,
        start=start,
        days=days,
        loans=plan_loans,
        households=len(chosen),
        borrowers_at_end=borrowers,
        outstanding_fen_at_end=sum(_outstanding_at_end(loan, start) for loan in plan_loans),
        target_borrowers=target_borrowers,
        target_outstanding_fen=target_outstanding_fen,
    )


def _active_at_end(loans: list[PlannedLoan]) -> int:
    return int(any(loan.settles is None for loan in loans))


def _outstanding_at_end(loan: PlannedLoan, start: dt.date) -> int:
    """The principal a loan still owes after the last day, at the planning rate."""
    if loan.settles is not None:
        return 0
    paid_through = max((d for d, kind in loan.events if kind == "pay"), default=-1)
    paid = sum(1 for d in _due_days(start, loan.drawn, loan.term_months) if d <= paid_through)
    left = loan.amount_fen * _balance_after(loan.method, loan.term_months, paid) // _SHARE_BASE
    if any(kind == "prepay" for _, kind in loan.events):
        left -= left * loan.prepay_permille // 1000
    return left


_SHARE_BASE = 100_000_000


@functools.lru_cache(maxsize=1024)
def _balance_after(method: str, months: int, paid: int) -> int:
    """What is owed of a _SHARE_BASE principal after `paid` instalments (the shape of a schedule)."""
    if paid == 0:
        return _SHARE_BASE
    rows = rules.schedule(_SHARE_BASE, PLANNING_RATE, months, method, dt.date(2001, 1, 1))
    return rows[paid - 1].balance_after_fen


@functools.lru_cache(maxsize=65_536)
def _due_days(start: dt.date, drawn: int, months: int) -> tuple[int, ...]:
    """The days of the history a loan drawn on day `drawn` falls due (lending.rules.add_months)."""
    drawn_on = start + dt.timedelta(days=drawn)
    return tuple((rules.add_months(drawn_on, k) - start).days for k in range(1, months + 1))


def _amount(limit_fen: int, share: float) -> int:
    """`share` of a line (a random fraction, in whole per mille), as people ask for loans: whole 10,000 RMB
    from 50,000 up, whole 1,000 below (integer fen throughout, rounded half up)."""
    fen = limit_fen * max(int(share * 1000), 0) // 1000
    unit = 10_000_00 if fen >= 50_000_00 else 1_000_00
    return (fen + unit // 2) // unit * unit


def _household_loans(
    c: Candidate, terms: Terms, *, start: dt.date, days: int, seed: int, scale: float
) -> list[PlannedLoan]:
    """The loans one household draws over the history and how it repays them (its own random stream)."""
    rng = np.random.default_rng([seed, c.stream])
    # When it first borrows: households on file before the history draw in its first months (the book
    # the bank already had); later ones some weeks after their file was made.
    first = int(rng.beta(1.0, 2.5) * 180) if c.on_file_day < 0 else c.on_file_day + 3 + int(rng.exponential(40))
    if first >= days:
        return []
    hazard = max(c.risk, 1e-6) * DEFAULT_HAZARD / 365
    stops = first + int(rng.exponential(1 / hazard))
    stops_at: int | None = stops if stops < days else None
    resumes_at: int | None = None
    if stops_at is not None and rng.random() < CURE_SHARE:
        resumes_at = stops_at + int(rng.integers(30, 240))
    late = min(0.6, LATE_BASE + LATE_PER_RISK * c.risk)
    kinds = terms.kinds()
    shorts = [k for k in kinds if k[1] <= SHORT_MONTHS] or kinds
    kind_p = np.array([k[2] for k in kinds])
    kind_p = kind_p / kind_p.sum()
    channel_p = np.array([p for _, p in CHANNELS])

    def stopped(day: int) -> bool:
        return stops_at is not None and day >= stops_at and (resumes_at is None or day < resumes_at)

    loans: list[PlannedLoan] = []
    used: list[tuple[int, int | None, int]] = []  # (drawn, settles, amount) of this household's loans

    def available(day: int) -> int:
        return c.limit_fen - sum(a for d, s, a in used if d <= day and (s is None or s > day))

    def plan_loan(drawn: int, method: str, months: int, utilisation: float, room: int) -> PlannedLoan | None:
        # Draws are made whatever the amounts turn out to be, so the household's stream stays in step.
        draws = rng.random(8)
        delays = np.where(
            rng.random(months) < late, 1 + np.minimum(rng.lognormal(1.7, 0.8, months), LATE_MAX_DAYS - 1), 0
        ).astype(int)
        amount = min(_amount(c.limit_fen, utilisation * scale), room // 1_000_00 * 1_000_00, terms.max_amount_fen)
        if amount < terms.min_amount_fen:
            return None
        loan = PlannedLoan(
            index=len(loans),
            household_id=c.household_id,
            line_id=c.line_id,
            line_limit_fen=c.limit_fen,
            drawn=drawn,
            amount_fen=amount,
            term_months=months,
            method=method,
            channel=CHANNELS[int(np.searchsorted(np.cumsum(channel_p), draws[0] * 0.999999))][0],
        )
        dues = _due_days(start, drawn, months)
        payoff = None
        if draws[1] < PAYOFF_SHARE and dues[-1] - drawn > 60:
            payoff = drawn + 30 + int(draws[2] * (dues[-1] - drawn - 45))
        prepay = None
        if draws[3] < PREPAY_SHARE and method in (rules.ANNUITY, rules.EQUAL_PRINCIPAL) and months >= 12:
            prepay = drawn + 60 + int(draws[4] * (dues[-1] - drawn - 120))
            loan.prepay_permille = 200 + int(300 * draws[5])
        j, last = 0, drawn
        while j < months:
            pay = dues[j] + int(delays[j])
            if stopped(pay):
                if resumes_at is None or resumes_at >= days:
                    loan.defaulted = True
                    break
                pay = resumes_at
            if payoff is not None and payoff <= pay and not stopped(payoff):
                pay_day = max(payoff, last + 1)
                if pay_day < days:
                    loan.events.append((pay_day, "payoff"))
                    loan.settles = pay_day
                break
            if prepay is not None and last < prepay < pay and not stopped(prepay):
                if prepay >= days:
                    break
                loan.events.append((prepay, "prepay"))
                last, prepay = prepay, None
                continue
            if pay >= days:
                break
            loan.events.append((pay, "pay"))
            last = pay
            while j < months and dues[j] <= pay:
                j += 1
            if j == months:
                loan.settles = pay
        return loan

    day = first
    while day < days and not stopped(day):
        method, months, _ = kinds[int(rng.choice(len(kinds), p=kind_p))]
        short = months <= SHORT_MONTHS
        utilisation = float(rng.beta(2, 5) if short else rng.beta(5, 2))
        second_at = day + int(rng.integers(20, 200))
        second_kind = shorts[int(rng.integers(len(shorts)))]
        second_wanted = not short and rng.random() < SECOND_LOAN_SHARE
        second_use = float(rng.beta(2, 5))
        churn = rng.random() < CHURN_SHARE
        gap = 0 if rng.random() < 0.3 else int(rng.integers(1, 60))
        loan = plan_loan(day, method, months, utilisation, available(day))
        if loan is None:
            break
        loans.append(loan)
        used.append((loan.drawn, loan.settles, loan.amount_fen))
        if second_wanted and second_at < days and (loan.settles is None or second_at < loan.settles):
            room = available(second_at)
            extra = plan_loan(second_at, second_kind[0], second_kind[1], second_use, room)
            if extra is not None and not stopped(second_at):
                loans.append(extra)
                used.append((extra.drawn, extra.settles, extra.amount_fen))
        if loan.settles is None or churn:
            break
        day = loan.settles + gap
        if stops_at is not None and day >= stops_at:
            if resumes_at is None:
                break
            day = max(day, resumes_at + 30)
    for i, loan in enumerate(loans):
        loan.index = i
    return loans


# Reading the bank ----------------------------------------------------------------------------------


def candidates(*, start: dt.date, as_of: dt.date, exclude_villages: list[int] | None = None) -> list[Candidate]:
    """Households with an active, undrawn line of the base product, by household id, with their risk."""
    from xinedai.credit.batch import iter_features

    lines = (
        CreditLine.objects.filter(status=LineStatus.ACTIVE, product_code=PRODUCT, used_fen=0, expires_on__gt=as_of)
        .exclude(household__village__in=exclude_villages or [])
        .order_by("household_id")
        .values_list("household_id", "pk", "limit_fen")
    )
    by_household = {h: (pk, limit) for h, pk, limit in lines}
    if not by_household:
        return []
    created = dict(Household.objects.filter(pk__in=list(by_household)).values_list("pk", "created_at"))
    first_id = Household.objects.aggregate(first=Min("pk"))["first"]
    out: list[Candidate] = []
    for ids, feats in iter_features(sorted(by_household), as_of=as_of):
        risk = 1 / (1 + np.exp(-default_logit(feats)))
        for hid, p in zip(ids.tolist(), risk.tolist(), strict=True):
            line_id, limit = by_household[hid]
            on_file = (created[hid].astimezone(BANK_TZ).date() - start).days
            out.append(Candidate(hid, line_id, limit, on_file, float(p), stream=hid - first_id))
    return out


def product_terms(on: dt.date) -> Terms | None:
    """The base product's terms in force on a date (None when it is not on sale then)."""
    product = Product.objects.filter(code=PRODUCT).first()
    version = effective_version(product, on) if product is not None else None
    if version is None:
        return None
    return Terms(
        min_amount_fen=version.min_amount_fen,
        max_amount_fen=version.max_amount_fen,
        min_term_months=version.min_term_months,
        max_term_months=version.max_term_months,
        methods=tuple(m for m in version.repayment_methods if m in SCHEDULED_METHODS),
    )


def scaled_targets(households: int) -> tuple[int, int]:
    """The case study's borrowers and outstanding balance for a bank of this many households."""
    share = households / CASE_HOUSEHOLDS
    return round(CASE_BORROWERS * share), round(CASE_OUTSTANDING_FEN * share)


# Running it ----------------------------------------------------------------------------------------


@dataclass
class _Running:
    """What the runner keeps of a drawn loan: its id and, per instalment still owed, (due date, amount)."""

    pk: int
    line_id: int
    due: list[list[Any]]
    repayments: int = 0


def run_history(plan: Plan, *, actor: Any = None, progress: Progress | None = None) -> HistoryResult:
    """Walk the calendar of `plan`: each day, its repayments and then its drawdowns in one transaction
    (lending.services.repay and drawdown, each with its own key, ledger posting and audit row), then the
    day-end batch for that date (servicing.eod.run). Call outside a transaction, like eod.run.

    A repayment on the due date of a loan with nothing overdue pays that instalment; any other pays what
    lending.services.owed says is due that day, penalty interest included.
    """
    started = time.perf_counter()
    end = plan.start + dt.timedelta(days=plan.days - 1)
    result = HistoryResult(start=plan.start, end=end, days=plan.days)
    events: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for n, loan in enumerate(plan.loans):
        events[loan.drawn].append((1, n, "draw"))
        for day, kind in loan.events:
            events[day].append((0, n, kind))
    reverser = _user(REVERSER)
    running: dict[int, _Running] = {}
    frozen_lines: set[int] = set()  # lines frozen by a write-off: the plan's later draws on them are off
    used: dict[int, int] = {}
    limits = {loan.line_id: loan.line_limit_fen for loan in plan.loans}
    spent = {"lending services": 0.0, "day-end batch": 0.0}
    for day in range(plan.days):
        on = plan.start + dt.timedelta(days=day)
        t0 = time.perf_counter()
        todo = sorted(events.pop(day, []))
        if todo:
            with transaction.atomic():
                for _, n, kind in todo:
                    loan = plan.loans[n]
                    if kind == "draw":
                        if loan.line_id in frozen_lines:
                            continue
                        drawn = _draw(loan, on, actor, plan.terms, limits, used)
                        if drawn is not None:
                            running[n] = drawn
                            result.loans_drawn += 1
                    elif n in running:
                        repayment = _repay(running[n], loan, kind, on, actor, used)
                        if repayment is None:
                            continue
                        result.repayments += 1
                        if reverser is not None and result.repayments % BOUNCE_EVERY == 0:
                            result.reversed += _bounce(repayment, on, reverser, actor)
        if on.day == 1:
            with transaction.atomic():
                result.written_off += _write_off_losses(on, running, frozen_lines, used)
        t1 = time.perf_counter()
        eod.run(on, actor=actor)
        spent["lending services"] += t1 - t0
        spent["day-end batch"] += time.perf_counter() - t1
        if progress:
            progress("history", day + 1, plan.days)
    result.seconds = time.perf_counter() - started
    result.seconds_by_part = {k: round(v, 1) for k, v in spent.items()}
    return result


def _draw(
    loan: PlannedLoan, on: dt.date, actor: Any, terms: Terms, limits: dict[int, int], used: dict[int, int]
) -> _Running | None:
    # The plan sized loans on what the household had drawn; the line's real room decides.
    room = limits[loan.line_id] - used.get(loan.line_id, 0)
    amount = min(loan.amount_fen, room // 1_000_00 * 1_000_00)
    if amount < terms.min_amount_fen:
        return None
    made = lending.drawdown(
        actor,
        CreditLine(pk=loan.line_id),
        amount_fen=amount,
        term_months=loan.term_months,
        method=loan.method,
        key=f"demo:{loan.household_id}:{loan.index}",
        channel=loan.channel,
        today=on,
    )
    used[loan.line_id] = used.get(loan.line_id, 0) + amount
    schedule = rules.schedule(amount, made.annual_rate, loan.term_months, loan.method, on)
    return _Running(made.pk, loan.line_id, [[i.due_on, i.payment_fen] for i in schedule])


def _repay(
    state: _Running, loan: PlannedLoan, kind: str, on: dt.date, actor: Any, used: dict[int, int]
) -> Repayment | None:
    """Make one planned repayment; None when nothing was owed."""
    stub = Loan(pk=state.pk)
    owed = [row for row in state.due if row[0] <= on and row[1] > 0]
    amount: int | None = None
    if kind == "payoff":
        pass
    elif kind == "pay" and len(owed) == 1 and owed[0][0] == on:
        amount = owed[0][1]  # on the due date, nothing overdue: the instalment, nothing else
    else:
        fresh = Loan.objects.get(pk=state.pk)
        if fresh.status != LoanStatus.ACTIVE:
            return None
        what = lending.owed(fresh, on)
        amount = sum(what["buckets"].values())
        if kind == "prepay":
            amount += what["not_due_principal_fen"] * loan.prepay_permille // 1000 // 100_00 * 100_00
        if amount <= 0:
            return None
    state.repayments += 1
    repayment = lending.repay(
        actor,
        stub,
        key=f"demo:{state.pk}:{state.repayments}",
        channel=loan.channel,
        amount_fen=amount,
        payoff=kind == "payoff",
        today=on,
    )
    used[state.line_id] -= repayment.principal_fen + repayment.overdue_principal_fen
    for row in owed:
        row[1] = 0
    if kind == "prepay":  # the rest of the schedule was re-amortised
        version = Loan.objects.values_list("schedule_version", flat=True).get(pk=state.pk)
        state.due = [
            [due_on, principal + interest - paid_p - paid_i]
            for due_on, principal, interest, paid_p, paid_i in Instalment.objects.filter(
                loan_id=state.pk, schedule_version=version
            )
            .exclude(status=InstalmentStatus.SUPERSEDED)
            .values_list("due_on", "principal_fen", "interest_fen", "paid_principal_fen", "paid_interest_fen")
        ]
    return repayment


def _user(username: str) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username=username).first()


def _bounce(repayment: Repayment, on: dt.date, reverser: Any, actor: Any) -> int:
    """The debit behind a repayment failed: the branch manager reverses it the same day (还款冲正) and the
    customer pays the same again from another account (a new key). The loan ends the day as it would have."""
    from xinedai.servicing import services as servicing

    servicing.reverse_repayment(
        reverser, repayment.loan_id, repayment.pk, reason="客户账户扣款失败，已冲正（演示）", today=on
    )
    lending.repay(
        actor,
        Loan(pk=repayment.loan_id),
        key=f"{repayment.key}:again",
        channel=repayment.channel,
        amount_fen=None if repayment.payoff else repayment.amount_fen,
        payoff=repayment.payoff,
        today=on,
    )
    return 1


def _write_off_losses(
    on: dt.date,
    running: dict[int, _Running],
    frozen_lines: set[int],
    used: dict[int, int],
    *,
    proposer: str = "co01",
    approver: str = "risk01",
) -> int:
    """The monthly write-off review: every active loan classified loss for WRITE_OFF_AFTER_DAYS_IN_LOSS days
    or more is proposed by the credit officer (co01) and approved by head-office risk (risk01), through
    servicing.services. The plan's later events for it stop (a defaulter's plan has no payments left)."""
    from django.contrib.auth import get_user_model

    from xinedai.servicing import services as servicing

    users = {u.username: u for u in get_user_model().objects.filter(username__in=[proposer, approver])}
    if len(users) < 2:
        return 0
    due = list(
        LoanState.objects.filter(
            risk_class=RiskClass.LOSS,
            classified_on__lte=on - dt.timedelta(days=WRITE_OFF_AFTER_DAYS_IN_LOSS),
            loan__status=LoanStatus.ACTIVE,
        )
        .order_by("loan_id")
        .values_list("loan_id", "loan__line_id", "loan__principal_outstanding_fen")
    )
    for loan_id, line_id, principal in due:
        request = servicing.request_write_off(
            users[proposer], loan_id, reason="逾期超过一年，借款人无还款能力，清收无果（演示）"
        )
        servicing.approve_write_off(users[approver], request.pk, note="同意核销，账销案存", today=on)
        frozen_lines.add(line_id)
        used[line_id] = used.get(line_id, 0) - principal
    written = {loan_id for loan_id, _, _ in due}
    for n in [n for n, state in running.items() if state.pk in written]:
        del running[n]
    return len(due)


# The figures ---------------------------------------------------------------------------------------


def portfolio_figures() -> dict[str, Any]:
    """Borrowers, loans, outstanding principal and the NPL ratio of the active loans, and by class."""
    active = Loan.objects.filter(status=LoanStatus.ACTIVE)
    totals = active.aggregate(loans=Count("pk"), outstanding=Sum("principal_outstanding_fen"))
    borrowers = active.filter(principal_outstanding_fen__gt=0).values("household_id").distinct().count()
    by_class = {int(c): {"loans": 0, "outstanding_fen": 0} for c in RiskClass}
    rows = (
        LoanState.objects.filter(loan__status=LoanStatus.ACTIVE)
        .values("risk_class")
        .annotate(loans=Count("pk"), outstanding=Sum("loan__principal_outstanding_fen"))
    )
    for row in rows:
        by_class[row["risk_class"]] = {"loans": row["loans"], "outstanding_fen": int(row["outstanding"] or 0)}
    outstanding = int(totals["outstanding"] or 0)
    npl = sum(by_class[int(c)]["outstanding_fen"] for c in NPL_CLASSES)
    last = BusinessDay.objects.filter(status="done").order_by("-business_on").first()
    return {
        "business_on": last.business_on if last else None,
        "borrowers": borrowers,
        "loans": int(totals["loans"] or 0),
        "loans_ever": Loan.objects.count(),
        "outstanding_fen": outstanding,
        "npl_fen": npl,
        "npl_pct": round(npl * 100 / outstanding, 2) if outstanding else 0.0,
        "by_class": by_class,
    }


def seed_history(
    *,
    seed: int,
    as_of: dt.date,
    days: int = HISTORY_DAYS,
    actor: Any = None,
    progress: Progress | None = None,
    exclude_villages: list[int] | None = None,
) -> dict[str, Any]:
    """Give the demo bank `days` of lending history ending the day before `as_of`. Skipped (returns {})
    when the bank's calendar has started or it has loans already: a history cannot be run twice, nor
    under a calendar that has begun (the day-end batch never goes back)."""
    if BusinessDay.objects.exists() or Loan.objects.exists():
        return {}
    start = as_of - dt.timedelta(days=days)
    terms = product_terms(start)
    if terms is None:
        return {}
    eod.thresholds_on(start)  # refuses a history reaching back before the classification rules in force
    found = candidates(start=start, as_of=as_of, exclude_villages=exclude_villages)
    borrowers, outstanding = scaled_targets(Household.objects.count())
    if progress:
        progress("plan", 0, 1)
    plan = plan_history(
        found,
        terms=terms,
        start=start,
        days=days,
        seed=seed,
        target_borrowers=borrowers,
        target_outstanding_fen=outstanding,
    )
    if progress:
        progress("plan", 1, 1)
    if not plan.loans:
        return {}
    result = run_history(plan, actor=actor, progress=progress)
    return {
        "start": result.start,
        "end": result.end,
        "days": result.days,
        "loans_drawn": result.loans_drawn,
        "repayments": result.repayments,
        "written_off": result.written_off,
        "reversed": result.reversed,
        "seconds": round(result.seconds, 1),
        "seconds_by_part": result.seconds_by_part,
        "planned": {
            "households": plan.households,
            "borrowers_at_end": plan.borrowers_at_end,
            "outstanding_fen_at_end": plan.outstanding_fen_at_end,
        },
        **portfolio_figures(),
    }


def summary_lines(h: dict[str, Any]) -> list[str]:
    """The history's figures for a console: what ran, then the portfolio on the last day and by class.
    Class names come out in the active language (the commands switch to the bank's)."""
    parts = ", ".join(f"{part} {seconds:.0f} s" for part, seconds in h.get("seconds_by_part", {}).items())
    lines = [
        f"Lending history (贷款历史): {h['start']} … {h['end']}, {h['days']:,} day-end batches,"
        f" {h['loans_drawn']:,} loans drawn, {h['repayments']:,} repayments,"
        f" {h.get('reversed', 0):,} reversed the same day, {h.get('written_off', 0):,} written off"
        f" in {h['seconds']:.0f} s" + (f" ({parts})" if parts else ""),
        f"  on {h['business_on']}: {h['borrowers']:,} borrowers, {h['loans']:,} loans,"
        f" outstanding {format_wan(h['outstanding_fen'])} 万元, NPL {h['npl_pct']:.2f} %",
    ]
    for value, row in h["by_class"].items():
        label = str(RiskClass(value).label)
        pad = " " * max(0, 16 - sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in label))
        lines.append(f"  {label}{pad}{row['loans']:>7,} loans {format_wan(row['outstanding_fen']):>12} 万元")
    return lines
