"""Schedule rules, table-driven: due dates, each method on hand-computed cases and on published figures,
numpy-financial's pmt for the annuity payment, rounding, the term limits and re-amortisation."""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import numpy_financial as npf
import pytest

from xinedai.core.money import round_fen
from xinedai.lending import rules
from xinedai.lending.choices import SCHEDULED_METHODS
from xinedai.lending.rules import (
    ANNUITY,
    BULLET,
    EQUAL_PRINCIPAL,
    INTEREST_ONLY,
    Instalment,
    add_months,
    daily_interest_fen,
    reschedule,
    schedule,
)
from xinedai.products.choices import RepaymentMethod

D = dt.date
P = 1_200_000  # 12,000.00 yuan
SIX = Decimal("0.06")  # r = 0.005 a month


def rows(instalments):
    return [
        (i.number, i.due_on, i.principal_fen, i.interest_fen, i.payment_fen, i.balance_after_fen) for i in instalments
    ]


def check_closes(instalments, principal):
    """The invariants every schedule keeps: payment = principal + interest, the balance falls to exactly 0."""
    balance = principal
    for i in instalments:
        assert i.payment_fen == i.principal_fen + i.interest_fen
        assert min(i.principal_fen, i.interest_fen) >= 0
        balance -= i.principal_fen
        assert i.balance_after_fen == balance
    assert balance == 0


# ---- due dates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "n", "expected"),
    [
        (D(2027, 1, 31), 0, D(2027, 1, 31)),
        (D(2027, 1, 31), 1, D(2027, 2, 28)),
        (D(2028, 1, 31), 1, D(2028, 2, 29)),
        (D(2027, 1, 31), 2, D(2027, 3, 31)),  # from the anchor, not Feb 28 + 1
        (D(2027, 1, 31), 3, D(2027, 4, 30)),
        (D(2026, 8, 31), 1, D(2026, 9, 30)),
        (D(2026, 8, 31), 2, D(2026, 10, 31)),
        (D(2026, 8, 31), 6, D(2027, 2, 28)),
        (D(2026, 8, 31), 7, D(2027, 3, 31)),
        (D(2026, 3, 30), 11, D(2027, 2, 28)),
        (D(2026, 3, 29), 23, D(2028, 2, 29)),
        (D(2026, 12, 15), 1, D(2027, 1, 15)),
        (D(2026, 11, 30), 14, D(2028, 1, 30)),
        (D(2028, 2, 29), 12, D(2029, 2, 28)),
        (D(2028, 2, 29), 48, D(2032, 2, 29)),
        (D(2026, 1, 31), 360, D(2056, 1, 31)),
        (D(2026, 3, 31), -1, D(2026, 2, 28)),
        (D(2026, 1, 15), -13, D(2024, 12, 15)),
    ],
)
def test_add_months_keeps_the_anchor_day_clamped_to_month_end(anchor, n, expected):
    assert add_months(anchor, n) == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (D(2027, 1, 31), [D(2027, 2, 28), D(2027, 3, 31), D(2027, 4, 30), D(2027, 5, 31)]),
        (D(2028, 1, 31), [D(2028, 2, 29), D(2028, 3, 31), D(2028, 4, 30), D(2028, 5, 31)]),
        (D(2026, 8, 31), [D(2026, 9, 30), D(2026, 10, 31), D(2026, 11, 30), D(2026, 12, 31)]),
        (D(2026, 10, 31), [D(2026, 11, 30), D(2026, 12, 31), D(2027, 1, 31), D(2027, 2, 28)]),
        (D(2026, 6, 15), [D(2026, 7, 15), D(2026, 8, 15), D(2026, 9, 15), D(2026, 10, 15)]),
    ],
)
@pytest.mark.parametrize("method", [ANNUITY, EQUAL_PRINCIPAL, INTEREST_ONLY])
def test_instalments_fall_on_the_start_day_of_each_following_month(method, start, expected):
    assert [i.due_on for i in schedule(P, SIX, 4, method, start)] == expected


def test_a_year_from_august_31_runs_through_both_february_ends():
    dues = [i.due_on for i in schedule(P, SIX, 18, ANNUITY, D(2026, 8, 31))]
    assert dues[5:8] == [D(2027, 2, 28), D(2027, 3, 31), D(2027, 4, 30)]
    assert dues[-1] == D(2028, 2, 29)


