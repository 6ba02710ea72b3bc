"""Product read models: the version in force on a business date, the catalogue on a date, rates on a date."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from decimal import Decimal

from xinedai.core import reuse, statements

from . import rules
from .choices import VersionStatus
from .models import LprRate, Product, ProductVersion


def _in_force(versions: list[ProductVersion], on: dt.date) -> ProductVersion | None:
    i = rules.effective_index([(v.effective_from, v.version) for v in versions], on)
    if i is None or not versions[i].covers(on):
        return None
    return versions[i]


def effective_version(product: Product, on: dt.date) -> ProductVersion | None:
    """The approved version of a product in force on a business date, or None (not yet, or withdrawn)."""
    versions = list(
        ProductVersion.objects.filter(product=product, status=VersionStatus.APPROVED, effective_from__lte=on)
    )
    return _in_force(versions, on)


_CODE = statements.Marker("<product code>")
_TENOR = statements.Marker("<lpr tenor>")


@functools.cache
def _versions_statement() -> statements.Statement:
    queryset = ProductVersion.objects.filter(product__code=_CODE.value, status=VersionStatus.APPROVED)
    return statements.Statement.compile(queryset.order_by().values(*statements.columns(ProductVersion)), _CODE)


# A product's approved versions and the LPR fixings are reused for up to a second (core.reuse): an approval
# or a new fixing applies at once in the process that saved it, within the second in the others.
_VERSIONS: reuse.Reused[str, list[ProductVersion]] = reuse.Reused(size=64)
_LPR: reuse.Reused[str, list[tuple[dt.date, Decimal]]] = reuse.Reused(size=8)


def approved_versions(code: str) -> list[ProductVersion]:
    """A product's approved versions, whatever their dates (none for an unknown product), for the hot
    paths (a decision, a drawdown): one query, compiled once per process and prepared on PostgreSQL
    (core.statements), its rows reused for up to a second (core.reuse)."""
    statement = _versions_statement()
    versions = _VERSIONS.get(
        code, lambda: [statements.instance(ProductVersion, row, statement.alias) for row in statement.rows(code)]
    )
    return versions or []


def version_in_force(code: str, on: dt.date) -> ProductVersion | None:
    """effective_version() by product code, for the hot paths. None for an unknown product as for one not
    on sale."""
    return _in_force(approved_versions(code), on)


def catalogue(
    on: dt.date, *, family: str | None = None, segment: str | None = None
) -> list[tuple[Product, ProductVersion]]:
    """Products in force on a date with their version, optionally for one family or customer segment.

    A version without target segments serves every segment. Two queries whatever the catalogue's size.
    """
    qs = Product.objects.all()
    if family:
        qs = qs.filter(family=family)
    by_product: dict[int, list[ProductVersion]] = defaultdict(list)
    for v in ProductVersion.objects.filter(
        product__in=qs, status=VersionStatus.APPROVED, effective_from__lte=on
    ).order_by("product_id", "version"):
        by_product[v.product_id].append(v)
    out: list[tuple[Product, ProductVersion]] = []
    for product in qs.order_by("family", "code"):
        version = _in_force(by_product.get(product.pk, []), on)
        if version is None:
            continue
        if segment and version.segments and segment not in version.segments:
            continue
        out.append((product, version))
    return out


@functools.cache
def _lpr_statement() -> statements.Statement:
    queryset = LprRate.objects.filter(tenor=_TENOR.value).order_by("effective_on").values("effective_on", "rate")
    return statements.Statement.compile(queryset, _TENOR)


def lpr_points(tenor: str) -> list[tuple[dt.date, Decimal]]:
    """The LPR fixings of a tenor, oldest first. Reused for up to a second (core.reuse), like the versions."""
    points = _LPR.get(
        tenor, lambda: [(row["effective_on"], Decimal(row["rate"])) for row in _lpr_statement().rows(tenor)]
    )
    return list(points or [])


def rate_on(version: ProductVersion, on: dt.date) -> Decimal | None:
    """The version's annual rate on a date (fixed, or LPR in force that day plus the spread)."""
    points = lpr_points(version.lpr_tenor) if version.rate_kind == "lpr_spread" else []
    return rules.rate_on(version.terms(), on, points)


def latest_version(product: Product) -> ProductVersion | None:
    return ProductVersion.objects.filter(product=product).order_by("-version").first()
