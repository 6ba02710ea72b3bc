"""Ledger kinds, sides and the chart of accounts' codes, defined once (docs/decisions/0007)."""

from django.db import models
from django.utils.translation import pgettext_lazy

# Labels carry the "ledger" context: "Credit" is 贷 here and 授信 in the credit pages.


class Side(models.IntegerChoices):
    """Debit or credit. Stored as +1 / −1 so that `side * amount_fen` is the signed amount."""

    DEBIT = 1, pgettext_lazy("ledger", "Debit")
    CREDIT = -1, pgettext_lazy("ledger", "Credit")


class AccountKind(models.TextChoices):
    ASSET = "asset", pgettext_lazy("ledger", "Asset")
    LIABILITY = "liability", pgettext_lazy("ledger", "Liability")
    EQUITY = "equity", pgettext_lazy("ledger", "Equity")
    INCOME = "income", pgettext_lazy("ledger", "Income")
    EXPENSE = "expense", pgettext_lazy("ledger", "Expense")
    # 表外科目: memo accounts (interest on non-accrual loans, owed but not income): balanced in pairs
    OFF_BALANCE = "off_balance", pgettext_lazy("ledger", "Off-balance")


class EntryKind(models.TextChoices):
    DISBURSEMENT = "disbursement", pgettext_lazy("ledger", "Disbursement")
    REPAYMENT = "repayment", pgettext_lazy("ledger", "Repayment")
    ACCRUAL = "accrual", pgettext_lazy("ledger", "Interest accrual")
    PENALTY = "penalty", pgettext_lazy("ledger", "Penalty interest accrual")
    WRITE_OFF = "write_off", pgettext_lazy("ledger", "Write-off")
    RECOVERY = "recovery", pgettext_lazy("ledger", "Recovery of a written-off loan")
    NON_ACCRUAL = "non_accrual", pgettext_lazy("ledger", "Non-accrual transfer")
    REVERSAL = "reversal", pgettext_lazy("ledger", "Reversal")


ENTRY_BADGE = {
    "disbursement": "blue",
    "repayment": "green",
    "accrual": "gray",
    "penalty": "amber",
    "write_off": "red",
    "recovery": "teal",
    "non_accrual": "orange",
    "reversal": "indigo",
}


class AccountCode:
    """The chart's account codes. Callers post with these constants and never type a code.

    Codes follow the financial-enterprise chart of accounts (一级科目 + two-digit 二级科目), so that the
    bank's general ledger can map them one to one. Adding an account is a data migration plus a line in
    CHART; a code, once used, never changes meaning.
    """

    LOAN_PRINCIPAL = "130301"  # 贷款—本金: normal and overdue alike (overdue is the loan's state)
    INTEREST_RECEIVABLE = "113201"  # 应收利息—贷款利息
    PENALTY_INTEREST_RECEIVABLE = "113202"  # 应收利息—罚息
    CUSTOMER_CLEARING = "300101"  # 清算资金往来—客户结算: to/from customers' deposit accounts
    INTEREST_INCOME = "601101"  # 利息收入—贷款利息收入
    PENALTY_INTEREST_INCOME = "601102"  # 利息收入—罚息收入
    LOAN_LOSS = "670101"  # 资产减值损失—贷款核销损失
    # Off-balance (表外): interest and penalty a non-accrual loan owes but the bank no longer books as income
    # (非应计贷款表外欠息), each against one contra account so that every entry still balances.
    OFF_BALANCE_INTEREST = "910101"  # 表外应收利息—贷款利息
    OFF_BALANCE_PENALTY = "910102"  # 表外应收利息—罚息
    # Written off (核销) but still owed: the bank keeps the claim off-balance and goes on recovering it (账销案存).
    WRITTEN_OFF_PRINCIPAL = "910201"  # 表外—已核销贷款本金
    OFF_BALANCE_CONTRA = "919901"  # 表外科目—对方科目


# (code, Chinese name, kind, normal side): the chart the loan book needs, seeded by migration 0002 and
# re-created after a test database is flushed (apps.LedgerConfig).
CHART: tuple[tuple[str, str, str, int], ...] = (
    (AccountCode.LOAN_PRINCIPAL, "贷款本金", AccountKind.ASSET, Side.DEBIT),
    (AccountCode.INTEREST_RECEIVABLE, "应收贷款利息", AccountKind.ASSET, Side.DEBIT),
    (AccountCode.PENALTY_INTEREST_RECEIVABLE, "应收罚息", AccountKind.ASSET, Side.DEBIT),
    (AccountCode.CUSTOMER_CLEARING, "客户结算清算往来", AccountKind.LIABILITY, Side.CREDIT),
    (AccountCode.INTEREST_INCOME, "贷款利息收入", AccountKind.INCOME, Side.CREDIT),
    (AccountCode.PENALTY_INTEREST_INCOME, "罚息收入", AccountKind.INCOME, Side.CREDIT),
    (AccountCode.LOAN_LOSS, "贷款核销损失", AccountKind.EXPENSE, Side.DEBIT),
    (AccountCode.OFF_BALANCE_INTEREST, "表外应收贷款利息", AccountKind.OFF_BALANCE, Side.DEBIT),
    (AccountCode.OFF_BALANCE_PENALTY, "表外应收罚息", AccountKind.OFF_BALANCE, Side.DEBIT),
    (AccountCode.WRITTEN_OFF_PRINCIPAL, "已核销贷款本金", AccountKind.OFF_BALANCE, Side.DEBIT),
    (AccountCode.OFF_BALANCE_CONTRA, "表外科目对方", AccountKind.OFF_BALANCE, Side.CREDIT),
)
