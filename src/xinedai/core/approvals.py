"""Maker ≠ checker: the one check that a second person approves what the first one made."""

from __future__ import annotations

from typing import Any

from .errors import PermissionDenied


def require_second_person(actor: Any, maker_id: int | None, *, what_zh: str, what_en: str) -> None:
    """Refuse an approval by nobody, or by the person who made the thing approved."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise PermissionDenied("审批需要实名操作员", "An approval needs a signed-in approver", code="approver_required")
    if maker_id is not None and maker_id == actor.pk:
        raise PermissionDenied(
            f"不能审批自己提交的{what_zh}",
            f"You cannot approve the {what_en} you made yourself",
            code="maker_is_checker",
        )