# ---- the four methods on 12,000.00 yuan, 12 months, 6 % a year (r = 0.5 % a month) --------------------------


def test_annuity_hand_computed():
    # payment = 1,200,000 × 0.005 × 1.005^12 / (1.005^12 − 1) = 103,279.7156… → 103,280 (1,032.80 yuan).
    # interest_1 = 1,200,000 × 0.005 = 6,000; interest_2 = 1,102,720 × 0.005 = 5,513.6 → 5,514; …
    # the last: 102,764 owed, interest 513.82 → 514, payment 102,764 + 514 = 103,278 (2 fen of rounding).
    got = schedule(P, SIX, 12, ANNUITY, D(2026, 1, 31))
    assert [(i.principal_fen, i.interest_fen, i.payment_fen, i.balance_after_fen) for i in got] == [
        (97_280, 6_000, 103_280, 1_102_720),
        (97_766, 5_514, 103_280, 1_004_954),
        (98_255, 5_025, 103_280, 906_699),
        (98_747, 4_533, 103_280, 807_952),
        (99_240, 4_040, 103_280, 708_712),
        (99_736, 3_544, 103_280, 608_976),
        (100_235, 3_045, 103_280, 508_741),
        (100_736, 2_544, 103_280, 408_005),
        (101_240, 2_040, 103_280, 306_765),
        (101_746, 1_534, 103_280, 205_019),
        (102_255, 1_025, 103_280, 102_764),
        (102_764, 514, 103_278, 0),
    ]
    assert sum(i.interest_fen for i in got) == 39_358
    check_closes(got, P)


def test_equal_principal_hand_computed():
    # 100,000 a month; interest on what is owed: 6,000, 5,500, … 500; 500 × (12 + 11 + … + 1) = 39,000.
    got = schedule(P, SIX, 12, EQUAL_PRINCIPAL, D(2026, 1, 31))
    assert [i.principal_fen for i in got] == [100_000] * 12
    assert [i.interest_fen for i in got] == [6_000 - 500 * k for k in range(12)]
    assert [i.payment_fen for i in got][:3] == [106_000, 105_500, 105_000]
    assert sum(i.interest_fen for i in got) == 39_000
    check_closes(got, P)


def test_interest_only_hand_computed():
    got = schedule(P, SIX, 12, INTEREST_ONLY, D(2026, 1, 31))
    assert [(i.principal_fen, i.interest_fen) for i in got] == [(0, 6_000)] * 11 + [(P, 6_000)]
    assert [i.balance_after_fen for i in got] == [P] * 11 + [0]
    assert got[-1].payment_fen == 1_206_000
    check_closes(got, P)


@pytest.mark.parametrize(
    ("start", "term", "maturity", "days", "interest"),
    [
        (D(2026, 1, 15), 12, D(2027, 1, 15), 365, 73_000),  # 1,200,000 × 0.06 / 360 × 365
        (D(2027, 7, 1), 12, D(2028, 7, 1), 366, 73_200),  # across Feb 29, 2028
        (D(2028, 2, 29), 12, D(2029, 2, 28), 365, 73_000),  # clamped maturity
        (D(2027, 11, 30), 3, D(2028, 2, 29), 91, 18_200),  # 31 + 31 + 29
        (D(2026, 11, 30), 3, D(2027, 2, 28), 90, 18_000),
        (D(2026, 1, 31), 1, D(2026, 2, 28), 28, 5_600),
    ],
)
def test_bullet_counts_the_days_to_maturity(start, term, maturity, days, interest):
    assert (maturity - start).days == days
    assert rows(schedule(P, SIX, term, BULLET, start)) == [(1, maturity, P, interest, P + interest, 0)]


def test_bullet_interest_rounds_half_up_once():
    # 100,001 × 0.0435 / 360 × 92 days = 1,111.6778… → 1,112.
    assert schedule(100_001, Decimal("0.0435"), 3, BULLET, D(2026, 6, 30))[0].interest_fen == 1_112
    assert schedule(3_000, SIX, 1, BULLET, D(2026, 2, 1))[0].interest_fen == 14  # 3,000 × .06 / 360 × 28


