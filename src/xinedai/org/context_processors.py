"""Template context: the signed-in staff member's profile and what the navigation may show."""

from .access import profile_of


def staff(request):  # type: ignore[no-untyped-def]
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "staff_profile": profile_of(user),
        "nav": {
            "households": user.has_perm("households.view_household"),
            "import": user.has_perm("households.import_households"),
            "monitoring": user.has_perm("org.view_monitoring"),
            "audit": user.has_perm("core.view_auditentry"),
        },
    }
