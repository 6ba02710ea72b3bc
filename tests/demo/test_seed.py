"""The demo seed: org shape, valid and consistent households, determinism, believable mixes, idempotence."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Max

from xinedai.core.ids import make_resident_id, parse_resident_id
from xinedai.core.models import AuditEntry
from xinedai.demo import seeding
from xinedai.demo.generator import HouseholdGenerator, plan_org
from xinedai.demo.seeding import DEMO_PASSWORD, demo_accounts, seed_bank
from xinedai.households import rules
from xinedai.households.models import FileVersion, Household, Member
from xinedai.org.models import Grid, GridOwnership, OrgUnit, StaffProfile, Village

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 30)
N = 300


@pytest.fixture
def seeded():  # type: ignore[no-untyped-def]
    return seed_bank(households=N, seed=7, as_of=TODAY)


def _generate(n: int, seed: int) -> list:  # type: ignore[type-arg]
    gen = HouseholdGenerator(plan_org().villages, seed=seed, as_of=TODAY)
    return list(gen.chunks(n, 1000))


def test_org_has_the_planned_shape(seeded):
    assert OrgUnit.objects.get(code="HO").kind == "head_office"
    assert OrgUnit.objects.get(code="B01").parent.code == "HO"
    outlets = OrgUnit.objects.filter(kind="outlet")
    assert outlets.count() == 12
    assert set(outlets.values_list("parent__code", flat=True)) == {"B01"}
    assert Grid.objects.count() == 60
    for outlet in outlets:
        total = Grid.objects.get(outlet=outlet, parent__isnull=True)
        subs = list(Grid.objects.filter(parent=total))
        assert len(subs) == 4
        first_am = f"am{(int(outlet.code[-2:]) - 1) * 4 + 1:02d}"
        assert total.owner.username == first_am
        for grid in subs:
            assert grid.owner.staff.role == "account_manager"
            assert grid.owner.staff.org_unit == outlet
            assert GridOwnership.objects.get(grid=grid, ended_at__isnull=True).manager == grid.owner
            assert 5 <= grid.villages.count() <= 7
    assert not Village.objects.filter(grid__parent__isnull=True).exists()
    assert 240 <= Village.objects.count() <= 420
    roles = Counter(StaffProfile.objects.values_list("role", flat=True))
    assert roles == {
        "account_manager": 48,
        "outlet_manager": 12,
        "credit_officer": 2,
        "branch_manager": 1,
        "head_office_risk": 1,
        "administrator": 1,
        "auditor": 1,
    }
    users = get_user_model().objects
    assert not users.filter(is_superuser=True).exists()
    assert users.get(username="risk01").check_password(DEMO_PASSWORD)
    assert users.get(username="am01").groups.get().name == "role:account_manager"
    accounts = demo_accounts()
    assert len(accounts) == 66 and seeded.accounts == accounts
    assert accounts[1][:2] == ("am01", DEMO_PASSWORD) and accounts[1][3] == "黄岛支行第1子网格"


def test_households_are_valid_and_consistent(seeded):
    assert seeded.households_created == N == Household.objects.count()
    assert Member.objects.filter(relation="head").count() == N
    heads = {m.household_id: m for m in Member.objects.filter(relation="head")}
    for m in Member.objects.exclude(id_number=None):
        parsed = parse_resident_id(m.id_number, today=TODAY)
        assert (parsed.birth_date, parsed.is_male) == (m.birth_date, m.is_male)
        assert make_resident_id(m.id_number[:6], m.birth_date, int(m.id_number[14:17])) == m.id_number
    numbers = list(Member.objects.exclude(id_number=None).values_list("id_number", flat=True))
    assert len(numbers) == len(set(numbers))
    latest = dict(FileVersion.objects.values_list("household").annotate(v=Max("version")))
    for h in Household.objects.select_related("current_file"):
        head = heads[h.pk]
        assert re.fullmatch(r"H\d{9}", h.code)
        assert h.head_name == head.name and head.id_number
        assert h.three_elements_complete == rules.three_elements_complete(head.name, head.id_number, head.phone)
        assert h.current_file.version == latest[h.pk]
        assert h.file_updated_at == h.current_file.created_at
        assert 1 <= h.size <= 7 and h.segments.startswith(",") and h.segments.endswith(",")
    for v in FileVersion.objects.all():
        values = v.values()
        assert rules.totals(values) == {k: values[k] for k in rules.TOTAL_FIELDS.values()}
        assert not rules.check_amounts(values)
    assert FileVersion.objects.filter(version=2).exists()
    assert Member.objects.values("household").annotate(c=Count("id")).filter(c__gt=7).count() == 0


def test_one_audit_row_and_rerun_creates_nothing(seeded):
    counts = (Household.objects.count(), Member.objects.count(), FileVersion.objects.count(), Grid.objects.count())
    entry = AuditEntry.objects.get(action="demo.seed")
    assert entry.actor is None and entry.after["households"] == N and entry.after["seed"] == 7
    again = seed_bank(households=N, seed=7, as_of=TODAY)
    assert again.households_created == 0
    assert counts == (
        Household.objects.count(),
        Member.objects.count(),
        FileVersion.objects.count(),
        Grid.objects.count(),
    )
    assert AuditEntry.objects.filter(action="demo.seed").count() == 1


def test_topping_up_adds_only_the_difference(seeded):
    more = seed_bank(households=N + 40, seed=7, as_of=TODAY)
    assert more.households_created == 40 and Household.objects.count() == N + 40
    codes = list(Household.objects.values_list("code", flat=True))
    assert len(set(codes)) == N + 40
    assert Household.objects.filter(current_file__isnull=True).count() == 0


def test_generator_is_deterministic():
    a, b = _generate(1500, 11), _generate(1500, 11)
    assert len(a) == len(b) == 2
    for x, y in zip(a, b, strict=True):
        for name, value in vars(x).items():
            other = vars(y)[name]
            if isinstance(value, np.ndarray):
                assert np.array_equal(value, other), name
            else:
                assert value == other, name
    c = _generate(1500, 12)
    assert a[0].head_name != c[0].head_name


def test_mixes_look_like_a_rural_bank():
    villages = plan_org().villages
    chunks = _generate(20000, 3)
    kinds: dict[str, Counter[str]] = {}
    n = stale = versions2 = complete = with_loan = 0
    for ch in chunks:
        for v, segs in zip(ch.village.tolist(), ch.segments, strict=True):
            kinds.setdefault(villages[v].village_type, Counter()).update(s for s in segs.split(",") if s)
        n += ch.n
        stale += sum((TODAY - d.date()).days > 365 for d in ch.file_updated_at)
        versions2 += ch.version_number.count(2)
        complete += sum(ch.three_elements_complete)
        first = [i for i, v in enumerate(ch.version_number) if v == 1]
        with_loan += sum(ch.version_values["liab_bank_fen"][i] > 0 for i in first)

    def share(vtype: str, segment: str) -> float:
        return kinds[vtype][segment] / sum(kinds[vtype].values())

    assert share("greenhouse", "greenhouse") > 0.5
    assert share("livestock", "breeder") > 0.4
    assert share("urban", "greenhouse") == 0
    assert share("urban", "salaried") + share("urban", "business") + share("urban", "smb_owner") > 0.75
    assert 0.12 < stale / n < 0.18 and 0.10 < versions2 / n < 0.14
    assert 0.90 < complete / n < 0.94 and 0.30 < with_loan / n < 0.40


def test_seed_command_prints_accounts_and_timing():
    out, err = io.StringIO(), io.StringIO()
    call_command("seed", "--households", "60", "--seed", "5", "--as-of", "2026-06-30", stdout=out, stderr=err)
    text = out.getvalue()
    assert re.search(r"^am01\s+xinedai-demo\s", text, re.M)
    assert "auditor01" in text and "created 60 households" in text
    assert Household.objects.count() == 60


@pytest.mark.postgres_only
def test_bulk_rebuild_leaves_the_schema_as_it_was(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")

    def schema() -> list[tuple[str, ...]]:
        tables = [m._meta.db_table for m in (Household, Member, FileVersion)]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tablename, indexdef FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY 1, 2", [tables]
            )
            rows = cursor.fetchall()
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
                [tables],
            )
            return rows + cursor.fetchall()

    before = schema()
    monkeypatch.setattr(seeding, "BULK_REBUILD_MIN", 100)
    phases = []
    seed_bank(households=150, seed=9, as_of=TODAY, progress=lambda phase, done, total: phases.append(phase))
    assert "indexes" in phases
    assert schema() == before
    assert Household.objects.filter(current_file__isnull=True).count() == 0


def test_demo_command_prepares_the_bank_and_prints_every_role(capsys):
    from django.core.management import call_command

    from xinedai.org.choices import Role

    call_command("demo", "--no-serve", "--households", "60", "--history-days", "30")
    out = capsys.readouterr().out
    assert Household.objects.count() == 60
    assert "Lending history (贷款历史):" in out and "30 day-end batches" in out
    from django.utils import translation

    with translation.override("zh-hans"):
        for role in Role:
            assert str(role.label) in out, role
    assert "xinedai-demo" in out
    call_command("demo", "--no-serve", "--households", "60")  # a second start seeds nothing more
    assert Household.objects.count() == 60
    assert "Lending history" not in capsys.readouterr().out


def test_demo_bank_has_a_trained_model_and_lines_for_most_households():
    from xinedai.credit.models import CreditLine, LimitStrategy, ScoreModel

    seed_bank(households=1500, seed=11, as_of=dt.date(2026, 6, 30))
    model = ScoreModel.objects.get(status="active")
    assert model.trained_by.username == "risk01" and model.approved_by.username == "admin01"
    assert model.report["test"]["auc"] > 0.7  # the history follows a known default process
    strategy = LimitStrategy.objects.get(status="active")
    assert strategy.created_by.username == "risk01" and strategy.approved_by.username == "admin01"
    pending = LimitStrategy.objects.get(status="draft")  # the open proposal the demo leaves to approve
    assert pending.version == strategy.version + 1 and pending.params["net_assets_multiple"] == "0.6"
    lines = CreditLine.objects.filter(status="active")
    assert lines.count() > 1500 * 0.6
    assert all(0 < ln.limit_fen <= 300_000_00 and ln.limit_fen % 100_000 == 0 for ln in lines)


def test_demo_bank_shows_campaigns_at_different_stages():
    from xinedai.campaigns.models import Campaign

    seed_bank(households=3000, seed=5, as_of=dt.date(2026, 6, 30))
    stages = list(Campaign.objects.order_by("pk").values_list("status", flat=True))
    assert stages == ["collecting", "reviewing", "scored", "activated"]
    activated = Campaign.objects.get(status="activated")
    assert activated.households.filter(status="activated").exists()
    assert activated.households.filter(status="vetoed").exists()
