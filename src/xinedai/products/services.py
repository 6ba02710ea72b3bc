"""Product use cases: create a product, propose a change, approve / reject / withdraw it (maker ≠ checker),
record LPR fixings, and seed the case study's catalogue.

Services run in the caller's transaction and write their audit rows there; they never commit.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError
from django.db.models import Max

from xinedai.core import audit
from xinedai.core.approvals import require_second_person
from xinedai.core.dates import business_today, now
from xinedai.core.errors import PermissionDenied, ValidationFailed
from xinedai.credit.choices import Channel, IntakeMode
from xinedai.households.choices import Segment

from . import access, queries, rules
from .choices import EntryPoint, GuaranteeType, LprTenor, RateKind, RepaymentMethod, VersionStatus
from .models import LprRate, Product, ProductVersion

ALLOWED: dict[str, frozenset[str]] = {
    "guarantee_type": frozenset(GuaranteeType.values),
    "intake_modes": frozenset(IntakeMode.values),
    "channels": frozenset(Channel.values),
    "entry_points": frozenset(EntryPoint.values),
    "repayment_methods": frozenset(RepaymentMethod.values),
    "rate_kind": frozenset(RateKind.values),
    "lpr_tenor": frozenset(LprTenor.values),
    "segments": frozenset(Segment.values),
}
RESERVED_CODES = frozenset({"new", "approvals", "versions"})  # page paths under /products/
AUDIT_SCOPE = ""  # head-office configuration: visible to head-office audit scope only


class TermsInvalid(ValidationFailed):
    """Terms that break a product rule; `problems` lists every one, each tied to its field."""

    code = "product_terms_invalid"

    def __init__(self, problems: list[rules.Problem]) -> None:
        first = problems[0]
        super().__init__(
            first.message_zh,
            first.message_en,
            field=first.field,
            problems=[{"field": p.field, "code": p.code, "message": p.message_en} for p in problems],
        )
        self.problems = problems


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, Decimal):
            v = str(v)
        elif isinstance(v, dt.date):
            v = v.isoformat()
        elif isinstance(v, tuple):
            v = list(v)
        out[k] = v
    return out


def check_terms(terms: rules.ProductTerms) -> None:
    problems = rules.check_terms(terms, ALLOWED)
    if problems:
        raise TermsInvalid(problems)


def _not_in_past(terms: rules.ProductTerms, today: dt.date) -> None:
    # Terms never change retroactively: loans already granted keep the terms they were granted on.
    if terms.effective_from < today:
        raise ValidationFailed(
            "生效日不得早于当前营业日",
            "The start date cannot be before the current business date",
            code="effective_in_past",
            field="effective_from",
        )


def _new_version(
    actor: Any, product: Product, terms: rules.ProductTerms, *, note: str, status: str = VersionStatus.PROPOSED
) -> ProductVersion:
    number = (ProductVersion.objects.filter(product=product).aggregate(m=Max("version"))["m"] or 0) + 1
    return ProductVersion.objects.create(
        product=product,
        version=number,
        status=status,
        note=note[:300],
        proposed_at=now(),
        proposed_by=_user(actor),
        **ProductVersion.fields_of(terms),
    )


def create_product(
    actor: Any,
    *,
    code: str,
    name: str,
    terms: rules.ProductTerms,
    family: str = "xinedai",
    description: str = "",
    note: str = "",
    today: dt.date | None = None,
) -> ProductVersion:
    """A new product and its first version, proposed: it is sold only once a second person approves it."""
    access.require_propose(actor)
    today = today or business_today()
    code = code.strip().lower()
    if not code or code in RESERVED_CODES or Product.objects.filter(code=code).exists():
        raise ValidationFailed("产品代码已存在", "That product code is taken", code="product_code_taken", field="code")
    check_terms(terms)
    _not_in_past(terms, today)
    try:
        product = Product.objects.create(
            code=code,
            name=name.strip(),
            family=family,
            description=description[:300],
            created_at=now(),
            created_by=_user(actor),
        )
    except IntegrityError as exc:  # a concurrent create of the same code
        raise ValidationFailed(
            "产品代码已存在", "That product code is taken", code="product_code_taken", field="code"
        ) from exc
    version = _new_version(actor, product, terms, note=note)
    audit.record(
        actor,
        "products.product.propose",
        version,
        after={"product": code, "name": product.name, "version": 1, **_jsonable(terms.as_dict())},
        reason=note,
        scope_path=AUDIT_SCOPE,
    )
    return version


def propose_change(
    actor: Any, product: Product, terms: rules.ProductTerms, *, note: str, today: dt.date | None = None
) -> ProductVersion:
    """Propose new terms for a product as its next version; nothing changes until another person approves."""
    access.require_propose(actor)
    today = today or business_today()
    if not note.strip():
        raise ValidationFailed("请说明变更原因", "Say why the terms change", code="reason_required", field="note")
    check_terms(terms)
    product = Product.objects.select_for_update().get(pk=product.pk)
    current = queries.effective_version(product, today) or queries.latest_version(product)
    before = _jsonable(current.terms().as_dict()) if current else None
    changes = rules.diff(before, _jsonable(terms.as_dict()))
    if not [c for c in changes if c[0] != "effective_from"]:
        raise ValidationFailed(
            "新条款与现行版本相同", "The terms are the same as the version in force", code="nothing_changed"
        )
    _not_in_past(terms, today)
    version = _new_version(actor, product, terms, note=note)
    audit.record(
        actor,
        "products.version.propose",
        version,
        before={k: b for k, b, _ in changes},
        after={"version": version.version, **{k: a for k, _, a in changes}},
        reason=note,
        scope_path=AUDIT_SCOPE,
    )
    return version


def _lock_proposed(version: ProductVersion) -> ProductVersion:
    locked = ProductVersion.objects.select_for_update().select_related("product").get(pk=version.pk)
    if locked.status != VersionStatus.PROPOSED:
        raise ValidationFailed(
            "该版本已处理,不能再次审批", "This version was already decided", code="version_not_proposed"
        )
    return locked


def _not_maker(actor: Any, version: ProductVersion) -> None:
    require_second_person(actor, version.proposed_by_id, what_zh="产品变更", what_en="product change")


def approve(actor: Any, version: ProductVersion, *, reason: str = "", today: dt.date | None = None) -> ProductVersion:
    """Put a proposed version in force from its start date. The approver is never its maker."""
    access.require_approve(actor)
    _not_maker(actor, version)
    today = today or business_today()
    Product.objects.select_for_update().filter(pk=version.product_id).first()
    version = _lock_proposed(version)
    terms = version.terms()
    check_terms(terms)
    if terms.effective_from < today:
        raise ValidationFailed(
            "生效日已过,请驳回后重新提交",
            "The start date has passed: reject it and propose again",
            code="effective_in_past",
            field="effective_from",
        )
    if (
        terms.rate_kind == RateKind.LPR_SPREAD
        and not LprRate.objects.filter(tenor=terms.lpr_tenor, effective_on__lte=terms.effective_from).exists()
    ):
        raise ValidationFailed(
            "生效日尚无该期限的LPR报价", "No LPR of that tenor is known for the start date", code="lpr_missing"
        )
    previous = queries.effective_version(version.product, terms.effective_from)
    version.status, version.decided_by, version.decided_at = VersionStatus.APPROVED, actor, now()
    version.decision_reason = reason[:300]
    version.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit.record(
        actor,
        "products.version.approve",
        version,
        before={"status": VersionStatus.PROPOSED, "version_in_force": previous.version if previous else None},
        after={
            "status": VersionStatus.APPROVED,
            "product": version.product.code,
            "version": version.version,
            "effective_from": terms.effective_from,
        },
        reason=reason,
        scope_path=AUDIT_SCOPE,
    )
    return version


def reject(actor: Any, version: ProductVersion, *, reason: str) -> ProductVersion:
    """Refuse a proposed version, with a reason. The maker withdraws instead of rejecting."""
    access.require_approve(actor)
    _not_maker(actor, version)
    if not reason.strip():
        raise ValidationFailed(
            "请填写驳回原因", "Give the reason for rejecting", code="reason_required", field="reason"
        )
    version = _lock_proposed(version)
    version.status, version.decided_by, version.decided_at = VersionStatus.REJECTED, actor, now()
    version.decision_reason = reason[:300]
    version.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit.record(
        actor,
        "products.version.reject",
        version,
        before={"status": VersionStatus.PROPOSED},
        after={"status": VersionStatus.REJECTED, "product": version.product.code, "version": version.version},
        reason=reason,
        scope_path=AUDIT_SCOPE,
    )
    return version


def withdraw(actor: Any, version: ProductVersion, *, reason: str = "") -> ProductVersion:
    """The maker takes back a proposal that nobody has decided yet."""
    if version.proposed_by_id is None or version.proposed_by_id != getattr(actor, "pk", None):
        raise PermissionDenied(
            "只有提交人可以撤回", "Only the person who proposed it may withdraw it", code="not_the_maker"
        )
    version = _lock_proposed(version)
    version.status, version.decided_by, version.decided_at = VersionStatus.WITHDRAWN, actor, now()
    version.decision_reason = reason[:300]
    version.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit.record(
        actor,
        "products.version.withdraw",
        version,
        before={"status": VersionStatus.PROPOSED},
        after={"status": VersionStatus.WITHDRAWN, "product": version.product.code, "version": version.version},
        reason=reason,
        scope_path=AUDIT_SCOPE,
    )
    return version


def record_lpr(actor: Any, *, tenor: str, effective_on: dt.date, rate: Decimal) -> LprRate:
    """Record a published LPR fixing. It is a public market figure, not a bank decision (see decisions)."""
    if tenor not in LprTenor.values:
        raise ValidationFailed("LPR期限品种无效", "Unknown LPR tenor", code="lpr_tenor_unknown", field="tenor")
    if not Decimal(0) < rate < Decimal("0.2"):
        raise ValidationFailed("LPR数值不合理", "The LPR is out of range", code="lpr_out_of_range", field="rate")
    row, created = LprRate.objects.get_or_create(
        tenor=tenor, effective_on=effective_on, defaults={"rate": rate, "created_at": now(), "created_by": _user(actor)}
    )
    if created:
        audit.record(
            actor,
            "products.lpr.record",
            row,
            after={"tenor": tenor, "effective_on": effective_on, "rate": str(rate)},
            scope_path=AUDIT_SCOPE,
        )
    elif row.rate != rate:
        raise ValidationFailed(
            "该日已有不同的LPR报价", "A different LPR is already recorded for that date", code="lpr_conflict"
        )
    return row


# ---------------------------------------------------------------------------------------------- demo

# LPR fixings (全国银行间同业拆借中心), 1-year and 5-year-plus, from the reform of August 2019.
LPR_HISTORY: tuple[tuple[dt.date, str, str], ...] = (
    (dt.date(2019, 8, 20), "0.0425", "0.0485"),
    (dt.date(2019, 9, 20), "0.0420", "0.0485"),
    (dt.date(2019, 11, 20), "0.0415", "0.0480"),
    (dt.date(2020, 2, 20), "0.0405", "0.0475"),
    (dt.date(2020, 4, 20), "0.0385", "0.0465"),
    (dt.date(2021, 12, 20), "0.0380", "0.0465"),
    (dt.date(2022, 1, 20), "0.0370", "0.0460"),
    (dt.date(2022, 5, 20), "0.0370", "0.0445"),
    (dt.date(2022, 8, 22), "0.0365", "0.0430"),
    (dt.date(2023, 6, 20), "0.0355", "0.0420"),
    (dt.date(2023, 8, 21), "0.0345", "0.0420"),
    (dt.date(2024, 2, 20), "0.0345", "0.0395"),
    (dt.date(2024, 7, 22), "0.0335", "0.0385"),
    (dt.date(2024, 10, 21), "0.0310", "0.0360"),
    (dt.date(2025, 5, 20), "0.0300", "0.0350"),
)

_W = 10_000 * 100  # 1 万元 in fen
_ONLINE_ENTRY = ("mobile_banking", "wechat")
_ALL_ENTRY = ("mobile_banking", "wechat", "outlet")
_START = dt.date(2020, 6, 1)


def _t(**kw: Any) -> rules.ProductTerms:
    base: dict[str, Any] = {
        "effective_from": _START,
        "min_term_months": 1,
        "rate_kind": "lpr_spread",
        "lpr_tenor": "1y",
    }
    base.update(kw)
    return rules.ProductTerms(**base)


# (code, name, description, terms): the products the case study names, with plausible terms.
CATALOGUE: tuple[tuple[str, str, str, rules.ProductTerms], ...] = (
    (
        "xinedai",
        "信e贷",
        "无抵押、无担保、纯信用,手机银行自助申请;三种入库模式",
        _t(
            guarantee_type="credit",
            intake_modes=("offline_approval", "model", "small_credit"),
            channels=("online", "combined"),
            entry_points=_ALL_ENTRY,
            min_amount_fen=1 * _W,
            max_amount_fen=30 * _W,
            max_term_months=36,
            repayment_methods=("annuity", "equal_principal", "interest_only", "revolving"),
            spread_bp=150,
        ),
    ),
    (
        "anjie_edai",
        "按揭e贷",
        "面向本行按揭贷款客户的纯线上信用贷款",
        _t(
            guarantee_type="credit",
            intake_modes=("model",),
            channels=("online",),
            entry_points=_ONLINE_ENTRY,
            min_amount_fen=1 * _W,
            max_amount_fen=20 * _W,
            max_term_months=36,
            repayment_methods=("annuity", "interest_only"),
            spread_bp=130,
            effective_from=dt.date(2021, 3, 1),
        ),
    ),
    (
        "beiyongjin_edai",
        "备用金e贷",
        "小额备用金,随借随还,纯线上",
        _t(
            guarantee_type="credit",
            intake_modes=("model", "small_credit"),
            channels=("online",),
            entry_points=_ONLINE_ENTRY,
            min_amount_fen=1_000 * 100,
            max_amount_fen=5 * _W,
            max_term_months=12,
            repayment_methods=("revolving", "interest_only"),
            rate_kind="fixed",
            lpr_tenor="",
            annual_rate=Decimal("0.0540"),
            effective_from=dt.date(2021, 3, 1),
        ),
    ),
    (
        "nongshang_edai",
        "农商e贷",
        "纯线上办理的个人经营及消费信用贷款",
        _t(
            guarantee_type="credit",
            intake_modes=("model", "offline_approval"),
            channels=("online",),
            entry_points=_ONLINE_ENTRY,
            min_amount_fen=1 * _W,
            max_amount_fen=20 * _W,
            max_term_months=36,
            repayment_methods=("annuity", "equal_principal", "interest_only", "revolving"),
            spread_bp=200,
            effective_from=dt.date(2021, 3, 1),
        ),
    ),
    (
        "xinchou_edai",
        "薪e贷",
        "面向代发工资客户的纯线上信用贷款",
        _t(
            guarantee_type="credit",
            intake_modes=("model",),
            channels=("online",),
            entry_points=_ONLINE_ENTRY,
            min_amount_fen=1 * _W,
            max_amount_fen=20 * _W,
            max_term_months=36,
            repayment_methods=("annuity", "interest_only", "revolving"),
            spread_bp=100,
            segments=("salaried",),
            effective_from=dt.date(2022, 1, 1),
        ),
    ),
    (
        "baozheng_edai",
        "保证e贷",
        "追加保证人的线上贷款",
        _t(
            guarantee_type="guarantee",
            intake_modes=("offline_approval", "model"),
            channels=("online", "combined"),
            entry_points=_ALL_ENTRY,
            min_amount_fen=1 * _W,
            max_amount_fen=30 * _W,
            max_term_months=36,
            repayment_methods=("annuity", "equal_principal", "interest_only"),
            spread_bp=220,
            effective_from=dt.date(2021, 3, 1),
        ),
    ),
    (
        "zhiya_edai",
        "质押e贷",
        "以本行存单等质押的纯线上贷款",
        _t(
            guarantee_type="pledge",
            intake_modes=("model", "offline_approval"),
            channels=("online",),
            entry_points=_ONLINE_ENTRY,
            min_amount_fen=1 * _W,
            max_amount_fen=20 * _W,
            max_term_months=12,
            repayment_methods=("interest_only", "bullet"),
            spread_bp=50,
            effective_from=dt.date(2021, 3, 1),
        ),
    ),
    (
        "dapeng_dai",
        "大棚贷",
        "农区大棚种植户的生产经营贷款",
        _t(
            guarantee_type="credit",
            intake_modes=("offline_approval", "model", "small_credit"),
            channels=("online", "combined"),
            entry_points=_ALL_ENTRY,
            min_amount_fen=1 * _W,
            max_amount_fen=30 * _W,
            max_term_months=36,
            repayment_methods=("interest_only", "annuity", "revolving"),
            spread_bp=160,
            segments=("greenhouse",),
        ),
    ),
    (
        "zhuyang_dai",
        "助养贷",
        "养殖大户的生产经营贷款",
        _t(
            guarantee_type="credit",
            intake_modes=("offline_approval", "model"),
            channels=("combined",),
            entry_points=_ALL_ENTRY,
            min_amount_fen=1 * _W,
            max_amount_fen=30 * _W,
            max_term_months=36,
            repayment_methods=("interest_only", "equal_principal"),
            spread_bp=180,
            segments=("breeder",),
        ),
    ),
    (
        "zhongzhi_wuyou_dai",
        "种植无忧贷",
        "种植大户按农时用款、收获后还款",
        _t(
            guarantee_type="credit",
            intake_modes=("offline_approval", "model", "small_credit"),
            channels=("online", "combined"),
            entry_points=_ALL_ENTRY,
            min_amount_fen=5_000 * 100,
            max_amount_fen=20 * _W,
            max_term_months=12,
            repayment_methods=("bullet", "interest_only"),
            spread_bp=170,
            segments=("greenhouse", "other"),
        ),
    ),
    (
        "huishang_dai",
        "惠商贷",
        "个体工商户和小微企业主的经营贷款",
        _t(
            guarantee_type="credit",
            intake_modes=("offline_approval", "model"),
            channels=("online", "combined"),
            entry_points=_ALL_ENTRY,
            min_amount_fen=1 * _W,
            max_amount_fen=30 * _W,
            max_term_months=36,
            repayment_methods=("annuity", "interest_only", "revolving"),
            spread_bp=190,
            segments=("business", "smb_owner"),
        ),
    ),
    (
        "kangyi_qinqing_dai",
        "抗疫亲情贷",
        "疫情期间对个体工商户和小微企业主的优惠利率贷款(已停办)",
        _t(
            guarantee_type="credit",
            intake_modes=("offline_approval", "model"),
            channels=("online", "combined"),
            entry_points=_ALL_ENTRY,
            min_amount_fen=1 * _W,
            max_amount_fen=30 * _W,
            max_term_months=12,
            repayment_methods=("interest_only", "annuity"),
            rate_kind="fixed",
            lpr_tenor="",
            annual_rate=Decimal("0.0385"),
            segments=("business", "smb_owner"),
            effective_from=dt.date(2020, 3, 1),
            effective_to=dt.date(2022, 12, 31),
        ),
    ),
)


def seed_catalogue(actor: Any = None) -> list[Product]:
    """Create the case study's catalogue and the LPR history as approved data; idempotent by code.

    The demo bank's starting configuration is not a change of terms, so it is recorded as approved with
    the reason "seed" and an audit row, not routed through a second approver.
    """
    for on, one_year, five_year in LPR_HISTORY:
        record_lpr(actor, tenor="1y", effective_on=on, rate=Decimal(one_year))
        record_lpr(actor, tenor="5y", effective_on=on, rate=Decimal(five_year))
    created: list[Product] = []
    for code, name, description, terms in CATALOGUE:
        if Product.objects.filter(code=code).exists():
            continue
        check_terms(terms)
        product = Product.objects.create(
            code=code, name=name, description=description, created_at=now(), created_by=_user(actor)
        )
        version = _new_version(actor, product, terms, note="seed", status=VersionStatus.APPROVED)
        version.decided_at, version.decision_reason = version.proposed_at, "seed"
        version.save(update_fields=["decided_at", "decision_reason"])
        audit.record(
            actor,
            "products.seed",
            version,
            after={"product": code, "name": name, "version": 1, **_jsonable(terms.as_dict())},
            reason="seed",
            scope_path=AUDIT_SCOPE,
        )
        created.append(product)
    return created
