"""Maker ≠ checker, decisions that explain themselves, credit lines under the per-customer caps, the API."""

import datetime as dt

import pytest
from django.db import transaction
from django.test import Client

from xinedai.core import reuse
from xinedai.core.errors import PermissionDenied, ValidationFailed
from xinedai.core.models import AuditEntry
from xinedai.credit import services
from xinedai.credit.models import CreditDecision, CreditLine, LimitStrategy, ScoreModel
from xinedai.credit.rules import DEFAULT_PARAMS
from xinedai.org import services as org

from .conftest import CARD, make_model

TODAY = dt.date(2026, 6, 30)
Y = 100


def test_a_model_cannot_be_approved_by_its_maker(bank):
    model = make_model(trained_by=bank.users["risk"])
    with pytest.raises(PermissionDenied) as err, transaction.atomic():
        services.approve_model(bank.users["risk"], model)
    assert err.value.code == "maker_is_checker"
    model.refresh_from_db()
    assert model.status == "draft" and not AuditEntry.objects.filter(action="credit.model.approve").exists()


def test_approving_a_new_model_retires_the_old(credit):
    new = make_model(trained_by=credit.users["risk"], version=2)
    with transaction.atomic():
        services.approve_model(credit.users["admin"], new)
    assert list(ScoreModel.objects.order_by("version").values_list("status", flat=True)) == ["retired", "active"]


def test_strategy_validation_and_maker_checker(bank):
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.propose_strategy(
            bank.users["risk"],
            {**DEFAULT_PARAMS.to_dict(), "channel_caps_fen": {"online": 250_000 * Y, "combined": 300_000 * Y}},
        )
    assert err.value.code == "strategy_invalid"
    assert LimitStrategy.objects.count() == 0
    with transaction.atomic():
        s = services.propose_strategy(bank.users["risk"], DEFAULT_PARAMS.to_dict())
    with pytest.raises(PermissionDenied), transaction.atomic():
        services.approve_strategy(bank.users["risk"], s)
    with transaction.atomic():
        services.approve_strategy(bank.users["admin"], s)
    assert LimitStrategy.objects.get().status == "active"


def test_decision_for_a_household_stores_why(credit):
    h = credit.h1  # net assets 560,000; disposable 70,000; no overdue; greenhouse
    with transaction.atomic():
        d = services.decide(credit.users["am1"], household=h, today=TODAY)
    assert d.score == 300 + 110 + 90 + 120 + 70
    assert d.grade == "A"
    # min(channel 300k, net assets 0.5×560k=280k, disposable 3×70k=210k, grade A 300k) → 210k
    assert (d.limit_fen, d.binding) == (210_000 * Y, "disposable_income")
    assert d.inputs["net_assets_yuan"] == 560_000 and d.inputs["segment"] == "greenhouse"
    assert d.inputs["candidates_fen"]["net_assets"] == 280_000 * Y
    assert d.score_model.status == "active" and d.strategy.status == "active"
    assert d.reasons == []  # best bin everywhere


def test_reasons_name_what_lowered_the_score(credit):
    from xinedai.households import services as hh

    with transaction.atomic():
        hh.save_file_version(
            credit.users["am1"],
            credit.h2,
            {
                "asset_house_fen": 150_000 * Y,
                "income_wages_fen": 30_000 * Y,
                "expense_living_fen": 20_000 * Y,
                "credit_overdue_count_24m": 3,
            },
            reason="复核",
        )
        credit.h2.refresh_from_db()
        d = services.decide(credit.users["am1"], household=credit.h2, today=TODAY)
    assert [r["variable"] for r in d.reasons] == ["overdue_count_24m", "disposable_income_yuan", "net_assets_yuan"]
    assert d.reasons[0]["points_lost"] == 160
    assert d.limit_fen == 0 and d.binding == "decline"


def test_grant_line_and_regrant(credit):
    with transaction.atomic():
        d = services.decide(credit.users["am1"], household=credit.h1, today=TODAY)
        line = services.grant_line(credit.users["am1"], d, today=TODAY)
    assert (line.limit_fen, line.status, line.expires_on) == (210_000 * Y, "active", dt.date(2027, 6, 30))
    with transaction.atomic():
        d2 = services.decide(credit.users["am1"], household=credit.h1, channel="online", today=TODAY)
        line2 = services.grant_line(credit.users["am1"], d2, today=TODAY)
    line.refresh_from_db()
    assert line.status == "revoked" and line2.status == "active" and line2.limit_fen == 200_000 * Y
    assert AuditEntry.objects.filter(action="credit.line.grant").count() == 2


