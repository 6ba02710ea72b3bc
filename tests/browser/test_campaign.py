"""An account manager runs a whole-village campaign on a phone: create it, review households (htmx
rows, a veto with a reason), start the posting, run batch scoring and see the progress and summary,
then activate the lines after the posting period."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from playwright.sync_api import expect

from tests.conftest import TODAY, file_values, pid
from tests.credit.conftest import activate_configuration
from xinedai.campaigns.models import Campaign, CampaignHousehold
from xinedai.credit.models import CreditLine
from xinedai.households import services as hh

from .conftest import PHONE, assert_fits_width, sign_in

pytestmark = pytest.mark.browser


def _configure_credit(bank) -> list:  # type: ignore[no-untyped-def]
    """The credit fixture's model and strategy, plus two more households in V1 (东村)."""
    with transaction.atomic():
        activate_configuration(bank.users)
        added = [
            hh.create_household(
                bank.users["am1"],
                village=bank.v1,
                head=hh.PersonInput(name, pid(n), f"1391234{n:04d}"),
                size=3,
                segments=["greenhouse"],
                file_values=file_values(),
                reason="整村采集",
                today=TODAY,
            )
            for n, name in [(21, "赵一"), (22, "钱二")]
        ]
    return sorted([bank.h1, *added], key=lambda h: h.code)


def test_campaign_flow(live_server, bank_live, new_page, browser_errors, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("xinedai.campaigns.views.business_today", lambda: TODAY)
    base = live_server.url
    households = _configure_credit(bank_live)
    page = new_page(**PHONE)
    sign_in(page, base, "am1")

    # The campaign list is in the menu; create a campaign for 东村.
    page.locator("label[for=navtoggle]").click()
    page.get_by_role("navigation").get_by_role("link", name="整村授信").click()
    expect(page).to_have_url(f"{base}/campaigns/")
    expect(page.get_by_text("尚无整村授信活动。").last).to_be_visible()
    page.get_by_role("link", name="新建整村授信").click()
    page.get_by_label("活动名称").fill("东村2026整村授信")
    page.get_by_label("村").select_option(label="东村 · 灵山卫一网格")
    page.get_by_role("button", name="创建活动").click()
    campaign = Campaign.objects.get()
    expect(page).to_have_url(f"{base}/campaigns/{campaign.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("东村2026整村授信")
    expect(page.locator('[data-kpi="on_file"]')).to_have_text("3")
    assert_fits_width(page)

    # Committee review: each row updates in place through htmx.
    with page.expect_navigation():  # waits for "load": htmx has processed the rows by then
        page.get_by_role("button", name="开始村委会评议").click()
    roster = page.locator("#roster")
    expect(roster.locator(".ch-row")).to_have_count(3)
    page.evaluate("() => { window.__xdNoReload = true; }")
    first, second, third = (roster.locator(f"#row-{CampaignHousehold.objects.get(household=h).pk}") for h in households)
    first.get_by_role("button", name="通过").click()
    expect(first).to_contain_text("评议通过")
    second.get_by_role("button", name="否决").click()
    expect(second.locator(".err")).to_have_text("否决必须填写理由")
    second.get_by_role("textbox").fill("长期在外,无法核实")
    second.get_by_role("button", name="否决").click()
    expect(second).to_contain_text("评议否决")
    expect(second).to_contain_text("长期在外,无法核实")
    third.get_by_role("button", name="通过").click()
    expect(third).to_contain_text("评议通过")
    assert page.evaluate("() => window.__xdNoReload === true")
    assert "张三丰" not in page.content()
    assert_fits_width(page)

    # Public posting, then batch scoring; the job runs right after the request commits.
    page.get_by_role("button", name="开始公示").click()
    expect(page.locator("h1 .badge")).to_have_text("公示中")
    expect(page.get_by_role("link", name="公示名单(.xlsx)")).to_be_visible()
    page.get_by_role("button", name="运行批量测算").click()
    expect(page.locator("h1 .badge")).to_have_text("已预授信")
    progress = page.locator("#campaign-progress")
    expect(progress.locator(".scoring-state")).to_have_text("已完成")
    expect(progress).to_contain_text("2 / 2 (100%)")
    expect(page.locator('[data-kpi="granted"]')).to_have_text("2")
    expect(page.locator('[data-kpi="approved"]')).to_have_text("2 / 1")
    page.locator("#funnel-chart .main-svg").first.wait_for(state="visible")
    assert CreditLine.objects.filter(status="posted").count() == 2

    # Before the posting period ends there is no activation button; after it, the lines activate.
    expect(page.get_by_role("button", name="激活额度")).to_have_count(0)
    monkeypatch.setattr("xinedai.campaigns.views.business_today", lambda: TODAY + dt.timedelta(days=7))
    page.reload()
    page.get_by_role("button", name="激活额度").click()
    expect(page.get_by_text("已激活 2 笔额度。")).to_be_visible()
    expect(page.locator('[data-kpi="activated"]')).to_have_text("2")
    expect(page.locator("h1 .badge")).to_have_text("已激活")
    assert CreditLine.objects.filter(status="active").count() == 2
    assert_fits_width(page)
    browser_errors.assert_none()
