"""Configuration screens for the bank's administrators: org units, grids, villages, staff roles.

Grid owners change only through the hand-over page (which keeps the ownership history); roles only
through StaffProfile, which keeps the user's role group in step.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Group
from django.http import HttpRequest

from xinedai.core.admin import AuditedModelAdmin

from .choices import Role
from .models import ApiToken, Grid, GridOwnership, OrgUnit, StaffProfile, Village
from .services import role_group_name


@admin.register(OrgUnit)
class OrgUnitAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "kind", "parent", "path")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    readonly_fields = ("path",)

    def scope_path_of(self, obj: Any) -> str:
        return str(obj.path)


class OwnershipInline(admin.TabularInline):
    model = GridOwnership
    extra = 0
    can_delete = False
    readonly_fields = ("manager", "started_at", "ended_at", "handed_over_by", "reason")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Grid)
class GridAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "outlet", "parent", "owner")
    list_filter = ("outlet",)
    search_fields = ("code", "name")
    readonly_fields = ("owner",)
    inlines = [OwnershipInline]

    def scope_path_of(self, obj: Any) -> str:
        return str(obj.outlet.path)


@admin.register(Village)
class VillageAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "kind", "village_type", "grid")
    list_filter = ("kind", "village_type")
    search_fields = ("code", "name")

    def scope_path_of(self, obj: Any) -> str:
        return str(obj.grid.outlet.path)


@admin.register(StaffProfile)
class StaffProfileAdmin(AuditedModelAdmin):
    list_display = ("display_name", "user", "role", "org_unit", "employee_no")
    list_filter = ("role", "org_unit")
    search_fields = ("display_name", "user__username", "employee_no")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        user = obj.user
        user.groups.set([Group.objects.get(name=role_group_name(obj.role))])
        user.is_staff = obj.role == Role.ADMINISTRATOR
        user.save(update_fields=["is_staff"])

    def scope_path_of(self, obj: Any) -> str:
        return str(obj.org_unit.path)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued with `xinedai issue-token`; here they can only be seen and revoked."""

    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "name", "prefix", "digest", "created_at", "last_used_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
