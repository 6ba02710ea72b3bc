"""The campaign pages through the test client: access by role, each step's page, htmx review rows,
batch scoring from the button, and the posting list exports without any full personal value."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from tests.campaigns.conftest import NAMES, PHONES, make_campaign, rows_by_household, to_posting
from tests.conftest import TODAY
from xinedai.campaigns.models import Campaign, CampaignHousehold, Objection
from xinedai.core.models import AuditEntry
from xinedai.credit.models import CreditLine
from xinedai.households.models import Member

END = TODAY + dt.timedelta(days=6)


@pytest.fixture(autouse=True)
def _business_date(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("xinedai.campaigns.views.business_today", lambda: TODAY)


def _set_today(monkeypatch, day: dt.date) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("xinedai.campaigns.views.business_today", lambda: day)


@pytest.mark.parametrize(
    ("username", "sees", "may_act"),
    [
        ("am1", True, True),  # V1 is in am1's grid
        ("am2", False, False),  # a sibling sub-grid of another manager
        ("am3", False, False),  # another outlet
        ("om1", True, True),  # the outlet's manager
        ("co", True, False),
        ("bm", True, False),
        ("risk", True, False),
        ("auditor", True, False),
    ],
)
def test_access_by_role(village, username, sees, may_act):
    campaign = make_campaign(village)
    c = village.bank.client(username)
    listing = c.get("/campaigns/")
    assert listing.status_code == 200
    assert ("东村整村授信" in listing.content.decode()) is sees
    detail = c.get(f"/campaigns/{campaign.pk}/")
    assert detail.status_code == (200 if sees else 404)
    if sees:
        assert ("开始村委会评议" in detail.content.decode()) is may_act
    response = c.post(f"/campaigns/{campaign.pk}/review/start/")
    assert response.status_code == (302 if may_act else 403 if sees else 404)
    assert Campaign.objects.get(pk=campaign.pk).status == ("reviewing" if may_act else "collecting")
    # Account managers may start campaigns in their own villages; the other roles nowhere.
    assert c.get("/campaigns/new/").status_code == (200 if username.startswith(("am", "om")) else 403)


def test_create_offers_only_villages_in_scope(village):
    c = village.bank.client("am1")
    page = c.get("/campaigns/new/").content.decode()
    # am1 owns the total grid G1, so its sub-grids' villages too; V3 is another outlet's.
    assert "东村" in page and "西村" in page and "南村" not in page
    v3 = village.bank.v3
    response = c.post("/campaigns/new/", {"name": "南村", "village": v3.pk, "channel": "combined"})
    assert response.status_code == 200 and not Campaign.objects.exists()  # not a valid choice
    response = c.post("/campaigns/new/", {"name": "东村整村授信", "village": village.bank.v1.pk, "channel": "online"})
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.pk}/"
    assert (campaign.channel, campaign.created_by) == ("online", village.am)
    again = c.post("/campaigns/new/", {"name": "重复", "village": village.bank.v1.pk, "channel": "combined"})
    assert "该村已有进行中的整村授信活动" in again.content.decode()
    assert Campaign.objects.count() == 1


def test_pages_through_the_whole_campaign(village, monkeypatch, django_capture_on_commit_callbacks):
    v = village
    c = v.bank.client("am1")
    campaign = make_campaign(v)
    page = c.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "采集建档" in page and "/imports/" in page
    assert c.post(f"/campaigns/{campaign.pk}/review/start/").status_code == 302

    # Committee review, row by row through htmx: the response is the row alone.
    rows = rows_by_household(campaign)
    a, f = v.households[0], v.households[5]
    hx = {"HTTP_HX_REQUEST": "true"}
    response = c.post(f"/campaigns/{campaign.pk}/households/{rows[f.pk].pk}/review/", {"result": "veto"}, **hx)
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<div class="ch-row"')
    assert "否决必须填写理由" in body
    assert CampaignHousehold.objects.get(pk=rows[f.pk].pk).status == "pending"
    body = c.post(
        f"/campaigns/{campaign.pk}/households/{rows[f.pk].pk}/review/", {"result": "veto", "reason": "外出"}, **hx
    ).content.decode()
    assert "评议否决" in body and "外出" in body
    for h in v.households[:5]:
        c.post(f"/campaigns/{campaign.pk}/households/{rows[h.pk].pk}/review/", {"result": "approve"}, **hx)
    page = c.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "开始公示" in page and "funnel-figure" in page
    assert "张三丰" not in page and "张**" in page

    # Posting, an objection, then scoring from the button (the job runs after commit).
    response = c.post(f"/campaigns/{campaign.pk}/posting/start/", {"posting_starts_on": TODAY.isoformat()})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.status, campaign.posting_ends_on) == ("posted", END)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = c.post(f"/campaigns/{campaign.pk}/score/")
    assert response.status_code == 302 and len(callbacks) == 1
    campaign.refresh_from_db()
    assert (campaign.status, campaign.scoring_state) == ("scored", "done")
    assert CreditLine.objects.filter(status="posted").count() == 5
    progress = c.get(f"/campaigns/{campaign.pk}/progress/?polling=1", HTTP_HX_REQUEST="true")
    assert progress["HX-Refresh"] == "true" and "5 / 5 (100%)" in progress.content.decode()
    response = c.post(
        f"/campaigns/{campaign.pk}/objections/",
        {"row": rows[a.pk].pk, "objector": "王某", "content": "有隐瞒负债", "raised_on": TODAY.isoformat()},
    )
    objection = Objection.objects.get()
    assert response.status_code == 302
    page = c.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'data-kpi="granted">5<' in page and 'data-kpi="objections">1 (1)<' in page
    assert "异议待处理" in page and "有隐瞒负债" in page

    # Activation waits for the end of the posting period; then a's line stays posted until resolved.
    c.post(f"/campaigns/{campaign.pk}/activate/")
    assert CreditLine.objects.filter(status="active").count() == 0
    _set_today(monkeypatch, END + dt.timedelta(days=1))
    c.post(f"/campaigns/{campaign.pk}/activate/")
    assert CreditLine.objects.filter(status="active").count() == 4
    c.post(
        f"/campaigns/{campaign.pk}/objections/{objection.pk}/resolve/", {"resolution": "dismissed", "note": "不属实"}
    )
    assert CreditLine.objects.filter(status="active").count() == 5
    page = c.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'data-kpi="activated">5<' in page and "已激活" in page
    listing = c.get("/campaigns/").content.decode()
    assert "东村整村授信" in listing


def test_cancel_from_the_page(village):
    campaign = make_campaign(village)
    c = village.bank.client("om1")
    c.post(f"/campaigns/{campaign.pk}/cancel/", {"reason": ""})
    assert Campaign.objects.get(pk=campaign.pk).status == "collecting"
    c.post(f"/campaigns/{campaign.pk}/cancel/", {"reason": "计划调整"})
    assert Campaign.objects.get(pk=campaign.pk).status == "cancelled"


def _personal_values(village) -> list[str]:  # type: ignore[no-untyped-def]
    values = ["张三丰", *NAMES, *PHONES]
    for m in Member.objects.filter(household__village=village.bank.v1):
        values += [m.name, m.id_number or "", m.phone or "", (m.id_number or "")[6:14]]
    return [x for x in values if x]


def test_posting_list_exports_hold_no_personal_value(village):
    campaign = to_posting(village)  # the last household is vetoed
    c = village.bank.client("am1")
    response = c.get(f"/campaigns/{campaign.pk}/posting.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    cells = [str(cell) for row in wb.active.iter_rows(values_only=True) for cell in row if cell is not None]
    text = "\n".join(cells)
    for value in _personal_values(village):
        assert value not in text, value
    heads = [row[2] for row in wb.active.iter_rows(min_row=6, values_only=True)]
    assert heads == ["张**", "赵*", "钱*", "孙*", "周*"]  # approved only, in code order; 吴五 was vetoed
    assert "吴*" not in text
    printable = c.get(f"/campaigns/{campaign.pk}/posting/print/").content.decode()
    for value in _personal_values(village):
        assert value not in printable, value
    assert "张**" in printable and "吴*" not in printable and "公示" in printable
    assert AuditEntry.objects.filter(action="campaigns.posting.export").count() == 2
    # Staff who may not act on the campaign cannot export it either.
    assert village.bank.client("bm").get(f"/campaigns/{campaign.pk}/posting.xlsx").status_code == 403
