"""The channel API at /api/v1/channel/ (its own NinjaAPI; OpenAPI at /api/v1/channel/openapi.json).

Called by the bank's mobile-banking and WeChat servers, never by staff: it authenticates channel
credentials only (`Authorization: Bearer xch_…`), and the staff API refuses them. The channel names the
customer it acts for in the `X-Customer-Id-Number` header (the resident ID number of the household head;
the channel has verified the person). Every write carries an `Idempotency-Key` (channel.idempotency).
Amounts are integer fen, rates decimal strings; names and ID numbers are masked.

No `from __future__ import annotations` here: django-ninja reads the annotations at import time.
"""

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from ninja import Field, Header, NinjaAPI, Schema
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer
from ninja.security import HttpBearer
from pydantic import StrictBool, StrictInt

from xinedai.core.dates import business_today
from xinedai.core.errors import BusinessError
from xinedai.core.masking import mask_id_number, mask_name
from xinedai.credit.choices import BINDING_LABELS
from xinedai.credit.models import CreditLine
from xinedai.households.models import Household
from xinedai.lending import services as lending
from xinedai.lending.choices import SCHEDULED_METHODS, LoanStatus
from xinedai.lending.models import Loan, Repayment
from xinedai.products.models import Product
from xinedai.products.queries import rate_on

from . import access, idempotency, services
from .models import ChannelApplication, ChannelClient, ContractAcceptance

STAFF_TOKEN_PREFIX = "xd_"  # org.services.issue_token


class ChannelAuth(HttpBearer):
    """A channel credential, looked up by its SHA-256 on every request; staff tokens are refused."""

    def authenticate(self, request: HttpRequest, token: str) -> ChannelClient | None:
        if token.startswith(STAFF_TOKEN_PREFIX):
            raise BusinessError(
                "渠道接口不接受员工令牌",
                "The channel API does not accept staff tokens: use a channel credential",
                code="staff_token_refused",
                status=401,
            )
        return services.client_for_secret(token)


class ChannelRenderer(JSONRenderer):
    """UTF-8 JSON, Chinese as it is: the same bytes as the stored responses of writes (channel.idempotency)."""

    json_dumps_params = {"ensure_ascii": False}


channel_api = NinjaAPI(
    title="xinedai channel API",
    version="1",
    description=(
        "For the bank's mobile-banking and WeChat servers. Authenticate with the channel credential "
        "(`Authorization: Bearer xch_…`, from `xinedai issue-channel-credential CHANNEL`); name the customer "
        "in `X-Customer-Id-Number` (the household head's resident ID number, verified by the channel). "
        "Every POST needs an `Idempotency-Key` (at most 100 printable ASCII characters): the same key with the "
        "same request replays the first response (header `Idempotent-Replayed: true`), with another request "
        "answers 422 `idempotency_key_mismatch`, while the first is still running 409 `idempotency_in_flight`. "
        "Errors are JSON with a stable `code` and messages in Chinese and English. Amounts are integer fen."
    ),
    auth=ChannelAuth(),
    renderer=ChannelRenderer(),
    urls_namespace="api-channel",
)


