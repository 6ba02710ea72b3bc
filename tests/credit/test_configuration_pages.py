"""The models and strategies pages (模型与策略): who sees them, a model approved or rejected by a second
person, a new limit strategy proposed through the form and approved by another, and the active model's
score drift (PSI) against its training baseline — decisions made afterwards use what was approved."""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.db import transaction

from tests.credit.conftest import make_model
from xinedai.core.models import AuditEntry
from xinedai.credit import queries, services
from xinedai.credit.models import CreditDecision, LimitStrategy, ScoreModel
from xinedai.credit.scorecard import psi
from xinedai.credit.training import score_bands

from .test_services import TODAY


def strategy_post(**overrides: str) -> dict[str, str]:
    """The form as the default strategy fills it, with `overrides`."""
    body = {
        "grade_0": "A", "grade_0_score": "680", "grade_0_cap": "300000",
        "grade_1": "B", "grade_1_score": "640", "grade_1_cap": "200000",
        "grade_2": "C", "grade_2_score": "600", "grade_2_cap": "100000",
        "grade_3": "D", "grade_3_score": "560", "grade_3_cap": "30000",
        "net_assets_multiple": "0.5", "disposable_income_multiple": "3",
        "online_cap": "200000", "combined_cap": "300000", "step": "1000", "min_limit": "5000",
        "small_cap": "50000", "small_income_multiple": "1", "small_max_overdue_24m": "1",
        "guard_pct": "50", "guard_min": "50000", "guard_window_days": "90",
        "note": "净资产倍数上调",
    }  # fmt: skip
    return {**body, **overrides}


def test_the_pages_are_for_those_who_configure_or_audit(credit):
    for username in ("risk", "admin", "auditor"):
        page = credit.client(username).get("/credit/configuration/")
        assert page.status_code == 200, username
        assert "/credit/configuration/" in page.content.decode()  # in the navigation
        assert [r["m"].version for r in page.context["models"]] == [1]
        assert page.context["active_strategy"].version == 1
    for username in ("am1", "co", "bm"):
        c = credit.client(username)
        assert c.get("/credit/configuration/").status_code == 403, username
        assert "/credit/configuration/" not in c.get("/").content.decode()
    model = ScoreModel.objects.get()
    assert credit.client("am1").get(f"/credit/models/{model.pk}/").status_code == 403
    assert credit.client("co").get("/credit/strategies/new/").status_code == 403  # sees nothing, proposes nothing
    assert credit.client("auditor").get("/credit/strategies/new/").status_code == 403  # sees, does not propose


def test_a_model_is_approved_by_another_person_on_its_page(credit):
    with transaction.atomic():
        draft = make_model(trained_by=credit.users["risk"], version=2)
    url, decide = f"/credit/models/{draft.pk}/", f"/credit/models/{draft.pk}/decide/"
    risk, admin = credit.client("risk"), credit.client("admin")
    page = risk.get(url)
    assert page.context["decision_form"] is None and page.context["own"]
    resp = risk.post(decide, {"decision": "approve"})  # the trainer: refused, shown on the page
    assert resp.status_code == 422 and ScoreModel.objects.get(pk=draft.pk).status == "draft"
    assert admin.get(url).context["decision_form"] is not None
    resp = admin.post(decide, {"decision": "reject", "note": ""})  # a rejection needs a reason
    assert resp.status_code == 422 and ScoreModel.objects.get(pk=draft.pk).status == "draft"
    resp = admin.post(decide, {"decision": "approve", "note": "留出集AUC高于现行模型"})
    assert resp.status_code == 302 and resp["Location"] == url
    assert dict(ScoreModel.objects.values_list("version", "status")) == {1: "retired", 2: "active"}
    assert ScoreModel.objects.get(pk=draft.pk).decision_note == "留出集AUC高于现行模型"
    with transaction.atomic():
        decision = services.decide(credit.users["am1"], household=credit.h1, today=TODAY)
    assert decision.score_model_id == draft.pk  # decisions use it from now on
    assert admin.post(decide, {"decision": "approve"}).status_code == 422  # no longer a draft


def test_a_model_rejected_leaves_the_active_one(credit):
    with transaction.atomic():
        draft = make_model(trained_by=None, version=2)  # trained from the command line
    admin = credit.client("admin")
    resp = admin.post(f"/credit/models/{draft.pk}/decide/", {"decision": "reject", "note": "样本期过短"})
    assert resp.status_code == 302
    assert dict(ScoreModel.objects.values_list("version", "status")) == {1: "active", 2: "rejected"}
    entry = AuditEntry.objects.get(action="credit.model.reject")
    assert entry.reason == "样本期过短"
    assert "样本期过短" in admin.get(f"/credit/models/{draft.pk}/").content.decode()


