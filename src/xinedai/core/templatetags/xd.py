"""Template filters: money in fen shown as yuan, percentages, dict lookups."""

from django import template

from xinedai.core.money import format_wan, format_yuan

register = template.Library()


@register.filter
def yuan(fen: int | None) -> str:
    return format_yuan(fen)


@register.filter
def wan(fen: int | None) -> str:
    return format_wan(fen)


@register.filter
def pct(part: int | None, whole: int | None) -> str:
    if not whole:
        return "—"
    return f"{(part or 0) * 100 / whole:.1f}%"


@register.filter
def get_item(mapping: dict | None, key: object) -> object:
    """`{{ names|get_item:code }}`: a dict lookup in a template (None when absent)."""
    return (mapping or {}).get(key)
