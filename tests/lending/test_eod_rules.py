"""The day-end batch's pure rules, table by table: accrual, penalty, the five categories at every boundary."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from xinedai.lending import rules as lending_rules
from xinedai.servicing import rules
from xinedai.servicing.choices import RULES_2023

RNG = np.random.default_rng(20260630)


@pytest.mark.parametrize("days", [28, 29, 30, 31, 59, 365, 366])
def test_a_periods_daily_accruals_add_up_to_its_interest_exactly(days):
    interest = RNG.integers(0, 5_000_000, size=2_000)
    total = np.zeros_like(interest)
    for d in range(1, days + 1):
        today = rules.daily_accrual_fen(interest, np.full_like(interest, d), np.full_like(interest, days))
        assert (today >= 0).all()
        assert (today <= interest // days + 1).all()  # never more than a day's share rounded up
        total += today
        assert (total == rules.accrued_fen(interest, np.full_like(interest, d), np.full_like(interest, days))).all()
    assert (total == interest).all()


@pytest.mark.parametrize(
    ("interest", "day", "days", "accrued"),
    [(3_000, 1, 30, 100), (100, 1, 30, 3), (100, 29, 30, 96), (100, 30, 30, 100), (1, 15, 31, 0), (1, 31, 31, 1)],
)
def test_accrued_through_a_day_is_floor_of_the_share(interest, day, days, accrued):
    assert int(rules.accrued_fen(np.array([interest]), np.array([day]), np.array([days]))[0]) == accrued


@pytest.mark.parametrize(
    ("principal", "rate"),
    [
        (0, "0.065250"),
        (1, "0.065250"),
        (10_000_000, "0.065250"),
        (8_333_333, "0.052500"),
        (5_000, "0.036000"),  # exactly half a fen: rounds up to 1
        (15_000, "0.036000"),  # 1.5 fen: 2
        (30_000_000, "0.000001"),
        (4_611_686_018_427, "0.999999"),  # beyond int64 in the product: the exact fallback
    ],
)
def test_daily_penalty_is_the_one_rounding_of_lending_rules(principal, rate):
    expected = lending_rules.daily_interest_fen(principal, Decimal(rate), 1)
    got = rules.daily_penalty_fen(np.array([principal]), np.array([rules.rate_micro(Decimal(rate))]))
    assert int(got[0]) == expected
    exact = Fraction(principal) * Fraction(Decimal(rate)) / 360
    assert abs(Fraction(int(got[0])) - exact) <= Fraction(1, 2)


def test_penalty_matches_over_many_random_loans():
    principal = RNG.integers(0, 30_000_000, size=5_000)
    rate = RNG.integers(1, 200_000, size=5_000)
    got = rules.daily_penalty_fen(principal, rate)
    expected = [
        lending_rules.daily_interest_fen(int(p), Decimal(int(r)) / rules.RATE_SCALE, 1)
        for p, r in zip(principal, rate, strict=True)
    ]
    assert got.tolist() == expected


@pytest.mark.parametrize(
    ("dpd", "risk_class"),
    [
        (0, 1),
        (1, 2),
        (89, 2),
        (90, 2),
        (91, 3),
        (270, 3),
        (271, 4),
        (360, 4),
        (361, 5),
        (5_000, 5),
    ],
)
def test_the_2023_classes_by_days_past_due(dpd, risk_class):
    assert int(rules.classify(np.array([dpd]), RULES_2023)[0]) == risk_class


def test_older_practice_as_data_moves_the_boundaries():
    older = [(2, 0), (3, 90), (4, 180), (5, 360)]  # the 90/180-day practice many pages still quote
    assert rules.classify(np.array([180, 181, 270, 271]), older).tolist() == [3, 4, 4, 4]


@pytest.mark.parametrize(
    "bad",
    [[(2, 0), (3, 90), (4, 270)], [(2, 0), (3, 90), (4, 90), (5, 360)], [(2, -1), (3, 90), (4, 270), (5, 360)]],
)
def test_thresholds_are_checked(bad):
    with pytest.raises(ValueError):
        rules.check_thresholds(bad)


def test_the_worse_class_wins():
    assert rules.worse(np.array([1, 3, 5]), np.array([3, 1, 2])).tolist() == [3, 3, 5]


def test_a_rate_has_six_decimals_at_most():
    assert rules.rate_micro(Decimal("0.0435")) == 43_500
    with pytest.raises(ValueError):
        rules.rate_micro(Decimal("0.0000001"))
