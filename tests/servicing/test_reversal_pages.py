"""Reversing today's repayment from the loan page (还款冲正): the form only for a supervisor who may, on
the latest repayment of the day; a refusal shown on the page with nothing changed; the reversed
repayment shown struck through, and in the customer's own history as reversed by the bank."""

from __future__ import annotations

from django.db import transaction

from tests.lending.test_loans import clean
from xinedai.core.dates import business_today
from xinedai.core.models import AuditEntry
from xinedai.ledger.models import JournalEntry
from xinedai.lending import services as lending
from xinedai.lending.models import Loan, Repayment

from .conftest import Book, Y


def test_a_supervisor_reverses_todays_repayment_from_the_loan_page(book: Book) -> None:
    a, today = book.a, business_today()
    with transaction.atomic():
        paid = lending.repay(None, a, key="m1", channel="mobile", amount_fen=2_000 * Y, today=today)
    url = f"/loans/{a.pk}/"
    am1, om1 = book.bank.client("am1"), book.bank.client("om1")
    page = am1.get(url)
    assert page.context["reversal_form"] is None and "reversal-form" not in page.content.decode()
    assert am1.post(f"/loans/{a.pk}/reversal/", {"repayment": paid.pk, "reason": "扣款失败"}).status_code == 403
    page = om1.get(url)
    assert page.context["reversible"] == paid and 'id="reversal-form"' in page.content.decode()

    entries = JournalEntry.objects.count()
    resp = om1.post(f"/loans/{a.pk}/reversal/", {"repayment": paid.pk, "reason": ""})
    assert resp.status_code == 422 and JournalEntry.objects.count() == entries
    resp = om1.post(f"/loans/{a.pk}/reversal/", {"repayment": paid.pk + 999, "reason": "扣款失败"})
    assert resp.status_code == 422 and "该笔还款不存在" in resp.content.decode()  # shown on the page
    assert not Repayment.objects.get(pk=paid.pk).reversed

    resp = om1.post(f"/loans/{a.pk}/reversal/", {"repayment": paid.pk, "reason": "客户账户扣款失败"})
    assert resp.status_code == 302 and resp["Location"] == url
    assert Repayment.objects.get(pk=paid.pk).reversed
    assert Loan.objects.get(pk=a.pk).principal_outstanding_fen == a.principal_outstanding_fen
    page = om1.get(url)
    html = page.content.decode()
    assert page.context["reversal_form"] is None and 'class="reversed"' in html and "客户账户扣款失败" in html
    assert "om1 · 客户账户扣款失败" in html  # who reversed it, and why
    assert AuditEntry.objects.filter(action="lending.repayment.reverse", object_id=str(paid.pk)).exists()
    # a second submit of the same form: refused on the page, nothing more posted
    entries = JournalEntry.objects.count()
    resp = om1.post(f"/loans/{a.pk}/reversal/", {"repayment": paid.pk, "reason": "客户账户扣款失败"})
    assert resp.status_code == 422 and "已经冲正" in resp.content.decode()
    assert JournalEntry.objects.count() == entries
    clean()
