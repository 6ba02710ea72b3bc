"""Model features from household files: the columns a scorecard sees, for one household or a million.

Pure (numpy only). Amount features are whole yuan (int64): model inputs, never money arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

YUAN = 100

# name -> meaning; the trainer may use any subset, the demo history uses all of them.
FEATURES: dict[str, str] = {
    "age": "age of the head of household in whole years",
    "family_size": "people in the household",
    "segment": "primary customer segment",
    "annual_income_yuan": "annual income",
    "disposable_income_yuan": "annual income less annual expenses",
    "net_assets_yuan": "total assets less total liabilities",
    "debt_ratio_pct": "liabilities as a percentage of assets (999 when there are no assets)",
    "overdue_count_24m": "overdue times in the last 24 months",
    "inquiries_6m": "credit inquiries in the last 6 months",
    "existing_lines": "credit lines at other institutions",
    "current_overdue_yuan": "amount overdue now",
}

# The file fields the features are computed from (households.rules names).
NEEDED = (
    "total_assets_fen",
    "total_liabilities_fen",
    "annual_income_fen",
    "annual_expenses_fen",
    "credit_overdue_count_24m",
    "credit_inquiries_6m",
    "credit_existing_lines",
    "credit_current_overdue_fen",
)


def compute(columns: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Feature columns from arrays of file fields plus `age`, `family_size` and `segment`."""
    assets = np.asarray(columns["total_assets_fen"], dtype=np.int64)
    liabilities = np.asarray(columns["total_liabilities_fen"], dtype=np.int64)
    income = np.asarray(columns["annual_income_fen"], dtype=np.int64)
    expenses = np.asarray(columns["annual_expenses_fen"], dtype=np.int64)
    debt_ratio = np.where(assets > 0, liabilities * 100 // np.maximum(assets, 1), 999)
    return {
        "age": np.asarray(columns["age"], dtype=np.int64),
        "family_size": np.asarray(columns["family_size"], dtype=np.int64),
        "segment": np.asarray(columns["segment"], dtype=object),
        "annual_income_yuan": income // YUAN,
        "disposable_income_yuan": (income - expenses) // YUAN,
        "net_assets_yuan": (assets - liabilities) // YUAN,
        "debt_ratio_pct": np.minimum(debt_ratio, 999),
        "overdue_count_24m": np.asarray(columns["credit_overdue_count_24m"], dtype=np.int64),
        "inquiries_6m": np.asarray(columns["credit_inquiries_6m"], dtype=np.int64),
        "existing_lines": np.asarray(columns["credit_existing_lines"], dtype=np.int64),
        "current_overdue_yuan": np.asarray(columns["credit_current_overdue_fen"], dtype=np.int64) // YUAN,
    }


def primary_segment(segments: str) -> str:
    """The first segment code of a household's packed segments (',greenhouse,breeder,' → 'greenhouse')."""
    codes = [s for s in segments.split(",") if s]
    return codes[0] if codes else "other"
