"""The only way to list organisation rows for a user: role + org scope (head office ⊃ branch ⊃ outlet ⊃ grid)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from xinedai.core.errors import PermissionDenied

from .choices import GRID_SCOPED_ROLES
from .models import Grid, OrgUnit, StaffProfile, Village


def profile_of(user) -> StaffProfile | None:  # type: ignore[no-untyped-def]
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.staff
    except StaffProfile.DoesNotExist:
        return None


def scope_path(user) -> str | None:  # type: ignore[no-untyped-def]
    """The org path a user sees ('/' for all), or None when the user has no org scope at all."""
    if getattr(user, "is_superuser", False):
        return "/"
    profile = profile_of(user)
    return profile.org_unit.path if profile else None


def is_grid_scoped(user) -> bool:  # type: ignore[no-untyped-def]
    profile = profile_of(user)
    return bool(profile and not user.is_superuser and profile.role in GRID_SCOPED_ROLES)


def grid_filter(user, prefix: str = "") -> Q:  # type: ignore[no-untyped-def]
    """A Q selecting grids (through `prefix`, e.g. 'village__grid__') visible to the user.

    Account managers see the grids they own and the sub-grids of a total grid they own; everyone else
    sees every grid under their org unit. A user without a profile sees nothing.
    """
    if getattr(user, "is_superuser", False):
        return Q()
    profile = profile_of(user)
    if profile is None:
        return Q(pk__in=[])
    if profile.role in GRID_SCOPED_ROLES:
        return Q(**{f"{prefix}owner": user}) | Q(**{f"{prefix}parent__owner": user})
    return Q(**{f"{prefix}outlet__path__startswith": profile.org_unit.path})


def grids_for(user) -> QuerySet[Grid]:  # type: ignore[no-untyped-def]
    return Grid.objects.filter(grid_filter(user)).select_related("outlet", "parent", "owner__staff")


def villages_for(user) -> QuerySet[Village]:  # type: ignore[no-untyped-def]
    return Village.objects.filter(grid_filter(user, "grid__")).select_related("grid", "grid__outlet")


def outlets_for(user) -> QuerySet[OrgUnit]:  # type: ignore[no-untyped-def]
    path = scope_path(user)
    if path is None:
        return OrgUnit.objects.none()
    qs = OrgUnit.objects.filter(kind="outlet")
    if is_grid_scoped(user):
        return qs.filter(grids__in=grids_for(user)).distinct()
    return qs.filter(path__startswith=path)


def get_grid(user, grid_id: int) -> Grid:  # type: ignore[no-untyped-def]
    grid = grids_for(user).filter(pk=grid_id).first()
    if grid is None:
        from xinedai.core.errors import NotFound

        raise NotFound("网格不存在或不在您的管辖范围内", "No such grid in your scope", code="grid_not_found")
    return grid


def require_perm(user, perm: str) -> None:  # type: ignore[no-untyped-def]
    if not user.has_perm(perm):
        raise PermissionDenied(
            "您没有执行此操作的权限", "You do not have permission for this", code="forbidden", perm=perm
        )


def managers_for(user) -> QuerySet[StaffProfile]:  # type: ignore[no-untyped-def]
    """Account managers a user may hand grids to: those under the user's org unit."""
    path = scope_path(user) or "/__none__/"
    return StaffProfile.objects.filter(role="account_manager", org_unit__path__startswith=path).select_related("user")