def _error_body(code: str, zh: str, en: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": zh, "message_zh": zh, "message_en": en, **extra}


@channel_api.exception_handler(BusinessError)
def business_error(request: HttpRequest, exc: BusinessError) -> HttpResponse:
    return channel_api.create_response(request, exc.as_dict(), status=exc.status)


@channel_api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    body = _error_body(
        "channel_unauthenticated", "需要有效的渠道凭证", "A valid channel credential is required (Bearer)"
    )
    return channel_api.create_response(request, body, status=401)


@channel_api.exception_handler(NinjaValidationError)
def invalid_request(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    body = _error_body("invalid_request", "请求内容有误", "The request is invalid", details={"errors": exc.errors})
    return channel_api.create_response(request, body, status=422)


def urls() -> tuple[list[URLPattern | URLResolver], str, str]:
    """The channel API's URLs, outside ATOMIC_REQUESTS: a write claims its key in a transaction of its own
    before the work transaction starts (channel.idempotency), which one request-wide transaction forbids."""
    patterns, app_name, namespace = channel_api.urls

    def mark(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, URLPattern):
                transaction.non_atomic_requests(item.callback)
            elif isinstance(item, URLResolver):
                mark(item.url_patterns)

    mark(patterns)
    return patterns, app_name, namespace


# Schemas --------------------------------------------------------------------------------------------


class ErrorOut(Schema):
    code: str
    message: str
    message_zh: str
    message_en: str
    field: str | None = None
    details: dict | None = None


class CustomerOut(Schema):
    household_code: str
    head_name: str = Field(description="masked: surname kept")
    id_number: str = Field(description="masked: first and last characters only")


class LineOut(Schema):
    id: int
    product: str
    product_name: str
    limit_fen: int
    used_fen: int
    available_fen: int
    status: str
    intake_mode: str
    granted_at: dt.datetime
    expires_on: dt.date
    contract_accepted: bool = Field(description="a contract was accepted for this line (needed to draw down)")


class LinesOut(Schema):
    customer: CustomerOut
    lines: list[LineOut]


class ProductOut(Schema):
    code: str
    name: str
    guarantee_type: str
    intake_modes: list[str]
    application_mode: str | None = Field(description="where an application goes unless `mode` says otherwise")
    min_amount_fen: int
    max_amount_fen: int
    min_term_months: int
    max_term_months: int
    repayment_methods: list[str] = Field(description="methods a drawdown may use")
    annual_rate: str | None = Field(description="the rate in force today, as a decimal string")
    has_line: bool


class ApplicationIn(Schema):
    product: str = Field(max_length=32, description="a product code from GET /products")
    mode: str | None = Field(None, description="model, small_credit or offline_approval; default: the product's first")
    requested_limit_fen: StrictInt | None = Field(None, description="required for offline approval")


class DecisionOut(Schema):
    decision_id: int
    limit_fen: int
    grade: str
    binding_constraint: str
    binding_label: str
    reasons: list[dict]


class ApplicationOut(Schema):
    application_id: int
    product: str
    mode: str
    outcome: str = Field(description="granted, declined, decided (staff grant the line) or submitted (offline)")
    applied_on: dt.date
    requested_limit_fen: int | None
    decision: DecisionOut | None
    line: LineOut | None
    offline_application_id: int | None


class AcceptanceIn(Schema):
    line_id: StrictInt
    contract_version: str = Field(max_length=40)
    text_sha256: str = Field(description="SHA-256 (hex) of the exact contract text the customer was shown")


class AcceptanceOut(Schema):
    acceptance_id: int
    line_id: int
    product: str
    contract_version: str
    text_sha256: str
    channel: str
    accepted_at: dt.datetime


class DrawdownIn(Schema):
    line_id: StrictInt
    amount_fen: StrictInt
    term_months: StrictInt
    method: str = Field(description=f"one of {', '.join(SCHEDULED_METHODS)} that the product allows")


class InstalmentOut(Schema):
    number: int
    due_on: dt.date
    principal_fen: int
    interest_fen: int
    payment_fen: int
    paid_principal_fen: int
    paid_interest_fen: int
    status: str


class OwedOut(Schema):
    on: dt.date
    penalty_fen: int
    overdue_interest_fen: int
    overdue_principal_fen: int
    interest_fen: int
    principal_fen: int
    not_due_principal_fen: int
    payoff_fen: int = Field(description="what paying the loan off today takes")


class LoanOut(Schema):
    id: int
    product: str
    line_id: int
    channel: str
    principal_fen: int
    principal_outstanding_fen: int
    annual_rate: str
    penalty_rate: str
    term_months: int
    method: str
    start_on: dt.date
    maturity_on: dt.date
    status: str
    settled_on: dt.date | None


class LoanDetailOut(LoanOut):
    schedule: list[InstalmentOut]
    owed: OwedOut | None = Field(
        description="what is owed today, by bucket; for a written-off loan (status written_off) all that is"
        " still owed, as overdue (a repayment of it is a recovery); null once settled or recovered in full"
    )


class RepaymentIn(Schema):
    amount_fen: StrictInt | None = Field(None, description="the amount paid; or")
    payoff: StrictBool = Field(False, description="true: pay the loan off (the amount is computed)")


class ReversalIn(Schema):
    reason: str = Field(
        ..., min_length=1, max_length=200, description="why the repayment is taken back, e.g. the debit failed"
    )


class RepaymentOut(Schema):
    id: int
    loan_id: int
    channel: str
    paid_on: dt.date
    amount_fen: int
    penalty_fen: int
    overdue_interest_fen: int
    overdue_principal_fen: int
    interest_fen: int
    principal_fen: int
    payoff: bool
    reversed: bool = Field(False, description="reversed by the bank on the day it was made (冲正): nothing was paid")
    reversed_at: dt.datetime | None = None


class RepaymentResultOut(Schema):
    repayment: RepaymentOut
    loan: LoanOut


# Presenters -----------------------------------------------------------------------------------------


def _customer(household: Household) -> dict[str, Any]:
    head = getattr(household, "channel_head", None)
    return {
        "household_code": household.code,
        "head_name": mask_name(household.head_name),
        "id_number": mask_id_number(head.id_number if head else ""),
    }


def _lines(lines: list[CreditLine]) -> list[dict[str, Any]]:
    names = dict(Product.objects.filter(code__in={x.product_code for x in lines}).values_list("code", "name"))
    accepted = set(ContractAcceptance.objects.filter(line__in=[x.pk for x in lines]).values_list("line_id", flat=True))
    return [
        {
            "id": x.pk,
            "product": x.product_code,
            "product_name": names.get(x.product_code, x.product_code),
            "limit_fen": x.limit_fen,
            "used_fen": x.used_fen,
            "available_fen": x.available_fen,
            "status": x.status,
            "intake_mode": x.intake_mode,
            "granted_at": x.granted_at,
            "expires_on": x.expires_on,
            "contract_accepted": x.pk in accepted,
        }
        for x in lines
    ]


def _loan(loan: Loan) -> dict[str, Any]:
    return {
        "id": loan.pk,
        "product": loan.product_code,
        "line_id": loan.line_id,
        "channel": loan.channel,
        "principal_fen": loan.principal_fen,
        "principal_outstanding_fen": loan.principal_outstanding_fen,
        "annual_rate": f"{loan.annual_rate.normalize():f}",
        "penalty_rate": f"{loan.penalty_rate.normalize():f}",
        "term_months": loan.term_months,
        "method": loan.method,
        "start_on": loan.start_on,
        "maturity_on": loan.maturity_on,
        "status": loan.status,
        "settled_on": loan.settled_on,
    }


def _loan_detail(loan: Loan, today: dt.date) -> dict[str, Any]:
    # What an active loan owes is worked out from its current schedule: shown as it is (one read, or none
    # for the loan a drawdown has just made: lending keeps the rows it wrote on the loan).
    state = lending.owed(loan, today) if loan.status == LoanStatus.ACTIVE else None
    schedule = [
        {
            "number": i.number,
            "due_on": i.due_on,
            "principal_fen": i.principal_fen,
            "interest_fen": i.interest_fen,
            "payment_fen": i.principal_fen + i.interest_fen,
            "paid_principal_fen": i.paid_principal_fen,
            "paid_interest_fen": i.paid_interest_fen,
            "status": i.status,
        }
        for i in (state["rows"] if state is not None else access.schedule_of(loan))
    ]
    owed = None
    if state is not None:
        buckets = state["buckets"]
        owed = {
            "on": today,
            "penalty_fen": buckets["penalty"],
            "overdue_interest_fen": buckets["overdue_interest"],
            "overdue_principal_fen": buckets["overdue_principal"],
            "interest_fen": buckets["interest"],
            "principal_fen": buckets["principal"],
            "not_due_principal_fen": state["not_due_principal_fen"],
            "payoff_fen": state["payoff_fen"],
        }
    elif lending.recoverable_fen(loan):  # written off and still owed: all of it overdue, payable now
        owed = {
            "on": today,
            "penalty_fen": loan.offbook_penalty_fen,
            "overdue_interest_fen": loan.offbook_interest_fen,
            "overdue_principal_fen": loan.written_off_principal_fen,
            "interest_fen": 0,
            "principal_fen": 0,
            "not_due_principal_fen": 0,
            "payoff_fen": lending.recoverable_fen(loan),
        }
    return {**_loan(loan), "schedule": schedule, "owed": owed}


def _repayment(r: Repayment) -> dict[str, Any]:
    return {
        "id": r.pk,
        "loan_id": r.loan_id,
        "channel": r.channel,
        "paid_on": r.paid_on,
        "amount_fen": r.amount_fen,
        "penalty_fen": r.penalty_fen,
        "overdue_interest_fen": r.overdue_interest_fen,
        "overdue_principal_fen": r.overdue_principal_fen,
        "interest_fen": r.interest_fen,
        "principal_fen": r.principal_fen,
        "payoff": r.payoff,
        "reversed": r.reversed_at is not None,
        "reversed_at": r.reversed_at,
    }


def _application(app: ChannelApplication) -> dict[str, Any]:
    decision = app.decision
    return {
        "application_id": app.pk,
        "product": app.product_code,
        "mode": app.mode,
        "outcome": app.outcome,
        "applied_on": app.applied_on,
        "requested_limit_fen": app.requested_limit_fen,
        "decision": {
            "decision_id": decision.pk,
            "limit_fen": decision.limit_fen,
            "grade": decision.grade,
            "binding_constraint": decision.binding,
            "binding_label": str(BINDING_LABELS.get(decision.binding, decision.binding)),
            "reasons": decision.reasons,
        }
        if decision is not None
        else None,
        "line": _lines([app.line])[0] if app.line is not None else None,
        "offline_application_id": app.offline_application_id,
    }


def _json(schema: type[Schema], data: dict[str, Any]) -> dict[str, Any]:
    """The body exactly as the schema documents it (checked by it), in JSON types, ready to be stored."""
    return schema.model_validate(data).model_dump(mode="json")


# Headers --------------------------------------------------------------------------------------------

CUSTOMER = Header(
    None,
    alias=idempotency.CUSTOMER_HEADER,
    description="resident ID number of the household head the channel acts for (verified by the channel)",
)
KEY = Header(
    None,
    alias=idempotency.HEADER,
    description="unique per write and channel, at most 100 printable ASCII characters; reuse it to retry",
)
READ = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _client(request: HttpRequest) -> ChannelClient:
    return request.auth  # type: ignore[attr-defined,no-any-return]


# Reads ----------------------------------------------------------------------------------------------


@channel_api.get(
    "/lines",
    response={**READ, 200: LinesOut},
    tags=["lines"],
    summary="The customer's live credit lines: limit, used, available, status, expiry, product",
)
def list_lines(request: HttpRequest, id_number: str | None = CUSTOMER) -> dict[str, Any]:
    household = access.customer(id_number, today=business_today())
    return {"customer": _customer(household), "lines": _lines(list(access.lines_of(household)))}


@channel_api.get(
    "/products",
    response={**READ, 200: list[ProductOut]},
    tags=["lines"],
    summary="Products this channel sells to the customer's segment, in force today",
)
def list_products(request: HttpRequest, id_number: str | None = CUSTOMER) -> list[dict[str, Any]]:
    today = business_today()
    household = access.customer(id_number, today=today)
    held = set(access.lines_of(household).values_list("product_code", flat=True))
    out = []
    for product, v in access.products_for(household, _client(request).channel, on=today):
        rate = rate_on(v, today)
        modes = [m for m in services.MODE_PREFERENCE if m in v.intake_modes]
        out.append(
            {
                "code": product.code,
                "name": product.name,
                "guarantee_type": v.guarantee_type,
                "intake_modes": list(v.intake_modes),
                "application_mode": modes[0] if modes else None,
                "min_amount_fen": v.min_amount_fen,
                "max_amount_fen": v.max_amount_fen,
                "min_term_months": v.min_term_months,
                "max_term_months": v.max_term_months,
                "repayment_methods": [m for m in v.repayment_methods if m in SCHEDULED_METHODS],
                "annual_rate": f"{rate.normalize():f}" if rate is not None else None,
                "has_line": product.code in held,
            }
        )
    return out


@channel_api.get("/loans", response={**READ, 200: list[LoanOut]}, tags=["loans"], summary="The customer's loans")
def list_loans(request: HttpRequest, id_number: str | None = CUSTOMER) -> list[dict[str, Any]]:
    household = access.customer(id_number, today=business_today())
    return [_loan(loan) for loan in access.loans_of(household)]


@channel_api.get(
    "/loans/{loan_id}",
    response={**READ, 200: LoanDetailOut},
    tags=["loans"],
    summary="One of the customer's loans with its current schedule and what it owes today",
)
def get_loan(request: HttpRequest, loan_id: int, id_number: str | None = CUSTOMER) -> dict[str, Any]:
    today = business_today()
    household = access.customer(id_number, today=today)
    return _loan_detail(access.get_loan(household, loan_id), today)


@channel_api.get(
    "/loans/{loan_id}/repayments",
    response={**READ, 200: list[RepaymentOut]},
    tags=["loans"],
    summary="The repayments made on one of the customer's loans",
)
def list_repayments(request: HttpRequest, loan_id: int, id_number: str | None = CUSTOMER) -> list[dict[str, Any]]:
    household = access.customer(id_number, today=business_today())
    return [_repayment(r) for r in access.repayments_of(access.get_loan(household, loan_id))]


# Writes (each under its Idempotency-Key) ------------------------------------------------------------


@channel_api.post(
    "/applications",
    response={**WRITE, 201: ApplicationOut, 429: ErrorOut},
    tags=["lines"],
    summary="Apply for a line of a product; goes to the intake mode the product allows",
)
def create_application(
    request: HttpRequest, body: ApplicationIn, id_number: str | None = CUSTOMER, key: str | None = KEY
) -> HttpResponse:
    client, today = _client(request), business_today()

    def work() -> tuple[int, dict[str, Any]]:
        household = access.customer(id_number, today=today)
        app = services.apply(
            client,
            household,
            product_code=body.product,
            mode=body.mode,
            requested_limit_fen=body.requested_limit_fen,
            today=today,
        )
        return 201, _json(ApplicationOut, _application(app))

    return idempotency.execute(request, client, key, work)


@channel_api.post(
    "/contract-acceptances",
    response={**WRITE, 201: AcceptanceOut},
    tags=["lines"],
    summary="Record the customer's acceptance of the loan contract for a line",
)
def create_acceptance(
    request: HttpRequest, body: AcceptanceIn, id_number: str | None = CUSTOMER, key: str | None = KEY
) -> HttpResponse:
    client, today = _client(request), business_today()

    def work() -> tuple[int, dict[str, Any]]:
        household = access.customer(id_number, today=today)
        line = access.get_line(household, body.line_id)
        acceptance = services.accept_contract(
            client, household, line, contract_version=body.contract_version, text_sha256=body.text_sha256
        )
        return 201, _json(
            AcceptanceOut,
            {
                "acceptance_id": acceptance.pk,
                "line_id": acceptance.line_id,
                "product": acceptance.product_code,
                "contract_version": acceptance.contract_version,
                "text_sha256": acceptance.text_sha256,
                "channel": acceptance.channel,
                "accepted_at": acceptance.accepted_at,
            },
        )

    return idempotency.execute(request, client, key, work)


@channel_api.post(
    "/drawdowns",
    response={**WRITE, 201: LoanDetailOut},
    tags=["loans"],
    summary="Draw a loan on the customer's line (amount, term, repayment method); disbursed exactly once per key",
)
def create_drawdown(
    request: HttpRequest, body: DrawdownIn, id_number: str | None = CUSTOMER, key: str | None = KEY
) -> HttpResponse:
    client, today = _client(request), business_today()

    def work() -> tuple[int, dict[str, Any]]:
        household = access.customer(id_number, today=today)
        loan = services.draw(
            client,
            household,
            body.line_id,
            amount_fen=body.amount_fen,
            term_months=body.term_months,
            method=body.method,
            key=str(key),
            today=today,
        )
        # Not re-validated through LoanDetailOut (~0.4 ms with the schedule's rows, the drawdown being the
        # channel's busiest write): render() writes its dates and the rates are strings already; tests
        # hold the answer to the schema and to what GET /loans/{id} answers.
        return 201, _loan_detail(loan, today)

    return idempotency.execute(request, client, key, work)


@channel_api.post(
    "/loans/{loan_id}/repayments",
    response={**WRITE, 201: RepaymentResultOut},
    tags=["loans"],
    summary="Repay one of the customer's loans: an amount, or pay it off",
)
def create_repayment(
    request: HttpRequest, loan_id: int, body: RepaymentIn, id_number: str | None = CUSTOMER, key: str | None = KEY
) -> HttpResponse:
    client, today = _client(request), business_today()

    def work() -> tuple[int, dict[str, Any]]:
        household = access.customer(id_number, today=today)
        loan = access.get_loan(household, loan_id)
        repayment = services.pay(
            client, household, loan, key=str(key), amount_fen=body.amount_fen, payoff=body.payoff, today=today
        )
        loan.refresh_from_db()
        return 201, _json(RepaymentResultOut, {"repayment": _repayment(repayment), "loan": _loan(loan)})

    return idempotency.execute(request, client, key, work)


@channel_api.post(
    "/loans/{loan_id}/repayments/{repayment_id}/reversal",
    response={**WRITE, 200: RepaymentResultOut},
    tags=["loans"],
    summary="Take back a repayment this channel made today (冲正), e.g. when the debit behind it failed",
    description=(
        "Only the loan's latest repayment, only on the day it was made and before the bank's day-end batch. "
        "The loan, its schedule and its line go back to what they were before it; the repayment stays in "
        "the history marked reversed, and its Idempotency-Key still names it (paying again takes a new key)."
    ),
)
def create_reversal(
    request: HttpRequest,
    loan_id: int,
    repayment_id: int,
    body: ReversalIn,
    id_number: str | None = CUSTOMER,
    key: str | None = KEY,
) -> HttpResponse:
    client, today = _client(request), business_today()

    def work() -> tuple[int, dict[str, Any]]:
        household = access.customer(id_number, today=today)
        loan = access.get_loan(household, loan_id)
        repayment = services.reverse_payment(client, household, loan, repayment_id, reason=body.reason, today=today)
        loan.refresh_from_db()
        return 200, _json(RepaymentResultOut, {"repayment": _repayment(repayment), "loan": _loan(loan)})

    return idempotency.execute(request, client, key, work)
