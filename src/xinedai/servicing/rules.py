"""Pure day-end rules on numpy arrays (one loan or a million alike): daily accrual of a period's scheduled
interest, daily penalty interest, and the five-category classification by days past due; and which loan
may be written off.

No Django and nothing from xinedai here (tests/test_architecture.py). Money is integer fen in int64
arrays; rates come in as integer millionths per year (0.065250 a year = 65_250), the precision of the
loans' rate columns, so that every figure is exact integer arithmetic — never a float.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal

import numpy as np

DAYS_PER_YEAR = 360  # the bank's convention (shared/domain.md): a daily rate is the annual rate / 360
RATE_SCALE = 1_000_000  # rates are stored with six decimals (lending.Loan.annual_rate, penalty_rate)
_INT64_MAX = np.iinfo(np.int64).max


def rate_micro(rate: Decimal) -> int:
    """An annual rate with at most six decimals as an integer number of millionths (exactly)."""
    scaled = rate * RATE_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"a rate has at most six decimals: {rate}")
    return int(scaled)


def accrued_fen(interest_fen: np.ndarray, day: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Interest accrued through day `day` of a `days`-day period whose instalment charges `interest_fen`:
    floor(interest × day / days). Day 0 is the period's start (nothing accrued), day `days` its due date
    (exactly the instalment's interest)."""
    interest_fen, day, days = (np.asarray(a, dtype=np.int64) for a in (interest_fen, day, days))
    if interest_fen.size and int(np.abs(interest_fen).max()) > _INT64_MAX // max(int(days.max()), 1):
        raise OverflowError("interest × days exceeds int64")
    return (interest_fen * day) // days


def daily_accrual_fen(interest_fen: np.ndarray, day: np.ndarray, days: np.ndarray) -> np.ndarray:
    """What day `day` (1 … days) of the period adds: accrued(day) − accrued(day − 1). The days of a period
    add up to the instalment's interest exactly, whatever the rounding, because the sum telescopes."""
    day = np.asarray(day, dtype=np.int64)
    return accrued_fen(interest_fen, day, days) - accrued_fen(interest_fen, day - 1, days)


def daily_penalty_fen(principal_fen: np.ndarray, rate_micro_per_year: np.ndarray) -> np.ndarray:
    """One day's penalty interest on overdue principal: round_half_up(principal × rate / 360), the one
    rounding of core.money (ROUND_HALF_UP to the fen), done in integers: the rate is in millionths."""
    principal = np.asarray(principal_fen, dtype=np.int64)
    rate = np.asarray(rate_micro_per_year, dtype=np.int64)
    den = DAYS_PER_YEAR * RATE_SCALE
    if principal.size and (int(principal.min()) < 0 or int(rate.min()) < 0):
        raise ValueError("principal and rate are never negative")
    if principal.size and int(principal.max()) > (_INT64_MAX - den) // (2 * max(int(rate.max()), 1)):
        exact = [(2 * p * r + den) // (2 * den) for p, r in zip(principal.tolist(), rate.tolist(), strict=True)]
        return np.asarray(exact, dtype=np.int64)
    return (2 * principal * rate + den) // (2 * den)


def check_thresholds(thresholds: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Thresholds as (class rank, days) meaning "at least this class when days past due > days", sorted
    by class. A worse class needs more days; classes 2 … 5 are each given once. Raises ValueError."""
    rows = sorted((int(c), int(d)) for c, d in thresholds)
    if [c for c, _ in rows] != [2, 3, 4, 5]:
        raise ValueError("thresholds give classes 2 to 5 (special mention to loss) exactly once each")
    days = [d for _, d in rows]
    if days[0] < 0 or any(b <= a for a, b in itertools.pairwise(days)):
        raise ValueError("a worse class needs strictly more days past due, none negative")
    return rows


def classify(days_past_due: np.ndarray, thresholds: Sequence[tuple[int, int]]) -> np.ndarray:
    """The class by days past due alone (1 normal … 5 loss): the worst class whose threshold is exceeded.

    With the 2023 rules (>0 special mention, >90 substandard, >270 doubtful, >360 loss): day 90 is
    special mention and day 91 substandard; 270 / 271 and 360 / 361 likewise.
    """
    dpd = np.asarray(days_past_due, dtype=np.int64)
    out = np.ones(dpd.shape, dtype=np.int64)
    for rank, days in check_thresholds(thresholds):
        out[dpd > days] = rank
    return out


def worse(*classes: np.ndarray) -> np.ndarray:
    """The worse (larger) of several class ranks, element by element."""
    return np.maximum.reduce([np.asarray(c, dtype=np.int64) for c in classes])


LOSS_CLASS = 5  # servicing.choices.RiskClass.LOSS (损失类), the rank the classification stores


def may_write_off(loan_status: str, risk_class: int | None) -> bool:
    """A loan may be written off (核销) while it is active and classified loss: by days past due (more
    than 360) or by an approved manual classification."""
    return loan_status == "active" and risk_class == LOSS_CLASS
