"""Loan pages through the interface staff use: scope by role and grid, masked borrowers, the manual
classification requested by one person and approved or rejected by another — with the service's own
errors shown on the page, never a 500, and nothing changed when refused."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.test import Client

from tests.conftest import PASSWORD, pid
from xinedai.core.models import AuditEntry
from xinedai.servicing.choices import RiskClass
from xinedai.servicing.models import ClassificationChange, ClassificationRequest, LoanState

from .conftest import Book


def listed(book: Book, username: str, query: str = "") -> set[int]:
    resp = book.bank.client(username).get(f"/loans/{query}")
    assert resp.status_code == 200
    return {r["loan"].pk for r in resp.context["rows"]}


def test_each_role_lists_the_loans_of_its_scope(book):
    a, b, c = book.a.pk, book.b.pk, book.c.pk
    assert listed(book, "am2") == {b}  # the sub-grid am2 owns, not its sibling
    assert listed(book, "am1") == {a, b}  # am1 owns the total grid above both sub-grids (org.access)
    assert listed(book, "am3") == {c}
    assert listed(book, "om1") == {a, b}  # the outlet O1
    assert listed(book, "bm") == {a, b, c}
    assert listed(book, "risk") == {a, b, c}


@pytest.mark.parametrize(
    ("username", "loan", "status"),
    [
        ("am1", "a", 200),
        ("am2", "a", 404),
        ("am3", "a", 404),
        ("om1", "b", 200),
        ("om1", "c", 404),
        ("co", "c", 200),
        ("auditor", "c", 200),
    ],
)
def test_a_loan_outside_the_scope_is_not_found(book, username, loan, status):
    resp = book.bank.client(username).get(f"/loans/{getattr(book, loan).pk}/")
    assert resp.status_code == status


def test_a_user_without_a_role_is_refused(book):
    get_user_model().objects.create_user("outsider", password=PASSWORD)
    c = Client()
    assert c.login(username="outsider", password=PASSWORD)
    assert c.get("/loans/").status_code == 403
    assert c.get(f"/loans/{book.a.pk}/").status_code == 403
    assert c.get("/loans/classifications/").status_code == 403
    assert Client().get("/loans/").status_code == 302  # anonymous: to the sign-in page


def test_filters_by_class_days_past_due_grid_and_manager(book):
    a, b, c = book.a.pk, book.b.pk, book.c.pk
    assert LoanState.objects.get(loan_id=b).days_past_due == 10  # due 2026-06-20, unpaid on 2026-06-30
    assert listed(book, "bm", "?class=2") == {b}
    assert listed(book, "bm", "?class=1") == {a, c}
    assert listed(book, "bm", "?dpd=0") == {b}
    assert listed(book, "bm", "?dpd=30") == set()
    assert listed(book, "bm", f"?grid={book.bank.g1.pk}") == {a, b}  # a total grid includes its sub-grids
    assert listed(book, "bm", f"?grid={book.bank.g2.pk}") == {c}
    assert listed(book, "bm", f"?manager={book.bank.users['am3'].pk}") == {c}
    assert listed(book, "bm", "?class=9&dpd=x&grid=abc") == {a, b, c}  # unknown values filter nothing
    assert listed(book, "am2", f"?grid={book.bank.g2.pk}") == {b}  # a grid out of scope is ignored
    assert listed(book, "bm", "?status=settled") == set()
    assert listed(book, "bm", f"?q={book.bank.h3.code}") == {c}


def test_a_long_list_counts_up_to_the_cap_and_says_there_are_more(book, monkeypatch):
    from xinedai.core import paging

    monkeypatch.setattr(paging, "LIST_COUNT_CAP", 2)
    resp = book.bank.client("bm").get("/loans/")
    paginator = resp.context["page"].paginator
    assert (paginator.count, paginator.capped, paginator.num_pages) == (2, True, 1)
    assert len(resp.context["rows"]) == 2  # the newest two of the three
    assert "超过 2 笔贷款" in resp.content.decode()
    resp = book.bank.client("om1").get("/loans/")  # two loans in the outlet: exactly the cap, not more
    paginator = resp.context["page"].paginator
    assert (paginator.count, paginator.capped) == (2, False)
    assert "笔贷款，请缩小筛选范围" not in resp.content.decode()


def test_filtered_or_not_the_list_is_newest_first(book):
    """The two orders of servicing.queries.newest_first (off the index, or matches first) are one order."""
    from xinedai.lending.models import Loan
    from xinedai.servicing import queries

    expected = list(Loan.objects.order_by("-start_on", "-id").values_list("pk", flat=True))
    assert len(set(Loan.objects.values_list("start_on", flat=True))) > 1  # the order is not only by id
    for f in (queries.LoanFilters(), queries.LoanFilters(dpd_over=0), queries.LoanFilters(risk_class=3)):
        assert list(queries.newest_first(Loan.objects.all(), f).values_list("pk", flat=True)) == expected
    rows = book.bank.client("bm").get("/loans/?class=1").context["rows"]
    assert [r["loan"].pk for r in rows] == [pk for pk in expected if pk != book.b.pk]


def test_the_htmx_filter_returns_the_table_fragment(book):
    resp = book.bank.client("bm").get("/loans/?class=2", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    html = resp.content.decode()
    assert resp.status_code == 200 and "<html" not in html and 'id="loan-table"' in html
    assert re.findall(r'<tr data-loan="(\d+)">', html) == [str(book.b.pk)]


def test_borrowers_are_masked_on_the_list_and_the_loan(book):
    full_id = pid(1)
    for url in ("/loans/", f"/loans/{book.a.pk}/"):
        html = book.bank.client("co").get(url).content.decode()
        assert "张**" in html and "张三丰" not in html
        assert f"{full_id[0]}{'*' * 16}{full_id[-1]}" in html and full_id not in html


def test_the_loan_page_shows_schedule_state_and_history(book):
    resp = book.bank.client("om1").get(f"/loans/{book.b.pk}/")
    assert resp.status_code == 200
    ctx = resp.context
    assert [i.number for i in ctx["schedule"]] == list(range(1, 13))
    assert (ctx["state"].days_past_due, ctx["cls"]["rank"]) == (10, RiskClass.SPECIAL_MENTION)
    assert [(x["c"].from_class, x["c"].to_class, x["c"].cause) for x in ctx["history"]] == [(1, 2, "dpd")]
    html = resp.content.decode()
    assert re.search(r'id="loan-dpd">10<', html)
    assert 'data-class="2"' in html and "关注" in html
    assert ctx["form"] is None  # an outlet manager may not request a classification
    assert "classification-form" not in html


def test_request_then_approve_by_another_person_changes_the_class(book):
    c = book.c
    co, bm = book.bank.client("co"), book.bank.client("bm")
    page = co.get(f"/loans/{c.pk}/")
    assert page.context["form"] is not None

    # The reason is required: refused on the page, nothing written.
    resp = co.post(f"/loans/{c.pk}/classification/", {"risk_class": "3", "reason": "  "})
    assert resp.status_code == 422
    assert not ClassificationRequest.objects.exists()

    resp = co.post(f"/loans/{c.pk}/classification/", {"risk_class": "3", "reason": "大棚受灾，经营收入中断"})
    assert resp.status_code == 302 and resp["Location"] == f"/loans/{c.pk}/"
    request = ClassificationRequest.objects.get()
    assert (request.loan_id, request.risk_class, request.previous_class, request.status, request.made_by) == (
        c.pk,
        3,
        1,
        "pending",
        book.bank.users["co"],
    )
    assert (
        AuditEntry.objects.filter(action="servicing.classification_requested", object_id=str(request.pk)).count() == 1
    )
    page = co.get(f"/loans/{c.pk}/")
    assert page.context["pending"] == request and page.context["form"] is None

    # A second request while one is pending: the service's message on the page.
    resp = co.post(f"/loans/{c.pk}/classification/", {"risk_class": "4", "reason": "再次"})
    assert resp.status_code == 422

    # The credit officer may request but not approve.
    assert (
        co.post(f"/loans/classifications/{request.pk}/decide/", {f"c{request.pk}-decision": "approve"}).status_code
        == 403
    )

    queue = bm.get("/loans/classifications/")
    assert [x["r"].pk for x in queue.context["rows"]] == [request.pk]
    assert not queue.context["rows"][0]["own"]
    resp = bm.post(
        f"/loans/classifications/{request.pk}/decide/",
        {f"c{request.pk}-decision": "approve", f"c{request.pk}-note": "核实属实"},
    )
    assert resp.status_code == 302 and resp["Location"] == "/loans/classifications/"
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.decision_note) == (
        "approved",
        book.bank.users["bm"],
        "核实属实",
    )
    state = LoanState.objects.get(loan_id=c.pk)
    assert (state.auto_class, state.manual_class, state.risk_class) == (1, 3, 3)
    change = ClassificationChange.objects.get(loan_id=c.pk)
    assert (change.from_class, change.to_class, change.cause, change.request_id) == (1, 3, "manual", request.pk)
    entry = AuditEntry.objects.get(action="servicing.classification_approved", object_id=str(request.pk))
    assert entry.actor == book.bank.users["bm"]

    page = bm.get(f"/loans/{c.pk}/").content.decode()
    assert re.search(r'id="loan-class" data-class="3">次级<', page)
    assert listed(book, "bm", "?class=3") == {c.pk}


def test_the_maker_cannot_approve_their_own_request_and_sees_why(book):
    c = book.c
    risk = book.bank.client("risk")
    resp = risk.post(f"/loans/{c.pk}/classification/", {"risk_class": "4", "reason": "借款人涉诉"})
    assert resp.status_code == 302
    request = ClassificationRequest.objects.get()
    queue = risk.get("/loans/classifications/")
    assert queue.context["rows"][0]["own"]
    assert f'action="/loans/classifications/{request.pk}/decide/"' not in queue.content.decode()

    resp = risk.post(f"/loans/classifications/{request.pk}/decide/", {f"c{request.pk}-decision": "approve"})
    assert resp.status_code == 422
    assert "不能审批自己提交的分类申请" in resp.content.decode()
    request.refresh_from_db()
    assert request.status == "pending"
    state = LoanState.objects.get(loan_id=c.pk)
    assert (state.manual_class, state.risk_class) == (None, 1)
    assert not ClassificationChange.objects.filter(loan_id=c.pk).exists()
    assert not AuditEntry.objects.filter(action="servicing.classification_approved").exists()


def test_a_rejection_needs_a_note_and_leaves_the_class(book):
    c = book.c
    book.bank.client("co").post(f"/loans/{c.pk}/classification/", {"risk_class": "5", "reason": "失联"})
    request = ClassificationRequest.objects.get()
    bm = book.bank.client("bm")
    resp = bm.post(f"/loans/classifications/{request.pk}/decide/", {f"c{request.pk}-decision": "reject"})
    assert resp.status_code == 422 and "请说明驳回原因" in resp.content.decode()
    assert ClassificationRequest.objects.get().status == "pending"
    resp = bm.post(
        f"/loans/classifications/{request.pk}/decide/",
        {f"c{request.pk}-decision": "reject", f"c{request.pk}-note": "证据不足"},
    )
    assert resp.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.decision_note) == ("rejected", "证据不足")
    assert LoanState.objects.get(loan_id=c.pk).risk_class == 1
    assert AuditEntry.objects.filter(action="servicing.classification_rejected", object_id=str(request.pk)).exists()
    # decided once: a second decision is refused with the service's message
    resp = bm.post(
        f"/loans/classifications/{request.pk}/decide/",
        {f"c{request.pk}-decision": "approve"},
    )
    assert resp.status_code == 422 and "该申请已处理" in resp.content.decode()


def test_requests_out_of_scope_are_not_found(book):
    book.bank.client("co").post(f"/loans/{book.c.pk}/classification/", {"risk_class": "3", "reason": "经营失败"})
    request = ClassificationRequest.objects.get()
    # an account manager may neither request nor see the queue
    assert book.bank.client("am3").post(f"/loans/{book.c.pk}/classification/", {}).status_code == 403
    assert book.bank.client("am3").get("/loans/classifications/").status_code == 403
    # an approver of outlet O1 (the right granted to that one person) does not see O2's loan or its request
    om1 = book.bank.users["om1"]
    om1.user_permissions.add(Permission.objects.get(codename="approve_classification"))
    c = book.bank.client("om1")
    assert c.get("/loans/classifications/").context["rows"] == []
    resp = c.post(f"/loans/classifications/{request.pk}/decide/", {f"c{request.pk}-decision": "approve"})
    assert resp.status_code == 404
    request.refresh_from_db()
    assert request.status == "pending"
    assert LoanState.objects.get(loan_id=book.c.pk).risk_class == 1


def test_classification_audit_rows_are_scoped_to_the_loans_outlet(book):
    """An auditor of the loan's outlet reads the request and its approval in the audit log; one of
    another outlet does not (a row without a scope would reach head office only)."""
    from xinedai.org import services as org

    c = book.c
    book.bank.client("co").post(f"/loans/{c.pk}/classification/", {"risk_class": "3", "reason": "经营失败"})
    request = ClassificationRequest.objects.get()
    book.bank.client("bm").post(f"/loans/classifications/{request.pk}/decide/", {f"c{request.pk}-decision": "approve"})
    actions = ["servicing.classification_requested", "servicing.classification_approved"]
    rows = AuditEntry.objects.filter(action__in=actions).order_by("id")
    assert [(e.action, e.scope_path) for e in rows] == [(a, book.bank.o2.path) for a in actions]
    with transaction.atomic():
        for username, unit in [("aud_o2", book.bank.o2), ("aud_o1", book.bank.o1)]:
            org.create_staff(
                None,
                username=username,
                password=PASSWORD,
                display_name=username,
                role="auditor",
                org_unit=unit,
                employee_no=username.upper(),
            )
    seen = {}
    for username in ("aud_o2", "aud_o1"):
        resp = book.bank.client(username).get("/audit/?action=servicing.classification")
        assert resp.status_code == 200
        seen[username] = sorted(e.action for e in resp.context["page"])
    assert seen == {"aud_o2": sorted(actions), "aud_o1": []}
