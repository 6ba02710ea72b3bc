"""Personal values are masked in pages and API responses; a full value needs a permission and is audited."""

import pytest

from xinedai.core.models import AuditEntry
from xinedai.org import services as org
from xinedai.org.models import ApiToken


def full_values(bank):
    head = bank.h1.members.get(relation="head")
    return head, [head.id_number, head.phone, head.name]


@pytest.mark.parametrize("url", ["/households/", "/households/{pk}/", "/households/{pk}/members/{mid}/", "/audit/"])
def test_pages_never_show_full_values(bank, url):
    head, values = full_values(bank)
    for username in ("am1", "admin"):
        client = bank.client(username)
        resp = client.get(url.format(pk=bank.h1.pk, mid=head.pk))
        if resp.status_code == 403:
            continue
        text = resp.content.decode()
        assert resp.status_code == 200
        for v in values:
            assert v not in text, f"{v} visible on {url} for {username}"
    page = bank.client("am1").get(f"/households/{bank.h1.pk}/").content.decode()
    assert "138****0001" in page and "张**" in page and head.id_number[0] + "*" * 16 + head.id_number[-1] in page


def test_reveal_needs_permission_and_is_audited(bank):
    head, _ = full_values(bank)
    url = f"/households/{bank.h1.pk}/members/{head.pk}/reveal/id_number/"
    assert bank.client("om1").post(url).status_code == 403
    assert not AuditEntry.objects.filter(action="pii.reveal").exists()
    resp = bank.client("am1").post(url)
    assert resp.status_code == 200 and head.id_number in resp.content.decode()
    entry = AuditEntry.objects.get(action="pii.reveal")
    assert entry.actor == bank.users["am1"] and entry.after["field"] == "id_number"
    assert bank.client("am1").get(url).status_code == 405


def api_client(bank, username):
    from django.db import transaction
    from django.test import Client

    with transaction.atomic():
        _, secret = org.issue_token(None, bank.users[username], name="test")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_api_lists_scoped_and_masked(bank):
    _head, values = full_values(bank)
    resp = api_client(bank, "am2").get("/api/v1/households")
    assert resp.status_code == 200
    body = resp.json()
    assert body["count"] == 1 and body["items"][0]["code"] == bank.h2.code
    resp = api_client(bank, "am1").get("/api/v1/households", {"limit": 10})
    assert {i["code"] for i in resp.json()["items"]} == {bank.h1.code, bank.h2.code}
    detail = api_client(bank, "am1").get(f"/api/v1/households/{bank.h1.pk}")
    assert detail.status_code == 200
    text = detail.content.decode()
    for v in values:
        assert v not in text
    data = detail.json()
    assert data["members"][0]["phone"] == "138****0001"
    assert data["head_name"] == "张**"
    assert data["current_file_detail"]["values_fen"]["asset_house_fen"] == 50_000_000
    assert isinstance(data["current_file"]["total_assets_fen"], int)


def test_api_out_of_scope_and_bad_tokens(bank, client):
    assert api_client(bank, "am2").get(f"/api/v1/households/{bank.h1.pk}").json()["code"] == "household_not_found"
    assert client.get("/api/v1/households").status_code == 401
    assert client.get("/api/v1/households", headers={"Authorization": "Bearer nope"}).status_code == 401
    c = api_client(bank, "am1")
    ApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")
    assert c.get("/api/v1/households").status_code == 401


def test_openapi_document(db, client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    assert "/api/v1/households" in paths and "/api/v1/households/{household_id}" in paths