def test_the_per_customer_cap_holds_across_products(credit):
    CreditLine.objects.create(
        household=credit.h1,
        product_code="dapeng",
        limit_fen=150_000 * Y,
        intake_mode="offline_approval",
        channel="combined",
        status="active",
        granted_at="2026-01-01T00:00:00Z",
        expires_on=dt.date(2026, 12, 31),
    )
    with transaction.atomic():
        d = services.decide(credit.users["am1"], household=credit.h1, today=TODAY)
    # 300k combined cap less 150k on the other product: min(210k, …) - 150k = 60k
    assert d.limit_fen == 60_000 * Y and d.inputs["exposure_fen"] == 150_000 * Y
    with transaction.atomic():
        services.grant_line(credit.users["am1"], d, today=TODAY)
    # the other line grows after the decision: the grant re-checks the cap and refuses
    with transaction.atomic():
        d2 = services.decide(credit.users["am1"], household=credit.h1, today=TODAY)
    CreditLine.objects.filter(product_code="dapeng").update(limit_fen=280_000 * Y)
    before = list(CreditLine.objects.values_list("pk", "status", "limit_fen"))
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.grant_line(credit.users["am1"], d2, today=TODAY)
    assert err.value.code == "customer_cap"
    assert list(CreditLine.objects.values_list("pk", "status", "limit_fen")) == before


def token_client(bank, username):
    with transaction.atomic():
        _, secret = org.issue_token(None, bank.users[username], name="t")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_decision_api_for_a_household(credit):
    resp = token_client(credit, "am1").post(
        "/api/v1/credit/decisions", {"household_id": credit.h1.pk}, content_type="application/json"
    )
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["limit_fen"] == 210_000 * Y and body["binding_constraint"] == "disposable_income"
    assert body["grade"] == "A" and body["model_version"] == "xinedai v1" and body["strategy_version"] == 1
    assert body["score"] == 690 and body["reasons"] == []
    assert CreditDecision.objects.get(pk=body["decision_id"]).source == "api"


def test_decision_api_for_a_file_in_the_body(credit):
    file = {
        "total_assets_fen": 300_000 * Y,
        "total_liabilities_fen": 0,
        "annual_income_fen": 50_000 * Y,
        "annual_expenses_fen": 30_000 * Y,
    }
    resp = token_client(credit, "co").post(
        "/api/v1/credit/decisions",
        {"file": file, "age": 40, "segment": "salaried", "channel": "online"},
        content_type="application/json",
    )
    assert resp.status_code == 200, resp.content
    body = resp.json()
    # 300 + 60 + 50 + 120 + 40 = 570 → grade D (cap 30k); 3 × 20k = 60k; 0.5 × 300k = 150k → 30k
    assert (body["score"], body["grade"], body["limit_fen"], body["binding_constraint"]) == (
        570,
        "D",
        30_000 * Y,
        "grade_cap",
    )
    assert {r["variable"] for r in body["reasons"]} == {"net_assets_yuan", "disposable_income_yuan", "segment"}


def test_decision_api_refusals(credit, bank):
    am2 = token_client(credit, "am2")
    resp = am2.post("/api/v1/credit/decisions", {"household_id": credit.h1.pk}, content_type="application/json")
    assert resp.status_code == 404 and resp.json()["code"] == "household_not_found"
    resp = am2.post("/api/v1/credit/decisions", {}, content_type="application/json")
    assert resp.status_code == 422 and resp.json()["code"] == "decision_input"
    ScoreModel.objects.update(status="retired")
    reuse.forget_all()  # an UPDATE behind the models' back is seen within the second (core.reuse)
    resp = am2.post("/api/v1/credit/decisions", {"household_id": credit.h2.pk}, content_type="application/json")
    assert resp.status_code == 409 and resp.json()["code"] == "credit_not_configured"
    assert CreditDecision.objects.count() == 0


def test_card_features_exist_in_the_feature_set():
    from xinedai.credit.features import FEATURES

    assert set(CARD.names) <= set(FEATURES)


def test_approval_needs_the_permission(bank):
    model = make_model(trained_by=bank.users["risk"])
    with pytest.raises(PermissionDenied) as err, transaction.atomic():
        services.approve_model(bank.users["am1"], model)
    assert err.value.code == "forbidden_approval"
    model.refresh_from_db()
    assert model.status == "draft"


def test_the_product_catalogue_caps_and_gates_decisions(credit):
    from xinedai.products.models import ProductVersion
    from xinedai.products.services import seed_catalogue

    with transaction.atomic():
        seed_catalogue()
        d = services.decide(credit.users["am1"], household=credit.h1, today=TODAY)
    assert d.limit_fen == 210_000 * Y  # the base product's 300,000 cap does not bind
    terms = ProductVersion.objects.filter(product__code="xinedai", status="approved")
    terms.update(max_amount_fen=100_000 * Y)
    reuse.forget_all()  # an UPDATE behind the models' back is seen within the second (core.reuse)
    with transaction.atomic():
        d = services.decide(credit.users["am1"], household=credit.h1, today=TODAY)
    assert (d.limit_fen, d.binding) == (100_000 * Y, "product_cap")
    terms.update(channels=["combined"])
    reuse.forget_all()
    before = CreditDecision.objects.count()
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.decide(credit.users["am1"], household=credit.h1, channel="online", today=TODAY)
    assert err.value.code == "product_channel"
    assert CreditDecision.objects.count() == before
