"""The JSON API at /api/v1/ (django-ninja, OpenAPI at /api/v1/openapi.json): wiring of domain routers."""

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from xinedai.core.errors import BusinessError
from xinedai.credit.api import router as credit_router
from xinedai.households.api import router as households_router
from xinedai.lending.api import router as lending_router
from xinedai.org.api import TokenAuth
from xinedai.products.api import router as products_router

api = NinjaAPI(
    title="xinedai API",
    version="1",
    description="Staff API of the xinedai digital credit platform. Amounts are integer fen. "
    "Personal values (names, ID numbers, mobile numbers) are masked.",
    auth=TokenAuth(),
    urls_namespace="api-v1",
)


@api.exception_handler(BusinessError)
def business_error(request: HttpRequest, exc: BusinessError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    body = {
        "code": "unauthenticated",
        "message": "需要有效的令牌",
        "message_zh": "需要有效的令牌",
        "message_en": "A valid bearer token is required",
    }
    return api.create_response(request, body, status=401)


api.add_router("/households", households_router)
api.add_router("/credit", credit_router)
api.add_router("/products", products_router)
api.add_router("/schedules", lending_router)


# Operations that need no request-wide transaction: a decision writes its row and audit row in one
# statement (credit.services.decide → core.audit.create_with_record), or in a transaction of its own when
# it raises a change alert too. Without ATOMIC_REQUESTS the hot path saves its BEGIN and COMMIT round trips.
NON_ATOMIC_ROUTES = frozenset({"credit/decisions"})


def urls() -> tuple[list[URLPattern | URLResolver], str, str]:
    """The API's URLs, the NON_ATOMIC_ROUTES outside ATOMIC_REQUESTS."""
    patterns, app_name, namespace = api.urls
    for item in patterns:
        if isinstance(item, URLPattern) and str(item.pattern) in NON_ATOMIC_ROUTES:
            transaction.non_atomic_requests(item.callback)
    return patterns, app_name, namespace
