"""Admin building blocks: every save or delete made on a configuration screen writes an audit row."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from . import audit
from .models import AuditEntry


def _field_values(obj: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


class AuditedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose changes are audited in the same transaction (Django admin views are atomic)."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = None
        if change and obj.pk:
            previous = type(obj)._default_manager.filter(pk=obj.pk).first()
            before = _field_values(previous) if previous else None
        super().save_model(request, obj, form, change)
        after = _field_values(obj)
        if before is not None:
            keys = {k for k in after if before.get(k) != after.get(k)}
            before = {k: before[k] for k in keys}
            after = {k: after[k] for k in keys}
        label = obj._meta.label_lower
        audit.record(
            request.user,
            f"{label}.{'change' if change else 'create'}",
            obj,
            before=before,
            after=after,
            reason="admin",
            scope_path=self.scope_path_of(obj),
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit.record(
            request.user,
            f"{obj._meta.label_lower}.delete",
            obj,
            before=_field_values(obj),
            reason="admin",
            scope_path=self.scope_path_of(obj),
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    def scope_path_of(self, obj: Any) -> str:
        return ""


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail is read-only everywhere, the admin included."""

    list_display = ("at", "actor", "action", "object_type", "object_id", "object_repr")
    list_filter = ("action",)
    search_fields = ("object_id", "actor__username", "action")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
