"""Repayment methods a schedule is built for: the product catalogue's codes and labels, reused, not redefined.

products.choices.RepaymentMethod is the one definition (value, Chinese label via translation: 等额本息,
等额本金, 按月付息到期还本, 利随本清, 随借随还); a product lists the methods it allows by these codes.
"""

from xinedai.products.choices import RepaymentMethod

# Revolving lines (随借随还) accrue interest by the day on the drawn balance and have no schedule.
SCHEDULED_METHODS = (
    RepaymentMethod.ANNUITY,
    RepaymentMethod.EQUAL_PRINCIPAL,
    RepaymentMethod.INTEREST_ONLY,
    RepaymentMethod.BULLET,
)

__all__ = ["SCHEDULED_METHODS", "RepaymentMethod"]
