"""The only way to list or act on products for a user: who may read, propose and approve.

The catalogue is bank-wide (every signed-in staff member reads it). Proposing and approving changes is
head-office work: administrators and head-office risk, or anyone granted the Django permission.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from xinedai.core.errors import NotFound, PermissionDenied
from xinedai.org.access import profile_of

from .choices import VersionStatus
from .models import Product, ProductVersion

PROPOSER_ROLES = frozenset({"administrator", "head_office_risk"})
APPROVER_ROLES = frozenset({"head_office_risk", "administrator"})


def _role(user: Any) -> str | None:
    profile = profile_of(user)
    return profile.role if profile is not None and user.is_active else None


def can_view(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or _role(user))


def can_propose(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or _role(user) in PROPOSER_ROLES or user.has_perm("products.propose_productversion"))


def can_approve(user: Any) -> bool:
    """Whether the user may approve at all; the service also refuses the maker of the version."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or _role(user) in APPROVER_ROLES or user.has_perm("products.approve_productversion"))


def require_view(user: Any) -> None:
    if not can_view(user):
        raise PermissionDenied("您没有查看产品目录的权限", "You may not read the product catalogue", code="forbidden")


def require_propose(user: Any) -> None:
    if not can_propose(user):
        raise PermissionDenied(
            "只有总行管理员或风险管理人员可以提交产品变更",
            "Only head-office administrators or risk staff may propose product changes",
            code="forbidden_propose",
        )


def require_approve(user: Any) -> None:
    if not can_approve(user):
        raise PermissionDenied(
            "只有总行风险管理人员或管理员可以审批产品变更",
            "Only head-office risk staff or administrators may approve product changes",
            code="forbidden_approve",
        )


def products_for(user: Any) -> QuerySet[Product]:
    require_view(user)
    return Product.objects.all()


def get_product(user: Any, code: str) -> Product:
    product = products_for(user).filter(code=code).first()
    if product is None:
        raise NotFound("产品不存在", "No such product", code="product_not_found")
    return product


def pending_for(user: Any) -> QuerySet[ProductVersion]:
    require_approve(user)
    return (
        ProductVersion.objects.filter(status=VersionStatus.PROPOSED)
        .select_related("product", "proposed_by__staff")
        .order_by("proposed_at", "id")
    )


def get_version(user: Any, pk: int) -> ProductVersion:
    require_view(user)
    version = ProductVersion.objects.select_related("product").filter(pk=pk).first()
    if version is None:
        raise NotFound("产品版本不存在", "No such product version", code="product_version_not_found")
    return version
