"""Grid hand-over keeps history; organisation changes write audit rows."""

import pytest
from django.db import transaction

from xinedai.core.errors import ValidationFailed
from xinedai.core.models import AuditEntry
from xinedai.org import services
from xinedai.org.models import GridOwnership


def test_hand_over_keeps_history_and_audits(bank):
    client = bank.client("om1")
    resp = client.post(f"/grids/{bank.g1b.pk}/", {"to_manager": bank.users["am1"].pk, "reason": "调岗"})
    assert resp.status_code == 302
    bank.g1b.refresh_from_db()
    assert bank.g1b.owner == bank.users["am1"]
    history = list(GridOwnership.objects.filter(grid=bank.g1b).order_by("started_at"))
    assert [o.manager.username for o in history] == ["am2", "am1"]
    assert history[0].ended_at is not None and history[1].ended_at is None
    assert history[1].reason == "调岗"
    entry = AuditEntry.objects.filter(action="org.grid.hand_over").get()
    assert entry.actor == bank.users["om1"]
    assert entry.before == {"owner": "am2"} and entry.after == {"owner": "am1"}
    # the previous owner no longer sees the grid's households
    assert bank.client("am2").get(f"/households/{bank.h2.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("to", "reason", "code"),
    [
        ("om1", "x", "handover_role"),
        ("am3", "x", "handover_scope"),
        ("am2", "x", "handover_same"),
        ("am1", " ", "reason_required"),
    ],
)
def test_refused_hand_overs_change_nothing(bank, to, reason, code):
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.hand_over_grid(bank.users["om1"], bank.g1b, to_manager=bank.users[to], reason=reason)
    assert err.value.code == code
    bank.g1b.refresh_from_db()
    assert bank.g1b.owner == bank.users["am2"]
    assert GridOwnership.objects.filter(grid=bank.g1b).count() == 1
    assert AuditEntry.objects.count() == before


def test_hand_over_needs_the_permission(bank):
    resp = bank.client("am1").post(f"/grids/{bank.g1b.pk}/", {"to_manager": bank.users["am1"].pk, "reason": "x"})
    assert resp.status_code == 403
    bank.g1b.refresh_from_db()
    assert bank.g1b.owner == bank.users["am2"]


def test_org_changes_are_audited(bank):
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"org.unit.create", "org.grid.create", "org.village.create", "org.staff.create"} <= actions
    with transaction.atomic():
        services.change_role(
            bank.users["admin"], bank.users["am2"].staff, role="credit_officer", org_unit=bank.branch, reason="转岗"
        )
    entry = AuditEntry.objects.get(action="org.staff.role")
    assert entry.before == {"role": "account_manager", "org_unit": "O1"}
    assert entry.after == {"role": "credit_officer", "org_unit": "B01"}
    user = bank.users["am2"].__class__.objects.get(pk=bank.users["am2"].pk)
    assert user.has_perm("households.reveal_pii") and not user.has_perm("households.change_household")


def test_issue_token_command_prints_a_working_secret(bank, capsys):
    from django.core.management import call_command
    from django.test import Client

    from xinedai.org.models import ApiToken

    call_command("issue_token", "am2")
    secret = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(user=bank.users["am2"])
    assert secret.startswith(token.prefix) and token.digest != secret
    resp = Client(headers={"Authorization": f"Bearer {secret}"}).get("/api/v1/households")
    assert resp.status_code == 200 and resp.json()["count"] == 1
    assert AuditEntry.objects.filter(action="org.token.issue").exists()


def test_configuration_screens_are_audited_and_for_administrators_only(bank):
    admin_client = bank.client("admin")
    resp = admin_client.post(
        f"/django-admin/org/village/{bank.v2.pk}/change/",
        {"code": "V2", "name": "西村(新)", "kind": "village", "village_type": "crops", "grid": bank.g1b.pk},
    )
    assert resp.status_code == 302, resp.content.decode()[:500]
    bank.v2.refresh_from_db()
    assert bank.v2.name == "西村(新)"
    entry = AuditEntry.objects.get(action="org.village.change")
    assert entry.before == {"name": "西村"} and entry.after == {"name": "西村(新)"}
    assert entry.actor == bank.users["admin"] and entry.scope_path == bank.o1.path
    # account managers and auditors do not reach the configuration screens
    for username in ("am1", "auditor"):
        assert bank.client(username).get("/django-admin/org/village/").status_code == 302


def test_role_change_on_the_configuration_screen_moves_the_group(bank):
    profile = bank.users["am2"].staff
    resp = bank.client("admin").post(
        f"/django-admin/org/staffprofile/{profile.pk}/change/",
        {
            "user": bank.users["am2"].pk,
            "role": "credit_officer",
            "org_unit": bank.branch.pk,
            "display_name": "am2",
            "employee_no": "AM2",
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:500]
    user = type(bank.users["am2"]).objects.get(pk=bank.users["am2"].pk)
    assert [g.name for g in user.groups.all()] == ["role:credit_officer"]
    entry = AuditEntry.objects.get(action="org.staffprofile.change")
    assert entry.before == {"role": "account_manager", "org_unit_id": bank.o1.pk}
