"""Pure repayment-schedule rules: due dates, the five repayment methods, daily interest, re-amortisation.

No Django here, and nothing from xinedai either (tests/test_architecture.py): the method codes below are
the values of products.choices.RepaymentMethod, and a test keeps the two in step.

Money is integer fen; rates are Decimal fractions per year (0.0435 = 4.35 %). Amounts are computed
exactly with Fraction and rounded half-up to the fen only at the points the issue names: the annuity
payment, each instalment's interest, each equal-principal share, the bullet and daily interest.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TypeGuard

ANNUITY = "annuity"  # 等额本息
EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
INTEREST_ONLY = "interest_only"  # 按月付息到期还本
BULLET = "bullet"  # 利随本清
REVOLVING = "revolving"  # 随借随还: interest by the day on the drawn balance, settled monthly; repay any time
METHODS = (ANNUITY, EQUAL_PRINCIPAL, INTEREST_ONLY, BULLET, REVOLVING)

MAX_TERM_MONTHS = 360
RATE_DECIMALS = 6  # 0.000001 a year is finer than any published rate or LPR spread (0.0001)
RATE_STEP = Decimal(1).scaleb(-RATE_DECIMALS)
MONTHS_PER_YEAR = 12
# The bank's convention (shared/domain.md, Interest): a daily rate is the annual rate over 360 days.
DAYS_PER_YEAR = 360


@dataclass(frozen=True)
class Instalment:
    """One line of a schedule: what falls due on `due_on` and the principal still owed after it is paid."""

    number: int
    due_on: dt.date
    principal_fen: int
    interest_fen: int
    payment_fen: int
    balance_after_fen: int


@dataclass(frozen=True)
class Problem:
    """One reason the terms are refused, tied to the field it concerns."""

    field: str
    code: str
    message_zh: str
    message_en: str


class TermsError(ValueError):
    """Terms a schedule cannot be built from; `problems` lists every one, as check_terms() found them."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message_en}" for p in problems))
        self.problems = problems
        self.code = problems[0].code


