"""Schedules over many random terms: the invariants, and agreement with an independent reference written
with Decimal at 80 digits and core.money.round_fen (the rules compute with Fraction and their own rounding)."""

import datetime as dt
import random
from decimal import Decimal, localcontext
from itertools import pairwise

import numpy_financial as npf
import pytest

from xinedai.core.money import round_fen
from xinedai.lending.rules import (
    ANNUITY,
    BULLET,
    EQUAL_PRINCIPAL,
    INTEREST_ONLY,
    METHODS,
    REVOLVING,
    add_months,
    reschedule,
    schedule,
)

CASES = 400


def reference(principal, rate, term, method, start):
    """The issue's formulas, line by line, in Decimal: (number, principal, interest, payment) per instalment."""
    with localcontext() as ctx:
        ctx.prec = 80
        if method == BULLET:
            days = (add_months(start, term) - start).days
            interest = round_fen(Decimal(principal) * rate * days / 360)
            return [(1, principal, interest, principal + interest)]
        if method == REVOLVING:  # the drawn balance by the day, each month; the principal at the end
            dates = [add_months(start, k) for k in range(term + 1)]
            return [
                (k, principal if k == term else 0, interest, (principal if k == term else 0) + interest)
                for k in range(1, term + 1)
                for interest in [round_fen(Decimal(principal) * rate * (dates[k] - dates[k - 1]).days / 360)]
            ]
        r = rate / 12
        if method == ANNUITY:
            # the same payment written as P·r / (1 − (1+r)^−n)
            level = round_fen(principal * r / (1 - (1 + r) ** -term)) if r else round_fen(Decimal(principal) / term)
        else:
            level = round_fen(Decimal(principal) / term)
        out, balance = [], principal
        for k in range(1, term + 1):
            # multiply before dividing by 12, so that an exact half stays exact
            interest = round_fen(Decimal(principal if method == INTEREST_ONLY else balance) * rate / 12)
            if k == term:
                paid = balance
            elif method == INTEREST_ONLY:
                paid = 0
            elif method == ANNUITY:
                paid = min(level - interest, balance)
            else:
                paid = min(level, balance)
            balance -= paid
            out.append((k, paid, interest, paid + interest))
        return out


def random_terms(rng):
    method = rng.choice(METHODS)
    principal = rng.choice([rng.randint(1, 1_000), rng.randint(1_000, 30_000_000), rng.randint(1, 10**11)])
    rate = rng.choice(
        [Decimal(0), Decimal(rng.randint(1, 240_000)).scaleb(-6), Decimal(rng.randint(1, 999_999)).scaleb(-6)]
    )
    term = rng.choice([1, 2, 12, 360, rng.randint(1, 360), rng.randint(1, 36)])
    start = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 16))
    return principal, rate, term, method, start


def check_invariants(got, principal, rate, term, method, start, first=1):
    assert [i.number for i in got] == list(range(first, first + len(got)))
    if method == BULLET:
        assert len(got) == 1 and got[0].due_on == add_months(start, term)
    else:
        assert len(got) == term - first + 1
        assert [i.due_on for i in got] == [add_months(start, i.number) for i in got]
    balance = principal
    for i in got:
        assert min(i.principal_fen, i.interest_fen, i.payment_fen, i.balance_after_fen) >= 0
        assert i.payment_fen == i.principal_fen + i.interest_fen
        assert i.balance_after_fen == balance - i.principal_fen <= balance  # never rises
        balance = i.balance_after_fen
    assert balance == 0
    assert sum(i.principal_fen for i in got) == principal


@pytest.mark.parametrize("seed", range(4))
def test_random_schedules_keep_the_invariants_and_match_the_reference(seed):
    rng = random.Random(seed)
    for _ in range(CASES // 4):
        principal, rate, term, method, start = random_terms(rng)
        got = schedule(principal, rate, term, method, start)
        check_invariants(got, principal, rate, term, method, start)
        assert [(i.number, i.principal_fen, i.interest_fen, i.payment_fen) for i in got] == reference(
            principal, rate, term, method, start
        ), (principal, rate, term, method, start)


def test_random_annuity_payments_are_pmt_rounded():
    rng = random.Random(7)
    for _ in range(CASES):
        principal = rng.randint(10_000, 30_000_000)
        rate = Decimal(rng.randint(1, 240_000)).scaleb(-6)
        term = rng.randint(1, 360)
        got = schedule(principal, rate, term, ANNUITY, dt.date(2026, 1, 31))
        expected = -npf.pmt(float(rate / 12), term, principal)
        assert abs(got[0].payment_fen - expected) <= 0.5 + 1e-6, (principal, rate, term)
        # every payment but the last is the level one, unless rounding repaid the loan early
        assert all(i.payment_fen == got[0].payment_fen or i.balance_after_fen == 0 for i in got[:-1])


def test_random_equal_principal_interest_falls_every_month():
    rng = random.Random(11)
    for _ in range(CASES):
        got = schedule(
            rng.randint(100_000, 30_000_000),
            Decimal("0.0435"),
            rng.randint(2, 360),
            EQUAL_PRINCIPAL,
            dt.date(2026, 1, 31),
        )
        assert all(a.interest_fen >= b.interest_fen for a, b in pairwise(got))


def test_random_reschedules_end_at_zero_on_the_original_dates():
    rng = random.Random(3)
    for _ in range(CASES):
        principal, rate, term, method, start = random_terms(rng)
        original = schedule(principal, rate, term, method, start)
        paid = 0 if method == BULLET else rng.randint(0, term - 1)
        owed = original[paid - 1].balance_after_fen if paid else principal
        if owed == 0:
            continue  # a tiny loan already repaid
        balance = rng.randint(1, owed)  # what is left after some principal is repaid early
        rest = reschedule(balance, rate, term, method, start, paid)
        check_invariants(rest, balance, rate, term, method, start, first=paid + 1)
        assert [i.due_on for i in rest] == [i.due_on for i in original[paid:]]
        if balance == owed and method in (INTEREST_ONLY, BULLET, REVOLVING):
            assert rest == original[paid:]
