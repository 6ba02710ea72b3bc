"""Channel use cases: issue and revoke channel credentials; for a customer, apply for a line, accept a
contract, draw down and repay — each one transaction's worth of work with its audit row, never committed
here (channel.idempotency frames the channel's writes, a command's atomic block the credentials).

A channel is not a member of staff: services of other apps are called with no acting user (audit rows
name the channel in their `after`), except an offline application, which the credit engine takes only
from an account manager — it is submitted as the customer's own account manager (see apply()).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction

from xinedai.core import audit, reuse, statements
from xinedai.core.dates import now
from xinedai.core.errors import BusinessError, NotFound, ValidationFailed
from xinedai.credit import services as credit
from xinedai.credit.choices import Channel, IntakeMode
from xinedai.credit.models import CreditLine
from xinedai.households.models import Household
from xinedai.lending import services as lending
from xinedai.lending.models import Loan, Repayment
from xinedai.products.models import Product, ProductVersion
from xinedai.products.queries import effective_version, version_in_force

from . import access
from .choices import CHANNEL_CODES, ApplicationOutcome
from .models import ChannelApplication, ChannelClient, ContractAcceptance

SECRET_PREFIX = "xch_"  # staff tokens start "xd_": the two kinds cannot be confused, even by eye
LAST_USED_EVERY_SECONDS = 60
# An application goes to the first of these intake modes the product allows, unless the channel names one:
# an automatic answer first, the offline route (days, a visit) only when the product has nothing else.
MODE_PREFERENCE = (IntakeMode.MODEL, IntakeMode.SMALL_CREDIT, IntakeMode.OFFLINE_APPROVAL)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class TooManyApplications(BusinessError):
    code = "application_rate_limited"
    status = 429


def applications_per_day() -> int:
    """Applications one customer may make through the channels per business date (all channels together)."""
    return int(getattr(settings, "XINEDAI_CHANNEL_APPLICATIONS_PER_DAY", 3))


def _scope(household: Household) -> str:
    return household.village.grid.outlet.path


# Credentials ----------------------------------------------------------------------------------------


def issue_credential(actor: Any, channel: str, *, name: str) -> tuple[ChannelClient, str]:
    """Create a channel credential; returns the row and the secret, which is never stored."""
    if channel not in CHANNEL_CODES:
        raise ValidationFailed(
            "渠道无效", "Unknown channel", code="channel_unknown", field="channel", allowed=sorted(CHANNEL_CODES)
        )
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    client = ChannelClient.objects.create(
        channel=channel,
        name=(name or channel)[:100],
        prefix=secret[:12],
        digest=hashlib.sha256(secret.encode()).hexdigest(),
        created_at=now(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        actor,
        "channel.credential.issue",
        client,
        after={"channel": channel, "name": client.name, "prefix": client.prefix},
    )
    return client, secret


def revoke_credential(actor: Any, client: ChannelClient) -> ChannelClient:
    """Revoke a credential: refused from the next request on (within a second in other server processes)."""
    client = ChannelClient.objects.select_for_update().get(pk=client.pk)
    if client.revoked_at is not None:
        return client
    client.revoked_at = now()
    client.save(update_fields=["revoked_at"])
    audit.record(actor, "channel.credential.revoke", client, after={"channel": client.channel, "prefix": client.prefix})
    return client


_DIGEST = statements.Marker("<credential digest>")


@functools.cache
def _client_statement() -> statements.Statement:
    """Compiled once per process and prepared on PostgreSQL (core.statements): every channel call reads it."""
    queryset = ChannelClient.objects.filter(digest=_DIGEST.value, revoked_at__isnull=True).order_by()
    return statements.Statement.compile(queryset.values(*statements.columns(ChannelClient)), _DIGEST)


_CLIENTS: reuse.Reused[str, ChannelClient] = reuse.Reused(size=64)


def client_for_secret(secret: str) -> ChannelClient | None:
    """The unrevoked credential with this secret. Reused for up to a second (core.reuse): a revocation
    counts at once in the process that made it, within the second in the others; an unknown secret is
    never kept."""
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return _CLIENTS.get(digest, lambda: _read_client(digest))


def _read_client(digest: str) -> ChannelClient | None:
    statement = _client_statement()
    row = statement.first(digest)
    if row is None:
        return None
    client: ChannelClient = statements.instance(ChannelClient, row, statement.alias)
    at = now()
    # last_used_at is a hint for administrators, written at most once a minute to keep requests cheap.
    if client.last_used_at is None or (at - client.last_used_at).total_seconds() > LAST_USED_EVERY_SECONDS:
        with transaction.atomic():
            ChannelClient.objects.filter(pk=client.pk).update(last_used_at=at)
    return client


# Products -------------------------------------------------------------------------------------------


def _product_for(client: ChannelClient, household: Household, code: str, today: dt.date) -> ProductVersion:
    """The product's terms in force today, if this channel sells it to this customer's segments."""
    product = Product.objects.filter(code=code).first()
    if product is None:
        raise NotFound("产品不存在", "No such product", code="product_not_found", product=code)
    version = effective_version(product, today)
    if version is None:
        raise ValidationFailed(
            "该产品当前未在售", "The product is not on sale", code="product_not_on_sale", product=code
        )
    if client.channel not in version.entry_points:
        raise ValidationFailed(
            "该产品不在此渠道销售",
            "The product is not sold through this channel",
            code="product_not_on_channel",
            product=code,
            channel=client.channel,
        )
    if version.segments and not set(version.segments) & set(household.segment_list):
        raise ValidationFailed(
            "该产品不面向此客户群体",
            "The product is not for this customer's segment",
            code="product_segment",
            product=code,
            segments=list(version.segments),
        )
    return version


def intake_mode(version: ProductVersion, wanted: str | None = None) -> str:
    """The intake mode an application for this product goes to: the one asked for if the product allows
    it, otherwise the first the product allows in MODE_PREFERENCE."""
    allowed = [m for m in MODE_PREFERENCE if m in version.intake_modes]
    if wanted:
        if wanted not in allowed:
            raise ValidationFailed(
                "该产品不支持此入库模式",
                "The product does not allow this intake mode",
                code="mode_not_allowed",
                field="mode",
                allowed=[str(m) for m in allowed],
            )
        return wanted
    if not allowed:
        raise ValidationFailed("该产品不接受申请", "The product takes no applications", code="mode_not_allowed")
    return allowed[0]


# Applications ---------------------------------------------------------------------------------------


def _account_manager(household: Household) -> Any:
    """The account manager who owns the household's grid (or its total grid)."""
    grid = household.village.grid
    owner = grid.owner or (grid.parent.owner if grid.parent is not None else None)
    if owner is None:
        raise BusinessError(
            "该客户所在网格暂无客户经理,无法提交线下审批",
            "The customer's grid has no account manager to take an offline application",
            code="no_account_manager",
            status=409,
        )
    return owner


