"""Credit pages through the browser's interface: scope, roles, errors next to their fields."""

import re

import pytest
from django.db import transaction

from xinedai.core.models import AuditEntry
from xinedai.credit import services
from xinedai.credit.models import ChangeAlert, CreditDecision, CreditLine, OfflineApplication
from xinedai.households import services as hh

from ..conftest import file_values, make_line

Y = 100


def field_error(html: str, field_id: str) -> str:
    """The error text inside the label of one field ('' when none)."""
    m = re.search(rf'<label class="has-error" for="{field_id}">(.*?)</label>', html, re.S)
    if not m:
        return ""
    return " ".join(re.findall(r'<span class="err">(.*?)</span>', m.group(1)))


@pytest.mark.parametrize(
    ("user", "url", "status"),
    [
        ("am1", "/credit/", 200),
        ("am1", "/credit/households/{h1}/", 200),
        ("am2", "/credit/households/{h1}/", 404),
        ("am3", "/credit/households/{h1}/", 404),
        ("co", "/credit/households/{h1}/", 200),
        ("am1", "/credit/reviews/", 403),
        ("om1", "/credit/reviews/", 403),
        ("co", "/credit/reviews/", 200),
        ("risk", "/credit/reviews/", 200),
        ("am1", "/credit/alerts/", 403),
        ("am1", "/credit/renewals/", 200),
        ("auditor", "/credit/renewals/", 200),
        ("om1", "/credit/alerts/", 200),
        ("co", "/credit/alerts/", 200),
        ("auditor", "/credit/alerts/", 403),
    ],
)
def test_page_access_by_role_and_scope(credit, user, url, status):
    resp = credit.client(user).get(url.format(h1=credit.h1.pk))
    assert resp.status_code == status


def test_calculate_then_grant(credit):
    c = credit.client("am1")
    resp = c.post(f"/credit/households/{credit.h1.pk}/decide/", {"mode": "model", "channel": "combined"})
    assert resp.status_code == 302
    d = CreditDecision.objects.get()
    assert (d.mode, d.limit_fen, d.source, d.created_by) == ("model", 210_000 * Y, "page", credit.users["am1"])
    assert not CreditLine.objects.exists()  # a calculation grants nothing
    page = c.get(f"/credit/households/{credit.h1.pk}/").content.decode()
    assert "210,000.00" in page and "690" in page and f"/decisions/{d.pk}/grant/" in page
    resp = c.post(f"/credit/households/{credit.h1.pk}/decisions/{d.pk}/grant/")
    assert resp.status_code == 302
    assert CreditLine.objects.get().limit_fen == 210_000 * Y
    # granting the same decision twice shows the error at the decision and changes nothing
    resp = c.post(f"/credit/households/{credit.h1.pk}/decisions/{d.pk}/grant/")
    assert resp.status_code == 422 and "该决策已经授信" in resp.content.decode()
    assert CreditLine.objects.count() == 1
    # small credit from the same page
    resp = c.post(f"/credit/households/{credit.h1.pk}/decide/", {"mode": "small", "channel": "combined"})
    assert resp.status_code == 302
    assert CreditDecision.objects.filter(mode="small_credit").get().limit_fen == 50_000 * Y


def test_out_of_scope_and_read_only_users_cannot_act(credit):
    resp = credit.client("am2").post(f"/credit/households/{credit.h1.pk}/decide/", {"mode": "model"})
    assert resp.status_code == 404
    resp = credit.client("auditor").post(f"/credit/households/{credit.h1.pk}/decide/", {"mode": "model"})
    assert resp.status_code == 403
    assert not CreditDecision.objects.exists()


def test_application_form_errors_sit_next_to_their_fields(credit):
    c = credit.client("am1")
    url = f"/credit/households/{credit.h1.pk}/apply/"
    resp = c.post(url, {"requested_limit": "12.345", "channel": "combined"})
    assert resp.status_code == 422
    assert field_error(resp.content.decode(), "apply_requested_limit")
    resp = c.post(url, {"requested_limit": "300000.01", "channel": "combined"})
    assert resp.status_code == 422
    assert field_error(resp.content.decode(), "apply_requested_limit") == "申请额度超过该渠道上限300,000元"
    assert not OfflineApplication.objects.exists()
    resp = c.post(url, {"requested_limit": "180,000", "channel": "combined", "note": "扩大种植"})
    assert resp.status_code == 302
    app = OfflineApplication.objects.get()
    assert (app.requested_limit_fen, app.note, app.submitted_by) == (180_000 * Y, "扩大种植", credit.users["am1"])
    # co may not submit
    assert credit.client("co").post(url, {"requested_limit": "1000", "channel": "combined"}).status_code == 403


