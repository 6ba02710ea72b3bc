"""The write-off on the loan page: proposed by one person for a loss-class loan, approved by another with
the right to, the claim and the recovery form shown after — the service's errors on the page, never a
500, nothing changed when refused."""

from __future__ import annotations

from django.db import transaction

from tests.lending.test_loans import clean
from xinedai.core.models import AuditEntry
from xinedai.lending.models import Loan, Repayment
from xinedai.servicing import services
from xinedai.servicing.choices import RiskClass
from xinedai.servicing.models import WriteOffRequest

from .conftest import TODAY, Book


def make_loss(book: Book) -> None:
    with transaction.atomic():
        request = services.request_classification(
            book.bank.users["co"], book.c.pk, risk_class=RiskClass.LOSS, reason="借款人失联"
        )
    with transaction.atomic():
        services.approve_classification(book.bank.users["bm"], request.pk, today=TODAY)


def test_propose_approve_and_recover_through_the_loan_page(book):
    c = book.c
    co, risk, am3 = book.bank.client("co"), book.bank.client("risk"), book.bank.client("am3")
    url = f"/loans/{c.pk}/"
    page = co.get(url)
    assert page.context["write_off_form"] is None and not page.context["write_off_shown"]  # class normal
    make_loss(book)
    assert co.get(url).context["write_off_form"] is not None
    assert am3.get(url).context["write_off_form"] is None  # an account manager sees the loan, no form
    assert am3.post(f"/loans/{c.pk}/write-off/", {"reason": "失联"}).status_code == 403
    assert not WriteOffRequest.objects.exists()

    resp = co.post(f"/loans/{c.pk}/write-off/", {"reason": "  "})
    assert resp.status_code == 422 and not WriteOffRequest.objects.exists()
    resp = co.post(f"/loans/{c.pk}/write-off/", {"reason": "借款人失联两年，已诉讼，执行终结"})
    assert resp.status_code == 302 and resp["Location"] == url
    request = WriteOffRequest.objects.get()
    page = co.get(url)
    assert page.context["write_off_pending"] == request and page.context["write_off_own"]
    assert page.context["write_off_decision"] is None
    assert "此申请由您提交，须由他人审批。" in page.content.decode()

    decide = f"/loans/write-offs/{request.pk}/decide/"
    assert co.post(decide, {"w-decision": "approve"}).status_code == 403  # may propose, not approve
    assert WriteOffRequest.objects.get().status == "pending" and Loan.objects.get(pk=c.pk).status == "active"
    page = risk.get(url)
    assert page.context["write_off_decision"] is not None
    resp = risk.post(decide, {"w-decision": "reject"})  # a rejection needs a note
    assert resp.status_code == 422 and WriteOffRequest.objects.get().status == "pending"
    resp = risk.post(decide, {"w-decision": "approve", "w-note": "同意核销"})
    assert resp.status_code == 302 and resp["Location"] == url
    loan = Loan.objects.get(pk=c.pk)
    assert (loan.status, loan.principal_outstanding_fen, loan.written_off_principal_fen) == (
        "written_off",
        0,
        c.principal_fen,
    )
    assert AuditEntry.objects.filter(action="servicing.write_off_approved", object_id=str(request.pk)).count() == 1
    assert AuditEntry.objects.filter(action="lending.write_off", object_id=str(c.pk)).count() == 1

    page = co.get(url)
    html = page.content.decode()
    assert 'id="write-off-state"' in html and page.context["recovery_form"] is not None
    owed = page.context["still_owed"]
    assert owed == loan.written_off_principal_fen + loan.offbook_interest_fen + loan.offbook_penalty_fen
    token = page.context["recovery_form"].initial["token"]
    resp = co.post(f"/loans/{c.pk}/recovery/", {"amount": "abc", "token": token})
    assert resp.status_code == 422 and not Repayment.objects.filter(loan=loan).exists()
    too_much = f"{(owed + 1) // 100}.{(owed + 1) % 100:02d}"
    resp = co.post(f"/loans/{c.pk}/recovery/", {"amount": too_much, "token": token})
    assert resp.status_code == 422 and not Repayment.objects.filter(loan=loan).exists()
    for _ in range(2):  # a double submit of the same form is one recovery
        resp = co.post(f"/loans/{c.pk}/recovery/", {"amount": "1000.00", "token": token})
        assert resp.status_code == 302
    recovery = Repayment.objects.get(loan=loan)
    assert (recovery.amount_fen, recovery.overdue_principal_fen, recovery.channel) == (100_000, 100_000, "counter")
    assert co.get(url).context["still_owed"] == owed - 100_000
    clean()