# ---- published figures and numpy-financial ------------------------------------------------------------------


def test_a_thirty_year_mortgage_matches_the_published_figures():
    # 1,000,000 yuan over 30 years at 4.9 %: 等额本息 5,307.27 yuan a month; 等额本金 first month 6,861.11.
    annuity = schedule(100_000_000, Decimal("0.049"), 360, ANNUITY, D(2026, 1, 31))
    assert len(annuity) == 360 and annuity[0].payment_fen == 530_727
    assert annuity[-1].due_on == D(2056, 1, 31)
    check_closes(annuity, 100_000_000)
    equal = schedule(100_000_000, Decimal("0.049"), 360, EQUAL_PRINCIPAL, D(2026, 1, 31))
    assert (equal[0].principal_fen, equal[0].interest_fen, equal[0].payment_fen) == (277_778, 408_333, 686_111)
    assert equal[-1].principal_fen == 100_000_000 - 359 * 277_778 == 277_698
    check_closes(equal, 100_000_000)


@pytest.mark.parametrize(
    ("principal", "rate", "term"),
    [
        (1_200_000, "0.06", 12),
        (100_000_000, "0.049", 360),
        (30_000_000, "0.0435", 36),
        (20_000_000, "0.0385", 60),
        (5_000_000, "0.072", 24),
        (1_000, "0.24", 6),
        (12_345_678, "0.043511", 119),
        (99, "0.05", 2),
        (30_000_000, "0.000001", 240),
    ],
)
def test_the_annuity_payment_matches_numpy_financial_pmt(principal, rate, term):
    expected = -npf.pmt(float(Decimal(rate) / 12), term, principal)  # a float: within half a fen of ours
    got = schedule(principal, Decimal(rate), term, ANNUITY, D(2026, 1, 31))
    assert abs(got[0].payment_fen - expected) <= 0.5 + 1e-6
    assert {i.payment_fen for i in got[:-1]} <= {got[0].payment_fen}
    check_closes(got, principal)


# ---- rounding, the last instalment, rate 0, one month ------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["0", "0.5", "1.5", "2.5", "2.4999", "2.5001", "-0.5", "-2.5", "-2.4", "103279.5", "7/8", "-7/8", "1/3", "2/3"],
)
def test_rules_round_as_core_round_fen(value):
    exact = Fraction(value)
    as_decimal = Decimal(exact.numerator) / Decimal(exact.denominator)
    assert rules.round_half_up(exact) == round_fen(as_decimal)


def test_the_last_instalment_absorbs_the_rounding():
    # 100,000 fen over 3 months: shares of 33,333.33 → 33,333, the last 33,334.
    got = schedule(100_000, SIX, 3, EQUAL_PRINCIPAL, D(2026, 1, 31))
    assert [i.principal_fen for i in got] == [33_333, 33_333, 33_334]
    # 100 fen over 3 months: shares of 33.33 → 33, the last 34; 101 fen: 33.67 → 34, 34, 33.
    assert [i.principal_fen for i in schedule(100, SIX, 3, EQUAL_PRINCIPAL, D(2026, 1, 31))] == [33, 33, 34]
    assert [i.principal_fen for i in schedule(101, SIX, 3, EQUAL_PRINCIPAL, D(2026, 1, 31))] == [34, 34, 33]


def test_a_tiny_principal_over_a_long_term_is_repaid_early_never_below_zero():
    # 100 yuan over 360 months: shares of 27.78 → 28 fen repay it in 358 months; the rest are zero.
    equal = schedule(10_000, Decimal("0.12"), 360, EQUAL_PRINCIPAL, D(2026, 1, 31))
    assert [i.principal_fen for i in equal[-4:]] == [28, 4, 0, 0]
    check_closes(equal, 10_000)
    # The annuity's rounded-up payment of 103 fen (102.86) repays it in 357 months.
    annuity = schedule(10_000, Decimal("0.12"), 360, ANNUITY, D(2026, 1, 31))
    assert annuity[0].payment_fen == 103
    assert [i.payment_fen for i in annuity[-4:]] == [6, 0, 0, 0]
    check_closes(annuity, 10_000)


