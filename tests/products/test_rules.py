"""Pure product rules, table-driven: caps by channel, term and rate checks, rates on a date, versions in force."""

import datetime as dt
from decimal import Decimal

import pytest

from xinedai.products import rules
from xinedai.products.services import ALLOWED

Y = 100  # fen per yuan


def terms(**kw):  # type: ignore[no-untyped-def]
    base = {
        "guarantee_type": "credit",
        "intake_modes": ("model",),
        "channels": ("online",),
        "min_amount_fen": 10_000 * Y,
        "max_amount_fen": 200_000 * Y,
        "min_term_months": 1,
        "max_term_months": 36,
        "repayment_methods": ("annuity",),
        "rate_kind": "fixed",
        "annual_rate": Decimal("0.0435"),
        "effective_from": dt.date(2026, 7, 1),
    }
    base.update(kw)
    return rules.ProductTerms(**base)


def codes(t):  # type: ignore[no-untyped-def]
    return [(p.field, p.code) for p in rules.check_terms(t, ALLOWED)]


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        (("online",), 200_000 * Y),
        (("combined",), 300_000 * Y),
        (("online", "combined"), 300_000 * Y),
        ((), 300_000 * Y),
    ],
)
def test_product_cap_by_channel(channels, expected):
    assert rules.product_cap_fen(channels) == expected


@pytest.mark.parametrize(
    ("channels", "max_fen", "expected"),
    [
        (("online",), 200_000 * Y, []),
        (("online",), 200_000 * Y + 1, [("max_amount_fen", "above_online_cap")]),
        (("online",), 300_000 * Y, [("max_amount_fen", "above_online_cap")]),
        (("combined",), 300_000 * Y, []),
        (("combined",), 300_000 * Y + 1, [("max_amount_fen", "above_combined_cap")]),
        (("online", "combined"), 300_000 * Y, []),
        (("online", "combined"), 300_001 * Y, [("max_amount_fen", "above_combined_cap")]),
        (("combined",), 250_000 * Y, []),
    ],
)
def test_amount_caps(channels, max_fen, expected):
    assert codes(terms(channels=channels, max_amount_fen=max_fen)) == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, []),
        ({"min_amount_fen": 0}, [("min_amount_fen", "min_amount_not_positive")]),
        ({"min_amount_fen": 50_000 * Y, "max_amount_fen": 40_000 * Y}, [("max_amount_fen", "amount_range_inverted")]),
        ({"min_term_months": 0}, [("min_term_months", "term_out_of_range")]),
        ({"max_term_months": 361}, [("max_term_months", "term_out_of_range")]),
        ({"min_term_months": 12, "max_term_months": 6}, [("max_term_months", "term_range_inverted")]),
        ({"intake_modes": ()}, [("intake_modes", "intake_modes_empty")]),
        ({"repayment_methods": ("weekly",)}, [("repayment_methods", "repayment_methods_unknown")]),
        ({"segments": ("pirates",)}, [("segments", "segments_unknown")]),
        ({"guarantee_type": "mortgage"}, [("guarantee_type", "guarantee_unknown")]),
        (
            {"guarantee_type": "pledge", "intake_modes": ("small_credit",)},
            [("intake_modes", "small_credit_needs_pure_credit")],
        ),
        ({"annual_rate": None}, [("annual_rate", "rate_missing")]),
        ({"annual_rate": Decimal("0")}, [("annual_rate", "rate_out_of_range")]),
        ({"annual_rate": Decimal("0.435")}, [("annual_rate", "rate_out_of_range")]),
        ({"annual_rate": Decimal("0.24")}, []),
        ({"rate_kind": "lpr_spread", "annual_rate": None, "lpr_tenor": "1y", "spread_bp": 150}, []),
        (
            {"rate_kind": "lpr_spread", "annual_rate": None},
            [("lpr_tenor", "lpr_tenor_missing"), ("spread_bp", "spread_missing")],
        ),
        ({"rate_kind": "lpr_spread", "lpr_tenor": "1y", "spread_bp": 2500}, [("spread_bp", "spread_out_of_range")]),
        ({"effective_to": dt.date(2026, 6, 30)}, [("effective_to", "dates_inverted")]),
        ({"effective_to": dt.date(2026, 7, 1)}, []),
    ],
)
def test_check_terms(overrides, expected):
    assert codes(terms(**overrides)) == expected


def test_all_problems_are_reported_at_once():
    t = terms(channels=("online",), max_amount_fen=250_000 * Y, min_term_months=0, annual_rate=None)
    assert codes(t) == [
        ("max_amount_fen", "above_online_cap"),
        ("min_term_months", "term_out_of_range"),
        ("annual_rate", "rate_missing"),
    ]


LPR = [(dt.date(2022, 1, 20), Decimal("0.0370")), (dt.date(2022, 8, 22), Decimal("0.0365"))]


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (dt.date(2022, 1, 19), None),
        (dt.date(2022, 1, 20), Decimal("0.0520")),
        (dt.date(2022, 8, 21), Decimal("0.0520")),
        (dt.date(2022, 8, 22), Decimal("0.0515")),
    ],
)
def test_rate_on_lpr_plus_spread(on, expected):
    t = terms(rate_kind="lpr_spread", annual_rate=None, lpr_tenor="1y", spread_bp=150)
    rate = rules.rate_on(t, on, LPR)
    assert rate == expected
    assert rate is None or isinstance(rate, Decimal)


def test_rate_on_fixed_ignores_lpr():
    assert rules.rate_on(terms(), dt.date(2000, 1, 1), LPR) == Decimal("0.0435")


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (dt.date(2020, 1, 1), None),
        (dt.date(2021, 1, 1), 0),
        (dt.date(2026, 6, 30), 0),
        (dt.date(2026, 7, 1), 2),  # v3 and v2 start the same day: the higher number wins
        (dt.date(2027, 1, 1), 3),  # the latest start wins over a newer number starting earlier
    ],
)
def test_effective_index(on, expected):
    starts = [(dt.date(2021, 1, 1), 1), (dt.date(2027, 1, 1), 4), (dt.date(2026, 7, 1), 3), (dt.date(2026, 7, 1), 2)]
    # index 0: v1 from 2021; 1: v4 from 2027; 2: v3 from 2026-07-01; 3: v2 same day
    expected_index = {None: None, 0: 0, 2: 2, 3: 1}[expected]
    assert rules.effective_index(starts, on) == expected_index


def test_diff_and_money_fields():
    a = terms().as_dict()
    b = terms(max_amount_fen=150_000 * Y, segments=("breeder",)).as_dict()
    changes = rules.diff(a, b)
    assert changes == [("max_amount_fen", 200_000 * Y, 150_000 * Y), ("segments", [], ["breeder"])]
    assert rules.touches_money(changes)
    assert not rules.touches_money([("segments", [], ["breeder"])])
    assert len(rules.diff(None, a)) == len(a)


def test_list_order_does_not_matter():
    assert terms(channels=("online", "combined")) == terms(channels=("combined", "online", "online"))
