"""The three intake modes: model, small credit and offline approval (maker ≠ checker), under the caps."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction

from xinedai.core.errors import NotFound, PermissionDenied, ValidationFailed
from xinedai.core.models import AuditEntry
from xinedai.credit import services
from xinedai.credit.models import CreditDecision, CreditLine, OfflineApplication, ScoreModel
from xinedai.credit.rules import DEFAULT_PARAMS
from xinedai.households import services as hh

from ..conftest import file_values

TODAY = dt.date(2026, 6, 30)
Y = 100


def other_product_line(household, limit_fen, channel="combined"):
    return CreditLine.objects.create(
        household=household,
        product_code="dapeng",
        limit_fen=limit_fen,
        intake_mode="offline_approval",
        channel=channel,
        status="active",
        granted_at="2026-01-01T00:00:00Z",
        expires_on=dt.date(2026, 12, 31),
    )


def state():
    """Everything an intake operation may change, to assert that a refusal changed nothing."""
    return (
        list(CreditLine.objects.order_by("pk").values_list("pk", "status", "limit_fen", "intake_mode")),
        list(OfflineApplication.objects.order_by("pk").values_list("pk", "status", "approved_limit_fen", "reason")),
        CreditDecision.objects.count(),
        AuditEntry.objects.count(),
    )


def refile(bank, household, **overrides):
    with transaction.atomic():
        hh.save_file_version(bank.users["am1"], household, file_values(**overrides), reason="复核")
    household.refresh_from_db()


# Model ----------------------------------------------------------------------------------------------


def test_model_mode_grants_a_model_line(credit):
    with transaction.atomic():
        d = services.decide(credit.users["am1"], household=credit.h1, source="page", today=TODAY)
        line = services.grant_line(credit.users["am1"], d, today=TODAY)
    assert (line.intake_mode, line.channel, line.limit_fen, line.decision_id) == (
        "model",
        "combined",
        210_000 * Y,
        d.pk,
    )
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.grant_line(credit.users["am1"], d, today=TODAY)
    assert err.value.code == "decision_used"
    assert CreditLine.objects.filter(status="active").count() == 1


# Small credit ---------------------------------------------------------------------------------------

# h1's file: disposable income 70,000 yuan, nothing overdue, three elements complete.
SMALL_CASES = [
    # (file overrides, other product line (limit, channel), strategy overrides, limit, binding, refusals)
    ({}, None, {}, 50_000 * Y, "small_cap", []),
    ({"income_planting_fen": 8_000_000}, None, {}, 30_000 * Y, "small_income", []),
    ({"income_planting_fen": 8_000_000}, None, {"small_income_multiple": "1.5"}, 45_000 * Y, "small_income", []),
    ({}, None, {"small_cap_fen": 80_000 * Y}, 70_000 * Y, "small_income", []),
    ({"credit_current_overdue_fen": 100 * Y}, None, {}, 0, "small_refused", ["current_overdue"]),
    ({"credit_overdue_count_24m": 2}, None, {}, 0, "small_refused", ["overdue_history"]),
    ({"income_planting_fen": 5_400_000}, None, {}, 0, "small_income", ["below_minimum"]),
    # exposure on another product is taken from the small-credit ceiling (credit.rules, conservative)
    ({}, (20_000 * Y, "online"), {}, 30_000 * Y, "small_cap", []),
    ({}, (48_000 * Y, "combined"), {}, 0, "exposure", ["below_minimum"]),
]


@pytest.mark.parametrize(("overrides", "other", "strategy", "limit", "binding", "refusals"), SMALL_CASES)
def test_small_credit_decisions(credit, overrides, other, strategy, limit, binding, refusals):
    if overrides:
        refile(credit, credit.h1, **overrides)
    if other:
        other_product_line(credit.h1, *other)
    if strategy:
        with transaction.atomic():
            s = services.propose_strategy(credit.users["risk"], {**DEFAULT_PARAMS.to_dict(), **strategy})
            services.approve_strategy(credit.users["admin"], s)
    with transaction.atomic():
        d = services.decide_small(credit.users["am1"], credit.h1, TODAY)
    assert (d.mode, d.channel, d.score, d.grade, d.score_model) == ("small_credit", "online", None, "", None)
    assert (d.limit_fen, d.binding, [r["code"] for r in d.reasons]) == (limit, binding, refusals)
    assert AuditEntry.objects.filter(action="credit.decision", object_id=str(d.pk)).count() == 1


def test_small_credit_refused_without_three_elements(credit):
    credit.h1.three_elements_complete = False
    with transaction.atomic():
        d = services.decide_small(credit.users["am1"], credit.h1, TODAY)
    assert (d.limit_fen, d.binding, d.reasons) == (0, "small_refused", [{"code": "three_elements_incomplete"}])
    before = state()
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.grant_line(credit.users["am1"], d, today=TODAY)
    assert err.value.code == "no_limit" and state() == before


def test_small_credit_line_and_the_pure_online_cap(credit):
    with transaction.atomic():
        d = services.decide_small(credit.users["am1"], credit.h1, TODAY)
        line = services.grant_line(credit.users["am1"], d, today=TODAY)
    assert (line.intake_mode, line.channel, line.limit_fen, line.status) == (
        "small_credit",
        "online",
        50_000 * Y,
        "active",
    )
    # Another product grows to 160,000 after a new decision: 160k + 50k passes the combined 300k cap but
    # not the 200k pure-online cap, so the grant is refused and nothing changes.
    with transaction.atomic():
        d2 = services.decide_small(credit.users["am1"], credit.h1, TODAY)
    other_product_line(credit.h1, 160_000 * Y)
    before = state()
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.grant_line(credit.users["am1"], d2, today=TODAY)
    assert err.value.code == "customer_cap" and err.value.details["cap_fen"] == 200_000 * Y
    assert state() == before


def test_small_credit_needs_an_active_strategy_not_a_model(credit):
    ScoreModel.objects.update(status="retired")
    with transaction.atomic():
        assert services.decide_small(credit.users["am1"], credit.h1, TODAY).limit_fen == 50_000 * Y


# Offline approval -----------------------------------------------------------------------------------


def submit(bank, household=None, limit_fen=200_000 * Y, user="am1", **kw):
    with transaction.atomic():
        return services.submit_application(
            bank.users[user], household or bank.h1, requested_limit_fen=limit_fen, today=TODAY, **kw
        )


def test_submit_stores_the_models_suggestion(credit):
    app = submit(credit, note="大棚扩建")
    assert (app.status, app.requested_limit_fen, app.channel, app.note) == (
        "submitted",
        200_000 * Y,
        "combined",
        "大棚扩建",
    )
    s = app.suggestion
    assert (s.mode, s.score, s.grade, s.limit_fen, s.binding, s.source) == (
        "model",
        690,
        "A",
        210_000 * Y,
        "disposable_income",
        "offline",
    )
    entry = AuditEntry.objects.get(action="credit.application.submit")
    assert entry.after["suggested_limit_fen"] == 210_000 * Y and entry.actor == credit.users["am1"]
    assert not CreditLine.objects.exists()


def test_submit_without_an_active_model_has_no_suggestion(credit):
    ScoreModel.objects.update(status="retired")
    assert submit(credit).suggestion is None


@pytest.mark.parametrize(
    ("user", "household", "limit_fen", "channel", "error", "code"),
    [
        ("am2", "h1", 100_000 * Y, "combined", NotFound, "household_not_found"),
        ("co", "h1", 100_000 * Y, "combined", PermissionDenied, "forbidden_submit"),
        ("am1", "h1", 0, "combined", ValidationFailed, "limit_positive"),
        ("am1", "h1", 300_000 * Y + 1, "combined", ValidationFailed, "over_channel_cap"),
        ("am1", "h1", 200_000 * Y + 100, "online", ValidationFailed, "over_channel_cap"),
    ],
)
def test_submit_refusals(credit, user, household, limit_fen, channel, error, code):
    before = state()
    with pytest.raises(error) as err:
        submit(credit, getattr(credit, household), limit_fen, user=user, channel=channel)
    assert err.value.code == code and state() == before


def test_one_open_application_per_household(credit):
    submit(credit)
    before = state()
    with pytest.raises(ValidationFailed) as err:
        submit(credit, limit_fen=100_000 * Y)
    assert err.value.code == "application_open" and state() == before


def approve(bank, app, limit_fen, reason="", user="co"):
    with transaction.atomic():
        return services.approve_application(
            bank.users[user], app, approved_limit_fen=limit_fen, reason=reason, today=TODAY
        )


def test_approve_the_suggestion_grants_an_offline_line(credit):
    app = submit(credit)
    line = approve(credit, app, 210_000 * Y)
    app.refresh_from_db()
    assert (line.intake_mode, line.channel, line.limit_fen, line.status) == (
        "offline_approval",
        "combined",
        210_000 * Y,
        "active",
    )
    assert (app.status, app.approved_limit_fen, app.reviewed_by, app.line) == (
        "approved",
        210_000 * Y,
        credit.users["co"],
        line,
    )
    d = line.decision
    assert (d.mode, d.binding, d.score, d.grade, d.source) == ("offline_approval", "officer", 690, "A", "offline")
    assert d.inputs["application"] == app.pk and d.inputs["suggested_limit_fen"] == 210_000 * Y
    assert set(AuditEntry.objects.values_list("action", flat=True)) >= {
        "credit.application.submit",
        "credit.application.approve",
        "credit.line.grant",
    }


def test_a_different_limit_needs_a_reason(credit):
    app = submit(credit)
    before = state()
    with pytest.raises(ValidationFailed) as err:
        approve(credit, app, 150_000 * Y)
    assert (err.value.code, err.value.field) == ("reason_required", "reason") and state() == before
    line = approve(credit, app, 150_000 * Y, reason="经营流水偏低,下调额度")
    app.refresh_from_db()
    assert line.limit_fen == 150_000 * Y and app.reason == "经营流水偏低,下调额度"
    assert AuditEntry.objects.get(action="credit.application.approve").reason == "经营流水偏低,下调额度"


def test_without_a_suggestion_every_approval_needs_a_reason(credit):
    ScoreModel.objects.update(status="retired")
    app = submit(credit)
    with pytest.raises(ValidationFailed) as err:
        approve(credit, app, 200_000 * Y)
    assert err.value.code == "reason_required"
    line = approve(credit, app, 200_000 * Y, reason="实地核查")
    assert line.decision.score is None and line.decision.score_model is None


def test_approval_respects_the_cap_across_products(credit):
    app = submit(credit)
    other_product_line(credit.h1, 200_000 * Y)
    before = state()
    with pytest.raises(ValidationFailed) as err:
        approve(credit, app, 150_000 * Y, reason="上调")
    assert (err.value.code, err.value.field, err.value.details["exposure_fen"]) == (
        "customer_cap",
        "approved_limit",
        200_000 * Y,
    )
    assert state() == before
    line = approve(credit, app, 100_000 * Y, reason="扣除其他产品后上限")
    assert line.limit_fen == 100_000 * Y


def test_the_submitter_can_never_approve_their_own_case(credit):
    app = submit(credit)
    before = state()
    with pytest.raises(PermissionDenied) as err:
        approve(credit, app, 210_000 * Y, user="am1")
    assert err.value.code == "forbidden_review" and state() == before
    # even when the submitter also holds the review permission
    am1 = credit.users["am1"]
    am1.user_permissions.add(Permission.objects.get(codename="review_application"))
    am1 = type(am1).objects.get(pk=am1.pk)  # drop the permission cache
    credit.users["am1"] = am1
    with pytest.raises(PermissionDenied) as err:
        approve(credit, app, 210_000 * Y, user="am1")
    assert err.value.code == "maker_is_checker" and state() == before
    with pytest.raises(PermissionDenied) as err, transaction.atomic():
        services.reject_application(am1, app, reason="自己拒绝")
    assert err.value.code == "maker_is_checker" and state() == before


def test_reject_and_withdraw(credit):
    app = submit(credit)
    before = state()
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.reject_application(credit.users["risk"], app, reason="  ")
    assert err.value.code == "reason_required" and state() == before
    with transaction.atomic():
        services.reject_application(credit.users["risk"], app, reason="负债率过高")
    app.refresh_from_db()
    assert (app.status, app.reason, app.reviewed_by) == ("rejected", "负债率过高", credit.users["risk"])
    assert not CreditLine.objects.exists()
    assert AuditEntry.objects.get(action="credit.application.reject").reason == "负债率过高"
    with pytest.raises(ValidationFailed) as err:
        approve(credit, app, 210_000 * Y)
    assert err.value.code == "application_closed"
    # a new application may follow a closed one; only its submitter may withdraw it
    app2 = submit(credit)
    with pytest.raises(PermissionDenied), transaction.atomic():
        services.withdraw_application(credit.users["co"], app2)
    with transaction.atomic():
        services.withdraw_application(credit.users["am1"], app2, reason="客户暂不需要")
    app2.refresh_from_db()
    assert app2.status == "withdrawn"