@pytest.mark.parametrize(
    ("method", "principals"),
    [
        (ANNUITY, [333, 333, 334]),
        (EQUAL_PRINCIPAL, [333, 333, 334]),
        (INTEREST_ONLY, [0, 0, 1_000]),
    ],
)
def test_rate_zero_charges_no_interest(method, principals):
    got = schedule(1_000, Decimal(0), 3, method, D(2026, 1, 31))
    assert [i.principal_fen for i in got] == principals
    assert [i.interest_fen for i in got] == [0, 0, 0]
    check_closes(got, 1_000)


def test_rate_zero_annuity_rounds_the_payment_half_up():
    assert [i.payment_fen for i in schedule(1_001, Decimal(0), 2, ANNUITY, D(2026, 1, 31))] == [501, 500]
    assert schedule(P, Decimal(0), 12, BULLET, D(2026, 1, 31))[0].interest_fen == 0


@pytest.mark.parametrize("method", [ANNUITY, EQUAL_PRINCIPAL, INTEREST_ONLY])
def test_a_one_month_loan_is_principal_plus_a_months_interest(method):
    assert rows(schedule(P, SIX, 1, method, D(2026, 1, 31))) == [(1, D(2026, 2, 28), P, 6_000, 1_206_000, 0)]


def test_daily_interest_for_revolving_lines():
    rate = Decimal("0.0435")
    assert daily_interest_fen(1_000_000, rate) == 121  # 120.8333…
    assert daily_interest_fen(1_000_000, rate, 30) == 3_625
    assert daily_interest_fen(3_000, SIX) == 1  # exactly 0.5: half up
    assert daily_interest_fen(2_999, SIX) == 0
    assert daily_interest_fen(0, rate, 365) == 0


def test_revolving_charges_the_drawn_balance_by_the_day_and_the_principal_at_maturity():
    # 1,200,000 fen at 6 % is exactly 200 fen a day; the periods are 28, 31 and 30 days long.
    assert rows(schedule(P, SIX, 3, "revolving", D(2026, 1, 31))) == [
        (1, D(2026, 2, 28), 0, 5_600, 5_600, P),
        (2, D(2026, 3, 31), 0, 6_200, 6_200, P),
        (3, D(2026, 4, 30), P, 6_000, P + 6_000, 0),
    ]


def test_revolving_interest_is_rounded_once_per_period():
    rate = Decimal("0.0435")
    got = schedule(1_000_000, rate, 2, "revolving", D(2026, 3, 15))
    # 1,000,000 × 0.0435 / 360 = 120.8333… a day: 31 days (Mar 15 → Apr 15) 3,745.83 → 3,746; 30 days 3,625.
    assert [(i.due_on, i.interest_fen) for i in got] == [(D(2026, 4, 15), 3_746), (D(2026, 5, 15), 3_625)]
    assert sum(i.interest_fen for i in got) == sum(round_fen(Decimal(1_000_000) * rate * d / 360) for d in (31, 30))


def test_revolving_after_a_partial_repayment_charges_the_lower_balance():
    # Drawn 1,200,000 on Jan 31; 500,000 repaid during period 2: the rest of the schedule is on 700,000.
    rest = reschedule(700_000, SIX, 3, "revolving", D(2026, 1, 31), 1)
    assert rows(rest) == [
        (2, D(2026, 3, 31), 0, 3_617, 3_617, 700_000),  # 700,000 × 0.06 / 360 × 31 = 3,616.67
        (3, D(2026, 4, 30), 700_000, 3_500, 703_500, 0),
    ]


# ---- terms -------------------------------------------------------------------------------------------------


