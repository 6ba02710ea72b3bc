"""Organisation: the bank's tree of units, grids, villages and staff."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import OrgKind, Role, VillageKind, VillageType


class OrgUnit(models.Model):
    """A head office, branch or outlet (支行/网点). `path` is the chain of codes used for scope checks."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=OrgKind.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=255, unique=True, editable=False)

    class Meta:
        ordering = ["path"]
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")
        permissions = [
            ("view_monitoring", "Can view the monitoring platform"),
            ("hand_over_grid", "Can hand a grid over to another account manager"),
            ("manage_staff", "Can manage staff roles and scopes"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.path = (self.parent.path if self.parent else "/") + f"{self.code}/"
        super().save(*args, **kwargs)


class Grid(models.Model):
    """A marketing territory (总网格, or 子网格 when it has a parent) under an outlet, owned by a manager."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    outlet = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="grids", verbose_name=_("outlet"))
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent grid"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_grids",
        verbose_name=_("account manager"),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("grid")
        verbose_name_plural = _("grids")

    def __str__(self) -> str:
        return self.name

    @property
    def is_sub_grid(self) -> bool:
        return self.parent_id is not None


class GridOwnership(models.Model):
    """Who owned a grid and when: hand-overs close one row and open the next, so history is kept."""

    grid = models.ForeignKey(Grid, on_delete=models.CASCADE, related_name="ownerships")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    handed_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["grid", "-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["grid"], condition=models.Q(ended_at__isnull=True), name="one_open_ownership_per_grid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.grid_id}: {self.manager_id} from {self.started_at:%Y-%m-%d}"


class Village(models.Model):
    """An administrative village (行政村) or urban community (社区) inside a grid, with a stable code."""

    code = models.CharField(_("village code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=VillageKind.choices, default=VillageKind.VILLAGE)
    village_type = models.CharField(_("economy"), max_length=16, choices=VillageType.choices, default=VillageType.CROPS)
    grid = models.ForeignKey(Grid, on_delete=models.PROTECT, related_name="villages", verbose_name=_("grid"))

    class Meta:
        ordering = ["code"]
        verbose_name = _("village")
        verbose_name_plural = _("villages")

    def __str__(self) -> str:
        return self.name


class StaffProfile(models.Model):
    """A staff member's role and org scope. The role's Django group carries its permissions."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="staff", verbose_name=_("org unit"))
    display_name = models.CharField(_("name"), max_length=50)
    employee_no = models.CharField(_("employee no."), max_length=20, unique=True)

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return f"{self.display_name} ({self.get_role_display()})"


class ApiToken(models.Model):
    """A staff API token. Only a SHA-256 of the secret is stored; the secret is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"
