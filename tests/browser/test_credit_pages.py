"""Credit pages in the browser: a model decision granted on a phone, an offline application reviewed by
a credit officer (maker ≠ checker, a reason when the limit differs), and the key-information change
guard holding a limit until a reviewer accepts the alert."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from playwright.sync_api import expect

from tests.conftest import TODAY, Bank, file_values
from tests.credit.conftest import activate_configuration
from xinedai.core.models import AuditEntry
from xinedai.credit import services as credit
from xinedai.credit.models import ChangeAlert, CreditDecision, CreditLine, OfflineApplication
from xinedai.households import services as hh
from xinedai.households.models import FileVersion

from .conftest import PHONE, assert_fits_width, sign_in, submit_refused

pytestmark = pytest.mark.browser

# h1's file v2 (saved by the fixture): a smaller house, so that net assets bind the limit and the model
# takes points off; h2 keeps build_bank's file (a perfect score, disposable income binding).
H1_HOUSE_FEN = 20_000_000  # 200,000 yuan: total assets 280,000, net assets 260,000 yuan
H1_LIMIT_FEN = 13_000_000  # min(260,000 × 1/2, 70,000 × 3, grade B cap 200,000) = 130,000 yuan
H2_SUGGESTED_FEN = 21_000_000  # min(560,000 × 1/2, 70,000 × 3, grade A cap 300,000) = 210,000 yuan
EXPIRES = "2027-06-30"  # TODAY + 365 days


@dataclass
class Credit:
    bank: Bank
    h1_v2: FileVersion


@pytest.fixture
def credit_live(bank_live: Bank, monkeypatch: pytest.MonkeyPatch) -> Credit:
    """bank_live with an active model (risk trained, admin approved) and strategy, committed for the
    live server; h1 gets file v2. Lines expire a year after the frozen business date."""
    monkeypatch.setattr("xinedai.credit.services.business_today", lambda: TODAY)
    users = bank_live.users
    with transaction.atomic():
        activate_configuration(users)
        v2 = hh.save_file_version(
            users["am1"], bank_live.h1, file_values(asset_house_fen=H1_HOUSE_FEN), reason="房产重新评估"
        )
    bank_live.h1.refresh_from_db()
    return Credit(bank_live, v2)


def _decision_cards(page: Any) -> Any:
    return page.locator("#decisions .item")


def test_model_decision_and_grant_on_phone(live_server, credit_live, new_page, browser_errors) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    h1 = credit_live.bank.h1
    page = new_page(**PHONE)
    sign_in(page, base, "am1")

    # From the household file to its credit page.
    page.goto(f"{base}/households/{h1.pk}/")
    page.get_by_role("link", name="授信额度与测算记录").click()
    expect(page).to_have_url(f"{base}/credit/households/{h1.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"授信 · 张** {h1.code}")
    expect(page.get_by_text("暂无有效授信。")).to_be_visible()
    expect(page.locator("#decisions")).to_have_text("尚无测算记录。")
    assert_fits_width(page)

    # Model calculation: a decision, nothing granted yet.
    page.get_by_role("button", name="模型测算", exact=True).click()
    expect(page).to_have_url(f"{base}/credit/households/{h1.pk}/")
    expect(page.get_by_text("已完成测算。点击“按此授信”后才会授信。")).to_be_visible()
    cards = _decision_cards(page)
    expect(cards).to_have_count(1)
    card = cards.first
    expect(card).to_contain_text("评分 640 · 等级 B · 额度 130,000.00")
    expect(card.locator("strong.num")).to_have_text("130,000.00")
    expect(card.locator(".badge")).to_have_text("净资产")
    expect(card.locator("ul li")).to_have_text(["净资产 100k-400k:扣 50 分"])
    expect(card).to_contain_text("模型 xinedai v1 · 策略 v1")
    assert CreditLine.objects.count() == 0
    assert_fits_width(page)

    # Grant: the line is listed as active with the exact limit.
    card.get_by_role("button", name="按此授信").click()
    expect(page.get_by_text("已授信:130,000 元。")).to_be_visible()
    lines = page.locator("h2:has-text('授信额度') + .card")
    expect(lines).to_have_count(1)
    line_card = lines.first
    expect(line_card.locator(".badge")).to_have_text("生效")
    expect(line_card).to_contain_text("模型测算 · 线上线下结合")
    kpis = line_card.locator(".kpi")
    expect(kpis.locator(".l")).to_have_text(["额度", "已用", "可用", "到期日"])
    expect(kpis.locator(".v")).to_have_text(["130,000.00", "0.00", "130,000.00", EXPIRES])
    assert_fits_width(page)

    decision = CreditDecision.objects.get(household=h1)
    assert (decision.score, decision.grade, decision.limit_fen, decision.binding) == (
        640,
        "B",
        H1_LIMIT_FEN,
        "net_assets",
    )
    assert decision.file_version_id == credit_live.h1_v2.pk
    line = CreditLine.objects.get(household=h1)
    assert (line.limit_fen, line.used_fen, line.status, line.intake_mode, line.channel) == (
        H1_LIMIT_FEN,
        0,
        "active",
        "model",
        "combined",
    )
    assert line.decision_id == decision.pk
    assert line.expires_on.isoformat() == EXPIRES
    grant = AuditEntry.objects.get(action="credit.line.grant")
    assert grant.actor.username == "am1"
    assert grant.object_id == str(line.pk)
    assert grant.after == {
        "household": h1.code,
        "limit_fen": H1_LIMIT_FEN,
        "status": "active",
        "mode": "model",
        "product": "xinedai",
        "decision": decision.pk,
        "expires_on": EXPIRES,
    }
    browser_errors.assert_none()


def test_offline_application_review(live_server, credit_live, new_page, browser_errors) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    h2 = credit_live.bank.h2

    # The account manager submits h2 for offline approval.
    am = new_page()
    sign_in(am, base, "am1")
    am.goto(f"{base}/credit/households/{h2.pk}/")
    apply_form = am.locator("form#apply")
    # By name, not by label: both forms on this page render id="id_channel" (reported), so the apply
    # form's <label for> points at the calculation form's select.
    expect(apply_form.locator("select[name=channel]")).to_have_value("combined")
    apply_form.get_by_label("申请额度(元)").fill("180000")
    apply_form.get_by_label("给审批人的说明").fill("大棚扩建")
    apply_form.get_by_role("button", name="提交").click()
    expect(am).to_have_url(f"{base}/credit/households/{h2.pk}/")
    expect(am.get_by_text("已提交线下审批。")).to_be_visible()
    expect(am.locator("form#apply")).to_have_count(0)
    open_card = am.locator(".card").filter(has=am.get_by_role("button", name="撤回"))
    expect(open_card.locator(".badge")).to_have_text("待审核")
    expect(open_card.locator("strong")).to_have_text("180,000.00")
    application = OfflineApplication.objects.get(household=h2)
    assert (application.status, application.requested_limit_fen, application.note) == (
        "submitted",
        18_000_000,
        "大棚扩建",
    )
    assert application.suggestion is not None
    assert application.suggestion.limit_fen == H2_SUGGESTED_FEN

    # …but cannot approve it: no approve button, and the review queue is forbidden.
    expect(am.get_by_role("button", name="批准并授信")).to_have_count(0)
    response = am.request.get(f"{base}/credit/reviews/")
    assert response.status == 403
    assert "您没有审批授信的权限" in response.text()

    # The credit officer reviews it from the queue.
    co = new_page()
    sign_in(co, base, "co")
    co.goto(f"{base}/credit/")
    co.get_by_role("link").filter(has_text="待审核").click()
    expect(co).to_have_url(f"{base}/credit/reviews/")
    expect(co.get_by_role("heading", level=1)).to_have_text("授信审批 1")
    row = co.locator(f"#app-{application.pk}")
    expect(row.get_by_role("heading", level=2)).to_contain_text(f"李* {h2.code}")
    expect(row).to_contain_text("申请额度 180,000.00 · 线上线下结合 · 信e贷 · 提交人 am1")
    suggestion = row.locator(".item")
    expect(suggestion).to_contain_text("评分 690 · 等级 A · 额度 210,000.00")
    expect(suggestion.locator(".badge")).to_have_text("可支配收入")
    expect(suggestion.get_by_role("button", name="按此授信")).to_have_count(0)
    approve = row.locator(f"form[action='/credit/reviews/{application.pk}/approve/']")
    limit_input = approve.get_by_label("批准额度(元)")
    expect(limit_input).to_have_value("210000")

    # A limit other than the suggestion without a reason: refused next to the reason, nothing changes.
    limit_input.fill("150000")
    approve_path = f"/credit/reviews/{application.pk}/approve/"
    submit_refused(co, approve.get_by_role("button", name="批准并授信"), browser_errors, approve_path)
    expect(co).to_have_url(f"{base}/credit/reviews/{application.pk}/approve/")
    row = co.locator(f"#app-{application.pk}")
    approve = row.locator(f"form[action='/credit/reviews/{application.pk}/approve/']")
    reason_label = approve.locator("label.has-error")
    expect(reason_label).to_have_count(1)
    expect(reason_label.locator("input")).to_have_attribute("name", f"a{application.pk}-reason")
    expect(reason_label.locator(".err")).to_have_text("批准额度与模型建议不同,请填写理由")
    expect(approve.get_by_label("批准额度(元)")).to_have_value("150000")
    application.refresh_from_db()
    assert application.status == "submitted"
    assert application.approved_limit_fen is None
    assert not CreditLine.objects.filter(household=h2).exists()
    assert not AuditEntry.objects.filter(action="credit.application.approve").exists()

    # With a reason it goes through.
    reason_label.locator("input").fill("经营规模核实,按申请额度审批")
    approve.get_by_role("button", name="批准并授信").click()
    expect(co).to_have_url(f"{base}/credit/reviews/")
    expect(co.get_by_text(f"已批准:{h2.code},授信 150,000 元。")).to_be_visible()
    expect(co.get_by_text("暂无待审批申请。")).to_be_visible()
    done_row = co.get_by_role("row").filter(has_text=h2.code)
    expect(done_row.get_by_role("cell")).to_have_text(
        [h2.code, "已通过", "180,000.00", "150,000.00", "co", "经营规模核实,按申请额度审批"]
    )

    # The household page shows the approved application and the line.
    am.reload()
    app_row = am.get_by_role("row").filter(has_text="经营规模核实")
    expect(app_row.get_by_role("cell").nth(1)).to_have_text("180,000.00")
    expect(app_row.get_by_role("cell").nth(2)).to_have_text("已通过")
    expect(app_row.get_by_role("cell").nth(3)).to_have_text("150,000.00")
    line_card = am.locator("h2:has-text('授信额度') + .card")
    expect(line_card).to_contain_text("线下审批、线上放款 · 线上线下结合")
    expect(line_card.locator(".kpi .v").first).to_have_text("150,000.00")
    expect(am.locator("form#apply")).to_be_visible()  # a new application may follow

    application.refresh_from_db()
    assert (application.status, application.approved_limit_fen, application.reviewed_by.username) == (
        "approved",
        15_000_000,
        "co",
    )
    assert application.reason == "经营规模核实,按申请额度审批"
    line = CreditLine.objects.get(household=h2)
    assert (line.intake_mode, line.limit_fen, line.status, line.granted_by.username) == (
        "offline_approval",
        15_000_000,
        "active",
        "co",
    )
    assert application.line_id == line.pk
    assert application.decision.binding == "officer"
    browser_errors.assert_none()


def test_change_alert_holds_limit_until_accepted(live_server, credit_live, new_page, browser_errors) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    bank = credit_live.bank
    h1 = bank.h1
    with transaction.atomic():
        granted = credit.grant_line(bank.users["am1"], credit.decide(bank.users["am1"], household=h1, source="page"))
    assert granted.limit_fen == H1_LIMIT_FEN

    # The account manager triples the deposits on the file edit page.
    am = new_page()
    sign_in(am, base, "am1")
    am.goto(f"{base}/households/{h1.pk}/file/")
    deposits = am.locator("input[name=asset_deposit_fen]")
    expect(deposits).to_have_value("80000")
    deposits.fill("240000")
    am.get_by_label("变更原因").fill("存款增加")
    am.get_by_role("button", name="保存为新版本").click()
    expect(am).to_have_url(f"{base}/households/{h1.pk}/")
    expect(am.get_by_text("档案已保存为第 3 版。")).to_be_visible()

    # The model would now give 210,000 yuan; the guard holds it at the line's 130,000.
    am.get_by_role("link", name="授信额度与测算记录").click()
    expect(am).to_have_url(f"{base}/credit/households/{h1.pk}/")
    am.get_by_role("button", name="模型测算", exact=True).click()
    expect(am.get_by_text("已完成测算。点击“按此授信”后才会授信。")).to_be_visible()
    latest = _decision_cards(am).first
    expect(latest).to_contain_text("评分 690 · 等级 A · 额度 130,000.00")
    expect(latest.locator(".badge")).to_have_text("关键信息变更管控")
    expect(latest).to_contain_text("原测算 210,000.00,已限额")
    alert_card = am.locator("#alert")
    expect(alert_card.locator("strong")).to_have_text("关键信息变更预警")
    expect(alert_card).to_contain_text("档案 v2 → v3 无新的佐证材料:核查认可前额度维持不变。")
    expect(alert_card.locator("li")).to_have_text(["总资产: 280,000.00 → 440,000.00"])
    expect(alert_card.get_by_role("link", name="处理预警")).to_have_count(0)  # am1 does not review
    alert = ChangeAlert.objects.get(household=h1)
    assert alert.status == "open"
    assert (alert.from_version.version, alert.to_version.version, alert.line_id) == (2, 3, granted.pk)
    assert alert.items == [
        {"field": "total_assets_fen", "before": 28_000_000, "after": 44_000_000, "delta": 16_000_000}
    ]
    held = CreditDecision.objects.filter(household=h1).latest("pk")
    assert (held.limit_fen, held.binding) == (H1_LIMIT_FEN, "change_guard")
    assert held.inputs["change_guard"]["uncapped_limit_fen"] == 21_000_000

    # The credit officer accepts the alert with a note.
    co = new_page()
    sign_in(co, base, "co")
    co.goto(f"{base}/credit/alerts/")
    expect(co.get_by_role("heading", level=1)).to_have_text("关键信息变更预警")
    card = co.locator(f"#alert-{alert.pk}")
    expect(card).to_contain_text(f"张** {h1.code}")
    expect(card).to_contain_text("财务档案 v2 → v3 · am1")
    expect(card.locator("li")).to_have_text(["总资产: 280,000.00 → 440,000.00"])
    expect(card).to_contain_text("当前授信 130,000.00")
    card.get_by_label("认可:提高的额度可以生效").check()
    card.get_by_label("核查说明").fill("已核实存单原件")
    card.get_by_role("button", name="提交核查结论").click()
    expect(co).to_have_url(f"{base}/credit/alerts/")
    expect(co.get_by_text("预警已处理。")).to_be_visible()
    expect(co.get_by_text("暂无待处理预警。")).to_be_visible()
    reviewed = co.get_by_role("row").filter(has_text="已核实存单原件")
    expect(reviewed.get_by_role("cell")).to_have_text([h1.code, "已认可:允许提额", "co", "已核实存单原件"])

    alert.refresh_from_db()
    assert (alert.status, alert.outcome_note, alert.reviewed_by.username) == ("accepted", "已核实存单原件", "co")
    assert AuditEntry.objects.filter(action="credit.alert.accept", object_id=str(alert.pk)).count() == 1
    browser_errors.assert_none()
