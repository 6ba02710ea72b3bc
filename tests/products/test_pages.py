"""Product pages through the browser's eyes: access per role, errors next to fields, approve and reject."""

import datetime as dt
import re

import pytest
from django.test import Client

from tests.conftest import TODAY
from xinedai.core.models import AuditEntry
from xinedai.products.models import ProductVersion

pytestmark = pytest.mark.django_db
START = (TODAY + dt.timedelta(days=1)).isoformat()


def form_data(**overrides):  # type: ignore[no-untyped-def]
    data = {
        "guarantee_type": "credit",
        "intake_modes": ["model"],
        "channels": ["online"],
        "entry_points": ["mobile_banking", "wechat"],
        "min_amount": "10000",
        "max_amount": "180,000.00",
        "min_term_months": "1",
        "max_term_months": "36",
        "repayment_methods": ["annuity", "interest_only"],
        "rate_kind": "lpr_spread",
        "annual_rate_pct": "",
        "lpr_tenor": "1y",
        "spread_bp": "130",
        "segments": [],
        "effective_from": START,
        "effective_to": "",
        "note": "下调上限",
    }
    data.update(overrides)
    return data


def field_html(html: str, name: str) -> str:
    m = re.search(rf'id="field-{name}".*?</(label|fieldset)>', html, re.S)
    assert m, f"no field {name}"
    return m.group(0)


@pytest.mark.parametrize("role", ["am1", "om1", "co", "bm", "risk", "admin", "auditor"])
def test_every_staff_member_reads_the_catalogue(catalogue, role):
    c = catalogue.client(role)
    html = c.get("/products/").content.decode()
    assert "信e贷" in html and "大棚贷" in html and "抗疫亲情贷" not in html
    assert "5.00%" in html  # 信e贷 on 2026-06-30: 1Y LPR 3.00 % + 150 bp
    detail = c.get("/products/xinedai/")
    assert detail.status_code == 200
    assert "v1" in detail.content.decode()


def test_catalogue_filters(catalogue):
    c = catalogue.client("am1")
    html = c.get("/products/", {"segment": "breeder"}).content.decode()
    assert "助养贷" in html and "大棚贷" not in html
    html = c.get("/products/", {"on": "2022-06-30"}).content.decode()
    assert "抗疫亲情贷" in html and "5.20%" in html
    assert "薪e贷" in c.get("/products/", {"family": "xinedai"}).content.decode()
    assert "/products/xinedai/" not in c.get("/products/", {"family": "other"}).content.decode()


def test_anonymous_is_sent_to_sign_in(catalogue):
    resp = Client().get("/products/")
    assert resp.status_code == 302 and "login" in resp["Location"]


@pytest.mark.parametrize(
    ("role", "status"),
    [("am1", 403), ("om1", 403), ("co", 403), ("bm", 403), ("auditor", 403), ("risk", 200), ("admin", 200)],
)
def test_who_may_propose_and_approve(catalogue, role, status):
    c = catalogue.client(role)
    assert c.get("/products/anjie_edai/propose/").status_code == status
    assert c.get("/products/new/").status_code == status
    assert c.get("/products/approvals/").status_code == status
    assert c.post("/products/anjie_edai/propose/", form_data()).status_code in ({403} if status == 403 else {302})


def test_propose_page_shows_errors_next_to_the_fields_and_writes_nothing(catalogue):
    c = catalogue.client("admin")
    audit_before = AuditEntry.objects.count()
    resp = c.post(
        "/products/anjie_edai/propose/",
        form_data(max_amount="250000", min_amount="1万", max_term_months="0", note=""),
    )
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'class="err"' in field_html(html, "min_amount")
    assert 'class="err"' in field_html(html, "max_term_months")
    assert 'class="err"' in field_html(html, "note")
    # a rule error (the cap) comes back from the service onto its own field
    resp = c.post("/products/anjie_edai/propose/", form_data(max_amount="250000"))
    html = resp.content.decode()
    assert "纯线上产品最高金额不得超过20万元" in field_html(html, "max_amount")
    assert "err" not in field_html(html, "min_amount")
    resp = c.post("/products/anjie_edai/propose/", form_data(rate_kind="fixed", annual_rate_pct="abc"))
    assert 'class="err"' in field_html(resp.content.decode(), "annual_rate_pct")
    assert ProductVersion.objects.filter(product__code="anjie_edai").count() == 1
    assert AuditEntry.objects.count() == audit_before


def test_propose_then_approve_through_the_pages(catalogue):
    maker, checker = catalogue.client("admin"), catalogue.client("risk")
    resp = maker.post("/products/anjie_edai/propose/", form_data())
    assert resp.status_code == 302
    v2 = ProductVersion.objects.get(product__code="anjie_edai", version=2)
    assert (v2.status, v2.max_amount_fen, v2.spread_bp) == ("proposed", 18_000_000, 130)
    queue = maker.get("/products/approvals/").content.decode()
    assert "another person must approve it" in queue or "须由他人审批" in queue
    assert f"/products/versions/{v2.pk}/approve/" not in queue
    # the maker forcing the approve URL is refused and nothing changes
    maker.post(f"/products/versions/{v2.pk}/approve/")
    assert ProductVersion.objects.get(pk=v2.pk).status == "proposed"
    queue = checker.get("/products/approvals/").content.decode()
    assert f"/products/versions/{v2.pk}/approve/" in queue and "180,000.00" in queue
    assert checker.post(f"/products/versions/{v2.pk}/approve/").status_code == 302
    assert ProductVersion.objects.get(pk=v2.pk).status == "approved"
    html = checker.get("/products/anjie_edai/", {"on": START}).content.decode()
    assert "180,000" in html


def test_reject_needs_a_reason_shown_next_to_the_field(catalogue):
    catalogue.client("admin").post("/products/anjie_edai/propose/", form_data())
    v2 = ProductVersion.objects.get(product__code="anjie_edai", version=2)
    checker = catalogue.client("risk")
    resp = checker.post(f"/products/versions/{v2.pk}/reject/", {f"r{v2.pk}-reason": ""})
    assert resp.status_code == 422
    assert 'class="err"' in field_html(resp.content.decode(), "reason")
    assert ProductVersion.objects.get(pk=v2.pk).status == "proposed"
    resp = checker.post(f"/products/versions/{v2.pk}/reject/", {f"r{v2.pk}-reason": "依据不足"})
    assert resp.status_code == 302
    assert ProductVersion.objects.get(pk=v2.pk).status == "rejected"
    assert catalogue.client("am1").post(f"/products/versions/{v2.pk}/reject/", {}).status_code == 403


def test_new_product_page(catalogue):
    c = catalogue.client("risk")
    resp = c.post("/products/new/", form_data(code="new", name="乡村贷"))
    assert 'class="err"' in field_html(resp.content.decode(), "code")
    resp = c.post("/products/new/", form_data(code="xiangcun_dai", name="乡村贷", segments=["greenhouse"]))
    assert resp.status_code == 302
    assert ProductVersion.objects.get(product__code="xiangcun_dai").status == "proposed"
    html = catalogue.client("admin").get("/products/approvals/").content.decode()
    assert "乡村贷" in html


def test_pages_in_english(catalogue):
    c = catalogue.client("admin")
    c.cookies["django_language"] = "en"
    resp = c.post("/products/anjie_edai/propose/", form_data(max_amount="250000"))
    assert "A pure-online product may not lend more than 200,000 RMB" in resp.content.decode()
    assert "Version history" in c.get("/products/xinedai/").content.decode()
