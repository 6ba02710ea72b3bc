"""The customer's own pages: sign in with a one-time code, borrow with the schedule shown first, repay."""

import re

from django.test import Client

from xinedai.credit.models import CreditLine
from xinedai.ledger import verify
from xinedai.lending.models import Loan, Repayment
from xinedai.portal.models import OneTimeCode
from xinedai.portal.senders import MemorySender


def signed_in(customer) -> Client:
    c = Client()
    assert c.post("/m/login/", {"phone": customer.phone}).status_code == 302
    code = MemorySender.sent[customer.phone]
    assert c.post("/m/login/code/", {"code": code}).status_code == 302
    return c


def test_sign_in_with_a_one_time_code(customer):
    c = Client()
    assert c.get("/m/").status_code == 302  # signed out: to the sign-in page
    resp = c.post("/m/login/", {"phone": customer.phone})
    assert resp.status_code == 302 and resp["Location"] == "/m/login/code/"
    code = MemorySender.sent[customer.phone]
    assert OneTimeCode.objects.get().code_sha256 != code  # stored as a keyed hash only
    wrong = "000000" if code != "000000" else "111111"
    resp = c.post("/m/login/code/", {"code": wrong})
    assert resp.status_code == 422 and "验证码错误或已过期" in resp.content.decode()
    assert c.post("/m/login/code/", {"code": code}).status_code == 302
    page = c.get("/m/").content.decode()
    assert "张**" in page and "210,000.00" in page  # masked name, the line's available amount
    # a code works once
    c2 = Client()
    c2.post("/m/login/", {"phone": "13999999999"})  # an unknown number: same answer, nothing sent
    assert "13999999999" not in MemorySender.sent
    c2.session.save()
    s = c2.session
    s["portal_phone"] = customer.phone
    s.save()
    assert c2.post("/m/login/code/", {"code": code}).status_code == 422


def test_five_wrong_codes_lock_the_code(customer):
    c = Client()
    c.post("/m/login/", {"phone": customer.phone})
    code = MemorySender.sent[customer.phone]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        c.post("/m/login/code/", {"code": wrong})
    assert c.post("/m/login/code/", {"code": code}).status_code == 422


def test_borrow_with_the_schedule_first_then_repay(customer):
    c = signed_in(customer)
    line = customer.line
    page = c.get(f"/m/lines/{line.pk}/draw/").content.decode()
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    body = {"amount": "12000", "term_months": "12", "method": "annuity", "token": token}
    preview = c.post(f"/m/lines/{line.pk}/draw/preview/", body).content.decode()
    assert preview.count("<tr>") == 13  # a header and 12 instalments
    assert not Loan.objects.exists()  # a preview borrows nothing
    resp = c.post(f"/m/lines/{line.pk}/draw/", body)  # the contract not accepted
    assert resp.status_code == 422 and not Loan.objects.exists()
    resp = c.post(f"/m/lines/{line.pk}/draw/", {**body, "accept": "on"})
    assert resp.status_code == 302
    loan = Loan.objects.get()
    assert c.post(f"/m/lines/{line.pk}/draw/", {**body, "accept": "on"}).status_code == 302  # a double submit
    assert Loan.objects.count() == 1 and CreditLine.objects.get(pk=line.pk).used_fen == 1_200_000
    page = c.get(f"/m/loans/{loan.pk}/").content.decode()
    assert "12,000.00" in page
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    resp = c.post(f"/m/loans/{loan.pk}/", {"payoff": "on", "token": token})
    assert resp.status_code == 302
    loan.refresh_from_db()
    assert loan.status == "settled" and Repayment.objects.count() == 1
    assert CreditLine.objects.get(pk=line.pk).used_fen == 0
    assert verify.run().clean
    # the bank reverses the payoff the same day (the debit behind it failed): the customer sees it so
    from django.db import transaction

    from xinedai.servicing import services as servicing

    with transaction.atomic():
        servicing.reverse_repayment(customer.users["bm"], loan.pk, Repayment.objects.get().pk, reason="扣款失败")
    page = c.get(f"/m/loans/{loan.pk}/").content.decode()
    assert "已由银行冲正" in page and "<s>" in page
    assert Loan.objects.get().status == "active" and CreditLine.objects.get(pk=line.pk).used_fen == 1_200_000
    assert verify.run().clean


def test_a_customer_sees_only_their_own_loans(customer):
    from django.db import transaction

    from tests.lending.test_loans import TODAY, draw
    from xinedai.credit import services as credit_services

    with transaction.atomic():  # another household's line and loan
        decision = credit_services.decide(customer.users["am1"], household=customer.h2, today=TODAY)
        other_line = credit_services.grant_line(customer.users["risk"], decision, today=TODAY)
    other_loan = draw(other_line, key="other")
    c = signed_in(customer)
    assert c.get(f"/m/loans/{other_loan.pk}/").status_code == 404
    assert c.get(f"/m/lines/{other_line.pk}/draw/").status_code == 404
    resp = c.post(f"/m/loans/{other_loan.pk}/", {"payoff": "on", "token": "x" * 32})
    assert resp.status_code == 404
    other_loan.refresh_from_db()
    assert other_loan.status == "active" and not Repayment.objects.exists()  # nothing was repaid
    assert str(other_loan.principal_fen // 100) not in c.get("/m/").content.decode().replace(",", "")
