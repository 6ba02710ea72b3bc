"""The repayment allocation rule and early-repayment split (lending.rules), exactly."""

from decimal import Decimal

import pytest

from xinedai.lending.rules import ALLOCATION_ORDER, allocate, daily_interest_fen, early_principal

OWED = {"penalty": 50, "overdue_interest": 300, "overdue_principal": 1_000, "interest": 200, "principal": 2_000}


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (30, (30, 0, 0, 0, 0)),  # penalty first
        (50, (50, 0, 0, 0, 0)),
        (51, (50, 1, 0, 0, 0)),  # then overdue interest
        (350, (50, 300, 0, 0, 0)),
        (351, (50, 300, 1, 0, 0)),  # then overdue principal
        (1_350, (50, 300, 1_000, 0, 0)),
        (1_450, (50, 300, 1_000, 100, 0)),  # then current interest
        (1_551, (50, 300, 1_000, 200, 1)),  # then current principal
        (3_550, (50, 300, 1_000, 200, 2_000)),  # all of it
    ],
)
def test_allocation_order(amount, expected):
    got = allocate(amount, OWED)
    assert tuple(got[b] for b in ALLOCATION_ORDER) == expected
    assert sum(got.values()) == amount


@pytest.mark.parametrize("amount", [0, -1, 3_551])
def test_nothing_that_is_not_owed_is_taken(amount):
    with pytest.raises(ValueError):
        allocate(amount, OWED)


@pytest.mark.parametrize("days", [0, 1, 10, 30, 31])
@pytest.mark.parametrize("available", [1, 99, 100_000, 3_000_000, 10_000_000])
def test_early_principal_is_the_most_the_amount_can_repay(available, days):
    rate = Decimal("0.0495")
    outstanding = 5_000_000
    p, i = early_principal(available, outstanding, rate, days)
    assert 0 <= p <= outstanding and i == (daily_interest_fen(p, rate, days) if p else 0)
    assert p + i <= available
    if p < outstanding:  # one fen more principal would not fit
        assert p + 1 + daily_interest_fen(p + 1, rate, days) > available