def codes(*args):
    return [(p.field, p.code) for p in rules.check_terms(*args)]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((P, Decimal("0.0435"), 12, ANNUITY), []),
        ((P, "0.0435", 12, ANNUITY), []),
        ((1, "0", 1, BULLET), []),
        ((P, "0.999999", 360, EQUAL_PRINCIPAL), []),
        ((P, " 0.043500000 ", 12, INTEREST_ONLY), []),  # trailing zeros are not precision
        ((0, "0.0435", 12, ANNUITY), [("principal_fen", "principal_not_positive")]),
        ((-1, "0.0435", 12, ANNUITY), [("principal_fen", "principal_not_positive")]),
        ((True, "0.0435", 12, ANNUITY), [("principal_fen", "principal_not_positive")]),
        ((1_000.0, "0.0435", 12, ANNUITY), [("principal_fen", "principal_not_positive")]),
        ((P, 0.0435, 12, ANNUITY), [("annual_rate", "rate_not_string")]),
        ((P, 0, 12, ANNUITY), [("annual_rate", "rate_not_string")]),
        ((P, None, 12, ANNUITY), [("annual_rate", "rate_not_string")]),
        ((P, "4.35%", 12, ANNUITY), [("annual_rate", "rate_invalid")]),
        ((P, "", 12, ANNUITY), [("annual_rate", "rate_invalid")]),
        ((P, "NaN", 12, ANNUITY), [("annual_rate", "rate_invalid")]),
        ((P, "Infinity", 12, ANNUITY), [("annual_rate", "rate_invalid")]),
        ((P, "1", 12, ANNUITY), [("annual_rate", "rate_out_of_range")]),
        ((P, "4.35", 12, ANNUITY), [("annual_rate", "rate_out_of_range")]),
        ((P, "-0.01", 12, ANNUITY), [("annual_rate", "rate_out_of_range")]),
        ((P, "0.0435001", 12, ANNUITY), [("annual_rate", "rate_too_precise")]),
        ((P, "0.06", 0, ANNUITY), [("term_months", "term_out_of_range")]),
        ((P, "0.06", 361, ANNUITY), [("term_months", "term_out_of_range")]),
        ((P, "0.06", 12.0, ANNUITY), [("term_months", "term_out_of_range")]),
        ((P, "0.06", 12, "balloon"), [("method", "method_unknown")]),
        ((P, "0.06", 12, "ANNUITY"), [("method", "method_unknown")]),
        (
            (0, 0.06, 0, ""),
            [
                ("principal_fen", "principal_not_positive"),
                ("annual_rate", "rate_not_string"),
                ("term_months", "term_out_of_range"),
                ("method", "method_unknown"),
            ],
        ),
    ],
)
def test_check_terms_names_every_problem(args, expected):
    assert codes(*args) == expected


def test_every_problem_has_a_chinese_and_an_english_message():
    for problem in rules.check_terms(0, 0.06, 0, "x") + rules.check_terms(0, "x", 0, "x"):
        assert problem.message_zh and problem.message_en and problem.message_zh != problem.message_en


def test_schedule_refuses_bad_terms_with_their_problems():
    with pytest.raises(rules.TermsError) as caught:
        schedule(P, 0.06, 12, ANNUITY, D(2026, 1, 31))  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == "rate_not_string"
    assert [p.field for p in caught.value.problems] == ["annual_rate"]


def test_parse_rate_is_exact():
    assert rules.parse_rate("0.0435") == Decimal("0.0435")
    assert rules.parse_rate(Decimal("0.05")) == Decimal("0.05")
    with pytest.raises(rules.TermsError):
        rules.parse_rate(0.0435)


def test_the_methods_are_the_catalogues_codes_and_labels():
    from django.utils import translation

    assert rules.METHODS == SCHEDULED_METHODS
    assert set(RepaymentMethod.values) == set(rules.METHODS)
    with translation.override("zh-hans"):
        assert [str(m.label) for m in SCHEDULED_METHODS] == [
            "等额本息",
            "等额本金",
            "按月付息到期还本",
            "利随本清",
            "随借随还",
        ]


# ---- re-amortisation after a partial repayment ---------------------------------------------------------------


@pytest.mark.parametrize("method", [ANNUITY, EQUAL_PRINCIPAL, INTEREST_ONLY, BULLET])
def test_reschedule_with_nothing_paid_is_the_schedule(method):
    start = D(2027, 1, 31)
    assert reschedule(P, SIX, 12, method, start, 0) == schedule(P, SIX, 12, method, start)


