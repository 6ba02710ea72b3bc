"""Who may call the channel API and for whom: channel credentials only (never a staff token, and the staff
API never takes a channel credential), issued and revoked by command; the customer named by ID number."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client

from tests.conftest import TODAY, pid
from xinedai.channel.models import ChannelClient, IdempotencyRecord
from xinedai.core.models import AuditEntry
from xinedai.households import services as hh
from xinedai.org import services as org

from .conftest import H1, URL, get, post


def test_no_credential_is_refused(channels):
    resp = get(Client(), "/lines")
    assert resp.status_code == 401
    assert resp.json()["code"] == "channel_unauthenticated"
    assert get(Client(headers={"Authorization": "Bearer xch_not-a-secret"}), "/lines").status_code == 401


def test_a_write_without_credential_claims_nothing(channels):
    resp = post(Client(), "/applications", {"product": "xinedai"})
    assert resp.status_code == 401
    assert IdempotencyRecord.objects.count() == 0


def test_a_revoked_credential_is_refused_on_its_next_request(channels):
    client = channels.client()
    assert get(client, "/lines").status_code == 200
    err = io.StringIO()
    call_command("revoke_channel_credential", channels.mobile.prefix, stderr=err)
    assert "revoked" in err.getvalue()
    resp = get(client, "/lines")
    assert resp.status_code == 401 and resp.json()["code"] == "channel_unauthenticated"
    assert get(channels.client(channels.wechat_secret), "/lines").status_code == 200  # the other channel's still works
    assert AuditEntry.objects.filter(action="channel.credential.revoke", object_id=str(channels.mobile.pk)).count() == 1


def test_a_credential_revoked_by_another_process_is_refused_within_the_second(channels, monkeypatch):
    """A revocation this process did not see (a bare UPDATE, as from another server process) applies once
    the credential's second of reuse is over (core.reuse)."""
    from xinedai.core import reuse

    clock = [500.0]
    monkeypatch.setattr(reuse.time, "monotonic", lambda: clock[0])
    client = channels.client()
    assert get(client, "/lines").status_code == 200
    ChannelClient.objects.filter(pk=channels.mobile.pk).update(revoked_at=channels.mobile.created_at)
    clock[0] += 0.5
    assert get(client, "/lines").status_code == 200
    clock[0] += 0.6
    resp = get(client, "/lines")
    assert resp.status_code == 401 and resp.json()["code"] == "channel_unauthenticated"


def test_a_staff_token_is_refused_and_a_channel_credential_is_not_a_staff_token(channels):
    with transaction.atomic():
        _, staff_secret = org.issue_token(None, channels.bank.users["am1"], name="t")
    resp = get(Client(headers={"Authorization": f"Bearer {staff_secret}"}), "/lines")
    assert resp.status_code == 401 and resp.json()["code"] == "staff_token_refused"
    # the staff API takes the staff token and refuses the channel credential
    assert Client(headers={"Authorization": f"Bearer {staff_secret}"}).get("/api/v1/products").status_code == 200
    resp = channels.client().get("/api/v1/products")
    assert resp.status_code == 401 and resp.json()["code"] == "unauthenticated"


def test_the_issue_command_prints_the_secret_once_and_stores_its_digest_only(channels):
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_channel_credential", "wechat", "--name", "wechat 2027", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert secret.startswith("xch_") and len(secret) > 40
    client = ChannelClient.objects.get(name="wechat 2027")
    assert client.channel == "wechat" and client.prefix == secret[:12] and secret not in client.digest
    assert get(channels.client(secret), "/lines").status_code == 200
    client.refresh_from_db()
    assert client.last_used_at is not None
    listing = io.StringIO()
    call_command("revoke_channel_credential", "--list", stdout=listing)
    assert client.prefix in listing.getvalue()
    with pytest.raises(CommandError, match="unknown channel"):
        call_command("issue_channel_credential", "outlet")


def test_the_customer_is_the_household_whose_head_holds_the_id_number(channels):
    client = channels.client()
    resp = get(client, "/lines", customer=None)
    assert resp.status_code == 400 and resp.json()["code"] == "customer_id_required"
    resp = get(client, "/lines", customer=pid(77))  # valid, but nobody on file
    assert resp.status_code == 404 and resp.json()["code"] == "customer_not_found"
    assert resp.json()["message_en"] and resp.json()["message_zh"]
    bad = H1[:-1] + ("0" if H1[-1] != "0" else "1")
    resp = get(client, "/lines", customer=bad)
    assert resp.status_code == 422 and resp.json()["code"] == "id_checksum"
    # a spouse's ID number does not make her the customer: the head's household is the credit subject
    with transaction.atomic():
        hh.save_member(
            channels.bank.users["am1"],
            channels.bank.h1,
            hh.PersonInput("赵敏", pid(88), "13900000088", relation="spouse"),
            reason="配偶",
            today=TODAY,
        )
    resp = get(client, "/lines", customer=pid(88))
    assert resp.status_code == 404 and resp.json()["code"] == "customer_not_found"
    assert get(client, "/lines", customer=H1.lower()).status_code == 200


def test_openapi_is_served_for_the_channel_api_apart_from_the_staff_api(channels):
    resp = Client().get(f"{URL}/openapi.json")
    assert resp.status_code == 200
    spec = resp.json()
    assert {"/api/v1/channel/lines", "/api/v1/channel/drawdowns", "/api/v1/channel/loans/{loan_id}/repayments"} <= set(
        spec["paths"]
    )
    params = {p["name"] for p in spec["paths"]["/api/v1/channel/drawdowns"]["post"]["parameters"]}
    assert {"Idempotency-Key", "X-Customer-Id-Number"} <= params
    staff = Client().get("/api/v1/openapi.json").json()
    assert not any(p.startswith("/api/v1/channel/") for p in staff["paths"])