def test_the_list_filters_written_off_loans(book):
    make_loss(book)
    with transaction.atomic():
        request = services.request_write_off(book.bank.users["co"], book.c.pk, reason="失联")
    with transaction.atomic():
        services.approve_write_off(book.bank.users["risk"], request.pk, today=TODAY)
    resp = book.bank.client("bm").get("/loans/?status=written_off")
    assert [r["loan"].pk for r in resp.context["rows"]] == [book.c.pk]
    resp = book.bank.client("bm").get("/loans/")  # active by default
    assert book.c.pk not in {r["loan"].pk for r in resp.context["rows"]}


def test_the_write_off_page_lists_proposals_and_the_register_in_scope(book):
    from tests.lending.test_loans import pay

    assert book.bank.client("am3").get("/loans/write-offs/").status_code == 403
    make_loss(book)
    with transaction.atomic():
        request = services.request_write_off(book.bank.users["co"], book.c.pk, reason="失联")
    page = book.bank.client("risk").get("/loans/write-offs/")
    assert page.status_code == 200
    assert [x["r"].pk for x in page.context["pending"]] == [request.pk] and page.context["register"] == []
    assert book.bank.client("bm").get("/loans/").context["write_offs_pending"] == 1
    with transaction.atomic():
        services.approve_write_off(book.bank.users["risk"], request.pk, today=TODAY)
    loan = Loan.objects.get(pk=book.c.pk)
    claim = loan.written_off_principal_fen + loan.offbook_interest_fen + loan.offbook_penalty_fen
    pay(loan, key="rec1", today=TODAY, amount=500_000)
    for username in ("risk", "bm", "auditor"):  # the approver, the branch, the auditor (monitoring)
        page = book.bank.client(username).get("/loans/write-offs/")
        assert page.status_code == 200, username
        assert page.context["pending"] == []
        [row] = page.context["register"]
        assert (row["r"].pk, row["written_off"], row["recovered"], row["owed"]) == (
            request.pk,
            claim,
            500_000,
            claim - 500_000,
        )
        assert page.context["totals"] == {
            "count": 1,
            "principal_fen": book.c.principal_fen,
            "written_off_fen": claim,
            "owed_fen": claim - 500_000,
            "recovered_fen": 500_000,
        }
        assert row["borrower"] in page.content.decode() and "*" in row["borrower"]  # masked
    # An outlet manager of the other outlet sees the page, not the loan.
    om1 = book.bank.client("om1").get("/loans/write-offs/")
    assert om1.status_code == 200 and om1.context["register"] == [] and om1.context["totals"]["count"] == 0
    clean()


def test_the_household_credit_page_lists_its_loans_and_says_when_it_owes_on_a_write_off(book):
    from django.urls import reverse

    url = reverse("credit-household", args=[book.bank.h3.pk])
    page = book.bank.client("co").get(url)
    assert [r["loan"].pk for r in page.context["loans"]] == [book.c.pk] and not page.context["written_off_debt"]
    assert 'id="written-off-debt"' not in page.content.decode()
    make_loss(book)
    with transaction.atomic():
        request = services.request_write_off(book.bank.users["co"], book.c.pk, reason="失联")
    with transaction.atomic():
        services.approve_write_off(book.bank.users["risk"], request.pk, today=TODAY)
    page = book.bank.client("co").get(url)
    assert page.context["written_off_debt"] and 'id="written-off-debt"' in page.content.decode()
    assert page.context["loans"][0]["loan"].status == "written_off"
    # Another outlet's account manager does not see the household at all.
    assert book.bank.client("am1").get(url).status_code == 404
