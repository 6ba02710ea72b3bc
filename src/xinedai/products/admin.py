"""Configuration screens: product names and descriptions, and the LPR table (every save audited).

Terms are read-only here: they change only through a proposed version and a second approver.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from xinedai.core.admin import AuditedModelAdmin

from .models import LprRate, Product, ProductVersion


class VersionInline(admin.TabularInline):
    model = ProductVersion
    extra = 0
    can_delete = False
    fields = ("version", "status", "effective_from", "effective_to", "min_amount_fen", "max_amount_fen", "rate_kind")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "family")
    search_fields = ("code", "name")
    readonly_fields = ("code", "family", "created_at", "created_by")
    fields = ("code", "name", "family", "description", "created_at", "created_by")
    inlines = [VersionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # new products go through the propose page and a second approver

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LprRate)
class LprRateAdmin(AuditedModelAdmin):
    list_display = ("tenor", "effective_on", "rate")
    list_filter = ("tenor",)
    fields = ("tenor", "effective_on", "rate")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        from xinedai.core.dates import now

        if not obj.created_at:
            obj.created_at, obj.created_by = now(), request.user
        super().save_model(request, obj, form, change)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
