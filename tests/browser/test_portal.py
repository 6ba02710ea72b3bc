"""The customer's mobile flow at a phone-sized viewport: sign in with a code, borrow with the schedule
shown before confirming, repay in full — and the ledger verifies afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from playwright.sync_api import expect

from tests.conftest import TODAY, Bank
from tests.credit.conftest import activate_configuration
from xinedai.credit import services as credit
from xinedai.credit.models import CreditLine
from xinedai.ledger import verify
from xinedai.lending.models import Loan

from .conftest import PHONE, BrowserErrors, assert_fits_width


@pytest.fixture
def customer_live(bank_live: Bank, settings: Any) -> Any:
    from xinedai.portal.senders import MemorySender
    from xinedai.products.services import seed_catalogue

    settings.XINEDAI_OTP_SENDER = "xinedai.portal.senders.MemorySender"
    MemorySender.sent.clear()
    users = bank_live.users
    with transaction.atomic():
        seed_catalogue()
        activate_configuration(users)
        decision = credit.decide(users["am1"], household=bank_live.h1, today=TODAY)
        line = credit.grant_line(users["risk"], decision, today=TODAY)
    return bank_live, line, bank_live.h1.members.get(relation="head").phone


def test_sign_in_borrow_and_repay_on_a_phone(live_server, customer_live, new_page, browser_errors: BrowserErrors):
    from xinedai.portal.senders import MemorySender

    _bank, line, phone = customer_live
    base = live_server.url
    page = new_page(**PHONE)
    page.goto(f"{base}/m/")
    expect(page.get_by_role("heading", level=1)).to_have_text("用手机号登录")
    page.get_by_label("手机号").fill(phone)
    page.get_by_role("button", name="发送验证码").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("输入验证码")
    page.get_by_label("验证码").fill(MemorySender.sent[phone])
    page.get_by_role("button", name="登录").click()
    expect(page.locator(f"#line-{line.pk}")).to_contain_text("210,000.00")
    assert_fits_width(page)

    page.get_by_role("link", name="借款").click()
    page.get_by_label("借款金额(元)").fill("12000")
    page.get_by_label("还款方式").select_option("annuity")
    page.get_by_label("期限").select_option("12")
    schedule = page.locator("#schedule table tbody tr")
    expect(schedule).to_have_count(12)  # the schedule is shown before anything is borrowed
    assert not Loan.objects.exists()
    assert_fits_width(page)
    page.get_by_label("我已阅读并同意借款合同").check()
    page.get_by_role("button", name="确认借款").click()
    expect(page.locator("#outstanding")).to_have_text("12,000.00")
    assert CreditLine.objects.get(pk=line.pk).used_fen == 1_200_000

    page.get_by_label("一次性结清").check()
    page.get_by_role("button", name="还款", exact=True).click()
    expect(page.get_by_text("已结清")).to_be_visible()
    loan = Loan.objects.get()
    assert loan.status == "settled" and CreditLine.objects.get(pk=line.pk).used_fen == 0
    assert verify.run().clean
    assert_fits_width(page)
    browser_errors.assert_none()