def apply(
    client: ChannelClient,
    household: Household,
    *,
    product_code: str,
    mode: str | None = None,
    requested_limit_fen: int | None = None,
    today: dt.date,
) -> ChannelApplication:
    """A customer applies for a line of a product; the application goes to the intake mode the product
    allows (intake_mode()):

    - model: the strategy model decides. A product sold on the pure-online channel grants the line at once
      when the decision gives a limit (无感获贷); a product sold only online-and-offline returns the decision,
      and staff grant it after their offline checks.
    - small credit: the simplified rules decide; a limit is granted at once (a pure-online line).
    - offline approval: an offline application for the requested limit goes to the credit officers'
      queue, submitted as the customer's account manager (who owns the case and visits the customer).

    At most applications_per_day() per customer and business date, across channels; the household row is
    locked first, so racing applications cannot both pass the count.
    """
    household = (
        Household.objects.select_for_update(of=("self",))
        .select_related("village__grid__outlet", "village__grid__parent__owner", "village__grid__owner")
        .get(pk=household.pk)
    )
    limit = applications_per_day()
    if ChannelApplication.objects.filter(household=household, applied_on=today).count() >= limit:
        raise TooManyApplications(
            f"每位客户每天最多申请{limit}次,请明天再试",
            f"At most {limit} applications per customer a day: try again tomorrow",
            limit=limit,
            retry_on=(today + dt.timedelta(days=1)).isoformat(),
        )
    version = _product_for(client, household, product_code, today)
    chosen = intake_mode(version, mode)
    if credit.live_line(household, product_code) is not None:
        raise BusinessError(
            "您已有该产品的授信额度", "The customer already has a line of this product", code="line_exists", status=409
        )
    cap_channel = Channel.ONLINE if Channel.ONLINE in version.channels else Channel.COMBINED
    decision = line = offline = None
    if chosen == IntakeMode.OFFLINE_APPROVAL:
        if type(requested_limit_fen) is not int or requested_limit_fen <= 0:
            raise ValidationFailed(
                "线下审批需填写申请额度",
                "An offline application needs the requested limit",
                code="requested_limit_required",
                field="requested_limit_fen",
            )
        offline = credit.submit_application(
            _account_manager(household),
            household,
            requested_limit_fen=requested_limit_fen,
            channel=cap_channel,
            note=f"客户通过渠道申请({client.get_channel_display()},{product_code})",
            today=today,
            product_code=product_code,
        )
        outcome = ApplicationOutcome.SUBMITTED
    else:
        if chosen == IntakeMode.MODEL:
            decision = credit.decide(
                None,
                household=household,
                channel=cap_channel,
                source="channel",
                today=today,
                product_code=product_code,
            )
            grants = cap_channel == Channel.ONLINE
        else:
            decision = credit.decide_small(None, household, today, source="channel", product_code=product_code)
            grants = True
        if decision.limit_fen <= 0:
            outcome = ApplicationOutcome.DECLINED
        elif grants:
            line = credit.grant_line(None, decision, today=today)
            outcome = ApplicationOutcome.GRANTED
        else:
            outcome = ApplicationOutcome.DECIDED
    application = ChannelApplication.objects.create(
        channel=client.channel,
        client=client,
        household=household,
        product_code=product_code,
        mode=chosen,
        outcome=outcome,
        requested_limit_fen=requested_limit_fen,
        decision=decision,
        line=line,
        offline_application=offline,
        applied_on=today,
        created_at=now(),
    )
    audit.record(
        None,
        "channel.application",
        application,
        after={
            "channel": client.channel,
            "credential": client.prefix,
            "household": household.code,
            "product": product_code,
            "mode": chosen,
            "outcome": outcome,
            "decision": decision.pk if decision else None,
            "limit_fen": decision.limit_fen if decision else None,
            "line": line.pk if line else None,
            "offline_application": offline.pk if offline else None,
            "submitted_as": offline.submitted_by.get_username() if offline else None,
        },
        scope_path=_scope(household),
    )
    return application


