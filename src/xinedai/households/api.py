"""Household read endpoints: scoped through access.py and masked exactly like the pages.

No `from __future__ import annotations` here: django-ninja reads the annotations at import time.
"""

import datetime as dt

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from xinedai.core.masking import mask_id_number, mask_name, mask_phone

from . import access
from .models import Household

router = Router(tags=["households"])


class FileOut(Schema):
    version: int
    created_at: dt.datetime
    reason: str
    total_assets_fen: int
    total_liabilities_fen: int
    annual_income_fen: int
    annual_expenses_fen: int
    net_assets_fen: int
    disposable_income_fen: int


class FileDetailOut(FileOut):
    values_fen: dict[str, int]


class MemberOut(Schema):
    id: int
    name: str = Field(description="masked: surname kept")
    id_number: str | None = Field(description="masked: first and last characters only")
    phone: str | None = Field(description="masked: 138****1234")
    relation: str
    birth_year: int | None
    three_elements_complete: bool


class HouseholdOut(Schema):
    id: int
    code: str
    head_name: str = Field(description="masked: surname kept")
    village_code: str
    village_name: str
    grid_code: str
    outlet_code: str
    size: int
    segments: list[str]
    three_elements_complete: bool
    file_updated_at: dt.datetime | None
    current_file: FileOut | None

    @staticmethod
    def resolve_head_name(obj: Household) -> str:
        return mask_name(obj.head_name)

    @staticmethod
    def resolve_village_code(obj: Household) -> str:
        return obj.village.code

    @staticmethod
    def resolve_village_name(obj: Household) -> str:
        return obj.village.name

    @staticmethod
    def resolve_grid_code(obj: Household) -> str:
        return obj.village.grid.code

    @staticmethod
    def resolve_outlet_code(obj: Household) -> str:
        return obj.village.grid.outlet.code

    @staticmethod
    def resolve_segments(obj: Household) -> list[str]:
        return obj.segment_list


class HouseholdDetailOut(HouseholdOut):
    address: str
    members: list[MemberOut]
    current_file_detail: FileDetailOut | None
    document_count: int

    @staticmethod
    def resolve_members(obj: Household) -> list[dict]:
        return [
            {
                "id": m.pk,
                "name": mask_name(m.name),
                "id_number": mask_id_number(m.id_number) or None,
                "phone": mask_phone(m.phone) or None,
                "relation": m.relation,
                "birth_year": m.birth_date.year if m.birth_date else None,
                "three_elements_complete": m.three_elements_complete,
            }
            for m in obj.members.all()
        ]

    @staticmethod
    def resolve_current_file_detail(obj: Household) -> dict | None:
        cf = obj.current_file
        if cf is None:
            return None
        return {**FileOut.from_orm(cf).dict(), "values_fen": cf.values()}

    @staticmethod
    def resolve_document_count(obj: Household) -> int:
        return obj.documents.count()


class HouseholdFilter(Schema):
    q: str | None = Field(None, description="household code or head's name")
    grid: int | None = None
    village: str | None = Field(None, description="village code")
    segment: str | None = None
    complete: bool | None = Field(None, description="three elements complete")


@router.get("", response=list[HouseholdOut], summary="Households in your scope")
@paginate(LimitOffsetPagination)
def list_households(request: HttpRequest, filters: Query[HouseholdFilter]):  # type: ignore[no-untyped-def]
    qs = access.households_for(request.user).select_related("village__grid__outlet", "current_file")
    if filters.q:
        qs = qs.filter(Q(code__iexact=filters.q.strip()) | Q(head_name__contains=filters.q.strip()))
    if filters.grid:
        qs = qs.filter(Q(village__grid_id=filters.grid) | Q(village__grid__parent_id=filters.grid))
    if filters.village:
        qs = qs.filter(village__code=filters.village)
    if filters.segment:
        qs = qs.filter(segments__contains=f",{filters.segment},")
    if filters.complete is not None:
        qs = qs.filter(three_elements_complete=filters.complete)
    return qs.order_by("code")


@router.get("/{household_id}", response=HouseholdDetailOut, summary="One household, masked")
def get_household(request: HttpRequest, household_id: int):  # type: ignore[no-untyped-def]
    return access.get_household(request.user, household_id)
