"""Product read endpoint: the products in force on a business date, with their terms.

No `from __future__ import annotations` here: django-ninja reads the annotations at import time.
Amounts are integer fen; rates are decimal strings (fractions per year, "0.0465" = 4.65 %).
"""

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from xinedai.core.dates import business_today

from . import access, queries

router = Router(tags=["products"])


class ProductOut(Schema):
    code: str
    name: str
    family: str
    version: int
    guarantee_type: str
    intake_modes: list[str]
    channels: list[str] = Field(description="cap-relevant channels: online (200,000 RMB cap) or combined")
    entry_points: list[str]
    min_amount_fen: int
    max_amount_fen: int
    min_term_months: int
    max_term_months: int
    repayment_methods: list[str]
    rate_kind: str
    annual_rate: str | None = Field(description="the rate in force on the date, as a decimal string")
    lpr_tenor: str | None
    spread_bp: int | None
    segments: list[str] = Field(description="target segments; empty: every segment")
    effective_from: dt.date
    effective_to: dt.date | None


class CatalogueFilter(Schema):
    on: dt.date | None = Field(None, description="business date (default: today in Asia/Shanghai)")
    family: str | None = None
    segment: str | None = None


@router.get("", response=list[ProductOut], summary="Products in force on a business date")
def list_products(request: HttpRequest, filters: Query[CatalogueFilter]) -> list[ProductOut]:
    access.require_view(request.user)
    on = filters.on or business_today()
    out = []
    for product, v in queries.catalogue(on, family=filters.family, segment=filters.segment):
        rate = queries.rate_on(v, on)
        out.append(
            ProductOut(
                code=product.code,
                name=product.name,
                family=product.family,
                version=v.version,
                guarantee_type=v.guarantee_type,
                intake_modes=list(v.intake_modes),
                channels=list(v.channels),
                entry_points=list(v.entry_points),
                min_amount_fen=v.min_amount_fen,
                max_amount_fen=v.max_amount_fen,
                min_term_months=v.min_term_months,
                max_term_months=v.max_term_months,
                repayment_methods=list(v.repayment_methods),
                rate_kind=v.rate_kind,
                annual_rate=f"{rate.normalize():f}" if rate is not None else None,
                lpr_tenor=v.lpr_tenor or None,
                spread_bp=v.spread_bp,
                segments=list(v.segments),
                effective_from=v.effective_from,
                effective_to=v.effective_to,
            )
        )
    return out