def test_review_queue_approve_and_reject(credit):
    with transaction.atomic():
        app = services.submit_application(credit.users["am1"], credit.h1, requested_limit_fen=180_000 * Y)
    co = credit.client("co")
    page = co.get("/credit/reviews/").content.decode()
    assert credit.h1.code in page and "210,000.00" in page and "张**" in page and "张三丰" not in page
    # am1 cannot review (not even their own case through the page)
    assert (
        credit.client("am1").post(f"/credit/reviews/{app.pk}/approve/", {f"a{app.pk}-approved_limit": "1"}).status_code
        == 403
    )
    # a different limit without a reason: error next to the reason field, nothing changed
    before = AuditEntry.objects.count()
    resp = co.post(
        f"/credit/reviews/{app.pk}/approve/", {f"a{app.pk}-approved_limit": "150000", f"a{app.pk}-reason": ""}
    )
    assert resp.status_code == 422
    assert field_error(resp.content.decode(), f"id_a{app.pk}-reason") == "批准额度与模型建议不同,请填写理由"
    assert AuditEntry.objects.count() == before and not CreditLine.objects.exists()
    app.refresh_from_db()
    assert app.status == "submitted"
    resp = co.post(
        f"/credit/reviews/{app.pk}/approve/",
        {f"a{app.pk}-approved_limit": "150000", f"a{app.pk}-reason": "按申请用途下调"},
    )
    assert resp.status_code == 302
    line = CreditLine.objects.get()
    assert (line.limit_fen, line.intake_mode, line.granted_by) == (150_000 * Y, "offline_approval", credit.users["co"])
    # reject a second household's case with and without a reason
    with transaction.atomic():
        app2 = services.submit_application(credit.users["am1"], credit.h1, requested_limit_fen=100_000 * Y)
    resp = co.post(f"/credit/reviews/{app2.pk}/reject/", {f"r{app2.pk}-reason": ""})
    assert resp.status_code == 422 and field_error(resp.content.decode(), f"id_r{app2.pk}-reason")
    resp = co.post(f"/credit/reviews/{app2.pk}/reject/", {f"r{app2.pk}-reason": "近期已授信"})
    assert resp.status_code == 302
    app2.refresh_from_db()
    assert (app2.status, app2.reason) == ("rejected", "近期已授信")


def test_alert_page_review(credit):
    with transaction.atomic():
        d = services.decide(credit.users["am1"], household=credit.h1)
        services.grant_line(credit.users["am1"], d)
        hh.save_file_version(credit.users["am1"], credit.h1, file_values(income_planting_fen=30_000_000), reason="复核")
    credit.h1.refresh_from_db()
    with transaction.atomic():
        services.decide(credit.users["am1"], household=credit.h1)
    alert = ChangeAlert.objects.get()
    page = credit.client("om1").get("/credit/alerts/").content.decode()
    assert credit.h1.code in page and "300,000.00" in page and f"/alerts/{alert.pk}/review/" not in page
    assert credit.client("om1").post(f"/credit/alerts/{alert.pk}/review/", {}).status_code == 403
    co = credit.client("co")
    page = co.get("/credit/alerts/?window=30&threshold=1").content.decode()
    assert f"/alerts/{alert.pk}/review/" in page and "am1" in page  # am1 is flagged at threshold 1
    resp = co.post(f"/credit/alerts/{alert.pk}/review/", {f"x{alert.pk}-outcome": "accept", f"x{alert.pk}-note": ""})
    assert resp.status_code == 422 and field_error(resp.content.decode(), f"id_x{alert.pk}-note")
    resp = co.post(
        f"/credit/alerts/{alert.pk}/review/", {f"x{alert.pk}-outcome": "accept", f"x{alert.pk}-note": "已核实"}
    )
    assert resp.status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.outcome_note) == ("accepted", "已核实")


def test_renewal_list_shows_the_lines_due_in_scope_soonest_first(credit):
    import datetime as dt

    from xinedai.core.dates import business_today, now
    from xinedai.core.masking import mask_name

    today = business_today()

    def line(h, *, product="xinedai", status="active", days=0, used=0):
        return make_line(
            h,
            product_code=product,
            used_fen=used,
            intake_mode="model",
            status=status,
            granted_at=now(),
            expires_on=today + dt.timedelta(days=days),
        )

    line(credit.h1, days=10)  # expiring within the 60 days
    line(credit.h2, days=200)  # not yet
    line(credit.h2, product="dapeng", status="expired", days=-5, used=30_000 * Y)  # expired, loans still on it
    line(credit.h1, product="dapeng", status="expired", days=-40)  # expired and repaid: nothing to review
    line(credit.h3, days=3)  # another outlet

    html = credit.client("om1").get("/credit/renewals/").content.decode()
    rows = re.findall(r"<tr><td><a href=\"/credit/households/(\d+)/\">", html)
    assert rows == [str(credit.h2.pk), str(credit.h1.pk)]  # the expired one first, then by expiry
    assert "5 天前" in html and "10 天后" in html
    assert mask_name(credit.h1.head_name) in html and credit.h1.head_name not in html
    # A wider window brings the later line in; another scope sees only its own.
    wide = credit.client("om1").get("/credit/renewals/?within=365").content.decode()
    assert re.findall(r"<tr><td><a href=\"/credit/households/(\d+)/\">", wide) == [
        str(credit.h2.pk),
        str(credit.h1.pk),
        str(credit.h2.pk),
    ]
    other = credit.client("am3").get("/credit/renewals/").content.decode()
    assert re.findall(r"<tr><td><a href=\"/credit/households/(\d+)/\">", other) == [str(credit.h3.pk)]
    # The credit start page counts them for the user's scope.
    home = credit.client("om1").get("/credit/").content.decode()
    assert re.search(r'href="/credit/renewals/"><div class="l">[^<]+</div><div class="v">2</div>', home)


def test_the_start_page_counts_households_up_to_the_cap(credit, monkeypatch):
    from xinedai.core import paging

    monkeypatch.setattr(paging, "LIST_COUNT_CAP", 2)
    resp = credit.client("bm").get("/credit/")  # the branch: three households, one more than the cap
    paginator = resp.context["page"].paginator
    assert (paginator.count, paginator.capped) == (2, True)
    assert "1 / 1+" in resp.content.decode()
    monkeypatch.setattr(paging, "LIST_COUNT_CAP", 3)
    resp = credit.client("bm").get("/credit/")
    assert (resp.context["page"].paginator.count, resp.context["page"].paginator.capped) == (3, False)
    assert "1 / 1+" not in resp.content.decode()
