"""File coverage by outlet and grid: households on file, three elements complete, updated in 12 months."""

import datetime as dt

from xinedai.core.dates import now
from xinedai.households.models import Household, Member

from ..conftest import close_response


def stage(bank):
    Member.objects.filter(household=bank.h2).update(phone=None)
    Household.objects.filter(pk=bank.h2.pk).update(three_elements_complete=False)
    Household.objects.filter(pk=bank.h3.pk).update(file_updated_at=now() - dt.timedelta(days=400))


def test_branch_manager_sees_outlets(bank):
    stage(bank)
    resp = bank.client("bm").get("/monitoring/coverage/")
    assert resp.status_code == 200
    rows = {r.name: (r.households, r.complete, r.fresh) for r in resp.context["by_outlet"]}
    assert rows == {"灵山卫支行": (2, 1, 2), "王台支行": (1, 1, 0)}
    total = resp.context["total"]
    assert (total.households, total.complete, total.fresh) == (3, 2, 2)
    figure = resp.context["figure"]
    assert [t["y"] for t in figure["data"][:3]] == [[2, 1], [1, 1], [2, 0]]
    assert "coverage-chart" in resp.content.decode() and "plotly" in resp.content.decode()


def test_outlet_manager_sees_the_grids_of_their_outlet(bank):
    stage(bank)
    resp = bank.client("om1").get("/monitoring/coverage/")
    assert resp.context["level"] == "grid"
    rows = {r.name: (r.households, r.complete, r.fresh) for r in resp.context["by_grid"]}
    assert rows == {"灵山卫一网格": (1, 1, 1), "灵山卫二网格": (1, 0, 1)}
    assert "王台" not in resp.content.decode()


def test_drill_down_to_grids_of_one_outlet(bank):
    resp = bank.client("bm").get(f"/monitoring/coverage/?outlet={bank.o2.pk}")
    assert [(r.name, r.households) for r in resp.context["by_grid"]] == [("王台网格", 1)]


def test_plotly_bundle_is_served_from_the_package(bank):
    resp = bank.client("bm").get("/static/plotly/plotly.min.js")
    assert resp.status_code == 200
    body = b"".join(resp.streaming_content) if resp.streaming else resp.content
    close_response(resp)
    assert b"plotly" in body[:2000].lower()
