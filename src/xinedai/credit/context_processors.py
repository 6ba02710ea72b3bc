"""Template context: whether the navigation shows the credit engine's configuration (credit.access decides)."""

from typing import Any

from .access import can_view_configuration


def configuration(request: Any) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_credit_configuration": can_view_configuration(user)}
