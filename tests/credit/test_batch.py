"""Batch decisions give exactly the single decision's result, and re-running replaces, never duplicates."""

import datetime as dt

import numpy as np
import pytest
from django.db import transaction

from xinedai.core.ids import age_on
from xinedai.credit import services
from xinedai.credit.batch import _ages, decide_batch
from xinedai.credit.models import CreditDecision, CreditLine
from xinedai.households.models import Household

from ..conftest import make_line

TODAY = dt.date(2026, 6, 30)


@pytest.mark.parametrize("birth", ["1980-06-30", "1980-07-01", "1980-06-29", "2000-02-29", "1966-12-31", "1966-01-01"])
def test_vectorised_ages_match_the_rule(birth):
    b = dt.date.fromisoformat(birth)
    for on in (TODAY, dt.date(2027, 2, 28), dt.date(2028, 2, 29), dt.date(2026, 12, 31)):
        assert _ages(np.array([b], dtype="datetime64[D]"), on)[0] == age_on(b, on)


def run(bank, ids, **kw):
    with transaction.atomic():
        return decide_batch(
            ids,
            actor=bank.users["risk"],
            model=services.active_model(),
            strategy=services.active_strategy(),
            channel="combined",
            as_of=TODAY,
            **kw,
        )


def test_batch_equals_single_decisions(credit):
    from xinedai.households import services as hh

    with transaction.atomic():  # a weaker file, so that reasons are not empty
        hh.save_file_version(
            credit.users["am1"],
            credit.h2,
            {
                "asset_house_fen": 15_000_000,
                "income_wages_fen": 4_000_000,
                "expense_living_fen": 1_500_000,
                "credit_overdue_count_24m": 1,
            },
            reason="复核",
        )
    ids = list(Household.objects.order_by("pk").values_list("pk", flat=True))
    result = run(credit, ids)
    assert result.decided == 3 and result.granted == 2  # h2 is declined
    for h in Household.objects.all():
        batch = CreditDecision.objects.get(household=h, source="batch")
        with transaction.atomic():
            single = services.decide(None, household=h, today=TODAY)
        assert (batch.score, batch.grade, batch.limit_fen, batch.binding) == (
            single.score,
            single.grade,
            single.limit_fen,
            single.binding,
        )
        assert batch.reasons == single.reasons  # the same reason codes, bins and points
        assert batch.inputs["net_assets_yuan"] == single.inputs["net_assets_yuan"]
    assert len(CreditDecision.objects.get(household=credit.h2, source="batch").reasons) == 3
    lines = CreditLine.objects.filter(status="active")
    assert lines.count() == 2 and {ln.expires_on for ln in lines} == {dt.date(2027, 6, 30)}
    assert result.limit_fen == sum(ln.limit_fen for ln in lines)


def test_rerun_replaces_lines_and_keeps_drawn_ones(credit):
    ids = list(Household.objects.order_by("pk").values_list("pk", flat=True))
    run(credit, ids)
    CreditLine.objects.filter(household=credit.h1).update(used_fen=1_000_00)
    result = run(credit, ids)
    assert result.granted == 2
    assert CreditLine.objects.filter(status="active").count() == 3  # one per household, never two
    assert CreditLine.objects.filter(status="revoked").count() == 2
    assert CreditLine.objects.get(household=credit.h1, status="active").used_fen == 1_000_00


def test_households_without_a_usable_file_are_skipped(credit):
    Household.objects.filter(pk=credit.h3.pk).update(current_file=None)
    result = run(credit, [credit.h1.pk, credit.h3.pk])
    assert (result.decided, result.skipped) == (1, 1)


def test_batch_never_raises_a_guarded_limit(credit):
    from xinedai.households import services as hh

    ids = list(Household.objects.order_by("pk").values_list("pk", flat=True))
    run(credit, ids)
    before = CreditLine.objects.get(household=credit.h1, status="active").limit_fen
    with transaction.atomic():  # deposits triple within days, no supporting document
        hh.save_file_version(
            credit.users["am1"],
            credit.h1,
            {
                "asset_house_fen": 50_000_000,
                "asset_deposit_fen": 90_000_000,
                "liab_bank_fen": 2_000_000,
                "income_planting_fen": 30_000_000,
                "expense_living_fen": 5_000_000,
            },
            reason="复核",
        )
    run(credit, [credit.h1.pk])
    d = CreditDecision.objects.filter(household=credit.h1).order_by("-pk").first()
    assert d.binding == "change_guard" and d.limit_fen == before
    assert CreditLine.objects.get(household=credit.h1, status="active").limit_fen == before


def test_decision_inputs_are_typed_columns_plus_details(credit):
    from xinedai.credit.models import INPUT_COLUMNS

    with transaction.atomic():
        single = services.decide(None, household=credit.h1, today=TODAY)
    run(credit, [credit.h1.pk])
    single.refresh_from_db()
    batch = CreditDecision.objects.get(household=credit.h1, source="batch")
    for d in (single, batch):
        # every feature and the exposure are columns (so reports can filter and aggregate them) ...
        assert all(getattr(d, c) is not None for c in INPUT_COLUMNS if c != "segment") and d.segment
        assert not set(INPUT_COLUMNS) & set(d.details)
    # ... and `inputs` gives them back as one dict, with what else the decision used
    assert single.details["candidates_fen"]["channel_cap"] == 300_000_00
    assert single.inputs == {**{c: getattr(single, c) for c in INPUT_COLUMNS}, **single.details}
    assert {k: v for k, v in single.inputs.items() if k != "candidates_fen"} == batch.inputs
    assert CreditDecision.objects.filter(pk=batch.pk, net_assets_yuan=single.net_assets_yuan).exists()


def test_what_is_owed_on_an_expired_line_counts_toward_the_caps_in_a_batch(credit):
    def other_line(status, used):
        return make_line(
            credit.h1,
            product_code="dapeng",
            used_fen=used,
            status=status,
            granted_at="2025-06-30T02:00:00Z",
            expires_on=dt.date(2026, 6, 1),
        )

    other = other_line("expired", 40_000 * 100)
    run(credit, [credit.h1.pk])
    single = services.decide(credit.users["am1"], household=credit.h1, today=TODAY)
    batch = CreditDecision.objects.filter(household=credit.h1, source="batch").get()
    assert batch.exposure_fen == single.inputs["exposure_fen"] == 40_000 * 100  # what is owed, not the limit
    assert batch.limit_fen == single.limit_fen
    CreditLine.objects.filter(pk=other.pk).update(used_fen=0)  # repaid: an expired line holds nothing
    run(credit, [credit.h1.pk])
    latest = CreditDecision.objects.filter(household=credit.h1, source="batch").latest("pk")
    assert latest.exposure_fen == 0
