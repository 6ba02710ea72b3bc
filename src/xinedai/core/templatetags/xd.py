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


@register.filter
def person(user: object) -> str:
    """`{{ user|person }}`: a staff member's display name, else the username; "—" for nobody."""
    if user is None:
        return "—"
    staff = getattr(user, "staff", None)
    return str(getattr(staff, "display_name", "") or getattr(user, "username", "") or "—")


@register.filter
def percent(share: float | None) -> str:
    """`{{ 0.0519|percent }}` → 5.2%: a share (0–1) as a percentage with one decimal."""
    return "—" if share is None else f"{share * 100:.1f}%"
