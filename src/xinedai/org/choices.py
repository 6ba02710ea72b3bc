"""Organisation kinds and staff roles: value, label (Chinese via translation), badge colour; defined once."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrgKind(models.TextChoices):
    HEAD_OFFICE = "head_office", _("Head office")
    BRANCH = "branch", _("Branch")
    OUTLET = "outlet", _("Outlet")


class VillageKind(models.TextChoices):
    VILLAGE = "village", _("Administrative village")
    COMMUNITY = "community", _("Community")


class VillageType(models.TextChoices):
    """Economic profile of a village; drives the demo's segment mix and the bank's 一行一策 strategy."""

    GREENHOUSE = "greenhouse", _("Greenhouse farming")
    LIVESTOCK = "livestock", _("Livestock")
    CROPS = "crops", _("Field crops")
    COASTAL = "coastal", _("Coastal / fishing")
    TOWN = "town", _("Market town")
    URBAN = "urban", _("Urban community")


class Role(models.TextChoices):
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    CREDIT_OFFICER = "credit_officer", _("Credit officer")
    OUTLET_MANAGER = "outlet_manager", _("Outlet manager")
    BRANCH_MANAGER = "branch_manager", _("Branch manager")
    HEAD_OFFICE_RISK = "head_office_risk", _("Head-office risk")
    ADMINISTRATOR = "administrator", _("Administrator")
    AUDITOR = "auditor", _("Auditor")


ROLE_BADGE = {
    Role.ACCOUNT_MANAGER: "blue",
    Role.CREDIT_OFFICER: "teal",
    Role.OUTLET_MANAGER: "indigo",
    Role.BRANCH_MANAGER: "purple",
    Role.HEAD_OFFICE_RISK: "red",
    Role.ADMINISTRATOR: "gray",
    Role.AUDITOR: "orange",
}

# Django permissions each role's group holds ("app_label.codename"). A bank may grant more per user.
ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.ACCOUNT_MANAGER: {
        "households.view_household",
        "households.change_household",
        "households.add_household",
        "households.reveal_pii",
        "households.import_households",
    },
    Role.CREDIT_OFFICER: {
        "households.view_household",
        "households.reveal_pii",
        "org.view_monitoring",
        "credit.review_application",
        "servicing.request_classification",
        "servicing.request_write_off",
    },
    Role.OUTLET_MANAGER: {
        "households.view_household",
        "households.change_household",
        "households.add_household",
        "households.import_households",
        "org.view_monitoring",
        "org.hand_over_grid",
        "lending.reverse_repayment",  # the outlet's supervisor authorises a same-day correction (冲正)
    },
    Role.BRANCH_MANAGER: {
        "households.view_household",
        "org.view_monitoring",
        "org.hand_over_grid",
        "lending.reverse_repayment",
        "servicing.request_classification",
        "servicing.approve_classification",
        "servicing.request_write_off",
    },
    Role.HEAD_OFFICE_RISK: {
        "households.view_household",
        "households.reveal_pii",
        "org.view_monitoring",
        "core.view_auditentry",
        "credit.review_application",
        "credit.approve_scoremodel",
        "credit.approve_limitstrategy",
        "credit.propose_limitstrategy",
        "products.propose_productversion",
        "products.approve_productversion",
        "servicing.request_classification",
        "servicing.approve_classification",
        "servicing.request_write_off",
        "servicing.approve_write_off",
    },
    Role.ADMINISTRATOR: {
        "households.view_household",
        "households.import_households",
        "org.view_monitoring",
        "org.hand_over_grid",
        "org.manage_staff",
        "core.view_auditentry",
        # configuration screens (Django admin at /django-admin/); each save there is audited
        *(
            f"org.{action}_{model}"
            for action in ("view", "add", "change")
            for model in ("orgunit", "grid", "village", "staffprofile")
        ),
        "org.view_apitoken",
        "org.change_apitoken",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "credit.approve_scoremodel",
        "credit.approve_limitstrategy",
        "products.propose_productversion",
        "products.approve_productversion",
        "products.view_product",
        "products.view_productversion",
        "products.view_lprrate",
        "products.add_lprrate",
    },
    Role.AUDITOR: {"households.view_household", "org.view_monitoring", "core.view_auditentry"},
}

# Roles whose scope is the grids they own rather than an org unit.
GRID_SCOPED_ROLES = {Role.ACCOUNT_MANAGER}
