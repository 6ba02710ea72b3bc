"""Product kinds and statuses, defined once: value, label (Chinese via translation), badge colour."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class GuaranteeType(models.TextChoices):
    CREDIT = "credit", _("Pure credit")
    GUARANTEE = "guarantee", _("Guarantee")
    PLEDGE = "pledge", _("Pledge")


GUARANTEE_BADGE = {"credit": "green", "guarantee": "blue", "pledge": "indigo"}


class EntryPoint(models.TextChoices):
    """Where a customer applies and draws. The cap-relevant channel is credit.choices.Channel."""

    MOBILE_BANKING = "mobile_banking", _("Mobile banking")
    WECHAT = "wechat", _("WeChat (Huiqingke)")
    OUTLET = "outlet", _("Outlet counter")


class RepaymentMethod(models.TextChoices):
    ANNUITY = "annuity", _("Equal instalments (annuity)")
    EQUAL_PRINCIPAL = "equal_principal", _("Equal principal")
    INTEREST_ONLY = "interest_only", _("Monthly interest, principal at maturity")
    BULLET = "bullet", _("Principal and interest at maturity")
    REVOLVING = "revolving", _("Revolving: draw and repay any time")


class RateKind(models.TextChoices):
    FIXED = "fixed", _("Fixed annual rate")
    LPR_SPREAD = "lpr_spread", _("LPR plus spread")


class LprTenor(models.TextChoices):
    ONE_YEAR = "1y", _("1-year LPR")
    FIVE_YEAR = "5y", _("5-year-plus LPR")


class VersionStatus(models.TextChoices):
    PROPOSED = "proposed", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


VERSION_BADGE = {"proposed": "amber", "approved": "green", "rejected": "red", "withdrawn": "gray"}

FAMILY_LABELS = {"xinedai": _("Xin e-Dai")}

TERM_LABELS = {
    "guarantee_type": _("Guarantee type"),
    "intake_modes": _("Intake modes"),
    "channels": _("Channels"),
    "entry_points": _("Entry points"),
    "min_amount_fen": _("Minimum amount"),
    "max_amount_fen": _("Maximum amount"),
    "min_term_months": _("Minimum term (months)"),
    "max_term_months": _("Maximum term (months)"),
    "repayment_methods": _("Repayment methods"),
    "rate_kind": _("Rate kind"),
    "annual_rate": _("Annual rate"),
    "lpr_tenor": _("LPR tenor"),
    "spread_bp": _("Spread (basis points)"),
    "segments": _("Target segments"),
    "effective_from": _("Effective from"),
    "effective_to": _("Effective to"),
}
