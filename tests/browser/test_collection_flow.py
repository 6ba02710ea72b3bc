"""An account manager collects a household file on a phone: search, reveal, edit, diff, attach a photo."""

from __future__ import annotations

import re

import pytest
from django.core.validators import MinValueValidator
from django.utils import translation
from playwright.sync_api import expect

from xinedai.core.masking import mask_id_number
from xinedai.core.models import AuditEntry
from xinedai.households.models import Document, FileVersion

from .conftest import PHONE, assert_fits_width, png_bytes, sign_in

pytestmark = pytest.mark.browser


def _no_reload_marker(page) -> None:  # type: ignore[no-untyped-def]
    """Set a JS flag that survives htmx swaps but not a full page load."""
    page.evaluate("() => { window.__xdNoReload = true; }")


def _still_same_document(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("() => window.__xdNoReload === true"))


def test_collection_flow(live_server, bank_live, new_page, browser_errors, tmp_path) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    h1 = bank_live.h1
    head = h1.members.get(relation="head")
    assert head.phone == "13800000001"
    page = new_page(**PHONE)

    # Sign in: an account manager lands on "My grids"; on a phone the cards replace the table.
    sign_in(page, base, "am1")
    expect(page).to_have_url(f"{base}/grids/")
    expect(page.get_by_role("heading", name="我的网格")).to_be_visible()
    cards = page.locator(".list-cards")
    expect(cards.get_by_role("link").filter(has_text="灵山卫一网格")).to_be_visible()
    expect(cards.get_by_role("link").filter(has_text="灵山卫总网格")).to_be_visible()
    expect(cards.get_by_role("link").filter(has_text="灵山卫二网格")).to_be_visible()
    expect(page.get_by_text("王台网格")).to_have_count(0)  # another outlet's grid
    assert_fits_width(page)

    # The nav sits behind the ☰ toggle on a phone.
    households_link = page.get_by_role("navigation").get_by_role("link", name="户档案")
    expect(households_link).to_be_hidden()
    page.locator("label[for=navtoggle]").click()
    expect(households_link).to_be_visible()
    households_link.click()
    expect(page).to_have_url(f"{base}/households/")
    results = page.locator("#results")
    expect(results.get_by_text("2 户", exact=True)).to_be_visible()
    expect(results.locator(".list-cards .item")).to_have_count(2)

    # Search narrows the results through htmx, without reloading the page.
    _no_reload_marker(page)
    with page.expect_response(
        lambda r: "/households/?q=" in r.url and r.request.headers.get("hx-request") == "true"
    ) as search:
        page.get_by_role("searchbox", name="搜索").press_sequentially("张")
    assert search.value.status == 200
    expect(results.get_by_text("1 户", exact=True)).to_be_visible()
    items = results.locator(".list-cards .item")
    expect(items).to_have_count(1)
    expect(items).to_contain_text("张**")
    expect(items).to_contain_text(h1.code)
    expect(results).not_to_contain_text("李*")
    assert _still_same_document(page)
    expect(page).to_have_url(re.compile(r"/households/\?q=%E5%BC%A0(&|$)"))  # hx-push-url
    assert_fits_width(page)
    # Leaving the search box fires the form's "change" trigger too: let that request finish before
    # navigating, so two requests never race on the test database (see the report on hx-trigger).
    page.get_by_role("searchbox", name="搜索").blur()
    page.wait_for_load_state("networkidle")
    expect(items).to_have_count(1)

    # Household detail: personal values masked, the full ones nowhere in the HTML.
    items.first.click()
    expect(page).to_have_url(f"{base}/households/{h1.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"张** {h1.code}")
    masked_id = mask_id_number(head.id_number)
    assert masked_id == head.id_number[0] + "*" * 16 + head.id_number[-1]
    # On a phone the members are cards (the table is for wide screens).
    expect(page.locator(f"#ph-{head.pk}")).to_be_hidden()
    id_cell = page.locator(f"#idc-{head.pk}")
    phone_cell = page.locator(f"#phc-{head.pk}")
    expect(id_cell).to_contain_text(masked_id)
    expect(phone_cell).to_contain_text("138****0001")
    html = page.content()
    assert head.id_number not in html
    assert "13800000001" not in html
    assert "张三丰" not in html

    # "查看" (show) next to the phone: an audited htmx POST that swaps in the full value.
    _no_reload_marker(page)
    with page.expect_response(lambda r: "/reveal/phone/" in r.url and r.request.method == "POST") as reveal:
        phone_cell.get_by_role("button", name="查看").click()
    assert reveal.value.status == 200
    expect(phone_cell).to_have_text("13800000001")
    expect(id_cell).to_contain_text(masked_id)  # the other field stays masked
    assert head.id_number not in page.content()
    assert _still_same_document(page)

    # Edit the file: a negative amount is refused next to its field and nothing is saved.
    page.get_by_role("link", name="编辑档案", exact=True).click()
    expect(page).to_have_url(f"{base}/households/{h1.pk}/file/")
    house = page.locator("input[name=asset_house_fen]")
    expect(house).to_have_value("500000")
    house.fill("-1000")
    page.get_by_label("变更原因").fill("测试负数")
    page.get_by_role("button", name="保存为新版本").click()
    expect(page).to_have_url(f"{base}/households/{h1.pk}/file/")
    with translation.override("zh-hans"):
        min_error = str(MinValueValidator.message) % {"limit_value": 0}
    house_label = page.locator("label.has-error", has=page.locator("input[name=asset_house_fen]"))
    expect(house_label.locator(".err")).to_have_text(min_error)
    expect(page.locator("label.has-error")).to_have_count(1)
    assert FileVersion.objects.filter(household=h1).count() == 1
    assert_fits_width(page)

    page.locator("input[name=asset_house_fen]").fill("650000")
    page.get_by_label("变更原因").fill("年度复核")
    page.get_by_role("button", name="保存为新版本").click()
    expect(page).to_have_url(f"{base}/households/{h1.pk}/")
    expect(page.get_by_text("档案已保存为第 2 版。")).to_be_visible()
    expect(page.get_by_role("heading", level=2).filter(has_text="财务档案")).to_contain_text("v2")
    v2_row = page.get_by_role("row").filter(has_text="年度复核")
    expect(v2_row.get_by_role("cell").first).to_have_text("v2")

    # The v2 "changes" link loads the diff into the page through htmx.
    _no_reload_marker(page)
    with page.expect_response(
        lambda r: "/file/diff/?a=1&b=2" in r.url and r.request.headers.get("hx-request") == "true"
    ):
        v2_row.get_by_role("link", name="变更内容").click()
    diff = page.locator("#diff")
    expect(diff).to_contain_text("v1 → v2")
    house_change = diff.get_by_role("row").filter(has_text="房产")
    expect(house_change.get_by_role("cell")).to_have_text(["房产", "500,000.00", "650,000.00", "150,000.00 (30%)"])
    total_change = diff.get_by_role("row").filter(has_text="总资产")
    expect(total_change.get_by_role("cell")).to_have_text(["总资产", "580,000.00", "730,000.00", "150,000.00 (26%)"])
    expect(diff.locator("tbody tr")).to_have_count(2)  # the field and the total it changes
    assert _still_same_document(page)
    expect(page).to_have_url(f"{base}/households/{h1.pk}/")

    # Attach a supporting photo through the htmx form.
    documents = page.locator("#documents")
    expect(documents.get_by_text("暂无资料。")).to_be_visible()
    documents.get_by_label("资料类型").select_option("house_deed")
    documents.get_by_label("资料日期").fill("2026-06-30")
    documents.get_by_label("照片或 PDF").set_input_files(
        {"name": "deed.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    with page.expect_response(lambda r: f"/households/{h1.pk}/documents/" in r.url) as upload:
        documents.get_by_role("button", name="上传").click()
    assert upload.value.status == 200
    doc_row = documents.get_by_role("row").filter(has_text="房屋产权证明")
    expect(doc_row).to_have_count(1)
    expect(doc_row.get_by_role("cell").nth(1)).to_have_text("2026-06-30")
    expect(doc_row.get_by_role("cell").nth(2)).to_have_text("v2")
    expect(doc_row.get_by_role("link", name="查看")).to_have_attribute("href", re.compile(r"^/documents/\d+/$"))
    expect(documents.get_by_text("暂无资料。")).to_have_count(0)
    assert _still_same_document(page)
    assert_fits_width(page)

    shot = tmp_path / "household-phone.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000

    reveals = AuditEntry.objects.filter(action="pii.reveal")
    assert [(e.actor.username, e.after["field"]) for e in reveals] == [("am1", "phone")]
    v2 = FileVersion.objects.get(household=h1, version=2)
    assert v2.asset_house_fen == 65_000_000
    assert v2.reason == "年度复核"
    assert FileVersion.objects.filter(household=h1).count() == 2
    doc = Document.objects.get()
    assert (doc.household_id, doc.file_version_id, doc.kind) == (h1.pk, v2.pk, "house_deed")
    assert doc.content_type == "image/png"
    assert doc.size_bytes == len(png_bytes())
    browser_errors.assert_none()


def test_stylesheet_is_served(live_server, new_page, browser_errors) -> None:  # type: ignore[no-untyped-def]
    """Regression: src/xinedai/static/ was in no static finder's reach, so every page was unstyled."""
    page = new_page(**PHONE)
    response = page.request.get(f"{live_server.url}/static/xinedai/app.css")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/css")
    assert b".navtoggle:checked ~ .nav" in response.body()
    browser_errors.assert_none()
