"""Key-information change guard (虚增授信额度): sharp raises without new evidence never raise a limit
automatically; they open an alert whose review is recorded. Plus the staff-side pattern."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction

from xinedai.core.errors import PermissionDenied, ValidationFailed
from xinedai.core.models import AuditEntry
from xinedai.credit import services
from xinedai.credit.models import ChangeAlert, CreditDecision
from xinedai.credit.rules import DEFAULT_PARAMS
from xinedai.households import services as hh
from xinedai.households.models import FileVersion

from ..conftest import file_values

TODAY = dt.date(2026, 6, 30)
Y = 100
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
RAISED_INCOME = {"income_planting_fen": 30_000_000}  # 120,000 → 300,000 yuan a year


def refile(bank, household, user="am1", **overrides):
    with transaction.atomic():
        v = hh.save_file_version(bank.users[user], household, file_values(**overrides), reason="复核")
    household.refresh_from_db()
    return v


def decide(bank, household=None):
    with transaction.atomic():
        return services.decide(bank.users["am1"], household=household or bank.h1, today=TODAY)


@pytest.fixture
def granted(credit):
    """h1 holds a 210,000 line granted on file v1; then its income is raised sharply in v2."""
    with transaction.atomic():
        services.grant_line(credit.users["am1"], decide(credit), today=TODAY)
    refile(credit, credit.h1, **RAISED_INCOME)
    return credit


def test_a_sharp_raise_without_a_document_holds_the_limit(granted):
    d = decide(granted)
    # unguarded: min(300k combined, 0.5 × 560k net assets, 3 × 250k, grade A 300k) = 280k
    assert (d.limit_fen, d.binding) == (210_000 * Y, "change_guard")
    assert d.inputs["change_guard"]["uncapped_limit_fen"] == 280_000 * Y
    assert d.inputs["change_guard"]["uncapped_binding"] == "net_assets"
    alert = ChangeAlert.objects.get()
    assert (alert.status, alert.from_version.version, alert.to_version.version, alert.decision) == ("open", 1, 2, d)
    assert alert.items == [
        {"field": "annual_income_fen", "before": 12_000_000, "after": 30_000_000, "delta": 18_000_000}
    ]
    assert AuditEntry.objects.filter(action="credit.alert.raise").count() == 1
    # deciding again (or by small credit) keeps the one open alert
    decide(granted)
    with transaction.atomic():
        services.decide_small(granted.users["am1"], granted.h1, TODAY)
    assert ChangeAlert.objects.count() == 1
    # and a later version moves the same open alert on
    refile(granted, granted.h1, income_planting_fen=31_000_000)
    decide(granted)
    alert = ChangeAlert.objects.get()
    assert (alert.status, alert.to_version.version) == ("open", 3)


def test_no_line_means_no_guard(credit):
    refile(credit, credit.h1, **RAISED_INCOME)
    d = decide(credit)
    assert (d.limit_fen, d.binding) == (280_000 * Y, "net_assets") and not ChangeAlert.objects.exists()


def test_a_new_document_lets_the_limit_rise(granted):
    with transaction.atomic():
        hh.attach_document(
            granted.users["am1"],
            granted.h1,
            kind="greenhouse_photo",
            dated_on=TODAY,
            name="dapeng.png",
            content=PNG,
            max_bytes=10_000,
            today=TODAY,
        )
    d = decide(granted)
    assert (d.limit_fen, d.binding) == (280_000 * Y, "net_assets") and not ChangeAlert.objects.exists()
    assert services.guarded_household_ids([granted.h1.pk]) == set()


@pytest.mark.parametrize(
    ("days_before", "guarded"),
    [(DEFAULT_PARAMS.guard_window_days, True), (DEFAULT_PARAMS.guard_window_days + 1, False)],
)
def test_the_window(granted, days_before, guarded):
    v1 = FileVersion.objects.get(household=granted.h1, version=1)
    v2 = FileVersion.objects.get(household=granted.h1, version=2)
    FileVersion.objects.filter(pk=v1.pk).update(created_at=v2.created_at - dt.timedelta(days=days_before))
    d = decide(granted)
    assert d.binding == ("change_guard" if guarded else "net_assets")
    assert d.limit_fen == (210_000 if guarded else 280_000) * Y
    assert ChangeAlert.objects.exists() is guarded


@pytest.mark.parametrize(
    ("overrides", "guarded"),
    [
        ({"income_planting_fen": 17_000_000}, False),  # +50,000 yuan: not more than the minimum
        ({"asset_deposit_fen": 8_000_000 + 29_000_000}, False),  # +290,000 on 580,000 assets: 50 %
        ({"asset_deposit_fen": 8_000_000 + 29_000_001}, True),  # one fen over 50 %
        ({"liab_bank_fen": 0, "asset_house_fen": 50_000_000}, False),  # liabilities fell by only 20,000
    ],
)
def test_thresholds(granted, overrides, guarded):
    refile(granted, granted.h1, **overrides)
    assert services.guarded_household_ids([granted.h1.pk]) == ({granted.h1.pk} if guarded else set())


def test_a_smaller_limit_is_not_held_and_raises_no_alert(granted):
    refile(granted, granted.h1, income_planting_fen=30_000_000, liab_private_fen=45_000_000)
    d = decide(granted)
    assert d.limit_fen < 210_000 * Y and d.binding != "change_guard" and not ChangeAlert.objects.exists()


def review(bank, accept, note="已电话核实", user="co"):
    alert = ChangeAlert.objects.get(status="open")
    with transaction.atomic():
        return services.review_alert(bank.users[user], alert, accept=accept, note=note)


def test_accepting_lets_the_next_decision_raise_the_limit(granted):
    decide(granted)
    assert services.guarded_household_ids([granted.h1.pk, granted.h2.pk, granted.h3.pk]) == {granted.h1.pk}
    alert = review(granted, accept=True, note="已上门核实大棚扩建")
    assert (alert.status, alert.reviewed_by, alert.outcome_note) == (
        "accepted",
        granted.users["co"],
        "已上门核实大棚扩建",
    )
    assert AuditEntry.objects.get(action="credit.alert.accept").reason == "已上门核实大棚扩建"
    d = decide(granted)
    assert (d.limit_fen, d.binding) == (280_000 * Y, "net_assets")
    assert services.guarded_household_ids([granted.h1.pk]) == set()
    with transaction.atomic():
        line = services.grant_line(granted.users["am1"], d, today=TODAY)
    assert line.limit_fen == 280_000 * Y


def test_rejecting_keeps_the_limit(granted):
    decide(granted)
    alert = review(granted, accept=False, note="收入无法核实")
    assert alert.status == "rejected"
    d = decide(granted)
    assert (d.limit_fen, d.binding) == (210_000 * Y, "change_guard")
    assert list(ChangeAlert.objects.values_list("status", flat=True)) == ["rejected"]  # no new alert
    assert services.guarded_household_ids([granted.h1.pk]) == {granted.h1.pk}


def test_review_refusals_change_nothing(granted):
    decide(granted)
    alert = ChangeAlert.objects.get()

    def snapshot():
        return (
            list(ChangeAlert.objects.values_list("status", "outcome_note")),
            AuditEntry.objects.count(),
            CreditDecision.objects.count(),
        )

    before = snapshot()
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.review_alert(granted.users["co"], alert, accept=True, note=" ")
    assert (err.value.code, err.value.field) == ("note_required", "note")
    with pytest.raises(PermissionDenied) as err, transaction.atomic():
        services.review_alert(granted.users["om1"], alert, accept=True, note="ok")
    assert err.value.code == "forbidden_review"
    # the account manager who made the change cannot review it, even with the review permission
    am1 = granted.users["am1"]
    am1.user_permissions.add(Permission.objects.get(codename="review_application"))
    am1 = type(am1).objects.get(pk=am1.pk)
    with pytest.raises(PermissionDenied) as err, transaction.atomic():
        services.review_alert(am1, alert, accept=True, note="ok")
    assert err.value.code == "maker_is_checker"
    assert snapshot() == before
    review(granted, accept=True)
    with pytest.raises(ValidationFailed) as err:
        review_again = ChangeAlert.objects.get()
        with transaction.atomic():
            services.review_alert(granted.users["risk"], review_again, accept=False, note="again")
    assert err.value.code == "alert_closed"


def test_staff_pattern_flags_managers_who_raise_many_files(credit):
    for h in (credit.h1, credit.h2, credit.h3):
        refile(credit, h, user="am1", **RAISED_INCOME)
    refile(credit, credit.h2, user="am2", income_planting_fen=60_000_000)
    refile(credit, credit.h3, user="am2", income_planting_fen=30_000_001)  # +1 fen: not sharp
    assert [(f["user"].username, f["households"]) for f in services.flag_managers(30, 2)] == [
        ("am1", 3),
    ]
    assert [(f["user"].username, f["households"]) for f in services.flag_managers(30, 1)] == [
        ("am1", 3),
        ("am2", 1),
    ]
    # scope: an account manager's view counts only households in their grids (am2: h2 only)
    assert [(f["user"].username, f["households"]) for f in services.flag_managers(30, 1, user=credit.users["am2"])] == [
        ("am1", 1),
        ("am2", 1),
    ]
    # outside the window nothing counts
    FileVersion.objects.update(created_at="2020-01-01T00:00:00Z")
    assert services.flag_managers(30, 1) == []
