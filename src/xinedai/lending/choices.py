"""Repayment methods a schedule is built for: the product catalogue's codes and labels, reused, not redefined.

products.choices.RepaymentMethod is the one definition (value, Chinese label via translation: 等额本息,
等额本金, 按月付息到期还本, 利随本清, 随借随还); a product lists the methods it allows by these codes.
"""

from django.db import models
from django.utils.translation import pgettext_lazy

from xinedai.products.choices import RepaymentMethod

# Every method a drawdown can take. Revolving (随借随还) has a schedule too: interest by the day on the
# drawn balance, settled monthly, principal at maturity or any day before (lending.rules).
SCHEDULED_METHODS = (
    RepaymentMethod.ANNUITY,
    RepaymentMethod.EQUAL_PRINCIPAL,
    RepaymentMethod.INTEREST_ONLY,
    RepaymentMethod.BULLET,
    RepaymentMethod.REVOLVING,
)

__all__ = ["SCHEDULED_METHODS", "InstalmentStatus", "LoanStatus", "RepaymentMethod"]


class LoanStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("loan", "Active")
    SETTLED = "settled", pgettext_lazy("loan", "Settled")
    WRITTEN_OFF = "written_off", pgettext_lazy("loan", "Written off")


class InstalmentStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("instalment", "Pending")
    PAID = "paid", pgettext_lazy("instalment", "Paid")
    SUPERSEDED = "superseded", pgettext_lazy("instalment", "Replaced by a new schedule")
