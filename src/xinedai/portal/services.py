"""Portal use cases: send a sign-in code, check it, and the customer's view of a drawdown's terms."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings

from xinedai.core import audit
from xinedai.core.dates import now
from xinedai.core.errors import BusinessError, ValidationFailed
from xinedai.credit.models import CreditLine
from xinedai.households.choices import Relation
from xinedai.households.models import Household, Member
from xinedai.lending.choices import SCHEDULED_METHODS
from xinedai.products.models import Product, ProductVersion
from xinedai.products.queries import effective_version, rate_on

from .models import OneTimeCode
from .senders import sender

CODE_TTL = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 5
MAX_SENDS_PER_HOUR = 5


class TooMany(BusinessError):
    code = "too_many_codes"
    status = 429


def _hash(phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _clean_phone(phone: str) -> str:
    phone = "".join(ch for ch in str(phone or "") if ch.isdigit())
    if len(phone) != 11 or not phone.startswith("1"):
        raise ValidationFailed(
            "请输入11位手机号", "Enter an 11-digit mobile number", code="phone_invalid", field="phone"
        )
    return phone


def customer_for_phone(phone: str) -> Household | None:
    """The household whose head has this mobile number (the borrower of record), if exactly one."""
    ids = list(Member.objects.filter(phone=phone, relation=Relation.HEAD).values_list("household_id", flat=True)[:2])
    return Household.objects.get(pk=ids[0]) if len(ids) == 1 else None


def send_code(phone: str) -> str:
    """Send a sign-in code to a number. Unknown numbers get the same answer (no enumeration), no code."""
    phone = _clean_phone(phone)
    at = now()
    if (
        OneTimeCode.objects.filter(phone=phone, created_at__gte=at - dt.timedelta(hours=1)).count()
        >= MAX_SENDS_PER_HOUR
    ):
        raise TooMany("验证码发送过于频繁,请稍后再试", "Too many codes sent; try again later", phone=phone[-4:])
    if customer_for_phone(phone) is None:
        return phone
    code = f"{secrets.randbelow(1_000_000):06d}"
    OneTimeCode.objects.create(phone=phone, code_sha256=_hash(phone, code), created_at=at, expires_at=at + CODE_TTL)
    sender().send(phone, code)
    return phone


def check_code(phone: str, code: str) -> Household | None:
    """The customer signed in by a code — the newest unexpired code of the number, used once — or None.

    A wrong code is not an exception: its attempt must be counted (and committed), and after 5 wrong
    attempts the code is dead.
    """
    phone = _clean_phone(phone)
    at = now()
    otp = (
        OneTimeCode.objects.select_for_update()
        .filter(phone=phone, used_at__isnull=True, expires_at__gt=at)
        .order_by("-created_at", "-id")
        .first()
    )
    if otp is None or otp.attempts >= MAX_ATTEMPTS:
        return None
    if not hmac.compare_digest(otp.code_sha256, _hash(phone, str(code or "").strip())):
        otp.attempts += 1
        otp.save(update_fields=["attempts"])
        return None
    household = customer_for_phone(phone)
    if household is None:
        return None
    otp.used_at = at
    otp.save(update_fields=["used_at"])
    audit.record(None, "portal.sign_in", household, after={"channel": "wechat"})
    return household


def line_terms(line: CreditLine, on: dt.date) -> tuple[ProductVersion, Any] | None:
    """The product terms in force for a line's product and today's rate, or None when not on sale."""
    product = Product.objects.filter(code=line.product_code).first()
    terms = effective_version(product, on) if product is not None else None
    if terms is None:
        return None
    return terms, rate_on(terms, on)


def methods_of(terms: ProductVersion) -> list[str]:
    return [m for m in terms.repayment_methods if m in SCHEDULED_METHODS]
