"""Pure product rules: amount caps by channel, term and rate checks, the rate on a date, version diffs.

No Django here. Money is integer fen; rates are Decimal fractions per year (0.0435 = 4.35 %).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

YUAN = 100
# 商业银行互联网贷款管理暂行办法 (2020): a single customer's internet loans stay within 200,000 RMB.
PURE_ONLINE_CAP_FEN = 200_000 * YUAN
# The case study's ceiling when online and offline are combined.
COMBINED_CAP_FEN = 300_000 * YUAN
ONLINE = "online"
COMBINED = "combined"
MAX_TERM_MONTHS = 360
# Policy ceiling for a product's annual rate: a typo guard (43.5 % instead of 4.35 %), not a price.
RATE_CEILING = Decimal("0.24")
BASIS_POINT = Decimal("0.0001")
LIST_FIELDS = ("intake_modes", "channels", "entry_points", "repayment_methods", "segments")
# Fields whose change moves money or limits: a change to any of them needs a second approver.
MONEY_FIELDS = (
    "guarantee_type",
    "intake_modes",
    "channels",
    "min_amount_fen",
    "max_amount_fen",
    "min_term_months",
    "max_term_months",
    "repayment_methods",
    "rate_kind",
    "annual_rate",
    "lpr_tenor",
    "spread_bp",
    "effective_from",
    "effective_to",
)


@dataclass(frozen=True)
class ProductTerms:
    """Everything a product version fixes. Lists are kept sorted so that equal terms compare equal."""

    guarantee_type: str
    intake_modes: tuple[str, ...]
    channels: tuple[str, ...]
    min_amount_fen: int
    max_amount_fen: int
    min_term_months: int
    max_term_months: int
    repayment_methods: tuple[str, ...]
    rate_kind: str
    effective_from: dt.date
    annual_rate: Decimal | None = None
    lpr_tenor: str = ""
    spread_bp: int | None = None
    entry_points: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()  # empty: every segment
    effective_to: dt.date | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for name in LIST_FIELDS:
            object.__setattr__(self, name, tuple(sorted(set(getattr(self, name)))))

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("extra")
        for name in LIST_FIELDS:
            out[name] = list(out[name])
        return out


@dataclass(frozen=True)
class Problem:
    """One reason terms are refused, tied to the field it concerns."""

    field: str
    code: str
    message_zh: str
    message_en: str


def product_cap_fen(channels: Iterable[str]) -> int:
    """The highest amount a product may offer: 200,000 RMB when it is sold only online, else 300,000."""
    chosen = set(channels)
    if chosen and chosen <= {ONLINE}:
        return PURE_ONLINE_CAP_FEN
    return COMBINED_CAP_FEN


def check_terms(terms: ProductTerms, allowed: Mapping[str, Iterable[str]]) -> list[Problem]:
    """Every problem with the terms, not just the first, so a form can show them all at once.

    `allowed` maps guarantee_type, rate_kind, lpr_tenor and the list fields to their valid values.
    """
    problems: list[Problem] = []

    def bad(field_name: str, code: str, zh: str, en: str) -> None:
        problems.append(Problem(field_name, code, zh, en))

    if terms.guarantee_type not in set(allowed.get("guarantee_type", ())):
        bad("guarantee_type", "guarantee_unknown", "担保方式无效", "Unknown guarantee type")
    required = {"intake_modes", "channels", "repayment_methods"}
    for name in LIST_FIELDS:
        values = getattr(terms, name)
        unknown = sorted(set(values) - set(allowed.get(name, ())))
        if unknown:
            bad(name, f"{name}_unknown", f"无效的取值:{', '.join(unknown)}", f"Unknown values: {', '.join(unknown)}")
        elif name in required and not values:
            bad(name, f"{name}_empty", "至少选择一项", "Choose at least one")
    if "small_credit" in terms.intake_modes and terms.guarantee_type != "credit":
        bad(
            "intake_modes",
            "small_credit_needs_pure_credit",
            "小额信用入库模式只适用于纯信用产品",
            "The small-credit intake mode is for pure-credit products only",
        )

    cap = product_cap_fen(terms.channels)
    if terms.min_amount_fen <= 0:
        bad("min_amount_fen", "min_amount_not_positive", "最低金额必须大于零", "The minimum amount must be above zero")
    if terms.max_amount_fen > cap:
        if cap == PURE_ONLINE_CAP_FEN:
            bad(
                "max_amount_fen",
                "above_online_cap",
                "纯线上产品最高金额不得超过20万元",
                "A pure-online product may not lend more than 200,000 RMB",
            )
        else:
            bad(
                "max_amount_fen",
                "above_combined_cap",
                "产品最高金额不得超过30万元",
                "A product may not lend more than 300,000 RMB",
            )
    if terms.min_amount_fen > terms.max_amount_fen:
        bad(
            "max_amount_fen",
            "amount_range_inverted",
            "最高金额不得低于最低金额",
            "The maximum amount is below the minimum",
        )

    if not 1 <= terms.min_term_months <= MAX_TERM_MONTHS:
        bad("min_term_months", "term_out_of_range", "期限须在1至360个月之间", "The term must be 1 to 360 months")
    if not 1 <= terms.max_term_months <= MAX_TERM_MONTHS:
        bad("max_term_months", "term_out_of_range", "期限须在1至360个月之间", "The term must be 1 to 360 months")
    elif terms.min_term_months > terms.max_term_months:
        bad(
            "max_term_months",
            "term_range_inverted",
            "最长期限不得短于最短期限",
            "The longest term is shorter than the shortest",
        )

    if terms.rate_kind == "fixed":
        if terms.annual_rate is None:
            bad("annual_rate", "rate_missing", "请填写年利率", "Give the annual rate")
        elif not Decimal(0) < terms.annual_rate <= RATE_CEILING:
            bad(
                "annual_rate",
                "rate_out_of_range",
                "年利率须大于0且不超过24%",
                "The annual rate must be above 0 and at most 24 %",
            )
    elif terms.rate_kind == "lpr_spread":
        if terms.lpr_tenor not in set(allowed.get("lpr_tenor", ())):
            bad("lpr_tenor", "lpr_tenor_missing", "请选择LPR期限品种", "Choose the LPR tenor")
        if terms.spread_bp is None:
            bad("spread_bp", "spread_missing", "请填写加点(基点)", "Give the spread in basis points")
        elif not -500 <= terms.spread_bp <= 2000:
            bad("spread_bp", "spread_out_of_range", "加点须在-500至2000基点之间", "The spread must be -500 to 2000 bp")
    else:
        bad("rate_kind", "rate_kind_unknown", "利率方式无效", "Unknown rate kind")

    if terms.effective_to is not None and terms.effective_to < terms.effective_from:
        bad("effective_to", "dates_inverted", "失效日不得早于生效日", "The end date is before the start date")
    return problems


def lpr_on(points: Sequence[tuple[dt.date, Decimal]], on: dt.date) -> Decimal | None:
    """The LPR in force on a date from (effective_on, rate) points sorted by date; None before the first."""
    dates = [d for d, _ in points]
    i = bisect.bisect_right(dates, on)
    return points[i - 1][1] if i else None


def rate_on(terms: ProductTerms, on: dt.date, lpr_points: Sequence[tuple[dt.date, Decimal]] = ()) -> Decimal | None:
    """The product's annual rate on a date: the fixed rate, or the LPR then in force plus the spread.

    Exact Decimal arithmetic (a basis point is 0.0001); None when the LPR is not known for that date.
    """
    if terms.rate_kind == "fixed":
        return terms.annual_rate
    base = lpr_on(lpr_points, on)
    if base is None or terms.spread_bp is None:
        return None
    return base + terms.spread_bp * BASIS_POINT


def covers(terms: ProductTerms, on: dt.date) -> bool:
    return terms.effective_from <= on and (terms.effective_to is None or on <= terms.effective_to)


def effective_index(starts: Sequence[tuple[dt.date, int]], on: dt.date) -> int | None:
    """Among approved versions given as (effective_from, version number), the index of the one in force.

    The version that started most recently on or before the date wins; on the same start date the higher
    version number wins. Whether it is still open (its effective_to) is the caller's check with covers().
    """
    best: int | None = None
    for i, (start, number) in enumerate(starts):
        if start <= on and (best is None or (start, number) > starts[best]):
            best = i
    return best


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for every field that differs; everything when there is no before."""
    if before is None:
        return [(k, None, v) for k, v in after.items()]
    return [(k, before.get(k), after[k]) for k in after if before.get(k) != after[k]]


def touches_money(changes: Iterable[tuple[str, Any, Any]]) -> bool:
    return any(name in MONEY_FIELDS for name, _, _ in changes)
