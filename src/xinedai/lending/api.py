"""Schedule preview endpoint: the instalments a drawdown would have, computed by lending.rules.schedule.

No `from __future__ import annotations` here: django-ninja reads the annotations at import time.
Amounts are integer fen; the rate is a decimal string (a fraction per year, "0.0435" = 4.35 %).
"""

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import StrictInt, WithJsonSchema

from xinedai.core.errors import ValidationFailed

from . import rules
from .choices import SCHEDULED_METHODS

router = Router(tags=["schedules"])

# The rate is taken as any JSON value and checked by rules.check_terms, so that a JSON number is refused
# with the project's error body naming the field (pydantic would answer in its own shape, or coerce).
DecimalString = Annotated[
    Any, WithJsonSchema({"type": "string", "pattern": r"^0(\.\d{1,6})?$", "examples": ["0.0435"]})
]


class ScheduleTermsInvalid(ValidationFailed):
    """Terms a schedule cannot be built from; `problems` lists every one, each tied to its field."""

    code = "schedule_terms_invalid"

    def __init__(self, problems: list[rules.Problem]) -> None:
        first = problems[0]
        super().__init__(
            first.message_zh,
            first.message_en,
            field=first.field,
            problems=[
                {"field": p.field, "code": p.code, "message_zh": p.message_zh, "message_en": p.message_en}
                for p in problems
            ],
        )
        self.problems = problems


class PreviewIn(Schema):
    principal_fen: StrictInt = Field(description="the amount drawn, in fen; above zero")
    annual_rate: DecimalString = Field(
        description='annual rate as a decimal string, at most 6 decimals: "0.0435" = 4.35 %; numbers are refused'
    )
    term_months: StrictInt = Field(description=f"1 to {rules.MAX_TERM_MONTHS}")
    method: str = Field(description=f"one of {', '.join(SCHEDULED_METHODS)}")
    start_date: dt.date = Field(description="the drawdown date; instalment k falls due k months later")


class InstalmentOut(Schema):
    number: int
    due_on: dt.date
    principal_fen: int
    interest_fen: int
    payment_fen: int
    balance_after_fen: int = Field(description="principal still owed once this instalment is paid")


class ScheduleOut(Schema):
    method: str
    principal_fen: int
    annual_rate: str
    term_months: int
    total_interest_fen: int
    total_payment_fen: int
    instalments: list[InstalmentOut]


@router.post("/preview", response=ScheduleOut, summary="Repayment schedule for a principal, rate, term and method")
def preview(request: HttpRequest, body: PreviewIn) -> dict[str, Any]:
    problems = rules.check_terms(body.principal_fen, body.annual_rate, body.term_months, body.method)
    if problems:
        raise ScheduleTermsInvalid(problems)
    rate = rules.parse_rate(body.annual_rate)
    instalments = rules.schedule(body.principal_fen, rate, body.term_months, body.method, body.start_date)
    return {
        "method": body.method,
        "principal_fen": body.principal_fen,
        "annual_rate": f"{rate.normalize():f}",
        "term_months": body.term_months,
        "total_interest_fen": sum(i.interest_fen for i in instalments),
        "total_payment_fen": sum(i.payment_fen for i in instalments),
        "instalments": instalments,
    }