# Contracts ------------------------------------------------------------------------------------------


def accept_contract(
    client: ChannelClient, household: Household, line: CreditLine, *, contract_version: str, text_sha256: str
) -> ContractAcceptance:
    """Record that the customer accepted this contract (version and the SHA-256 of the text shown) for
    their line, through this channel, now."""
    version = (contract_version or "").strip()
    if not version or len(version) > 40:
        raise ValidationFailed(
            "合同版本号无效",
            "Give the contract version (at most 40 characters)",
            code="contract_version_invalid",
            field="contract_version",
        )
    digest = (text_sha256 or "").strip().lower()
    if not _SHA256.match(digest):
        raise ValidationFailed(
            "合同文本摘要应为64位十六进制SHA-256",
            "text_sha256 must be the 64 hex digits of the SHA-256 of the contract text",
            code="contract_hash_invalid",
            field="text_sha256",
        )
    if line.household_id != household.pk:
        raise NotFound("授信额度不存在", "No such credit line for this customer", code="line_not_found")
    acceptance = ContractAcceptance.objects.create(
        channel=client.channel,
        client=client,
        household=household,
        product_code=line.product_code,
        line=line,
        contract_version=version,
        text_sha256=digest,
        accepted_at=now(),
    )
    audit.record(
        None,
        "channel.contract.accept",
        acceptance,
        after={
            "channel": client.channel,
            "credential": client.prefix,
            "household": household.code,
            "product": line.product_code,
            "line": line.pk,
            "contract_version": version,
            "text_sha256": digest,
        },
        scope_path=_scope(household),
    )
    return acceptance