def round_half_up(amount: Fraction) -> int:
    """An exact fen amount to whole fen, half away from zero: core.money.round_fen's rule (ROUND_HALF_UP)
    for exact fractions, which a Decimal cannot always hold (a monthly rate of 0.0437 / 12 never ends).
    rules.py may not import core; tests/lending checks the two agree."""
    num, den = amount.numerator, amount.denominator
    if num >= 0:
        return (2 * num + den) // (2 * den)
    return -((-2 * num + den) // (2 * den))


def add_months(anchor: dt.date, n: int) -> dt.date:
    """The anchor's day of month n months on, clamped to the month's end (Jan 31 + 1 → Feb 28 or 29).

    Always counted from the anchor, never from the previous date: Jan 31 + 2 is Mar 31, not Mar 28.
    """
    year, month0 = divmod(anchor.year * MONTHS_PER_YEAR + anchor.month - 1 + n, MONTHS_PER_YEAR)
    month = month0 + 1
    return dt.date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def parse_rate(value: object) -> Decimal:
    """An annual rate given as a Decimal or a decimal string ("0.0435"), exactly; TermsError otherwise.

    A float (or any JSON number) is refused rather than converted: 0.0435 as a float is not 0.0435.
    """
    problem = _rate_problem(value)
    if problem:
        raise TermsError([problem])
    return value if isinstance(value, Decimal) else Decimal(str(value).strip())


def _rate_problem(value: object) -> Problem | None:
    def bad(code: str, zh: str, en: str) -> Problem:
        return Problem("annual_rate", code, zh, en)

    if isinstance(value, Decimal):
        rate = value
    elif isinstance(value, str):
        try:
            rate = Decimal(value.strip())
        except InvalidOperation:
            return bad("rate_invalid", "年利率不是有效的小数", f"The annual rate is not a decimal number: {value!r}")
    else:
        return bad(
            "rate_not_string",
            '年利率须以小数字符串给出,例如"0.0435",不接受数字',
            'Give the annual rate as a decimal string such as "0.0435", not as a number',
        )
    if not rate.is_finite():
        return bad("rate_invalid", "年利率不是有效的小数", f"The annual rate is not a decimal number: {value!r}")
    if not Decimal(0) <= rate < Decimal(1):
        return bad(
            "rate_out_of_range",
            "年利率须不小于0且小于1(如0.0435表示4.35%)",
            "The annual rate must be at least 0 and below 1 (0.0435 means 4.35 %)",
        )
    if rate != rate.quantize(RATE_STEP):
        return bad(
            "rate_too_precise",
            f"年利率最多{RATE_DECIMALS}位小数",
            f"The annual rate has more than {RATE_DECIMALS} decimals",
        )
    return None


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def check_terms(principal_fen: object, annual_rate: object, term_months: object, method: object) -> list[Problem]:
    """Every problem with the terms of a schedule, not just the first, each tied to its field.

    The rate is a Decimal or a decimal string; a float is a problem, not something to convert.
    """
    problems: list[Problem] = []
    if not _is_int(principal_fen) or principal_fen <= 0:
        problems.append(
            Problem(
                "principal_fen",
                "principal_not_positive",
                "本金须为大于零的整数(单位:分)",
                "The principal must be a whole number of fen above zero",
            )
        )
    rate_problem = _rate_problem(annual_rate)
    if rate_problem:
        problems.append(rate_problem)
    if not _is_int(term_months) or not 1 <= term_months <= MAX_TERM_MONTHS:
        problems.append(
            Problem(
                "term_months",
                "term_out_of_range",
                f"期限须在1至{MAX_TERM_MONTHS}个月之间",
                f"The term must be 1 to {MAX_TERM_MONTHS} months",
            )
        )
    if method not in METHODS:
        problems.append(
            Problem(
                "method",
                "method_unknown",
                f"还款方式无效,可选:{', '.join(METHODS)}",
                f"Unknown repayment method; one of: {', '.join(METHODS)}",
            )
        )
    return problems


def schedule(
    principal_fen: int, annual_rate: Decimal, term_months: int, method: str, start_date: dt.date
) -> list[Instalment]:
    """The whole schedule of a loan drawn on `start_date`; instalment k falls due on add_months(start, k).

    - annuity (等额本息): payment = round(P·r·(1+r)^n / ((1+r)^n − 1)) with r = annual / 12;
      interest_k = round(balance_{k−1}·r), principal_k = payment − interest_k. At rate 0: round(P / n).
    - equal_principal (等额本金): principal_k = round(P / n); interest_k = round(balance_{k−1}·r).
    - interest_only (按月付息到期还本): interest_k = round(P·r) each month, the principal in the last.
    - bullet (利随本清): one instalment at start + term months, interest = round(P·annual / 360 · days).
    - revolving (随借随还): interest by the day at annual / 360 on the drawn balance, settled on each
      monthly due date: interest_k = round(balance · annual / 360 · days of period k); the principal falls
      due at maturity and can be repaid, in part or whole, any day (an early repayment charges the repaid
      principal's interest since the last due date and re-schedules the rest on the lower balance, so
      interest is always the drawn balance's, day by day). What is repaid frees the line to draw again.

    The last instalment takes whatever rounding left, so the balance ends at exactly 0 and the principals
    add up to P. A principal never exceeds the balance still owed: for a tiny principal over a long term
    the rounded payment (or share) can repay the loan early, and the instalments left are then zero.
    """
    problems = check_terms(principal_fen, annual_rate, term_months, method)
    if problems:
        raise TermsError(problems)
    return _amortise(principal_fen, parse_rate(annual_rate), method, start_date, 0, term_months)


def reschedule(
    balance_fen: int,
    annual_rate: Decimal,
    term_months: int,
    method: str,
    start_date: dt.date,
    paid_instalments: int,
) -> list[Instalment]:
    """The rest of a loan's schedule after a partial or early repayment of principal.

    `term_months`, `method` and `start_date` are the loan's original terms; `paid_instalments` is how
    many of its instalments are settled; `balance_fen` is the principal still owed. The balance is
    re-amortised by the same method over the instalments that remain, which keep their numbers
    (paid_instalments + 1 … term_months) and due dates, so the maturity does not move and the payment
    goes down (the bank's usual "月供减少、期限不变" choice; a shorter term would need new dates).

    The balance counts as owed from the due date of instalment `paid_instalments` (the start date when
    none is paid): instalment paid_instalments + 1 charges a full month on it, as in the original
    schedule. Interest on the repaid principal from that date to the repayment day is the caller's to
    charge (daily_interest_fen). With paid_instalments = 0 this is schedule() itself.
    """
    problems = check_terms(balance_fen, annual_rate, term_months, method)
    last = 0 if method == BULLET else term_months - 1
    if not _is_int(paid_instalments) or not 0 <= paid_instalments <= last:
        problems.append(
            Problem(
                "paid_instalments",
                "paid_instalments_out_of_range",
                "已还期数须小于总期数,至少留一期重新计算",
                "At least one instalment must remain to be rescheduled",
            )
        )
    if problems:
        raise TermsError(problems)
    return _amortise(balance_fen, parse_rate(annual_rate), method, start_date, paid_instalments, term_months)


def daily_interest_fen(balance_fen: int, annual_rate: Decimal, days: int = 1) -> int:
    """Interest on a balance for some days at annual / 360 a day, rounded once: round(B × annual / 360 × days).

    Revolving loans (随借随还) charge this on the drawn balance for each monthly period; the bullet method
    charges it for the whole term; an early repayment charges it on the repaid principal.
    """
    if not isinstance(annual_rate, Decimal):
        raise TypeError("the annual rate must be a Decimal: a float cannot carry an exact rate")
    return round_half_up(Fraction(balance_fen) * Fraction(annual_rate) * days / DAYS_PER_YEAR)


def _amortise(
    balance_fen: int, annual_rate: Decimal, method: str, start_date: dt.date, paid: int, term_months: int
) -> list[Instalment]:
    """Instalments paid + 1 … term_months of a loan whose principal owed after instalment `paid` is balance_fen."""
    if method == BULLET:
        due_on = add_months(start_date, term_months)
        interest = daily_interest_fen(balance_fen, annual_rate, (due_on - start_date).days)
        return [Instalment(1, due_on, balance_fen, interest, balance_fen + interest, 0)]

    r = Fraction(annual_rate) / MONTHS_PER_YEAR
    left = term_months - paid
    level = 0  # annuity: the payment; equal principal: the principal share
    if method == ANNUITY and r:
        growth = (1 + r) ** left
        level = round_half_up(balance_fen * r * growth / (growth - 1))
    elif method in (ANNUITY, EQUAL_PRINCIPAL):
        level = round_half_up(Fraction(balance_fen, left))
    fixed_interest = round_half_up(balance_fen * r)  # interest_only: on the principal, every month

    out: list[Instalment] = []
    balance = balance_fen
    for number in range(paid + 1, term_months + 1):
        if method == REVOLVING:  # the days of this period, on the balance drawn through it
            days = (add_months(start_date, number) - add_months(start_date, number - 1)).days
            interest = daily_interest_fen(balance, annual_rate, days)
        else:
            interest = fixed_interest if method == INTEREST_ONLY else round_half_up(balance * r)
        if number == term_months:
            principal = balance
        elif method == ANNUITY:
            principal = min(level - interest, balance)
        else:
            principal = min(level, balance)  # 0 for interest_only and revolving
        balance -= principal
        out.append(
            Instalment(number, add_months(start_date, number), principal, interest, principal + interest, balance)
        )
    return out


# Repayments ---------------------------------------------------------------------------------------

# The order a repayment pays what is owed (the allocation rule).
ALLOCATION_ORDER = ("penalty", "overdue_interest", "overdue_principal", "interest", "principal")


def allocate(amount_fen: int, owed: dict[str, int]) -> dict[str, int]:
    """Split a repayment over what is owed, bucket by bucket in ALLOCATION_ORDER, each paid in full
    before the next. Refuses more than the total owed (an overpayment) and non-positive amounts."""
    if not _is_int(amount_fen) or amount_fen <= 0:
        raise ValueError("a repayment is a positive number of fen")
    total = sum(owed.get(b, 0) for b in ALLOCATION_ORDER)
    if amount_fen > total:
        raise ValueError(f"overpayment: {amount_fen} fen against {total} fen owed")
    out: dict[str, int] = {}
    left = amount_fen
    for bucket in ALLOCATION_ORDER:
        take = min(left, max(owed.get(bucket, 0), 0))
        out[bucket] = take
        left -= take
    return out


def early_principal(available_fen: int, outstanding_fen: int, annual_rate: Decimal, days: int) -> tuple[int, int]:
    """The most principal `available_fen` repays early with the interest that principal owes for `days`
    (since the last due date): (principal, interest), principal <= outstanding and
    principal + round(principal × annual / 360 × days) <= available."""
    if available_fen <= 0 or outstanding_fen <= 0:
        return 0, 0
    rate = Fraction(annual_rate) * days / 360
    principal = min(outstanding_fen, int(Fraction(available_fen) / (1 + rate)))
    while principal > 0 and principal + daily_interest_fen(principal, annual_rate, days) > available_fen:
        principal -= 1
    while (
        principal < outstanding_fen
        and principal + 1 + daily_interest_fen(principal + 1, annual_rate, days) <= available_fen
    ):
        principal += 1
    return principal, daily_interest_fen(principal, annual_rate, days) if principal else 0
