"""Manager pages on a desktop: coverage chart and table, the audit log (masked, bilingual), grid hand-over."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from xinedai.core.masking import mask_id_number
from xinedai.households.models import Member
from xinedai.org.models import Grid, GridOwnership

from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_manager_pages(live_server, bank_live, new_page, browser_errors) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url

    # Outlet manager: coverage of the outlet's grids, as a Plotly chart and a table.
    page = new_page()
    sign_in(page, base, "om1")
    expect(page).to_have_url(f"{base}/monitoring/coverage/")  # home sends monitoring roles here
    expect(page.get_by_role("heading", level=1)).to_have_text("建档覆盖率")
    page.locator("#coverage-chart .main-svg").first.wait_for(state="visible")
    chart = page.get_by_role("img", name="建档覆盖率图表", exact=True)
    expect(chart.locator(".main-svg").first).to_be_visible()
    # One bar trace per measure plus the completion line, one bar per grid with households.
    expect(chart.locator(".barlayer .trace")).to_have_count(3)
    expect(chart.locator(".barlayer .trace").first.locator(".point")).to_have_count(2)
    expect(chart.locator(".xtick")).to_have_text(["灵山卫一网格", "灵山卫二网格"])

    kpis = page.locator(".kpi")
    expect(kpis).to_have_count(3)
    expect(kpis.nth(0)).to_contain_text("2")  # h1 and h2; h3 belongs to the other outlet
    expect(page.get_by_role("heading", name="按网格")).to_be_visible()
    expect(page.get_by_role("heading", name="按网点")).to_have_count(0)  # one outlet only
    grid_table = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="网格"))
    rows = grid_table.locator("tbody tr")
    expect(rows).to_have_count(2)  # the total grid G1 has no village of its own and is left out
    expect(rows.nth(0).get_by_role("cell")).to_have_text(
        ["灵山卫一网格", "灵山卫支行", "1", "1", "100.0%", "1", "100.0%"]
    )
    expect(rows.nth(1).get_by_role("cell")).to_have_text(
        ["灵山卫二网格", "灵山卫支行", "1", "1", "100.0%", "1", "100.0%"]
    )
    expect(rows.nth(0).get_by_role("link", name="灵山卫一网格")).to_have_attribute(
        "href", f"/grids/{bank_live.g1a.pk}/"
    )
    expect(page.get_by_text("王台网格")).to_have_count(0)

    # Auditor: the audit log lists what happened, with personal values masked.
    page = new_page()
    sign_in(page, base, "auditor")
    page.get_by_role("navigation").get_by_role("link", name="审计日志").click()
    expect(page).to_have_url(f"{base}/audit/")
    expect(page.get_by_role("heading", level=1)).to_have_text("审计日志")
    creates = page.get_by_role("row").filter(has=page.get_by_text("households.household.create", exact=True))
    expect(creates).to_have_count(3)
    expect(creates.filter(has_text=bank_live.h1.code)).to_have_count(1)
    html = page.content()
    heads = {m.household.code: m for m in Member.objects.filter(relation="head").select_related("household")}
    assert len(heads) == 3
    for head in heads.values():
        assert head.id_number not in html, f"full ID number of {head.household.code} shown in the audit log"
        assert head.phone not in html
        assert head.name not in html
    assert mask_id_number(heads[bank_live.h1.code].id_number) in html  # shown, but masked

    # Switch to English with the EN button: the same page comes back in English.
    with page.expect_navigation():
        page.get_by_role("button", name="EN", exact=True).click()
    expect(page).to_have_url(f"{base}/audit/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    expect(page.get_by_role("columnheader", name="Action")).to_be_visible()
    expect(page.get_by_role("button", name="中文", exact=True)).to_be_visible()
    expect(
        page.get_by_role("row").filter(has=page.get_by_text("households.household.create", exact=True))
    ).to_have_count(3)
    browser_errors.assert_none()


def test_grid_hand_over(live_server, bank_live, new_page, browser_errors) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    g1b = bank_live.g1b
    am1 = bank_live.users["am1"]
    page = new_page()
    sign_in(page, base, "om1")
    page.goto(f"{base}/grids/{g1b.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("灵山卫二网格 G1b")
    owner = page.locator("dl.facts dt", has_text="客户经理").locator("xpath=following-sibling::dd[1]")
    expect(owner).to_have_text("am2")
    history = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="截止时间"))
    expect(history.locator("tbody tr")).to_have_count(1)

    form = page.locator("form", has=page.get_by_role("button", name="移交"))
    manager = form.get_by_label("新客户经理")
    expect(manager.locator("option")).to_have_text(["—", "am1 (客户经理)", "am2 (客户经理)"])
    manager.select_option(label="am1 (客户经理)")
    form.get_by_label("原因").fill("客户经理岗位调整")
    with page.expect_navigation():
        form.get_by_role("button", name="移交").click()

    expect(page).to_have_url(f"{base}/grids/{g1b.pk}/")
    expect(page.get_by_text("网格已移交。")).to_be_visible()
    expect(owner).to_have_text("am1")
    rows = history.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="am2").get_by_role("cell").nth(2)).not_to_have_text("至今")
    expect(rows.filter(has_text="am1").get_by_role("cell").nth(2)).to_have_text("至今")
    expect(rows.filter(has_text="am1").get_by_role("cell").nth(3)).to_have_text("客户经理岗位调整")

    g1b = Grid.objects.get(pk=g1b.pk)
    assert g1b.owner_id == am1.pk
    spans = list(GridOwnership.objects.filter(grid=g1b).order_by("started_at"))
    assert [(o.manager.username, o.ended_at is None) for o in spans] == [("am2", False), ("am1", True)]
    assert spans[1].reason == "客户经理岗位调整"
    browser_errors.assert_none()
