"""The limit strategy, small credit and the change guard, table by table (exact fen)."""

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest

from xinedai.credit.rules import (
    COMBINED_CAP_FEN,
    DEFAULT_PARAMS,
    PURE_ONLINE_CAP_FEN,
    StrategyParams,
    binding_names,
    change_guard,
    grade_names,
    grades,
    model_limits,
    small_credit_limits,
)

Y = 100  # fen per yuan
P = DEFAULT_PARAMS


def one(score, net, disp, exposure=0, product=500_000 * Y, channel="combined", params=P):
    r = model_limits(
        np.array([score]),
        net_assets_fen=np.array([net]),
        disposable_income_fen=np.array([disp]),
        exposure_fen=np.array([exposure]),
        product_cap_fen=product,
        channel=channel,
        params=params,
    )
    return int(r.limit_fen[0]), grade_names(params)[int(r.grade[0])], binding_names(r.binding)[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # grade A and the combined channel both cap at 300k: a tie names the first in CONSTRAINTS order
        ((700, 10_000_000 * Y, 1_000_000 * Y), (300_000 * Y, "A", "channel_cap")),
        ((700, 10_000_000 * Y, 1_000_000 * Y, 0, 500_000 * Y, "online"), (200_000 * Y, "A", "channel_cap")),
        ((700, 10_000_000 * Y, 1_000_000 * Y, 0, 80_000 * Y), (80_000 * Y, "A", "product_cap")),
        ((650, 10_000_000 * Y, 1_000_000 * Y), (200_000 * Y, "B", "grade_cap")),
        ((650, 123_456_78, 1_000_000 * Y), (61_000 * Y, "B", "net_assets")),  # 0.5 × 123,456.78 → 61,728.39 → 61,000
        ((650, 10_000_000 * Y, 20_333_33), (60_000 * Y, "B", "disposable_income")),  # 3 × 20,333.33 = 60,999.99
        ((650, 10_000_000 * Y, 1_000_000 * Y, 150_000 * Y), (50_000 * Y, "B", "grade_cap")),  # less exposure
        ((650, 10_000_000 * Y, 1_000_000 * Y, 197_000 * Y), (0, "B", "exposure")),  # 3,000 left < 5,000 minimum
        # other products' lines reduce what the customer can carry, not this product's own cap:
        ((700, 10_000_000 * Y, 1_000_000 * Y, 150_000 * Y, 100_000 * Y), (100_000 * Y, "A", "product_cap")),
        ((700, 10_000_000 * Y, 1_000_000 * Y, 250_000 * Y, 100_000 * Y), (50_000 * Y, "A", "channel_cap")),
        ((700, 10_000_000 * Y, 1_000_000 * Y, 200_000 * Y, 100_000 * Y), (100_000 * Y, "A", "product_cap")),  # tie
        ((559, 10_000_000 * Y, 1_000_000 * Y), (0, "declined", "decline")),
        ((560, 10_000_000 * Y, 1_000_000 * Y), (30_000 * Y, "D", "grade_cap")),
        ((650, -5 * Y, 1_000_000 * Y), (0, "B", "net_assets")),  # negative net assets count as nothing
    ],
)
def test_model_limit_table(args, expected):
    assert one(*args) == expected


def test_one_and_a_million_go_through_the_same_function():
    rng = np.random.default_rng(3)
    n = 200_000
    scores = rng.integers(500, 760, n)
    net = rng.integers(-100_000 * Y, 3_000_000 * Y, n)
    disp = rng.integers(-50_000 * Y, 300_000 * Y, n)
    exp = rng.integers(0, 100_000 * Y, n)
    many = model_limits(
        scores,
        net_assets_fen=net,
        disposable_income_fen=disp,
        exposure_fen=exp,
        product_cap_fen=300_000 * Y,
        channel="combined",
        params=P,
    )
    assert many.limit_fen.dtype == np.int64
    assert (many.limit_fen % P.step_fen == 0).all()
    assert (many.limit_fen + np.where(many.limit_fen > 0, exp, 0) <= COMBINED_CAP_FEN).all()
    for i in (0, 1, 99_999):
        single = one(int(scores[i]), int(net[i]), int(disp[i]), int(exp[i]), 300_000 * Y)
        assert single[0] == int(many.limit_fen[i])


def test_grades_follow_cut_offs():
    assert grades(np.array([800, 680, 679, 640, 600, 560, 559]), P).tolist() == [0, 0, 1, 1, 2, 3, 4]


def test_parameters_cannot_exceed_the_regulatory_caps():
    with pytest.raises(ValueError):
        replace(P, channel_caps_fen={"online": PURE_ONLINE_CAP_FEN + 1, "combined": COMBINED_CAP_FEN})
    with pytest.raises(ValueError):
        replace(P, channel_caps_fen={"online": PURE_ONLINE_CAP_FEN, "combined": COMBINED_CAP_FEN + 1})
    with pytest.raises(ValueError):
        replace(P, grade_cutoffs=(("A", 600), ("B", 640)))


def test_params_round_trip_exactly():
    again = StrategyParams.from_dict(P.to_dict())
    assert again == P
    assert StrategyParams.from_dict({**P.to_dict(), "net_assets_multiple": "0.35"}).net_assets_multiple == Fraction(
        7, 20
    )


def test_small_credit():
    limits, reasons = small_credit_limits(
        disposable_income_fen=np.array([80_000 * Y, 12_345 * Y, 80_000 * Y, 80_000 * Y, 3_000 * Y]),
        exposure_fen=np.array([0, 0, 0, 45_000 * Y, 0]),
        current_overdue_fen=np.array([0, 0, 100, 0, 0]),
        overdue_count_24m=np.array([0, 1, 0, 0, 0]),
        three_elements_complete=np.array([True, True, True, True, True]),
        params=P,
    )
    assert limits.tolist() == [50_000 * Y, 12_000 * Y, 0, 5_000 * Y, 0]
    assert reasons == [[], [], ["current_overdue"], [], ["below_minimum"]]


@pytest.mark.parametrize(
    ("before", "after", "days", "doc", "fields"),
    [
        ({"total_assets_fen": 400_000 * Y}, {"total_assets_fen": 700_000 * Y}, 30, False, ["total_assets_fen"]),
        ({"total_assets_fen": 400_000 * Y}, {"total_assets_fen": 700_000 * Y}, 30, True, []),  # evidence attached
        ({"total_assets_fen": 400_000 * Y}, {"total_assets_fen": 700_000 * Y}, 120, False, []),  # outside the window
        ({"total_assets_fen": 400_000 * Y}, {"total_assets_fen": 580_000 * Y}, 30, False, []),  # +45 %: under the ratio
        ({"annual_income_fen": 20_000 * Y}, {"annual_income_fen": 60_000 * Y}, 10, False, []),  # +40k: under 50k yuan
        ({"total_liabilities_fen": 300_000 * Y}, {"total_liabilities_fen": 0}, 10, False, ["total_liabilities_fen"]),
        ({"annual_income_fen": 0}, {"annual_income_fen": 90_000 * Y}, 10, False, ["annual_income_fen"]),
    ],
)
def test_change_guard(before, after, days, doc, fields):
    items = change_guard(before, after, days_between=days, new_document=doc, params=P)
    assert [i["field"] for i in items] == fields
