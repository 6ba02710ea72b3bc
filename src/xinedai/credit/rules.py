"""Pure credit rules: grades, the limit strategy with its binding constraint, small credit, change guard.

No Django here. Every function works on numpy arrays so that one household and a million go through
the same code; money is integer fen (int64) throughout and multiples are exact fractions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

YUAN = 100
PURE_ONLINE_CAP_FEN = 200_000 * YUAN  # 商业银行互联网贷款管理暂行办法 (2020): single customer, online
COMBINED_CAP_FEN = 300_000 * YUAN  # online + offline, per customer across all products

# Binding constraints, in the order ties are reported.
CONSTRAINTS = ("product_cap", "channel_cap", "net_assets", "disposable_income", "grade_cap", "exposure", "decline")
CONSTRAINT_CODE = {name: i for i, name in enumerate(CONSTRAINTS)}


def _fraction(value: Any) -> Fraction:
    f = Fraction(Decimal(str(value)))
    if f < 0:
        raise ValueError("multiples are not negative")
    return f


@dataclass(frozen=True)
class StrategyParams:
    """The limit strategy's parameters: data the bank edits (with a second approver), not code."""

    grade_cutoffs: tuple[tuple[str, int], ...]  # (grade, minimum score), best first; below all: declined
    grade_caps_fen: Mapping[str, int]
    net_assets_multiple: Fraction
    disposable_income_multiple: Fraction
    step_fen: int = 1_000 * YUAN
    min_limit_fen: int = 5_000 * YUAN
    channel_caps_fen: Mapping[str, int] = field(
        default_factory=lambda: {"online": PURE_ONLINE_CAP_FEN, "combined": COMBINED_CAP_FEN}
    )
    # small credit (小额信用) for thin files
    small_cap_fen: int = 50_000 * YUAN
    small_income_multiple: Fraction = Fraction(1)
    small_max_overdue_24m: int = 1
    # key-information change guard (虚增授信额度)
    guard_ratio: Fraction = Fraction(1, 2)  # a change of more than 50 % …
    guard_min_fen: int = 50_000 * YUAN  # … and more than 50,000 yuan …
    guard_window_days: int = 90  # … within 90 days, without a new supporting document

    def __post_init__(self) -> None:
        scores = [s for _, s in self.grade_cutoffs]
        if scores != sorted(scores, reverse=True):
            raise ValueError("grade cut-offs run from the best grade down")
        if {g for g, _ in self.grade_cutoffs} - set(self.grade_caps_fen):
            raise ValueError("every grade needs a cap")
        if self.step_fen <= 0 or self.min_limit_fen < 0:
            raise ValueError("the step is positive and the minimum limit not negative")
        for name, cap in self.channel_caps_fen.items():
            if cap > COMBINED_CAP_FEN or (name == "online" and cap > PURE_ONLINE_CAP_FEN):
                raise ValueError(f"the {name} cap exceeds the regulatory cap")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StrategyParams:
        return cls(
            grade_cutoffs=tuple((str(g), int(s)) for g, s in data["grade_cutoffs"]),
            grade_caps_fen={str(k): int(v) for k, v in data["grade_caps_fen"].items()},
            net_assets_multiple=_fraction(data["net_assets_multiple"]),
            disposable_income_multiple=_fraction(data["disposable_income_multiple"]),
            step_fen=int(data.get("step_fen", 1_000 * YUAN)),
            min_limit_fen=int(data.get("min_limit_fen", 5_000 * YUAN)),
            channel_caps_fen={
                str(k): int(v)
                for k, v in data.get(
                    "channel_caps_fen", {"online": PURE_ONLINE_CAP_FEN, "combined": COMBINED_CAP_FEN}
                ).items()
            },
            small_cap_fen=int(data.get("small_cap_fen", 50_000 * YUAN)),
            small_income_multiple=_fraction(data.get("small_income_multiple", "1")),
            small_max_overdue_24m=int(data.get("small_max_overdue_24m", 1)),
            guard_ratio=_fraction(data.get("guard_ratio", "0.5")),
            guard_min_fen=int(data.get("guard_min_fen", 50_000 * YUAN)),
            guard_window_days=int(data.get("guard_window_days", 90)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "grade_cutoffs": [list(x) for x in self.grade_cutoffs],
            "grade_caps_fen": dict(self.grade_caps_fen),
            "net_assets_multiple": str(
                Decimal(self.net_assets_multiple.numerator) / self.net_assets_multiple.denominator
            ),
            "disposable_income_multiple": str(
                Decimal(self.disposable_income_multiple.numerator) / self.disposable_income_multiple.denominator
            ),
            "step_fen": self.step_fen,
            "min_limit_fen": self.min_limit_fen,
            "channel_caps_fen": dict(self.channel_caps_fen),
            "small_cap_fen": self.small_cap_fen,
            "small_income_multiple": str(
                Decimal(self.small_income_multiple.numerator) / self.small_income_multiple.denominator
            ),
            "small_max_overdue_24m": self.small_max_overdue_24m,
            "guard_ratio": str(Decimal(self.guard_ratio.numerator) / self.guard_ratio.denominator),
            "guard_min_fen": self.guard_min_fen,
            "guard_window_days": self.guard_window_days,
        }


DEFAULT_PARAMS = StrategyParams(
    grade_cutoffs=(("A", 680), ("B", 640), ("C", 600), ("D", 560)),
    grade_caps_fen={"A": 300_000 * YUAN, "B": 200_000 * YUAN, "C": 100_000 * YUAN, "D": 30_000 * YUAN},
    net_assets_multiple=Fraction(1, 2),
    disposable_income_multiple=Fraction(3),
)


def grades(scores: np.ndarray, params: StrategyParams) -> np.ndarray:
    """Grade index per score: 0 for the best grade, len(cut-offs) for declined."""
    cut = np.asarray([s for _, s in params.grade_cutoffs], dtype=np.int64)
    # number of cut-offs the score does NOT reach = grade index (cut-offs run high to low)
    return (np.asarray(scores, dtype=np.int64)[:, None] < cut[None, :]).sum(axis=1)


def grade_names(params: StrategyParams) -> list[str]:
    return [g for g, _ in params.grade_cutoffs] + ["declined"]


def _times(amounts: np.ndarray, multiple: Fraction) -> np.ndarray:
    """Exact floor(amount × multiple) in integer fen; negative amounts count as nothing."""
    base = np.maximum(amounts, 0).astype(np.int64)
    return (base * multiple.numerator) // multiple.denominator


@dataclass
class Limits:
    limit_fen: np.ndarray  # int64, 0 when declined
    grade: np.ndarray  # index into grade_names(params)
    binding: np.ndarray  # index into CONSTRAINTS
    candidates: dict[str, np.ndarray]


def model_limits(
    scores: np.ndarray,
    *,
    net_assets_fen: np.ndarray,
    disposable_income_fen: np.ndarray,
    exposure_fen: np.ndarray,
    product_cap_fen: np.ndarray | int,
    channel: str,
    params: StrategyParams,
) -> Limits:
    """Limit = what the customer can carry — the smallest of channel cap, net-assets multiple,
    disposable-income multiple and grade cap — less their existing exposure across all products (their
    lines of other products), and at most the product's own cap; rounded down to the step.

    The product cap bounds this product's line only: another product's line reduces what the customer
    can carry, not what this product may lend. A result below the minimum limit, or a declined grade,
    gives 0 with the binding constraint saying why.
    """
    n = len(scores)
    g = grades(scores, params)
    caps_by_grade = np.asarray([params.grade_caps_fen[name] for name, _ in params.grade_cutoffs] + [0], dtype=np.int64)
    candidates = {
        "product_cap": np.broadcast_to(np.asarray(product_cap_fen, dtype=np.int64), (n,)),
        "channel_cap": np.full(n, params.channel_caps_fen[channel], dtype=np.int64),
        "net_assets": _times(np.asarray(net_assets_fen), params.net_assets_multiple),
        "disposable_income": _times(np.asarray(disposable_income_fen), params.disposable_income_multiple),
        "grade_cap": caps_by_grade[g],
    }
    customer = np.vstack([candidates[c] for c in CONSTRAINTS[1:5]])
    exposure = np.maximum(np.asarray(exposure_fen, dtype=np.int64), 0)
    after = customer.min(axis=0) - exposure
    product_binds = candidates["product_cap"] <= after  # ties go to the product cap, as before
    ceiling = np.where(product_binds, candidates["product_cap"], after)
    binding = np.where(product_binds, CONSTRAINT_CODE["product_cap"], customer.argmin(axis=0) + 1)
    limit = (np.maximum(ceiling, 0) // params.step_fen) * params.step_fen
    binding = np.where((exposure > 0) & (ceiling < params.min_limit_fen), CONSTRAINT_CODE["exposure"], binding)
    declined = g == len(params.grade_cutoffs)
    binding = np.where(declined, CONSTRAINT_CODE["decline"], binding)
    limit = np.where(declined | (limit < params.min_limit_fen), 0, limit)
    return Limits(limit_fen=limit, grade=g, binding=binding, candidates=candidates)


def small_credit_limits(
    *,
    disposable_income_fen: np.ndarray,
    exposure_fen: np.ndarray,
    current_overdue_fen: np.ndarray,
    overdue_count_24m: np.ndarray,
    three_elements_complete: np.ndarray,
    params: StrategyParams,
    product_cap_fen: int | None = None,
) -> tuple[np.ndarray, list[list[str]]]:
    """小额信用: small lines on a simplified rule set for thin files. Returns limits and refusal reasons.

    As for model lines: the smallest of the customer caps (small cap, income multiple, online channel
    cap) less the exposure on other products, bounded by this product's own cap, floored to the step."""
    n = len(disposable_income_fen)
    reasons: list[list[str]] = [[] for _ in range(n)]
    for i in np.flatnonzero(np.asarray(current_overdue_fen) > 0):
        reasons[i].append("current_overdue")
    for i in np.flatnonzero(np.asarray(overdue_count_24m) > params.small_max_overdue_24m):
        reasons[i].append("overdue_history")
    for i in np.flatnonzero(~np.asarray(three_elements_complete, dtype=bool)):
        reasons[i].append("three_elements_incomplete")
    cap = np.minimum(params.small_cap_fen, _times(np.asarray(disposable_income_fen), params.small_income_multiple))
    cap = np.minimum(cap, params.channel_caps_fen["online"]) - np.maximum(np.asarray(exposure_fen, dtype=np.int64), 0)
    if product_cap_fen is not None:
        cap = np.minimum(cap, product_cap_fen)
    limit = (np.maximum(cap, 0) // params.step_fen) * params.step_fen
    for i in np.flatnonzero(limit < params.min_limit_fen):
        if not reasons[i]:
            reasons[i].append("below_minimum")
    refused = np.asarray([bool(r) for r in reasons], dtype=bool)
    return np.where(refused, 0, limit), reasons


GUARDED = ("total_assets_fen", "annual_income_fen", "total_liabilities_fen")


def change_guard(
    before: Mapping[str, int],
    after: Mapping[str, int],
    *,
    days_between: int,
    new_document: bool,
    params: StrategyParams,
) -> list[dict[str, Any]]:
    """Sharp changes of key figures in a short window without new evidence (the case study's 虚增授信额度).

    Returns the triggered items; empty means the new file may raise a limit automatically.
    """
    if new_document or days_between > params.guard_window_days:
        return []
    items = []
    for key in GUARDED:
        b, a = int(before.get(key, 0)), int(after.get(key, 0))
        delta = a - b
        # Liabilities matter when they fall (they raise the limit); assets and income when they rise.
        moved = -delta if key == "total_liabilities_fen" else delta
        if moved <= params.guard_min_fen:
            continue
        if b > 0 and Fraction(moved, b) <= params.guard_ratio:
            continue
        items.append({"field": key, "before": b, "after": a, "delta": delta})
    return items


def staff_pattern(raises_by_manager: Mapping[str, int], *, threshold: int) -> list[str]:
    """Account managers who raised many households' key figures in the window (a staff-side pattern)."""
    return sorted(m for m, n in raises_by_manager.items() if n >= threshold)


def binding_names(codes: Sequence[int] | np.ndarray) -> list[str]:
    return [CONSTRAINTS[int(c)] for c in codes]
