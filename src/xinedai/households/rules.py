"""Pure rules for household files: the file's fields, totals, version differences, three elements.

No Django here: these functions take and return plain values and are tested table by table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ASSET_FIELDS = (
    "asset_house_fen",
    "asset_land_fen",
    "asset_greenhouse_fen",
    "asset_livestock_fen",
    "asset_vehicle_fen",
    "asset_deposit_fen",
    "asset_equipment_fen",
    "asset_other_fen",
)
LIABILITY_FIELDS = ("liab_bank_fen", "liab_private_fen", "liab_other_fen")
INCOME_FIELDS = (
    "income_planting_fen",
    "income_breeding_fen",
    "income_business_fen",
    "income_wages_fen",
    "income_transfer_fen",
    "income_other_fen",
)
EXPENSE_FIELDS = ("expense_living_fen", "expense_production_fen", "expense_other_fen")
CREDIT_MONEY_FIELDS = ("credit_current_overdue_fen", "credit_existing_limit_fen")
CREDIT_COUNT_FIELDS = ("credit_overdue_count_24m", "credit_inquiries_6m", "credit_existing_lines")

MONEY_FIELDS = ASSET_FIELDS + LIABILITY_FIELDS + INCOME_FIELDS + EXPENSE_FIELDS + CREDIT_MONEY_FIELDS
FILE_FIELDS = MONEY_FIELDS + CREDIT_COUNT_FIELDS

GROUPS: dict[str, tuple[str, ...]] = {
    "assets": ASSET_FIELDS,
    "liabilities": LIABILITY_FIELDS,
    "income": INCOME_FIELDS,
    "expenses": EXPENSE_FIELDS,
    "credit": CREDIT_MONEY_FIELDS + CREDIT_COUNT_FIELDS,
}
# The "other" bucket of each group: roster totals not broken down by kind land here.
OTHER_FIELD = {
    "assets": "asset_other_fen",
    "liabilities": "liab_other_fen",
    "income": "income_other_fen",
    "expenses": "expense_other_fen",
}
TOTAL_FIELDS = {
    "assets": "total_assets_fen",
    "liabilities": "total_liabilities_fen",
    "income": "annual_income_fen",
    "expenses": "annual_expenses_fen",
}

# Upper bound of any one amount: 10 billion yuan. Beyond it an entry is a typo, not a household.
MAX_AMOUNT_FEN = 10_000_000_000 * 100
MAX_COUNT = 999


def totals(values: Mapping[str, int]) -> dict[str, int]:
    """Group totals of a file: total assets, liabilities, annual income and expenses (fen)."""
    return {TOTAL_FIELDS[g]: sum(int(values.get(f, 0) or 0) for f in GROUPS[g]) for g in TOTAL_FIELDS}


def derived(values: Mapping[str, int]) -> dict[str, int]:
    t = totals(values)
    return {
        **t,
        "net_assets_fen": t["total_assets_fen"] - t["total_liabilities_fen"],
        "disposable_income_fen": t["annual_income_fen"] - t["annual_expenses_fen"],
    }


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: int | None
    after: int | None

    @property
    def delta(self) -> int:
        return (self.after or 0) - (self.before or 0)

    @property
    def ratio(self) -> float | None:
        """Relative change, for display only (never money arithmetic)."""
        if not self.before:
            return None
        return self.delta / self.before


def diff(before: Mapping[str, int] | None, after: Mapping[str, int]) -> list[FieldChange]:
    """Fields whose value differs between two versions (first version: every non-zero field)."""
    keys = list(FILE_FIELDS) + list(TOTAL_FIELDS.values())
    # Totals always follow from the fields, whatever the caller passed.
    before = None if before is None else {**before, **totals(before)}
    after = {**after, **totals(after)}
    out = []
    for key in keys:
        b = None if before is None else int(before.get(key, 0) or 0)
        a = int(after.get(key, 0) or 0)
        if (b or 0) != a or (before is None and a):
            out.append(FieldChange(key, b, a))
    return out


def three_elements_complete(name: str | None, id_number: str | None, phone: str | None) -> bool:
    """Name, resident ID number and mobile number all known (三要素)."""
    return bool((name or "").strip() and (id_number or "").strip() and (phone or "").strip())


def check_amounts(values: Mapping[str, int]) -> dict[str, str]:
    """Field -> error code for amounts out of range."""
    errors = {}
    for f in MONEY_FIELDS:
        v = int(values.get(f, 0) or 0)
        if v < 0:
            errors[f] = "negative"
        elif v > MAX_AMOUNT_FEN:
            errors[f] = "too_large"
    for f in CREDIT_COUNT_FIELDS:
        v = int(values.get(f, 0) or 0)
        if v < 0:
            errors[f] = "negative"
        elif v > MAX_COUNT:
            errors[f] = "too_large"
    return errors


def spread_total(total_fen: int, details: Mapping[str, int], other_field: str) -> dict[str, int] | None:
    """Fill a group from a roster total and optional details: the rest goes to the group's 'other'.

    Returns None when the details add up to more than the total.
    """
    out = {k: int(v) for k, v in details.items()}
    detailed = sum(v for k, v in out.items() if k != other_field)
    if detailed > total_fen:
        return None
    out[other_field] = total_fen - detailed
    return out
