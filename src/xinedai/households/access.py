"""The only way to list or act on households, members, documents and imports for a user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from xinedai.core import statements
from xinedai.core.errors import NotFound, PermissionDenied
from xinedai.org.access import grid_filter

from .models import Document, Household, ImportJob


def households_for(user) -> QuerySet[Household]:  # type: ignore[no-untyped-def]
    if not getattr(user, "is_authenticated", False) or not user.has_perm("households.view_household"):
        return Household.objects.none()
    return Household.objects.filter(grid_filter(user, "village__grid__"))


def get_household(user, pk: int | str, *, for_update: bool = False) -> Household:  # type: ignore[no-untyped-def]
    qs = households_for(user).select_related("village__grid__outlet", "village__grid__owner__staff", "current_file")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    household = qs.filter(pk=pk).first()
    if household is None:
        raise NotFound("户不存在或不在您的管辖范围内", "No such household in your scope", code="household_not_found")
    return household


_ID = statements.Marker(-(2**62) + 1)  # stands for the household id in compiled statements
_SCOPED: statements.StatementCache[Any] = statements.StatementCache(size=512)


def get_household_row(  # type: ignore[no-untyped-def]
    user, pk: int, shape: Callable[[QuerySet[Household]], QuerySet[Any]]
) -> dict[str, Any]:
    """get_household for the hottest paths: one household in the user's scope as the values `shape` selects
    (it turns the scoped queryset into a `.values(...)` one), or NotFound like get_household.

    The scope is households_for()'s own. It is compiled into SQL once per process for each shape, user and
    scope, then run with the id (core.statements): the key holds everything households_for() reads from
    the user — the permission and grid_filter()'s condition — so a changed role or org unit compiles anew.
    """
    allowed = bool(getattr(user, "is_authenticated", False) and user.has_perm("households.view_household"))
    key = (shape, getattr(user, "pk", None), allowed, grid_filter(user, "village__grid__"))
    statement = _SCOPED.get(
        key, lambda: statements.Statement.compile(shape(households_for(user).filter(pk=_ID.value)), _ID)
    )
    row = statement.first(int(pk))
    if row is None:
        raise NotFound("户不存在或不在您的管辖范围内", "No such household in your scope", code="household_not_found")
    return row


def require_edit(user, household: Household) -> None:  # type: ignore[no-untyped-def]
    """Editing needs the change permission and the household in scope (get_household checked scope)."""
    if not user.has_perm("households.change_household"):
        raise PermissionDenied("您没有修改档案的权限", "You may not edit household files", code="forbidden_edit")


def can_edit(user) -> bool:  # type: ignore[no-untyped-def]
    return bool(user.has_perm("households.change_household"))


def can_reveal(user) -> bool:  # type: ignore[no-untyped-def]
    return bool(user.has_perm("households.reveal_pii"))


def get_document(user, pk: int) -> Document:  # type: ignore[no-untyped-def]
    doc = Document.objects.filter(pk=pk, household__in=households_for(user)).select_related("household").first()
    if doc is None:
        raise NotFound("文件不存在或不在您的管辖范围内", "No such document in your scope", code="document_not_found")
    return doc


def require_import(user) -> None:  # type: ignore[no-untyped-def]
    if not user.has_perm("households.import_households"):
        raise PermissionDenied("您没有导入花名册的权限", "You may not import rosters", code="forbidden_import")


def import_jobs_for(user) -> QuerySet[ImportJob]:  # type: ignore[no-untyped-def]
    if user.is_superuser:
        return ImportJob.objects.all()
    return ImportJob.objects.filter(created_by=user)
