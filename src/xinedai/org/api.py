"""Staff authentication for the JSON API: `Authorization: Bearer <token>`."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Aggregate, CharField, OuterRef, Subquery, Value
from django.db.models.functions import Concat
from django.http import HttpRequest
from ninja.security import HttpBearer

from xinedai.core import reuse, statements
from xinedai.core.dates import now

from .models import ApiToken, OrgUnit, StaffProfile

LAST_USED_EVERY_SECONDS = 60  # last_used_at is a hint for administrators: written at most once a minute
_DIGEST = statements.Marker("<token digest>")


class _Labels(Aggregate):
    """Comma-joined strings of a subquery: STRING_AGG on PostgreSQL, GROUP_CONCAT on SQLite."""

    function = "STRING_AGG"
    template = "%(function)s(%(distinct)s%(expressions)s, ',')"
    allow_distinct = True
    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        # SQLite's DISTINCT aggregates take one argument; a comma is GROUP_CONCAT's own separator.
        template = "%(function)s(%(distinct)s%(expressions)s)"
        return super().as_sql(compiler, connection, function="GROUP_CONCAT", template=template, **extra_context)


def _permission_labels(through: str) -> Subquery:
    """The token user's permissions as 'app_label.codename,…', granted directly ('user') or by a group."""
    label = Concat("content_type__app_label", Value("."), "codename", output_field=CharField())
    rows = (
        Permission.objects.filter(**{through: OuterRef("user_id")})
        .order_by()
        .values(through)
        .annotate(labels=_Labels(label, distinct=True))
        .values("labels")
    )
    return Subquery(rows, output_field=CharField())


@functools.cache
def _token_statement() -> statements.Statement:
    """Token, user, staff profile, org unit and permissions: one statement, compiled once per process."""
    names = [
        "id",
        "last_used_at",
        *statements.columns(get_user_model(), "user__"),
        *statements.columns(StaffProfile, "user__staff__"),
        *statements.columns(OrgUnit, "user__staff__org_unit__"),
        "user_perms",
        "group_perms",
    ]
    queryset = (
        ApiToken.objects.filter(digest=_DIGEST.value, revoked_at__isnull=True)
        .annotate(user_perms=_permission_labels("user"), group_perms=_permission_labels("group__user"))
        .order_by()
        .values(*names)
    )
    return statements.Statement.compile(queryset, _DIGEST)


_USERS: reuse.Reused[str, Any] = reuse.Reused(size=1024)


def user_for_token(secret: str) -> Any | None:
    """The active user of an unrevoked token, with their staff profile, org unit and permissions, in one query.

    The user is reused for up to a second (core.reuse, by the secret's digest): a revocation, a
    deactivation or a role change takes effect at once in the process that made it and within the second
    in the others. An unknown or revoked token is never kept. The permissions are handed to Django's
    ModelBackend as its per-user caches (the same sets it would load with two more queries); superusers
    keep Django's own path.
    """
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return _USERS.get(digest, lambda: _read_user(digest))


def _read_user(digest: str) -> Any | None:
    statement = _token_statement()
    row = statement.first(digest)
    if row is None or not row["user__is_active"]:
        return None
    at = now()
    if row["last_used_at"] is None or (at - row["last_used_at"]).total_seconds() > LAST_USED_EVERY_SECONDS:
        with transaction.atomic():
            ApiToken.objects.filter(pk=row["id"]).update(last_used_at=at)
    user_model = get_user_model()
    user = statements.instance(user_model, row, statement.alias, "user__")
    profile = statements.instance(StaffProfile, row, statement.alias, "user__staff__")
    if profile is not None:
        unit = statements.instance(OrgUnit, row, statement.alias, "user__staff__org_unit__")
        StaffProfile._meta.get_field("org_unit").set_cached_value(profile, unit)  # type: ignore[union-attr]
        StaffProfile._meta.get_field("user").set_cached_value(profile, user)  # type: ignore[union-attr]
    user_model._meta.get_field("staff").set_cached_value(user, profile)  # type: ignore[union-attr]
    if not user.is_superuser:
        own = set(row["user_perms"].split(",")) if row["user_perms"] else set()
        grouped = set(row["group_perms"].split(",")) if row["group_perms"] else set()
        user._user_perm_cache, user._group_perm_cache, user._perm_cache = own, grouped, own | grouped
    return user


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_token(token)
        if user is None:
            return None
        request.user = user
        return user