@pytest.mark.parametrize("method", [ANNUITY, EQUAL_PRINCIPAL, INTEREST_ONLY])
def test_reschedule_after_a_partial_repayment_keeps_numbers_dates_and_maturity(method):
    start = D(2027, 1, 31)
    original = schedule(P, SIX, 12, method, start)
    balance = original[2].balance_after_fen - 300_000  # three paid, then 3,000 yuan of principal early
    rest = reschedule(balance, SIX, 12, method, start, 3)
    assert [(i.number, i.due_on) for i in rest] == [(i.number, i.due_on) for i in original[3:]]
    assert rest[-1].due_on == original[-1].due_on == D(2028, 1, 31)
    assert rest[0].interest_fen == round_fen(Decimal(balance) * SIX / 12)
    check_closes(rest, balance)


def test_reschedule_annuity_lowers_the_payment_to_pmt_over_the_instalments_left():
    start = D(2027, 1, 31)
    balance = 906_699 - 300_000  # after instalment 3 of the hand-computed case
    rest = reschedule(balance, SIX, 12, ANNUITY, start, 3)
    assert len(rest) == 9
    assert abs(rest[0].payment_fen - -npf.pmt(0.005, 9, balance)) <= 0.5
    assert rest[0].payment_fen == 69_107  # 606,699 × 0.005 × 1.005^9 / (1.005^9 − 1) = 69,107.48…
    assert rest[0].payment_fen < 103_280


def test_reschedule_equal_principal_and_interest_only_after_a_repayment():
    start = D(2026, 6, 15)
    rest = reschedule(606_699, SIX, 12, EQUAL_PRINCIPAL, start, 3)
    assert [i.principal_fen for i in rest] == [67_411] * 9  # 606,699 / 9 = 67,411 exactly
    interest_only = reschedule(900_000, SIX, 12, INTEREST_ONLY, start, 5)
    assert [(i.number, i.principal_fen, i.interest_fen) for i in interest_only] == [
        (n, 900_000 if n == 12 else 0, 4_500) for n in range(6, 13)
    ]


def test_reschedule_with_one_instalment_left_is_balance_plus_a_month():
    assert rows(reschedule(50_000, SIX, 12, ANNUITY, D(2027, 1, 31), 11)) == [
        (12, D(2028, 1, 31), 50_000, 250, 50_250, 0)
    ]


def test_a_bullet_loan_partly_repaid_still_matures_on_the_same_day():
    assert rows(reschedule(1_000_000, SIX, 12, BULLET, D(2027, 7, 1), 0)) == [
        (1, D(2028, 7, 1), 1_000_000, 61_000, 1_061_000, 0)  # 1,000,000 × 0.06 / 360 × 366
    ]


@pytest.mark.parametrize(
    ("balance", "method", "paid", "codes_"),
    [
        (P, ANNUITY, 12, ["paid_instalments_out_of_range"]),
        (P, ANNUITY, -1, ["paid_instalments_out_of_range"]),
        (P, BULLET, 1, ["paid_instalments_out_of_range"]),
        (P, ANNUITY, None, ["paid_instalments_out_of_range"]),
        (0, ANNUITY, 3, ["principal_not_positive"]),
        (0, "revolving", 12, ["principal_not_positive", "paid_instalments_out_of_range"]),
        (P, "balloon", 3, ["method_unknown"]),
    ],
)
def test_reschedule_refuses_when_nothing_is_left(balance, method, paid, codes_):
    with pytest.raises(rules.TermsError) as caught:
        reschedule(balance, SIX, 12, method, D(2027, 1, 31), paid)
    assert [p.code for p in caught.value.problems] == codes_


def test_instalments_are_immutable_values():
    one = schedule(P, SIX, 1, BULLET, D(2026, 1, 31))[0]
    assert one == Instalment(1, D(2026, 2, 28), P, 5_600, 1_205_600, 0)
    with pytest.raises(AttributeError):
        one.payment_fen = 0  # type: ignore[misc]


def test_a_float_rate_never_reaches_the_arithmetic():
    with pytest.raises(TypeError):
        daily_interest_fen(1_000_000, 0.0435)  # type: ignore[arg-type]
    assert schedule(P, "0.06", 12, ANNUITY, D(2026, 1, 31)) == schedule(P, SIX, 12, ANNUITY, D(2026, 1, 31))  # type: ignore[arg-type]
