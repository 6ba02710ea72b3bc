"""Seeding a demo bank: the org tree and role accounts through org services, then households in bulk."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Count

from xinedai.core import audit
from xinedai.core.bulk import BulkLoader
from xinedai.core.dates import business_today
from xinedai.households import rules
from xinedai.households.models import FileVersion, Household, Member
from xinedai.households.services import household_code
from xinedai.org import services as org
from xinedai.org.choices import ROLE_PERMISSIONS, OrgKind, Role
from xinedai.org.models import Grid, OrgUnit, StaffProfile, Village

from .generator import (
    BRANCH,
    CHUNK_HOUSEHOLDS,
    HEAD_OFFICE,
    HouseholdChunk,
    HouseholdGenerator,
    OrgPlan,
    plan_org,
)

DEMO_PASSWORD = "xinedai-demo"
# From this many households into empty tables, PostgreSQL rebuilds indexes after the load (see loader).
BULK_REBUILD_MIN = 50_000

Progress = Callable[[str, int, int], None]
Account = tuple[str, str, str, str]  # username, password, role label, scope name


@dataclass
class SeedResult:
    accounts: list[Account]
    households_created: int
    members_created: int = 0
    file_versions_created: int = 0
    seconds: float = 0.0
    as_of: dt.date | None = None
    notes: list[str] = field(default_factory=list)
    credit: dict[str, Any] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)


def seed_bank(
    *,
    households: int = 20000,
    seed: int = 20220630,
    progress: Progress | None = None,
    as_of: dt.date | None = None,
    credit: bool = True,
    history_days: int = 0,
) -> SeedResult:
    """Build the demo bank if missing, then top it up to `households` households.

    Runs in the caller's transaction when there is one (the `seed` command opens it); the household
    writing is one atomic block either way. A bank that already has `households` households is left
    as it is. Same (households, seed, as_of) on an empty database → the same rows.

    With `history_days` (and `credit`), the bank then gets that many days of lending history (see
    seed_lending_history), committed day by day: call it outside a transaction then.
    """
    started = time.perf_counter()
    as_of = as_of or business_today()
    plan = plan_org()
    with transaction.atomic():
        _ensure_org(plan, progress)
    existing = Household.objects.count()
    result = SeedResult(accounts=[], households_created=0, as_of=as_of)
    if existing < households:
        with transaction.atomic():
            result.households_created, result.members_created, result.file_versions_created = _write_households(
                plan, households - existing, seed=seed, as_of=as_of, existing=existing, progress=progress
            )
            audit.record(
                None,
                "demo.seed",
                object_type="households.household",
                after={"households": households, "seed": seed, "created": result.households_created, "as_of": as_of},
            )
    if credit:
        with transaction.atomic():
            result.credit = seed_credit(seed=seed, as_of=as_of, progress=progress)
        seed_campaigns(as_of=as_of)
        if history_days > 0:
            result.history = seed_lending_history(seed=seed, as_of=as_of, days=history_days, progress=progress)
    result.accounts = demo_accounts()
    result.seconds = time.perf_counter() - started
    return result


def seed_lending_history(*, seed: int, as_of: dt.date, days: int, progress: Progress | None = None) -> dict[str, Any]:
    """`days` of lending ending the day before `as_of`, through the real lending services and day-end
    batch (demo.lending), on the lines of households outside the campaign villages (their lines are
    the campaigns' own). Once only: nothing when the bank's business calendar has started.

    Each day commits (its repayments and drawdowns, then each day-end step): call it outside any
    transaction. Inside one, PostgreSQL would keep a lock on every temporary table the day-end batch
    makes until the end, tens of thousands for two years, more than its shared lock table holds.
    """
    from .lending import seed_history

    return seed_history(
        seed=seed, as_of=as_of, days=days, progress=progress, exclude_villages=[v.pk for v in campaign_villages()]
    )


def demo_accounts() -> list[Account]:
    """The demo role accounts present in the database, in plan order, with the shared demo password."""
    order = {s.username: i for i, s in enumerate(plan_org().staff)}
    profiles = StaffProfile.objects.select_related("user", "org_unit").filter(user__username__in=list(order))
    grids: dict[int, list[str]] = {}
    for g in Grid.objects.filter(owner__in=[p.user for p in profiles], parent__isnull=False).order_by("code"):
        grids.setdefault(g.owner_id, []).append(g.name)  # type: ignore[arg-type]
    rows = []
    for p in sorted(profiles, key=lambda p: order[p.user.username]):
        scope = "、".join(grids.get(p.user_id, [])) if p.role == Role.ACCOUNT_MANAGER else p.org_unit.name
        rows.append((p.user.username, DEMO_PASSWORD, str(p.get_role_display()), scope or p.org_unit.name))
    return rows


# ----------------------------------------------------------------------------------------------- org


def _ensure_org(plan: OrgPlan, progress: Progress | None) -> None:
    """Create whatever part of the planned tree is missing, through the org services (audited)."""
    users = get_user_model().objects
    if Group.objects.filter(name__in=[org.role_group_name(r) for r in ROLE_PERMISSIONS]).count() < len(
        ROLE_PERMISSIONS
    ):
        org.sync_role_groups()
    steps = 2 + len(plan.outlets) + len(plan.staff) + len(plan.grids) + len(plan.villages)
    done = 0

    def tick(k: int = 1) -> None:
        nonlocal done
        done += k
        if progress:
            progress("org", done, steps)

    units = {
        u.code: u for u in OrgUnit.objects.filter(code__in=[HEAD_OFFICE[0], BRANCH[0], *[o.code for o in plan.outlets]])
    }
    if HEAD_OFFICE[0] not in units:
        units[HEAD_OFFICE[0]] = org.create_org_unit(
            None, code=HEAD_OFFICE[0], name=HEAD_OFFICE[1], kind=OrgKind.HEAD_OFFICE, parent=None
        )
    if BRANCH[0] not in units:
        units[BRANCH[0]] = org.create_org_unit(
            None, code=BRANCH[0], name=BRANCH[1], kind=OrgKind.BRANCH, parent=units[HEAD_OFFICE[0]]
        )
    tick(2)
    for o in plan.outlets:
        if o.code not in units:
            units[o.code] = org.create_org_unit(
                None, code=o.code, name=o.name, kind=OrgKind.OUTLET, parent=units[BRANCH[0]]
            )
        tick()

    # Django's default hasher is deliberately slow: hash the shared demo password once, not 66 times.
    existing_users = set(users.filter(username__in=[s.username for s in plan.staff]).values_list("username", flat=True))
    created = []
    for s in plan.staff:
        if s.username not in existing_users:
            org.create_staff(
                None,
                username=s.username,
                password=None,
                display_name=s.display_name,
                role=s.role,
                org_unit=units[s.org_code],
                employee_no=s.employee_no,
            )
            created.append(s.username)
        tick()
    if created:
        users.filter(username__in=created).update(password=make_password(DEMO_PASSWORD))
    by_name = {u.username: u for u in users.filter(username__in=[s.username for s in plan.staff])}

    grids = {g.code: g for g in Grid.objects.filter(code__in=[g.code for g in plan.grids])}
    for g in plan.grids:
        if g.code not in grids:
            grids[g.code] = org.create_grid(
                None,
                code=g.code,
                name=g.name,
                outlet=units[g.outlet_code],
                parent=grids[g.parent_code] if g.parent_code else None,
                owner=by_name[g.owner],
            )
        tick()
    have = set(Village.objects.filter(code__in=[v.code for v in plan.villages]).values_list("code", flat=True))
    for v in plan.villages:
        if v.code not in have:
            org.create_village(
                None, code=v.code, name=v.name, grid=grids[v.grid_code], kind=v.kind, village_type=v.village_type
            )
        tick()


# ------------------------------------------------------------------------------------------ households


def _write_households(
    plan: OrgPlan, n: int, *, seed: int, as_of: dt.date, existing: int, progress: Progress | None
) -> tuple[int, int, int]:
    loader = BulkLoader()
    villages = {
        v.code: v for v in Village.objects.select_related("grid").filter(code__in=[v.code for v in plan.villages])
    }
    village_id = np.array([villages[v.code].pk for v in plan.villages], dtype=np.int64)
    owner_id = [villages[v.code].grid.owner_id for v in plan.villages]
    on_file = np.zeros(len(plan.villages), dtype=np.int64)
    taken = None
    start_member = 0
    if existing:
        counts = dict(Household.objects.values_list("village_id").annotate(c=Count("id")))
        on_file = np.array([counts.get(int(pk), 0) for pk in village_id], dtype=np.int64)
        start_member = Member.objects.count()
        taken = _taken_checker(loader.vendor)
    gen = HouseholdGenerator(
        plan.villages,
        seed=seed,
        as_of=as_of,
        start_household=existing,
        start_member=start_member,
        village_existing=on_file,
        taken=taken,
    )
    done = members = versions = 0
    if progress:
        progress("households", 0, n)
    empty = not existing and not Member.objects.exists() and not FileVersion.objects.exists()
    tables = [Household, Member, FileVersion]
    rebuild = empty and n >= BULK_REBUILD_MIN
    with loader.indexes_deferred(tables) if rebuild else nullcontext():
        for chunk in gen.chunks(n, chunk_size_for(n)):
            _write_chunk(loader, chunk, village_id, owner_id)
            done, members, versions = done + chunk.n, members + chunk.members, versions + chunk.versions
            if progress:
                progress("households", done, n)
        if progress and rebuild:
            progress("indexes", 0, 1)
    if progress and rebuild:
        progress("indexes", 1, 1)
    return done, members, versions


def _write_chunk(loader: BulkLoader, chunk: HouseholdChunk, village_id: np.ndarray, owner_id: list[int | None]) -> None:
    h_id = loader.reserve(Household, chunk.n) + np.arange(chunk.n, dtype=np.int64)
    m_first = loader.reserve(Member, chunk.members)
    v_id = loader.reserve(FileVersion, chunk.versions) + np.arange(chunk.versions, dtype=np.int64)
    h_ids = h_id.tolist()
    creators = [owner_id[v] for v in chunk.village.tolist()]
    # Households first: their current_file points at versions written below (FKs are deferred).
    loader.write(
        Household,
        {
            "id": h_ids,
            "code": [household_code(i) for i in h_ids],
            "village": village_id[chunk.village].tolist(),
            "address": chunk.address,
            "size": chunk.size,
            "segments": chunk.segments,
            "head_name": chunk.head_name,
            "three_elements_complete": chunk.three_elements_complete,
            "current_file": v_id[chunk.latest_version_index()].tolist(),
            "file_updated_at": chunk.file_updated_at,
            "created_at": chunk.created_at,
            "created_by": creators,
        },
    )
    loader.write(
        Member,
        {
            "id": range(m_first, m_first + chunk.members),
            "household": h_id[chunk.member_household].tolist(),
            "name": chunk.member_name,
            "id_number": chunk.member_id_number,
            "phone": chunk.member_phone,
            "relation": chunk.member_relation,
            "birth_date": chunk.member_birth_date,
            "is_male": chunk.member_is_male,
        },
    )
    v_household = chunk.version_household.tolist()
    loader.write(
        FileVersion,
        {
            "id": v_id.tolist(),
            "household": h_id[chunk.version_household].tolist(),
            "version": chunk.version_number,
            "created_at": chunk.version_created_at,
            "created_by": [creators[i] for i in v_household],
            "reason": chunk.version_reason,
            "source": ["seed"] * chunk.versions,
            **{f: chunk.version_values[f] for f in (*rules.FILE_FIELDS, *rules.TOTAL_FIELDS.values())},
        },
    )


def chunk_size_for(n: int) -> int:
    """About twenty chunks (a progress step each), each small enough to keep memory bounded."""
    return min(CHUNK_HOUSEHOLDS, max(1000, -(-n // 20)))


def _taken_checker(vendor: str) -> Callable[[list[str]], set[str]]:
    """Which of these ID numbers are already on file (only needed when adding to an existing bank)."""
    if vendor == "postgresql":
        table = connection.ops.quote_name(Member._meta.db_table)

        def taken_pg(numbers: list[str]) -> set[str]:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT id_number FROM {table} WHERE id_number = ANY(%s)", [numbers])
                return {row[0] for row in cursor.fetchall()}

        return taken_pg

    def taken(numbers: list[str]) -> set[str]:
        out: set[str] = set()
        for i in range(0, len(numbers), 900):  # SQLite caps the bound parameters of one statement
            out.update(
                n
                for n in Member.objects.filter(id_number__in=numbers[i : i + 900]).values_list("id_number", flat=True)
                if n
            )
        return out

    return taken


HISTORY_MAX = 50_000


def seed_credit(*, seed: int, as_of: dt.date, progress: Progress | None = None) -> dict[str, Any]:
    """Train the demo scorecard on a loan history, have it and a strategy approved, grant lines.

    The risk officer (risk01) trains and proposes; the administrator (admin01) approves: maker ≠ checker
    as in production. Skipped when a model is already active.
    """
    from xinedai.core.dates import now
    from xinedai.credit import services as credit
    from xinedai.credit.batch import decide_batch, iter_features
    from xinedai.credit.models import ScoreModel
    from xinedai.credit.rules import DEFAULT_PARAMS
    from xinedai.credit.training import train_scorecard
    from xinedai.products.services import seed_catalogue

    from .history import BAD, TARGET, loan_history

    seed_catalogue()
    if ScoreModel.objects.filter(status="active").exists():
        return {}
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["risk01", "admin01"])}
    ids = list(Household.objects.order_by("pk").values_list("pk", flat=True))
    rng = np.random.default_rng(seed)
    sample = sorted(rng.choice(ids, size=min(len(ids), HISTORY_MAX), replace=False).tolist()) if ids else []
    parts = [feats for _, feats in iter_features(sample, as_of=as_of)]
    if not parts:
        return {}
    joined = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    history = loan_history(joined, seed=seed)
    if progress:
        progress("model", 0, 1)
    trained = train_scorecard(history, target=TARGET, bad_value=BAD, seed=seed)
    model = ScoreModel.objects.create(
        family="xinedai",
        version=1,
        name="信e贷评分卡(演示)",
        compiled=trained.scorecard.to_dict(),
        report=trained.report,
        data_description=f"demo loan history, {len(history):,} loans",
        trained_at=now(),
        trained_by=users.get("risk01"),
    )
    credit.approve_model(users["admin01"], model)
    # Grade cut-offs from the model's own score distribution: A is the best 15 %, declined the worst 12 %.
    scores = trained.scorecard.score({name: history[name].to_numpy() for name in trained.scorecard.names})
    cuts = [int(np.percentile(scores, q)) for q in (85, 60, 30, 12)]
    params = DEFAULT_PARAMS.to_dict() | {"grade_cutoffs": [[g, c] for g, c in zip("ABCD", cuts, strict=True)]}
    strategy = credit.propose_strategy(users.get("risk01"), params, note="演示额度策略")
    credit.approve_strategy(users["admin01"], strategy)
    # A proposal left for the administrator to approve or reject on 模型与策略 (the demo's open case).
    credit.propose_strategy(
        users.get("risk01"),
        params | {"net_assets_multiple": "0.6"},
        note="拟将净资产倍数由0.5上调至0.6（演示：待审批）",
    )
    if progress:
        progress("model", 1, 1)
    held_back = set(
        Household.objects.filter(village__in=campaign_villages()).values_list("pk", flat=True)
    )  # these villages get their lines through whole-village campaigns (seed_campaigns)
    ids = [i for i in ids if i not in held_back]
    result = decide_batch(
        ids,
        actor=users.get("risk01"),
        model=model,
        strategy=strategy,
        channel="combined",
        as_of=as_of,
        progress=(lambda p, d, t: progress("lines", d, t)) if progress else None,
    )
    return {"auc": trained.report.get("test", {}).get("auc"), "granted": result.granted, "decided": result.decided}


CAMPAIGN_STAGES = ("collecting", "reviewing", "posted", "activated")


def campaign_villages() -> list[Village]:
    """One rural village in each of four outlets, the same ones for every seed."""
    villages = list(Village.objects.filter(kind="village").select_related("grid__outlet").order_by("code"))
    chosen: list[Village] = []
    seen: set[int] = set()
    for v in villages[::7]:
        if v.grid.outlet_id not in seen and v.households.exists():
            chosen.append(v)
            seen.add(v.grid.outlet_id)
        if len(chosen) == len(CAMPAIGN_STAGES):
            break
    return chosen


def seed_campaigns(*, as_of: dt.date) -> int:
    """Whole-village campaigns at four stages: collecting, under review, posted with an objection, and
    activated. Skipped when campaigns exist already."""
    from xinedai.campaigns import services as camp
    from xinedai.campaigns.models import Campaign
    from xinedai.campaigns.tasks import run_scoring_job

    if Campaign.objects.exists():
        return 0
    made = 0
    for stage, village in zip(CAMPAIGN_STAGES, campaign_villages(), strict=False):
        actor = village.grid.owner
        posting_start = as_of - dt.timedelta(days=20 if stage == "activated" else 3)
        with transaction.atomic():
            campaign = camp.create_campaign(actor, village=village, name=f"{village.name}整村授信")
            made += 1
            if stage == "collecting":
                continue
            camp.start_review(actor, campaign)
            rows = list(campaign.households.order_by("pk"))
            reviewed = rows if stage != "reviewing" else rows[: len(rows) * 3 // 5]
            for i, row in enumerate(reviewed):
                veto = i % 17 == 5
                camp.review(
                    actor,
                    row,
                    result="veto" if veto else "approve",
                    reason="村委会评议:长期外出务工,家庭情况未核实" if veto else "",
                    reviewed_on=posting_start - dt.timedelta(days=2),
                )
            if stage == "reviewing":
                continue
            camp.start_posting(actor, campaign, starts_on=posting_start)
            objected = next((r for r in campaign.households.order_by("-pk") if r.status == "approved"), None)
            if objected is not None:
                camp.raise_objection(
                    actor,
                    objected,
                    objector="村民王某",
                    content="反映该户有未结清的民间借贷",
                    raised_on=posting_start + dt.timedelta(days=1),
                    as_of=as_of,
                )
            camp.request_scoring(actor, campaign)
        run_scoring_job(campaign.pk, actor.pk if actor else None, as_of)
        if stage == "activated":
            with transaction.atomic():
                objected = campaign.households.filter(objections__isnull=False).first()
                objection = objected.objections.first() if objected is not None else None
                if objection is not None:
                    camp.resolve_objection(
                        actor, objection, resolution="dismissed", note="经核实借款已结清", as_of=as_of
                    )
                camp.activate(actor, campaign, as_of=as_of)
    return made
