"""Repayment methods a schedule is built for: the product catalogue's codes and labels, reused, not redefined.

products.choices.RepaymentMethod is the one definition (value, Chinese label via translation: 等额本息,
等额本金, 按月付息到期还本, 利随本清, 随借随还); a product lists the methods it allows by these codes.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from xinedai.products.choices import RepaymentMethod

# Revolving lines (随借随还) accrue interest by the day on the drawn balance and have no schedule.
SCHEDULED_METHODS = (
    RepaymentMethod.ANNUITY,
    RepaymentMethod.EQUAL_PRINCIPAL,
    RepaymentMethod.INTEREST_ONLY,
    RepaymentMethod.BULLET,
)

__all__ = ["SCHEDULED_METHODS", "InstalmentStatus", "LoanStatus", "RepaymentMethod"]


class LoanStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SETTLED = "settled", _("Settled")
    WRITTEN_OFF = "written_off", _("Written off")


class InstalmentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    SUPERSEDED = "superseded", _("Replaced by a new schedule")