def test_a_strategy_is_proposed_through_the_form_and_approved_by_another(credit):
    risk, admin = credit.client("risk"), credit.client("admin")
    form = risk.get("/credit/strategies/new/")
    assert form.status_code == 200
    assert form.context["form"].initial["net_assets_multiple"] == "0.5"
    assert form.context["form"].initial["grade_0_cap"] == "300000"
    bad = [
        strategy_post(grade_1_score="700"),  # cut-offs must run from the best grade down
        strategy_post(online_cap="250000"),  # above the regulatory 200,000 yuan
        strategy_post(grade_2_cap=""),  # a half-filled grade
        strategy_post(note=""),
    ]
    for body in bad:
        resp = risk.post("/credit/strategies/new/", body)
        assert resp.status_code == 422, body
    errors = risk.post("/credit/strategies/new/", bad[1]).context["form"].errors
    assert errors["online_cap"] == ["监管上限200,000元。"]  # on the field, saying which limit
    errors = risk.post("/credit/strategies/new/", bad[0]).context["form"].errors
    assert errors["__all__"] == ["等级须从最好往下排列：每一级的最低分低于上一级。"]
    assert LimitStrategy.objects.count() == 1  # nothing proposed
    resp = risk.post("/credit/strategies/new/", strategy_post(net_assets_multiple="0.8", grade_3=""))
    assert resp.status_code == 422  # a grade's name left out but its score and cap given
    body = strategy_post(net_assets_multiple="0.8", grade_3="", grade_3_score="", grade_3_cap="")
    resp = risk.post("/credit/strategies/new/", body)
    assert resp.status_code == 302
    proposed = LimitStrategy.objects.get(version=2)
    assert (proposed.status, proposed.params["net_assets_multiple"]) == ("draft", "0.8")
    assert [g for g, _ in proposed.params["grade_cutoffs"]] == ["A", "B", "C"]
    page = risk.get(resp["Location"])
    changed = [r for r in page.context["rows"] if r["before"]]
    assert {r["value"] for r in changed} >= {"0.8×", "—"}  # the multiple changed, grade D gone
    assert page.context["decision_form"] is None and page.context["own"]

    with transaction.atomic():
        before = services.decide(credit.users["am1"], household=credit.h1, today=TODAY)
    assert before.strategy.version == 1  # proposed is not active
    resp = admin.post(f"/credit/strategies/{proposed.pk}/decide/", {"decision": "approve"})
    assert resp.status_code == 302
    assert dict(LimitStrategy.objects.values_list("version", "status")) == {1: "retired", 2: "active"}
    with transaction.atomic():
        after = services.decide(credit.users["am1"], household=credit.h1, today=TODAY)
    assert after.strategy.version == 2
    assert after.inputs["candidates_fen"]["net_assets"] == before.inputs["candidates_fen"]["net_assets"] * 8 // 5


def test_the_active_models_drift_compares_recent_scores_with_its_training_bands(credit):
    model = ScoreModel.objects.get()
    rnd = np.random.default_rng(7)
    baseline = score_bands(rnd.normal(560, 60, 5_000).round())
    ScoreModel.objects.filter(pk=model.pk).update(report={**model.report, "psi_baseline": baseline})
    model.refresh_from_db()
    assert queries.drift(model).psi is None  # no decision yet: too few to tell
    with transaction.atomic():
        for _ in range(40):
            for h in (credit.h1, credit.h2, credit.h3):
                services.decide(credit.users["am1"], household=h, today=TODAY)
    scores = np.asarray(CreditDecision.objects.filter(score_model=model).values_list("score", flat=True), float)
    drift = queries.drift(model)
    assert drift.n == 120 and drift.psi == round(psi(baseline, scores), 4)
    assert abs(sum(drift.recent) - 1) < 1e-3 and len(drift.bands) == len(drift.baseline) == len(drift.recent)
    assert drift.level == "shift"  # three households' scores against a broad population
    # decisions older than the window are left out
    old = CreditDecision.objects.filter(score_model=model).order_by("pk")[:30].values_list("pk", flat=True)
    CreditDecision.objects.filter(pk__in=list(old)).update(created_at=drift.since - dt.timedelta(days=1))
    assert queries.drift(model).n == 90 and queries.drift(model).psi is None
    page = credit.client("risk").get("/credit/configuration/")
    assert [r["d"].n for r in page.context["drifts"]] == [90]
    assert f'id="drift-{model.pk}"' in page.content.decode()


def test_only_those_with_the_right_propose_a_strategy_and_a_rejection_keeps_the_active_one(credit):
    from xinedai.core.errors import BusinessError
    from xinedai.credit.rules import DEFAULT_PARAMS

    for username in ("co", "admin"):  # the service checks it too, whatever calls it
        try:
            with transaction.atomic():
                services.propose_strategy(credit.users[username], DEFAULT_PARAMS.to_dict(), note="x")
        except BusinessError as exc:
            assert exc.code == "forbidden_proposal"
        else:
            raise AssertionError(f"{username} proposed a strategy")
    assert LimitStrategy.objects.count() == 1
    with transaction.atomic():
        proposed = services.propose_strategy(credit.users["risk"], DEFAULT_PARAMS.to_dict(), note="重提")
    admin = credit.client("admin")
    resp = admin.post(f"/credit/strategies/{proposed.pk}/decide/", {"decision": "reject", "note": "与现行策略相同"})
    assert resp.status_code == 302
    assert dict(LimitStrategy.objects.values_list("version", "status")) == {1: "active", 2: "rejected"}
    assert AuditEntry.objects.get(action="credit.strategy.reject").reason == "与现行策略相同"


def test_the_classification_thresholds_in_force_are_shown(credit):
    from xinedai.servicing.models import ClassThreshold

    page = credit.client("auditor").get("/credit/configuration/")
    (rules_2023,) = page.context["thresholds"]
    assert rules_2023["in_force"]
    assert [(c["cls"]["rank"], c["days"]) for c in rules_2023["classes"]] == list(
        ClassThreshold.objects.order_by("risk_class").values_list("risk_class", "min_days_past_due")
    )
    assert "&gt; 90" in page.content.decode()
