"""The framework's floor for the decision API (`decision_api.py --floor`): the same path, body and answer
shape as POST /api/v1/credit/decisions through django-ninja, with no token check and no decision.

`?read=1` adds one read of the household (a single-row SELECT by primary key), the least any real
decision must do."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.urls import path
from ninja import NinjaAPI, Schema

api = NinjaAPI(urls_namespace="floor", docs_url=None)


class DecisionIn(Schema):
    household_id: int


class DecisionOut(Schema):
    household_id: int
    score: int
    grade: str
    limit_fen: int
    binding_constraint: str
    reasons: list[str]
    model_version: int
    parameters_version: int


@api.post("/decisions", response=DecisionOut)
def decide(request: Any, body: DecisionIn) -> dict[str, Any]:
    household_id = body.household_id
    if request.GET.get("read"):
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM households_household WHERE id = %s", [household_id])
            household_id = cursor.fetchone()[0]
    return {
        "household_id": household_id,
        "score": 612,
        "grade": "B",
        "limit_fen": 15_000_000,
        "binding_constraint": "net_assets",
        "reasons": ["income", "liabilities"],
        "model_version": 1,
        "parameters_version": 1,
    }


urlpatterns = [path("api/v1/credit/", api.urls)]
