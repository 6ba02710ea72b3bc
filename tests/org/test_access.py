"""Access scope for every role, through the one access function per domain and through the pages/API."""

import pytest
from django.contrib.auth import get_user_model

from xinedai.households.access import households_for
from xinedai.org.access import grids_for, outlets_for

EXPECTED = {
    # account managers: the grids they own, plus the sub-grids of a total grid they own
    "am1": {"V1", "V2"},
    "am2": {"V2"},
    "am3": {"V3"},
    "om1": {"V1", "V2"},
    "co": {"V1", "V2", "V3"},
    "bm": {"V1", "V2", "V3"},
    "risk": {"V1", "V2", "V3"},
    "admin": {"V1", "V2", "V3"},
    "auditor": {"V1", "V2", "V3"},
}


@pytest.mark.parametrize(("username", "villages"), sorted(EXPECTED.items()))
def test_households_scope_per_role(bank, username, villages):
    user = bank.users[username]
    seen = set(households_for(user).values_list("village__code", flat=True))
    assert seen == villages


@pytest.mark.parametrize(("username", "villages"), sorted(EXPECTED.items()))
def test_household_pages_and_api_follow_the_same_scope(bank, username, villages):
    client = bank.client(username)
    for h in (bank.h1, bank.h2, bank.h3):
        page = client.get(f"/households/{h.pk}/")
        assert page.status_code == (200 if h.village.code in villages else 404)


def test_user_without_role_sees_nothing(bank):
    nobody = get_user_model().objects.create_user("nobody", password="x-pass-12345")
    assert households_for(nobody).count() == 0
    assert grids_for(nobody).count() == 0
    assert outlets_for(nobody).count() == 0


def test_outlets_and_grids_scope(bank):
    assert set(grids_for(bank.users["am2"]).values_list("code", flat=True)) == {"G1b"}
    assert set(grids_for(bank.users["am1"]).values_list("code", flat=True)) == {"G1", "G1a", "G1b"}
    assert set(grids_for(bank.users["om1"]).values_list("code", flat=True)) == {"G1", "G1a", "G1b"}
    assert set(outlets_for(bank.users["bm"]).values_list("code", flat=True)) == {"O1", "O2"}
    assert set(outlets_for(bank.users["am3"]).values_list("code", flat=True)) == {"O2"}


@pytest.mark.parametrize(
    ("username", "status"), [("am1", 302), ("om1", 302), ("co", 403), ("auditor", 403), ("bm", 403)]
)
def test_only_editing_roles_can_save_a_file(bank, username, status):
    from xinedai.households.models import FileVersion

    client = bank.client(username)
    before = FileVersion.objects.count()
    resp = client.post(f"/households/{bank.h1.pk}/file/", {"reason": "复核", "asset_house_fen": "600000"})
    assert resp.status_code == status
    assert FileVersion.objects.count() == before + (1 if status == 302 else 0)


@pytest.mark.parametrize(
    ("username", "status"), [("auditor", 200), ("admin", 200), ("risk", 200), ("am1", 403), ("om1", 403)]
)
def test_audit_log_page_roles(bank, username, status):
    assert bank.client(username).get("/audit/").status_code == status


@pytest.mark.parametrize(("username", "status"), [("om1", 200), ("bm", 200), ("risk", 200), ("am1", 403)])
def test_monitoring_roles(bank, username, status):
    assert bank.client(username).get("/monitoring/coverage/").status_code == status


def test_anonymous_is_sent_to_login(bank, client):
    resp = client.get(f"/households/{bank.h1.pk}/")
    assert resp.status_code == 302
    assert resp["Location"].startswith("/accounts/login/")


def test_long_household_and_audit_lists_count_up_to_the_cap(bank, monkeypatch):
    """Both lists stop counting at the cap (core.paging): exact at it, "more than" beyond it."""
    from xinedai.core import paging
    from xinedai.core.models import AuditEntry

    monkeypatch.setattr(paging, "LIST_COUNT_CAP", 2)
    resp = bank.client("bm").get("/households/")  # three households in the branch
    paginator = resp.context["page"].paginator
    assert (paginator.count, paginator.capped, len(resp.context["rows"])) == (2, True, 2)
    assert "超过 2 户" in resp.content.decode() and "第 1 页，共超过 1 页" in resp.content.decode()
    resp = bank.client("om1").get("/households/")  # two in the outlet: exactly the cap
    assert (resp.context["page"].paginator.count, resp.context["page"].paginator.capped) == (2, False)
    assert "2 户" in resp.content.decode() and "超过" not in resp.content.decode()

    assert AuditEntry.objects.count() > 2
    resp = bank.client("auditor").get("/audit/")
    assert (resp.context["page"].paginator.count, resp.context["page"].paginator.capped) == (2, True)
    assert "第 1 页，共超过 1 页" in resp.content.decode()
    monkeypatch.setattr(paging, "LIST_COUNT_CAP", 10_000)
    resp = bank.client("auditor").get("/audit/")
    assert resp.context["page"].paginator.count == AuditEntry.objects.count()
    assert not resp.context["page"].paginator.capped
