"""Masking of personal information: one pattern per field, used by pages, API, exports and logs.

Patterns (domain.md; JR/T 0171-2020): phone 138****1234; resident ID shows only its first and last
characters (so neither the birth date nor the place); a name keeps only the surname.
"""

from __future__ import annotations

# Two-character surnames that stay whole when a name is masked (the common ones in Shandong registers).
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "令狐",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "轩辕",
        "端木",
        "申屠",
    }
)


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    v = str(value)
    if len(v) < 7:
        return "*" * len(v)
    return f"{v[:3]}{'*' * (len(v) - 7)}{v[-4:]}"


def mask_id_number(value: str | None) -> str:
    if not value:
        return ""
    v = str(value)
    if len(v) <= 2:
        return "*" * len(v)
    return f"{v[0]}{'*' * (len(v) - 2)}{v[-1]}"


def mask_name(value: str | None) -> str:
    if not value:
        return ""
    v = str(value)
    surname_len = 2 if v[:2] in COMPOUND_SURNAMES and len(v) > 2 else 1
    if not any("\u4e00" <= ch <= "\u9fff" for ch in v):
        # Latin names: keep the first letter of each word.
        return " ".join(w[0] + "*" * (len(w) - 1) for w in v.split())
    return v[:surname_len] + "*" * max(len(v) - surname_len, 1)


MASKERS = {"phone": mask_phone, "id_number": mask_id_number, "name": mask_name}
PII_FIELDS = {
    "phone": "phone",
    "mobile": "phone",
    "id_number": "id_number",
    "head_id_number": "id_number",
    # "name" alone is not here: villages, grids and staff have names too. People's names travel as these.
    "member_name": "name",
    "head_name": "name",
}


def mask_value(kind: str, value: str | None) -> str:
    return MASKERS[kind](value)


def mask_mapping(data: dict | None) -> dict | None:
    """Mask the personal fields of a flat mapping (audit before/after, log payloads)."""
    if data is None:
        return None
    out = {}
    for key, value in data.items():
        kind = PII_FIELDS.get(key)
        out[key] = mask_value(kind, value) if kind and isinstance(value, str) else value
    return out
