"""Organisation use cases: units, grids, villages, staff, hand-over, tokens. Each writes its audit row."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from xinedai.core import audit
from xinedai.core.dates import now
from xinedai.core.errors import ValidationFailed

from .choices import ROLE_PERMISSIONS, Role
from .models import ApiToken, Grid, GridOwnership, OrgUnit, StaffProfile, Village

User = get_user_model()


def role_group_name(role: str) -> str:
    return f"role:{role}"


def sync_role_groups(using: str = "default") -> None:
    """Make one Django group per role holding exactly the role's permissions (run after migrate)."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role_group_name(role))
        wanted = []
        for perm in sorted(perms):
            app_label, codename = perm.split(".")
            p = Permission.objects.using(using).filter(content_type__app_label=app_label, codename=codename).first()
            if p is not None:
                wanted.append(p)
        group.permissions.set(wanted)


def create_org_unit(actor, *, code: str, name: str, kind: str, parent: OrgUnit | None) -> OrgUnit:  # type: ignore[no-untyped-def]
    unit = OrgUnit(code=code, name=name, kind=kind, parent=parent)
    unit.save()
    audit.record(
        actor,
        "org.unit.create",
        unit,
        after={"code": code, "name": name, "kind": kind, "parent": parent.code if parent else None},
        scope_path=unit.path,
    )
    return unit


def create_grid(actor, *, code: str, name: str, outlet: OrgUnit, parent: Grid | None = None, owner=None) -> Grid:  # type: ignore[no-untyped-def]
    if outlet.kind != "outlet":
        raise ValidationFailed("网格必须属于网点", "A grid belongs to an outlet", code="grid_outlet", field="outlet")
    if parent is not None and parent.outlet_id != outlet.pk:
        raise ValidationFailed(
            "子网格必须与总网格属于同一网点", "A sub-grid is in its parent's outlet", code="grid_parent"
        )
    grid = Grid.objects.create(code=code, name=name, outlet=outlet, parent=parent, owner=owner)
    if owner is not None:
        GridOwnership.objects.create(grid=grid, manager=owner, started_at=now(), handed_over_by=_user(actor))
    audit.record(
        actor,
        "org.grid.create",
        grid,
        after={
            "code": code,
            "name": name,
            "outlet": outlet.code,
            "parent": parent.code if parent else None,
            "owner": owner.username if owner else None,
        },
        scope_path=outlet.path,
    )
    return grid


def create_village(
    actor, *, code: str, name: str, grid: Grid, kind: str = "village", village_type: str = "crops"
) -> Village:  # type: ignore[no-untyped-def]
    village = Village.objects.create(code=code, name=name, grid=grid, kind=kind, village_type=village_type)
    audit.record(
        actor,
        "org.village.create",
        village,
        after={"code": code, "name": name, "grid": grid.code},
        scope_path=grid.outlet.path,
    )
    return village


def _user(actor):  # type: ignore[no-untyped-def]
    return actor if getattr(actor, "is_authenticated", False) else None


def create_staff(
    actor,
    *,
    username: str,
    password: str | None,
    display_name: str,
    role: str,
    org_unit: OrgUnit,  # type: ignore[no-untyped-def]
    employee_no: str,
) -> StaffProfile:
    if role not in Role.values:
        raise ValidationFailed("未知角色", "Unknown role", code="role_unknown", field="role")
    user = User.objects.create_user(username=username, password=password)
    profile = StaffProfile.objects.create(
        user=user, role=role, org_unit=org_unit, display_name=display_name, employee_no=employee_no
    )
    user.groups.set([Group.objects.get(name=role_group_name(role))])
    if role == Role.ADMINISTRATOR:
        user.is_staff = True  # the configuration screens are Django's admin
        user.save(update_fields=["is_staff"])
    audit.record(
        actor,
        "org.staff.create",
        profile,
        after={"username": username, "role": role, "org_unit": org_unit.code, "name": display_name},
        scope_path=org_unit.path,
    )
    return profile


def change_role(actor, profile: StaffProfile, *, role: str, org_unit: OrgUnit, reason: str) -> StaffProfile:  # type: ignore[no-untyped-def]
    if role not in Role.values:
        raise ValidationFailed("未知角色", "Unknown role", code="role_unknown", field="role")
    before = {"role": profile.role, "org_unit": profile.org_unit.code}
    profile.role = role
    profile.org_unit = org_unit
    profile.save(update_fields=["role", "org_unit"])
    profile.user.groups.set([Group.objects.get(name=role_group_name(role))])
    profile.user.is_staff = role == Role.ADMINISTRATOR
    profile.user.save(update_fields=["is_staff"])
    audit.record(
        actor,
        "org.staff.role",
        profile,
        before=before,
        after={"role": role, "org_unit": org_unit.code},
        reason=reason,
        scope_path=org_unit.path,
    )
    return profile


def hand_over_grid(actor, grid: Grid, *, to_manager, reason: str) -> Grid:  # type: ignore[no-untyped-def]
    """Give a grid to another account manager; the ownership history keeps the previous owner."""
    grid = Grid.objects.select_for_update().select_related("outlet").get(pk=grid.pk)
    profile = getattr(to_manager, "staff", None)
    if profile is None or profile.role != Role.ACCOUNT_MANAGER:
        raise ValidationFailed(
            "只能移交给客户经理", "A grid can only go to an account manager", code="handover_role", field="to_manager"
        )
    if not grid.outlet.path.startswith(profile.org_unit.path) and not profile.org_unit.path.startswith(
        grid.outlet.path
    ):
        raise ValidationFailed(
            "接收人不在该网点", "The receiving manager is not in this outlet", code="handover_scope", field="to_manager"
        )
    if grid.owner_id == to_manager.pk:
        raise ValidationFailed(
            "该客户经理已是网格负责人", "This manager already owns the grid", code="handover_same", field="to_manager"
        )
    if not reason.strip():
        raise ValidationFailed(
            "请填写移交原因", "Give a reason for the hand-over", code="reason_required", field="reason"
        )
    at = now()
    previous = grid.owner
    GridOwnership.objects.filter(grid=grid, ended_at__isnull=True).update(ended_at=at)
    GridOwnership.objects.create(
        grid=grid, manager=to_manager, started_at=at, handed_over_by=_user(actor), reason=reason
    )
    grid.owner = to_manager
    grid.save(update_fields=["owner"])
    audit.record(
        actor,
        "org.grid.hand_over",
        grid,
        before={"owner": previous.username if previous else None},
        after={"owner": to_manager.username},
        reason=reason,
        scope_path=grid.outlet.path,
    )
    return grid


def issue_token(actor, user, *, name: str) -> tuple[ApiToken, str]:  # type: ignore[no-untyped-def]
    """Create an API token; returns the row and the secret, which is never stored."""
    secret = "xd_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=secret[:10], digest=hashlib.sha256(secret.encode()).hexdigest()
    )
    audit.record(actor, "org.token.issue", token, after={"user": user.username, "name": name, "prefix": token.prefix})
    return token, secret


def revoke_token(actor, token: ApiToken) -> None:  # type: ignore[no-untyped-def]
    token.revoked_at = now()
    token.save(update_fields=["revoked_at"])
    audit.record(actor, "org.token.revoke", token, after={"prefix": token.prefix})