# Drawdowns and repayments ---------------------------------------------------------------------------


def business_key(client: ChannelClient, key: str) -> str:
    """The lending business key of a channel write: one loan or repayment per channel and Idempotency-Key,
    whichever credential of the channel sent it."""
    return f"{client.channel}:{key}"


def draw(
    client: ChannelClient,
    household: Household,
    line_id: int,
    *,
    amount_fen: int,
    term_months: int,
    method: str,
    key: str,
    today: dt.date,
) -> Loan:
    """Draw a loan on the customer's line: the line's product must be sold through this channel and the
    customer must have accepted a contract for the line; lending.services.drawdown does the rest (limit,
    product terms, exactly once per key, ledger, audit).

    The line is read once, locked (through access, so another customer's line is not found), and handed
    to drawdown as locked, with the product terms read here: drawdown neither locks nor reads them again."""
    line = access.get_line(household, line_id, lock=True)
    version = version_in_force(line.product_code, today)
    if version is not None and client.channel not in version.entry_points:
        raise ValidationFailed(
            "该产品不在此渠道销售",
            "The product is not sold through this channel",
            code="product_not_on_channel",
            product=line.product_code,
            channel=client.channel,
        )
    if not line.contract_accepted:  # type: ignore[attr-defined]  # read with the locked line (access.get_line)
        raise ValidationFailed(
            "请先签署借款合同", "The customer has not accepted a contract for this line", code="contract_not_accepted"
        )
    return lending.drawdown(
        None,
        line,
        amount_fen=amount_fen,
        term_months=term_months,
        method=method,
        key=business_key(client, key),
        channel=client.channel,
        today=today,
        locked=True,
        terms=version,
        scope_path=_scope(household),
    )


def pay(
    client: ChannelClient,
    household: Household,
    loan: Loan,
    *,
    key: str,
    amount_fen: int | None,
    payoff: bool,
    today: dt.date,
) -> Repayment:
    """Repay the customer's loan: an amount, or everything it takes to pay it off today."""
    if loan.household_id != household.pk:
        raise NotFound("贷款不存在", "No such loan for this customer", code="loan_not_found")
    if payoff == (amount_fen is not None):
        raise ValidationFailed(
            "请填写还款金额或选择全部结清(二选一)",
            "Give either amount_fen or payoff: true",
            code="repayment_amount_or_payoff",
            field="amount_fen",
        )
    return lending.repay(
        None,
        loan,
        key=business_key(client, key),
        channel=client.channel,
        amount_fen=amount_fen,
        payoff=payoff,
        today=today,
    )


def reverse_payment(
    client: ChannelClient, household: Household, loan: Loan, repayment_id: int, *, reason: str, today: dt.date
) -> Repayment:
    """The channel takes back a repayment it sent today (冲正), when the debit of the customer's account
    behind it failed or was undone: only its own, only the loan's latest, only before the day-end batch
    (servicing.services.reverse_before_day_end; lending.services.reverse_repayment puts the loan back)."""
    from xinedai.servicing import services as servicing  # servicing builds on lending: imported at use

    if loan.household_id != household.pk:
        raise NotFound("贷款不存在", "No such loan for this customer", code="loan_not_found")
    repayment = Repayment.objects.filter(pk=repayment_id, loan=loan).first()
    if repayment is None or not repayment.key.startswith(business_key(client, "")):
        raise NotFound("该渠道没有这笔还款", "No such repayment made through this channel", code="repayment_not_found")
    return servicing.reverse_before_day_end(None, repayment, reason=reason, today=today)  # type: ignore[no-any-return]
