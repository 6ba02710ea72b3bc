"""Organisation app: units, grids, villages, staff roles and scopes."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OrgConfig(AppConfig):
    name = "xinedai.org"
    label = "org"
    verbose_name = "Organisation"

    def ready(self) -> None:
        # Run after every app's migrate: an app's permissions exist only after its own post_migrate.
        post_migrate.connect(_sync_groups, dispatch_uid="xinedai.org.sync_role_groups")
        # An API token's user, profile and permissions are reused for a second (core.reuse).
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from xinedai.core.reuse import forget_when_changed

        from .models import ApiToken, OrgUnit, StaffProfile

        user = get_user_model()
        forget_when_changed(
            ApiToken,
            StaffProfile,
            OrgUnit,
            user,
            Group,
            m2m=(user.groups.through, user.user_permissions.through, Group.permissions.through),
        )


def _sync_groups(sender, **kwargs):  # type: ignore[no-untyped-def]
    from .services import sync_role_groups

    sync_role_groups(using=kwargs.get("using", "default"))
