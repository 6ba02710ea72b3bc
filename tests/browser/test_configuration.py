"""Models and strategies (模型与策略) in the browser: head-office risk proposes a new limit strategy through
the form (a cap above the regulatory one refused, the proposer never offered the approval), the
administrator approves it and it becomes the active one; the active model's score drift is drawn by Plotly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.db import transaction
from playwright.sync_api import expect

from tests.conftest import TODAY, Bank
from tests.credit.conftest import activate_configuration
from xinedai.core.models import AuditEntry
from xinedai.credit import queries
from xinedai.credit import services as credit
from xinedai.credit.models import CreditDecision, LimitStrategy, ScoreModel
from xinedai.credit.rules import DEFAULT_PARAMS
from xinedai.credit.training import score_bands

from .conftest import assert_fits_width, sign_in, submit_refused

pytestmark = pytest.mark.browser

NEW_PATH = "/credit/strategies/new/"


@pytest.fixture
def config_live(bank_live: Bank, monkeypatch: pytest.MonkeyPatch) -> Bank:
    """bank_live with an active model (risk trained, admin approved) and strategy v1 (risk proposed, admin
    approved), committed for the live server; the business date frozen."""
    monkeypatch.setattr("xinedai.credit.services.business_today", lambda: TODAY)
    users = bank_live.users
    with transaction.atomic():
        activate_configuration(users)
    return bank_live


def _strategy_row(page: Any, version: int) -> Any:
    return page.locator("#strategies tbody tr").filter(has=page.get_by_role("link", name=f"v{version}", exact=True))


def test_a_strategy_proposed_by_risk_is_approved_by_the_administrator(  # type: ignore[no-untyped-def]
    live_server, config_live, new_page, browser_errors
) -> None:
    base = live_server.url

    # Head-office risk finds the page in the navigation: the active model and strategy v1.
    risk = new_page()
    sign_in(risk, base, "risk")
    risk.locator("nav").get_by_role("link", name="模型与策略").click()
    expect(risk).to_have_url(f"{base}/credit/configuration/")
    expect(risk.get_by_role("heading", level=1)).to_have_text("模型与策略")
    expect(risk.locator("#pending-count")).to_have_count(0)
    model_rows = risk.locator("#models tbody tr")
    expect(model_rows).to_have_count(1)
    expect(model_rows.first).to_contain_text("xinedai v1")
    expect(model_rows.first.locator(".badge")).to_have_text("生效")
    expect(risk.locator("#strategies tbody tr")).to_have_count(1)
    expect(_strategy_row(risk, 1).locator(".badge")).to_have_text("生效")
    expect(risk.get_by_role("heading", name="现行：第1版")).to_be_visible()
    expect(risk.locator(".strategy-rows tr").filter(has_text="净资产倍数").locator("td.num")).to_have_text("0.5×")
    assert_fits_width(risk)

    # The proposal form is filled in from the active strategy.
    risk.get_by_role("link", name="提出新版本").click()
    expect(risk).to_have_url(f"{base}{NEW_PATH}")
    expect(risk.get_by_role("heading", level=1)).to_have_text("提出额度策略")
    form = risk.locator("form#strategy-form")
    multiple = form.locator("input[name=net_assets_multiple]")
    online_cap = form.locator("input[name=online_cap]")
    expect(multiple).to_have_value("0.5")
    expect(online_cap).to_have_value("200000")
    expect(form.locator("input[name=grade_0]")).to_have_value("A")
    expect(form.locator("input[name=grade_0_cap]")).to_have_value("300000")
    assert_fits_width(risk)

    # A pure-online cap above the regulatory 200,000 yuan: refused, the form kept, nothing proposed.
    online_cap.fill("250000")
    form.locator("textarea[name=note]").fill("净资产倍数上调")
    submit_refused(risk, form.get_by_role("button", name="提交审批"), browser_errors, NEW_PATH)
    expect(risk).to_have_url(f"{base}{NEW_PATH}")
    form = risk.locator("form#strategy-form")
    # the error stands at the field, naming the limit
    expect(form.locator("label.has-error", has=risk.locator("input[name=online_cap]")).locator(".err")).to_have_text(
        "监管上限200,000元。"
    )
    expect(form.locator("#strategy-error")).to_have_count(0)
    expect(form.locator("input[name=online_cap]")).to_have_value("250000")
    expect(form.locator("textarea[name=note]")).to_have_value("净资产倍数上调")
    assert LimitStrategy.objects.count() == 1
    assert not AuditEntry.objects.filter(action="credit.strategy.propose", reason="净资产倍数上调").exists()

    # Corrected, and the net assets multiple raised to 0.8: proposed, awaiting another person's approval.
    form.locator("input[name=online_cap]").fill("200000")
    multiple = form.locator("input[name=net_assets_multiple]")
    expect(multiple).to_have_value("0.5")
    multiple.fill("0.8")
    with risk.expect_navigation():
        form.get_by_role("button", name="提交审批").click()
    proposed = LimitStrategy.objects.get(version=2)
    expect(risk).to_have_url(f"{base}/credit/strategies/{proposed.pk}/")
    expect(risk.locator(".msg-success")).to_have_text("额度策略第2版已提交，须由他人审批。")
    expect(risk.get_by_role("heading", level=1)).to_have_text("额度策略第2版 待审批")
    expect(risk.locator("h1 .badge")).to_have_text("待审批")
    changed = risk.locator(".strategy-rows tr.changed")
    expect(changed).to_have_count(1)
    expect(changed.locator("td")).to_have_text(["净资产倍数", "0.8×", "0.5×"])
    expect(changed.locator("td").first).to_have_css("font-weight", "600")  # "rows in bold differ"
    expect(risk.locator(".strategy-rows thead th")).to_have_text(["参数", "取值", "现行第1版"])
    expect(risk.locator("#own-proposal")).to_have_text("该版本由您提出，须由他人审批。")
    expect(risk.locator("#config-decision")).to_have_count(0)
    expect(risk.locator("button[name=decision]")).to_have_count(0)
    assert_fits_width(risk)
    assert (proposed.status, proposed.note, proposed.created_by.username) == ("draft", "净资产倍数上调", "risk")
    assert proposed.params == {**DEFAULT_PARAMS.to_dict(), "net_assets_multiple": "0.8"}
    assert LimitStrategy.objects.get(version=1).status == "active"

    # The administrator sees one version awaiting approval and approves it on its page.
    admin = new_page()
    sign_in(admin, base, "admin")
    admin.goto(f"{base}/credit/configuration/")
    expect(admin.locator("#pending-count")).to_have_text("1 项待审批")
    expect(_strategy_row(admin, 2).locator(".badge")).to_have_text("待审批")
    expect(_strategy_row(admin, 2)).to_contain_text("净资产倍数上调")
    _strategy_row(admin, 2).get_by_role("link", name="v2", exact=True).click()
    expect(admin).to_have_url(f"{base}/credit/strategies/{proposed.pk}/")
    expect(admin.locator(".strategy-rows tr.changed td")).to_have_text(["净资产倍数", "0.8×", "0.5×"])
    expect(admin.locator("#own-proposal")).to_have_count(0)
    decision = admin.locator("form#config-decision")
    expect(decision).to_have_attribute("action", f"/credit/strategies/{proposed.pk}/decide/")
    with admin.expect_navigation():
        decision.locator("button[name=decision][value=approve]").click()
    expect(admin).to_have_url(f"{base}/credit/strategies/{proposed.pk}/")
    expect(admin.locator(".msg-success")).to_have_text("额度策略第2版已审批通过，此后测算都用它。")
    expect(admin.locator("h1 .badge")).to_have_text("生效")
    expect(admin.locator(".strategy-rows tr.changed")).to_have_count(0)  # it is the active one now
    expect(admin.locator("#config-decision")).to_have_count(0)
    assert_fits_width(admin)
    assert LimitStrategy.objects.get(version=2).status == "active"
    assert dict(LimitStrategy.objects.values_list("version", "status")) == {1: "retired", 2: "active"}
    approved = LimitStrategy.objects.get(version=2)
    assert approved.approved_by.username == "admin"
    assert AuditEntry.objects.filter(action="credit.strategy.approve", object_id=str(approved.pk)).count() == 1

    # The list shows v2 active, v1 retired, and the active parameters with the new multiple.
    admin.get_by_role("link", name="← 模型与策略").click()
    expect(admin).to_have_url(f"{base}/credit/configuration/")
    expect(admin.locator("#pending-count")).to_have_count(0)
    expect(admin.locator("#strategies tbody tr .badge")).to_have_text(["生效", "已停用"])
    expect(_strategy_row(admin, 2)).to_contain_text("admin")
    expect(admin.get_by_role("heading", name="现行：第2版")).to_be_visible()
    expect(admin.locator(".strategy-rows tr").filter(has_text="净资产倍数").locator("td.num")).to_have_text("0.8×")
    browser_errors.assert_none()


def test_the_active_models_drift_is_drawn_by_plotly(live_server, config_live, new_page, browser_errors) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    users = config_live.users
    model = ScoreModel.objects.get(status="active")
    baseline = score_bands(np.random.default_rng(7).normal(560, 60, 5_000).round())
    ScoreModel.objects.filter(pk=model.pk).update(report={**model.report, "psi_baseline": baseline})
    with transaction.atomic():
        for _ in range(40):
            for h in (config_live.h1, config_live.h2, config_live.h3):
                credit.decide(users["am1"], household=h, today=TODAY)
    assert CreditDecision.objects.filter(score_model=model).count() == 120
    model.refresh_from_db()
    drift = queries.drift(model)
    assert drift.n == 120 and drift.psi is not None
    assert drift.level == "shift"  # three households' scores against a broad population
    assert len(drift.bands) > 1

    admin = new_page()
    sign_in(admin, base, "admin")
    admin.goto(f"{base}/credit/configuration/")
    card = admin.locator(f"#drift-{model.pk}-card")
    expect(card.get_by_role("heading", level=3)).to_have_text("xinedai 第1版的评分稳定性")
    expect(card.locator(f"#psi-{model.pk}")).to_have_text(f"{drift.psi:.3f}")
    expect(card.locator(".badge")).to_have_text("客群已偏移")
    expect(card).to_contain_text("120")
    chart = admin.locator(f"#drift-{model.pk}")
    expect(chart.locator(".main-svg").first).to_be_visible()
    expect(chart.locator("g.trace.bars")).to_have_count(2)
    expect(chart.locator(".legendtext")).to_have_text(["训练基准", "近30天"])
    expect(chart.locator(".xtick text")).to_have_text(drift.bands)
    assert_fits_width(admin)
    browser_errors.assert_none()
