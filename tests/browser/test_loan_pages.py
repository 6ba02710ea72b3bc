"""Loan pages in the browser: a credit officer asks for a loan's downgrade with a reason, the branch
manager approves it from the queue, the loan then shows its new class; and the portfolio page draws its
stacked bar by class and its NPL trend from the day-end snapshot.

Selectors use element ids and the five categories' labels (translated already): the pages' other text is
merged into the Chinese catalogue by the lead and may still be English here."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from playwright.sync_api import expect

from tests.conftest import Bank
from tests.credit.conftest import activate_configuration
from tests.servicing.conftest import TODAY, Book, build_book
from xinedai.servicing import eod
from xinedai.servicing.models import ClassificationRequest, LoanState

from .conftest import PHONE, assert_fits_width, sign_in

pytestmark = pytest.mark.browser

NEXT = TODAY + dt.timedelta(days=1)


@pytest.fixture
def book_live(bank_live: Bank, monkeypatch: pytest.MonkeyPatch) -> Book:
    """bank_live with an active model and strategy, a loan in each grid and the day-end of TODAY, all
    committed for the live server; approvals are dated the next business date."""
    monkeypatch.setattr("xinedai.servicing.services.business_today", lambda: NEXT)
    users = bank_live.users
    with transaction.atomic():
        activate_configuration(users)
    made = build_book(bank_live)
    eod.run(TODAY)
    return made


def test_downgrade_approved_by_a_second_person_then_the_portfolio(  # type: ignore[no-untyped-def]
    live_server, book_live, new_page, browser_errors
) -> None:
    base = live_server.url
    loan = book_live.c

    # The credit officer finds the loan in the list and asks for substandard, with a reason.
    co = new_page()
    sign_in(co, base, "co")
    co.goto(f"{base}/loans/?grid={book_live.bank.g2.pk}")
    rows = co.locator("#loan-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".badge")).to_have_text("正常")
    expect(rows.first.locator("span.pii")).to_have_text("王*")
    rows.first.get_by_role("link", name=str(loan.pk)).click()
    expect(co).to_have_url(f"{base}/loans/{loan.pk}/")
    expect(co.locator("#loan-class")).to_have_text("正常")
    form = co.locator("#classification-form")
    form.locator("select[name=risk_class]").select_option("3")
    form.locator("textarea[name=reason]").fill("养殖场受灾，经营收入中断")
    with co.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(co.locator("#pending-request")).to_contain_text("养殖场受灾，经营收入中断")
    expect(co.locator("#pending-request")).to_contain_text("次级")
    expect(co.locator("#classification-form")).to_have_count(0)
    expect(co.locator("#loan-class")).to_have_text("正常")  # nothing changes before the approval
    request = ClassificationRequest.objects.get()

    # The branch manager opens the queue from the navigation, on a phone, and approves with a note.
    bm = new_page(**PHONE)
    sign_in(bm, base, "bm")
    bm.locator("label.navbtn").click()
    bm.locator('nav a[href="/loans/classifications/"]').click()
    card = bm.locator(f"#request-{request.pk}")
    expect(card).to_contain_text("养殖场受灾，经营收入中断")
    expect(card.locator("[data-class='3']")).to_have_text("次级")
    assert_fits_width(bm)
    card.locator("textarea").fill("已实地核实")
    with bm.expect_navigation():
        card.locator("button[value=approve]").click()
    expect(bm).to_have_url(f"{base}/loans/classifications/")
    expect(bm.locator(".msg-success")).to_contain_text("次级")
    expect(bm.locator(f"#request-{request.pk}")).to_have_count(0)
    assert LoanState.objects.get(loan_id=loan.pk).risk_class == 3

    # The loan now shows its new class and the change in its history, for the requester too.
    co.reload()
    expect(co.locator("#loan-class")).to_have_text("次级")
    expect(co.locator("#class-history tbody tr").first.locator(".badge")).to_have_text(["正常", "次级"])
    expect(co.locator("#class-requests tbody tr").first).to_contain_text("已实地核实")

    # The next day-end: the portfolio of the branch draws both charts from the snapshot.
    eod.run(NEXT)
    bm.goto(f"{base}/monitoring/portfolio/")
    expect(bm.locator("#portfolio-date")).to_have_text(NEXT.isoformat())
    expect(bm.locator("#kpi-loans")).to_have_text("3")
    expect(bm.locator("#kpi-npl")).to_have_text("80,000.00")
    expect(bm.locator("#kpi-npl-ratio")).to_have_text("34.78%")  # 80,000 of 100,000 + 50,000 + 80,000
    chart = bm.locator("#portfolio-chart")
    expect(chart.locator(".main-svg").first).to_be_visible()
    expect(chart.locator("g.trace.bars")).to_have_count(5)
    expect(chart.locator(".legendtext")).to_have_text(["正常", "关注", "次级", "可疑", "损失"])
    expect(chart.locator(".xtick text")).to_have_count(2)  # the two outlets
    trend = bm.locator("#npl-trend-chart")
    expect(trend.locator(".main-svg").first).to_be_visible()
    expect(trend.locator("g.trace.scatter .point")).to_have_count(2)  # two business dates
    assert_fits_width(bm)
    browser_errors.assert_none()
