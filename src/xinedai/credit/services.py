"""Credit use cases: approve models and strategies (maker ≠ checker), decide (model and small credit),
grant credit lines, offline applications and their review, and the key-information change guard.

Services run in the caller's transaction and write their audit rows there; they never commit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db import router, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    F,
    FilteredRelation,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    When,
)
from django.db.models.functions import Cast, Coalesce

from xinedai.core import audit, reuse, statements
from xinedai.core.approvals import require_second_person
from xinedai.core.dates import business_today, now
from xinedai.core.errors import BusinessError, PermissionDenied, ValidationFailed
from xinedai.core.ids import age_on
from xinedai.households import access as household_access
from xinedai.households.access import households_for
from xinedai.households.choices import Relation
from xinedai.households.models import Document, FileVersion, Household, Member

from . import access, features, rules
from .choices import (
    LIVE_LINE_STATUSES,
    AlertStatus,
    ApplicationStatus,
    Channel,
    IntakeMode,
    LineStatus,
    ModelStatus,
    StrategyStatus,
)
from .models import (
    EXPIRED_WITH_LOANS,
    ChangeAlert,
    CreditDecision,
    CreditLine,
    LimitStrategy,
    OfflineApplication,
    ScoreModel,
)
from .scorecard import Scorecard

LINE_TERM_DAYS = 365  # annual re-review
PRODUCT = "xinedai"  # the base product; the product catalogue (issue 3, scope 1) will widen this


class NotConfigured(BusinessError):
    code = "credit_not_configured"
    status = 409


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _require(actor: Any, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied("您没有审批权限", "You may not approve this", code="forbidden_approval", perm=perm)


def _draft_model(actor: Any, model: ScoreModel) -> ScoreModel:
    require_second_person(actor, model.trained_by_id, what_zh="模型", what_en="model")
    _require(actor, "credit.approve_scoremodel")
    model = ScoreModel.objects.select_for_update().get(pk=model.pk)
    if model.status != ModelStatus.DRAFT:
        raise ValidationFailed("只能审批待审批的模型", "Only a draft model can be approved", code="model_not_draft")
    return model


def _rejection_note(note: str) -> str:
    if not note or not note.strip():
        raise ValidationFailed("驳回须说明原因", "A rejection needs a reason", code="reason_required", field="note")
    return note.strip()[:300]


def approve_model(actor: Any, model: ScoreModel, *, note: str = "") -> ScoreModel:
    """Activate a trained model for its family after a second person's approval; the old one retires."""
    model = _draft_model(actor, model)
    previous = ScoreModel.objects.filter(family=model.family, status=ModelStatus.ACTIVE).first()
    if previous is not None:
        previous.status = ModelStatus.RETIRED
        previous.save(update_fields=["status"])
    model.status, model.approved_by, model.approved_at = ModelStatus.ACTIVE, actor, now()
    model.decision_note = note.strip()[:300]
    model.save(update_fields=["status", "approved_by", "approved_at", "decision_note"])
    audit.record(
        actor,
        "credit.model.approve",
        model,
        before={"status": "draft", "active_version": previous.version if previous else None},
        after={"status": "active", "version": model.version, "auc": model.report.get("test", {}).get("auc")},
        reason=model.decision_note,
    )
    return model


def reject_model(actor: Any, model: ScoreModel, *, note: str) -> ScoreModel:
    """A second person turns a draft model down, with the reason; the active model stays."""
    note = _rejection_note(note)
    model = _draft_model(actor, model)
    model.status, model.approved_by, model.approved_at, model.decision_note = ModelStatus.REJECTED, actor, now(), note
    model.save(update_fields=["status", "approved_by", "approved_at", "decision_note"])
    audit.record(
        actor, "credit.model.reject", model, before={"status": "draft"}, after={"status": "rejected"}, reason=note
    )
    return model


def propose_strategy(actor: Any, params: dict[str, Any], *, note: str = "") -> LimitStrategy:
    """A new version of the limit strategy's parameters, awaiting a second person's approval."""
    if actor is not None:  # a command or the demo's seeding acts as nobody
        access.require_propose_strategy(actor)
    try:
        clean = rules.StrategyParams.from_dict(params).to_dict()
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ValidationFailed(
            "额度策略参数无效", f"Invalid strategy parameters: {exc}", code="strategy_invalid"
        ) from exc
    version = (LimitStrategy.objects.aggregate(m=Max("version"))["m"] or 0) + 1
    strategy = LimitStrategy.objects.create(
        version=version, params=clean, note=note[:300], created_at=now(), created_by=_user(actor)
    )
    audit.record(actor, "credit.strategy.propose", strategy, after={"version": version, **clean}, reason=note)
    return strategy


def _draft_strategy(actor: Any, strategy: LimitStrategy) -> LimitStrategy:
    require_second_person(actor, strategy.created_by_id, what_zh="额度策略", what_en="limit strategy")
    _require(actor, "credit.approve_limitstrategy")
    strategy = LimitStrategy.objects.select_for_update().get(pk=strategy.pk)
    if strategy.status != StrategyStatus.DRAFT:
        raise ValidationFailed(
            "只能审批待审批的策略", "Only a proposed strategy can be approved", code="strategy_not_draft"
        )
    return strategy


def approve_strategy(actor: Any, strategy: LimitStrategy, *, note: str = "") -> LimitStrategy:
    """Activate a proposed strategy after a second person's approval; the old one retires. Decisions made
    from then on use it (each records its version)."""
    strategy = _draft_strategy(actor, strategy)
    previous = LimitStrategy.objects.filter(status=StrategyStatus.ACTIVE).first()
    if previous is not None:
        previous.status = StrategyStatus.RETIRED
        previous.save(update_fields=["status"])
    strategy.status, strategy.approved_by, strategy.approved_at = StrategyStatus.ACTIVE, actor, now()
    strategy.decision_note = note.strip()[:300]
    strategy.save(update_fields=["status", "approved_by", "approved_at", "decision_note"])
    audit.record(
        actor,
        "credit.strategy.approve",
        strategy,
        before={"active_version": previous.version if previous else None},
        after={"version": strategy.version},
        reason=strategy.decision_note,
    )
    return strategy


def reject_strategy(actor: Any, strategy: LimitStrategy, *, note: str) -> LimitStrategy:
    """A second person turns a proposed strategy down, with the reason; the active one stays."""
    note = _rejection_note(note)
    strategy = _draft_strategy(actor, strategy)
    strategy.status, strategy.approved_by, strategy.approved_at = StrategyStatus.REJECTED, actor, now()
    strategy.decision_note = note
    strategy.save(update_fields=["status", "approved_by", "approved_at", "decision_note"])
    audit.record(
        actor,
        "credit.strategy.reject",
        strategy,
        before={"status": "draft"},
        after={"status": "rejected", "version": strategy.version},
        reason=note,
    )
    return strategy


def active_model(family: str = "xinedai") -> ScoreModel:
    # The training report is large and not needed to score: it is loaded only where it is shown.
    model = ScoreModel.objects.defer("report").filter(family=family, status=ModelStatus.ACTIVE).first()
    if model is None:
        raise NotConfigured("尚未启用评分模型", "No scorecard model is active", family=family)
    return model


def active_strategy() -> LimitStrategy:
    strategy = LimitStrategy.objects.filter(status=StrategyStatus.ACTIVE).first()
    if strategy is None:
        raise NotConfigured("尚未启用额度策略", "No limit strategy is active")
    return strategy


_PARAMS: dict[str, rules.StrategyParams] = {}


def _strategy_params(text: str) -> rules.StrategyParams:
    """Parsed strategy parameters, once per process per distinct JSON text (the text is the cache key, so an
    edited row can never be served from an old entry)."""
    params = _PARAMS.get(text)
    if params is None:
        params = _PARAMS[text] = rules.StrategyParams.from_dict(json.loads(text))
    return params


def _configuration_statement(family: str) -> statements.Statement:
    strategies = LimitStrategy.objects.filter(status=StrategyStatus.ACTIVE).order_by()
    queryset = (
        ScoreModel.objects.filter(family=family, status=ModelStatus.ACTIVE)
        .annotate(
            strategy_id=Subquery(strategies.values("pk")[:1]),
            strategy_version=Subquery(strategies.values("version")[:1]),
            strategy_params=Subquery(strategies.annotate(text=Cast("params", TextField())).values("text")[:1]),
        )
        .order_by()
        .values("id", "family", "version", "trained_at", "strategy_id", "strategy_version", "strategy_params")
    )
    return statements.Statement.compile(queryset)


_CONFIGURATION: statements.StatementCache[str] = statements.StatementCache(size=8)


_ACTIVE: reuse.Reused[str, tuple[ScoreModel, LimitStrategy, rules.StrategyParams]] = reuse.Reused(size=8)


def active_configuration(family: str = "xinedai") -> tuple[ScoreModel, LimitStrategy, rules.StrategyParams]:
    """The active model and strategy, read in one small query.

    Both are reused for up to a second (core.reuse): a model or strategy approved in this process is
    used by its very next decision, one approved in another process within that second, and every decision
    records the versions it used. What never changes for a given row — the compiled card (compiled_card)
    and the parsed parameters (_strategy_params) — is built once per process, and so is the SQL. The model
    comes without its compiled card and report (loaded if asked for), the strategy with its number and
    parameters only (the rest likewise).
    """
    statement = _CONFIGURATION.get(family, lambda: _configuration_statement(family))
    active = _ACTIVE.get(family, lambda: _read_configuration(statement, family))
    assert active is not None
    return active


def _read_configuration(
    statement: statements.Statement, family: str
) -> tuple[ScoreModel, LimitStrategy, rules.StrategyParams]:
    row = statement.first()
    if row is None:
        raise NotConfigured("尚未启用评分模型", "No scorecard model is active", family=family)
    if row["strategy_id"] is None:
        raise NotConfigured("尚未启用额度策略", "No limit strategy is active")
    model = ScoreModel.from_db(
        statement.alias,
        ["id", "family", "version", "trained_at"],
        [row[k] for k in ("id", "family", "version", "trained_at")],
    )
    text = row["strategy_params"]
    strategy = LimitStrategy.from_db(
        statement.alias, ["id", "version", "params"], [row["strategy_id"], row["strategy_version"], json.loads(text)]
    )
    return model, strategy, _strategy_params(text)


def product_cap_fen(
    mode: str,
    channel: str,
    channel_cap_fen: int,
    *,
    on: dt.date,
    product_code: str = PRODUCT,
    segments: Sequence[str] | None = None,
) -> int:
    """The product's cap for a decision, from the catalogue's version in force on the business date.

    The mode and channel must be among the product's own, and a product that targets segments (大棚贷:
    greenhouse growers) is only for households of one of them (`segments`, when given). Without a
    catalogue entry (a bank that has not loaded its catalogue) the channel cap applies alone.
    """
    from xinedai.products.models import Product
    from xinedai.products.queries import approved_versions, version_in_force

    channel_cap = channel_cap_fen
    # The product's approved versions, reused for up to a second (products.queries, core.reuse); the
    # product row is read only when there are none.
    if not approved_versions(product_code) and not Product.objects.filter(code=product_code).exists():
        return channel_cap
    terms = version_in_force(product_code, on)
    if terms is None:
        raise ValidationFailed(
            "该产品当前未在售",
            "The product is not on sale on this date",
            code="product_not_on_sale",
            product=product_code,
        )
    if mode not in terms.intake_modes:
        raise ValidationFailed(
            "该产品不支持此入库模式",
            "The product does not allow this intake mode",
            code="product_mode",
            product=product_code,
            mode=mode,
        )
    if channel not in terms.channels:
        raise ValidationFailed(
            "该产品不支持此渠道",
            "The product is not sold on this channel",
            code="product_channel",
            product=product_code,
            channel=channel,
        )
    if segments is not None and terms.segments and not set(terms.segments) & set(segments):
        raise ValidationFailed(
            "该产品不面向此客户群体",
            "The product is not for this customer segment",
            code="product_segment",
            product=product_code,
            segments=list(terms.segments),
        )
    return min(channel_cap, int(terms.max_amount_fen))


# What a line holds of the per-customer caps: its limit while it is live; once expired, what is still owed
# on it (its loans run on after the line expires, until the annual re-review renews it).
_HOLDS = Q(status__in=LIVE_LINE_STATUSES) | EXPIRED_WITH_LOANS
_HELD_FEN = Case(When(status__in=LIVE_LINE_STATUSES, then=F("limit_fen")), default=F("used_fen"))


def exposure_fen(household: Household, *, excluding_product: str | None = None) -> int:
    """The customer's exposure across all products: the limits of their live lines and what is owed on
    their expired ones."""
    qs = CreditLine.objects.filter(_HOLDS, household=household)
    if excluding_product:
        qs = qs.exclude(product_code=excluding_product)
    return int(qs.aggregate(s=Sum(_HELD_FEN))["s"] or 0)


# What a decision reads about a household besides its row and current file, as annotations of one query.
_FACTS = ("decision_head_birth_date", "decision_exposure_fen", "decision_granted_version_id", "decision_scope_path")


def _fact_annotations(product_code: str) -> dict[str, Any]:
    other_lines = (
        CreditLine.objects.filter(_HOLDS, household=OuterRef("pk"))
        .exclude(product_code=product_code)
        .order_by()
        .values("household")
        .annotate(total=Sum(_HELD_FEN))
        .values("total")
    )
    head = Member.objects.filter(household=OuterRef("pk"), relation=Relation.HEAD).order_by()
    return {
        "decision_head_birth_date": Subquery(head.values("birth_date")[:1]),
        # exposure_fen(): what the customer's lines of other products hold of the caps
        "decision_exposure_fen": Coalesce(Subquery(other_lines), 0, output_field=BigIntegerField()),
        # live_line(): at most one per household and product (a unique constraint)
        "decision_live_line": FilteredRelation(
            "credit_lines",
            condition=Q(credit_lines__product_code=product_code, credit_lines__status__in=LIVE_LINE_STATUSES),
        ),
        "decision_granted_version_id": F("decision_live_line__decision__file_version_id"),
        "decision_scope_path": F("village__grid__outlet__path"),
    }


@functools.cache
def _decision_shape(product_code: str) -> Callable[[QuerySet[Household]], QuerySet[Any]]:
    """The read of household_for_decision() for one product (one function per product: compiled once)."""

    def shape(households: QuerySet[Household]) -> QuerySet[Any]:
        return (
            households.annotate(**_fact_annotations(product_code))
            .order_by()
            .values(*statements.columns(Household), *statements.columns(FileVersion, "current_file__"), *_FACTS)
        )

    return shape


def household_for_decision(user: Any, pk: int, *, product_code: str = PRODUCT) -> Household:
    """A household in the user's scope (households.access decides) with its current file and everything
    decide() reads about it for that product, in one query."""
    row = household_access.get_household_row(user, pk, _decision_shape(product_code))
    alias = router.db_for_read(Household)
    household = statements.instance(Household, row, alias)
    current = statements.instance(FileVersion, row, alias, "current_file__")
    Household._meta.get_field("current_file").set_cached_value(household, current)  # type: ignore[union-attr]
    for name in _FACTS:
        setattr(household, name, row[name])
    household.decision_facts_product = product_code  # type: ignore[attr-defined]
    return household


def _decision_facts(household: Household, product_code: str) -> dict[str, Any]:
    if getattr(household, "decision_facts_product", None) == product_code:
        return {name: getattr(household, name) for name in _FACTS}
    return Household.objects.filter(pk=household.pk).annotate(**_fact_annotations(product_code)).values(*_FACTS).get()


def file_inputs(version: FileVersion | dict[str, int], *, age: int, family_size: int, segment: str) -> dict[str, Any]:
    values = version.values() if isinstance(version, FileVersion) else dict(version)
    cols: dict[str, list[Any]] = {k: [int(values.get(k, 0))] for k in features.NEEDED}
    cols.update({"age": [age], "family_size": [family_size], "segment": [segment]})
    computed = features.compute(cols)
    return {k: (v[0] if k == "segment" else int(v[0])) for k, v in computed.items()}


_CARDS: dict[tuple[int, Any], Scorecard] = {}


def compiled_card(model: ScoreModel) -> Scorecard:
    """The model's compiled card, built once per process: a model version's points never change."""
    key = (model.pk, model.trained_at)  # ids are reused after a rollback (tests); training instants are not
    card = _CARDS.get(key)
    if card is None:
        card = _CARDS[key] = Scorecard.from_dict(model.compiled)
    return card


def _score(model: ScoreModel, inputs: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    card = compiled_card(model)
    missing = [n for n in card.names if n not in inputs]
    if missing:
        raise NotConfigured(
            "评分模型使用了档案中没有的变量",
            "The active model needs variables the file does not have",
            variables=missing,
        )
    bins = card.bin_columns({n: [inputs[n]] for n in card.names})
    return int(card.score_binned(bins)[0]), card.reasons(bins[0])


def decide(
    actor: Any,
    *,
    household: Household | None = None,
    file_values: dict[str, int] | None = None,
    age: int | None = None,
    family_size: int = 1,
    segment: str = "other",
    channel: str = Channel.COMBINED,
    source: str = "api",
    today: dt.date | None = None,
    product_code: str = PRODUCT,
) -> CreditDecision:
    """Model decision for a household (its current file) or for a complete file given in full, for one
    catalogue product: its terms cap the limit, and the customer's lines of other products count as
    exposure."""
    today = today or business_today()
    if channel not in Channel.values:
        raise ValidationFailed("渠道无效", "Unknown channel", code="channel_unknown", field="channel")
    model, strategy, params = active_configuration()
    product_cap = product_cap_fen(
        IntakeMode.MODEL,
        channel,
        params.channel_caps_fen[channel],
        on=today,
        product_code=product_code,
        segments=household.segment_list if household is not None else [segment],
    )
    version = None
    exposure = 0
    facts: dict[str, Any] = {}
    if household is not None:
        version = household.current_file
        if version is None:
            raise ValidationFailed("该户尚无档案", "The household has no file yet", code="file_missing")
        facts = _decision_facts(household, product_code)
        birth_date = facts["decision_head_birth_date"]
        if birth_date is None:  # no head, or a head without an ID number
            raise ValidationFailed("户主身份证号缺失", "The head's ID number is missing", code="head_id_missing")
        age = age_on(birth_date, today)
        family_size = household.size
        segment = features.primary_segment(household.segments)
        exposure = int(facts["decision_exposure_fen"])
        inputs = file_inputs(version, age=age, family_size=family_size, segment=segment)
    else:
        if file_values is None or age is None:
            raise ValidationFailed(
                "需要户编号或完整档案", "Give a household id or a complete file", code="decision_input"
            )
        inputs = file_inputs(file_values, age=age, family_size=family_size, segment=segment)
    score, reasons = _score(model, inputs)
    limits = rules.model_limits(
        np.array([score]),
        net_assets_fen=np.array([inputs["net_assets_yuan"] * 100]),
        disposable_income_fen=np.array([inputs["disposable_income_yuan"] * 100]),
        exposure_fen=np.array([exposure]),
        product_cap_fen=product_cap,
        channel=channel,
        params=params,
    )
    grade = rules.grade_names(params)[int(limits.grade[0])]
    limit, binding = int(limits.limit_fen[0]), rules.binding_names(limits.binding)[0]
    decision_inputs: dict[str, Any] = {
        **inputs,
        "exposure_fen": exposure,
        "candidates_fen": {k: int(v[0]) for k, v in limits.candidates.items()},
    }
    guard = None
    granted_version_id = facts.get("decision_granted_version_id")
    # check_guard() finds nothing unless the live line was granted on another file version than the
    # current one (no line, or no change since the grant: the usual case); it runs only then.
    if household is not None and version is not None and granted_version_id not in (None, version.pk):
        guard = check_guard(household, version, params, product_code=product_code)
        limit, binding = guard.hold(limit, binding, decision_inputs)
    decision = CreditDecision(
        household=household,
        file_version=version,
        product_code=product_code,
        mode=IntakeMode.MODEL,
        channel=channel,
        score=score,
        grade=grade,
        limit_fen=limit,
        binding=binding,
        reasons=reasons,
        **CreditDecision.input_fields(decision_inputs),
        score_model=model,
        strategy=strategy,
        source=source,
        created_at=now(),
        created_by=_user(actor),
    )
    if household is None:  # a file given in full: nothing of the bank's changes, nothing to audit
        decision.save(force_insert=True)
        return decision
    # The decision and its audit row: one prepared statement on PostgreSQL (the decision API's hot path,
    # which runs outside a transaction of its own); with a change alert too, one transaction for all.
    with transaction.atomic() if guard is not None else contextlib.nullcontext():
        _record_decision(actor, decision, household, guard, facts["decision_scope_path"], model, strategy)
    return decision


def _record_decision(
    actor: Any,
    decision: CreditDecision,
    household: Household,
    guard: Any,
    scope_path: str,
    model: ScoreModel,
    strategy: LimitStrategy,
) -> None:
    audit.create_with_record(
        decision,
        actor,
        "credit.decision",
        after={
            "household": household.code,
            "score": decision.score,
            "grade": decision.grade,
            "limit_fen": decision.limit_fen,
            "binding": decision.binding,
            "model": model.version,
            "strategy": strategy.version,
            "product": decision.product_code,
        },
        scope_path=scope_path,
    )
    if guard is not None:
        guard.raise_alert(actor, household, decision)


def grant_line(
    actor: Any, decision: CreditDecision, *, status: str = LineStatus.ACTIVE, today: dt.date | None = None
) -> CreditLine:
    """Grant (or re-grant) the household's line from a decision; the previous live line of the product
    is replaced. The per-customer caps are re-checked under a lock on the household."""
    today = today or business_today()
    if decision.household_id is None:
        raise ValidationFailed(
            "该决策不属于任何户", "The decision is not for a household", code="decision_no_household"
        )
    household = Household.objects.select_for_update().get(pk=decision.household_id)
    from xinedai.lending.queries import written_off_debtors  # lending builds on credit: imported here

    if written_off_debtors([household.pk]):
        raise ValidationFailed(
            "该客户有已核销尚未收回的贷款，不能授信",
            "The customer still owes on a written-off loan: no line can be granted",
            code="written_off_debt",
        )
    if decision.limit_fen <= 0:
        raise ValidationFailed(
            "该决策未给出额度", "The decision grants no limit", code="no_limit", binding=decision.binding
        )
    if CreditLine.objects.filter(decision=decision).exists():
        raise ValidationFailed("该决策已经授信", "This decision has already granted a line", code="decision_used")
    params = rules.StrategyParams.from_dict(decision.strategy.params)
    product = decision.product_code
    others = exposure_fen(household, excluding_product=product)
    # Conservative on purpose: for a pure-online line every other live line counts against the
    # 200,000 RMB online cap; for a combined line, against 300,000 RMB.
    cap = params.channel_caps_fen[decision.channel]
    if others + decision.limit_fen > cap:
        raise ValidationFailed(
            "超过单户授信上限",
            "The customer's cap across all products would be exceeded",
            code="customer_cap",
            cap_fen=cap,
            exposure_fen=others,
        )
    lines = CreditLine.objects.filter(household=household, product_code=product).select_for_update()
    previous = lines.filter(status__in=LIVE_LINE_STATUSES).first()
    if previous is None:
        # An expired line that still has loans on it: the annual re-review renews it (see below).
        previous = lines.filter(EXPIRED_WITH_LOANS).order_by("-expires_on", "-pk").first()
    if previous is not None and previous.used_fen > decision.limit_fen:
        raise ValidationFailed("新额度低于已用额度", "The new limit is below what is drawn", code="limit_below_used")
    before = (
        {"limit_fen": previous.limit_fen, "status": previous.status, "expires_on": previous.expires_on}
        if previous
        else None
    )
    granted = {
        "limit_fen": decision.limit_fen,
        "intake_mode": decision.mode,
        "channel": decision.channel,
        "status": status,
        "decision": decision,
        "granted_at": now(),
        "expires_on": today + dt.timedelta(days=LINE_TERM_DAYS),
        "granted_by": _user(actor),
    }
    renewed = previous is not None and previous.used_fen > 0
    line: CreditLine
    if previous is not None and renewed:
        # A line with loans on it is renewed in place: its loans stay on it and keep holding its limit
        # (a loan belongs to one line, in the ledger too), and their repayments free the renewed limit.
        # A new line beside it would leave the loans on the old one, whose repayments would free the old
        # line and never the new (docs/decisions/0012).
        line = previous
        for name, value in granted.items():
            setattr(line, name, value)
        line.save(update_fields=list(granted))
    else:
        if previous is not None:  # an undrawn line is replaced: each grant keeps its own row
            previous.status = LineStatus.REVOKED
            previous.save(update_fields=["status"])
        line = CreditLine.objects.create(household=household, product_code=product, used_fen=0, **granted)
    audit.record(
        actor,
        "credit.line.grant",
        line,
        before=before,
        after={
            "household": household.code,
            "limit_fen": line.limit_fen,
            "status": line.status,
            "mode": line.intake_mode,
            "product": product,
            "decision": decision.pk,
            "expires_on": line.expires_on,
            **({"renewed": True, "used_fen": line.used_fen} if renewed else {}),
        },
        scope_path=household.village.grid.outlet.path,
    )
    return line


def _scope(household: Household) -> str:
    return household.village.grid.outlet.path


def live_line(household: Household, product_code: str = PRODUCT) -> CreditLine | None:
    return (
        CreditLine.objects.filter(household=household, product_code=product_code, status__in=LIVE_LINE_STATUSES)
        .select_related("decision__file_version")
        .first()
    )


# Key-information change guard ------------------------------------------------------------------


def _guard_items(
    granted: FileVersion, current: FileVersion, *, newest_document_version: int | None, params: rules.StrategyParams
) -> list[dict[str, Any]]:
    if current.pk == granted.pk:
        return []
    days = max(0, (current.created_at - granted.created_at).days)
    new_document = newest_document_version is not None and newest_document_version > granted.version
    return rules.change_guard(
        granted.values(), current.values(), days_between=days, new_document=new_document, params=params
    )


@dataclass
class GuardCheck:
    """The change guard's verdict on one household's current file against its live line's file."""

    items: list[dict[str, Any]] = field(default_factory=list)
    line: CreditLine | None = None
    from_version: FileVersion | None = None
    to_version: FileVersion | None = None
    accepted: bool = False  # a reviewer accepted this very file version
    held: bool = False

    @property
    def triggered(self) -> bool:
        return bool(self.items) and not self.accepted

    def hold(self, limit_fen: int, binding: str, inputs: dict[str, Any]) -> tuple[int, str]:
        """Cap a decision's limit at the live line's when the guard holds; note why in its inputs."""
        if not self.triggered or self.line is None or limit_fen <= self.line.limit_fen:
            return limit_fen, binding
        inputs["change_guard"] = {
            "items": self.items,
            "from_version": self.from_version.version if self.from_version else None,
            "to_version": self.to_version.version if self.to_version else None,
            "uncapped_limit_fen": limit_fen,
            "uncapped_binding": binding,
            "line_limit_fen": self.line.limit_fen,
        }
        self.held = True
        return self.line.limit_fen, "change_guard"

    def raise_alert(self, actor: Any, household: Household, decision: CreditDecision) -> ChangeAlert | None:
        """Open (or bring up to date) the household's one open alert after a held decision.

        A file version a reviewer already rejected stays held without a new alert.
        """
        if not self.held or self.from_version is None or self.to_version is None:
            return None
        if ChangeAlert.objects.filter(
            household=household, to_version=self.to_version, status=AlertStatus.REJECTED
        ).exists():
            return None
        alert = ChangeAlert.objects.select_for_update().filter(household=household, status=AlertStatus.OPEN).first()
        if alert is not None:
            if alert.to_version_id == self.to_version.pk:
                return alert
            before = {"to_version": alert.to_version.version, "items": alert.items}
            alert.from_version, alert.to_version, alert.items = self.from_version, self.to_version, self.items
            alert.line, alert.decision = self.line, decision
            alert.save(update_fields=["from_version", "to_version", "items", "line", "decision"])
            audit.record(
                actor,
                "credit.alert.refresh",
                alert,
                before=before,
                after={"to_version": self.to_version.version, "items": self.items},
                scope_path=_scope(household),
            )
            return alert
        alert = ChangeAlert.objects.create(
            household=household,
            from_version=self.from_version,
            to_version=self.to_version,
            line=self.line,
            decision=decision,
            items=self.items,
            raised_at=now(),
        )
        audit.record(
            actor,
            "credit.alert.raise",
            alert,
            after={
                "household": household.code,
                "from_version": self.from_version.version,
                "to_version": self.to_version.version,
                "items": self.items,
                "decision": decision.pk,
            },
            scope_path=_scope(household),
        )
        return alert


def check_guard(
    household: Household, version: FileVersion, params: rules.StrategyParams, *, product_code: str = PRODUCT
) -> GuardCheck:
    """Compare the household's file with the version its live line of the product was granted on (no
    line: no guard)."""
    line = live_line(household, product_code)
    if line is None or line.decision is None or line.decision.file_version is None:
        return GuardCheck(line=line)
    granted = line.decision.file_version
    newest = Document.objects.filter(household=household).aggregate(m=Max("file_version__version"))["m"]
    items = _guard_items(granted, version, newest_document_version=newest, params=params)
    accepted = (
        bool(items)
        and ChangeAlert.objects.filter(household=household, to_version=version, status=AlertStatus.ACCEPTED).exists()
    )
    return GuardCheck(items=items, line=line, from_version=granted, to_version=version, accepted=accepted)


def guarded_household_ids(ids: Iterable[int], params: rules.StrategyParams | None = None) -> set[int]:
    """Households (of `ids`) whose limit must not rise automatically now: the guard for batch runs.

    A few queries per call whatever the number of ids; call it per chunk of a batch.
    """
    ids = list(ids)
    if not ids:
        return set()
    params = params or rules.StrategyParams.from_dict(active_strategy().params)
    lines = (
        CreditLine.objects.filter(
            household_id__in=ids,
            product_code=PRODUCT,
            status__in=LIVE_LINE_STATUSES,
            decision__file_version__isnull=False,
        )
        .exclude(household__current_file__isnull=True)
        .exclude(household__current_file=F("decision__file_version"))
        .select_related("decision__file_version", "household__current_file")
    )
    candidates = {line.household_id: line for line in lines}
    if not candidates:
        return set()
    newest = dict(
        Document.objects.filter(household_id__in=candidates)
        .values("household_id")
        .annotate(m=Max("file_version__version"))
        .values_list("household_id", "m")
    )
    accepted = set(
        ChangeAlert.objects.filter(household_id__in=candidates, status=AlertStatus.ACCEPTED).values_list(
            "household_id", "to_version_id"
        )
    )
    out = set()
    for hid, line in candidates.items():
        current = line.household.current_file
        assert current is not None and line.decision is not None and line.decision.file_version is not None
        if (hid, current.pk) in accepted:
            continue
        if _guard_items(line.decision.file_version, current, newest_document_version=newest.get(hid), params=params):
            out.add(hid)
    return out


def review_alert(actor: Any, alert: ChangeAlert, *, accept: bool, note: str) -> ChangeAlert:
    """Accept (the next decision may raise the limit) or reject (the limit stays) a change alert."""
    access.require_review(actor)
    alert = ChangeAlert.objects.select_for_update().select_related("household__village__grid__outlet").get(pk=alert.pk)
    access.require_in_scope(actor, alert.household)
    require_second_person(actor, alert.to_version.created_by_id, what_zh="档案变更", what_en="file change")
    if alert.status != AlertStatus.OPEN:
        raise ValidationFailed("该预警已处理", "This alert has already been reviewed", code="alert_closed")
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("请填写核查结论", "Record the outcome of the review", code="note_required", field="note")
    alert.status = AlertStatus.ACCEPTED if accept else AlertStatus.REJECTED
    alert.reviewed_by, alert.reviewed_at, alert.outcome_note = actor, now(), note[:500]
    alert.save(update_fields=["status", "reviewed_by", "reviewed_at", "outcome_note"])
    audit.record(
        actor,
        "credit.alert.accept" if accept else "credit.alert.reject",
        alert,
        before={"status": AlertStatus.OPEN},
        after={"status": alert.status, "household": alert.household.code, "to_version": alert.to_version.version},
        reason=note,
        scope_path=_scope(alert.household),
    )
    return alert


def flag_managers(
    window_days: int,
    threshold: int,
    *,
    user: Any = None,
    at: dt.datetime | None = None,
    params: rules.StrategyParams | None = None,
) -> list[dict[str, Any]]:
    """Account managers (the makers of file versions) who sharply raised the key figures of at least
    `threshold` households within the last `window_days` (the staff side of 虚增授信额度).

    "Sharply" is the change guard's own test (strategy thresholds) between a version and the one before
    it. With `user`, only households in that user's scope count.
    """
    at = at or now()
    if params is None:
        strategy = LimitStrategy.objects.filter(status=StrategyStatus.ACTIVE).first()
        params = rules.StrategyParams.from_dict(strategy.params) if strategy else rules.DEFAULT_PARAMS
    recent = FileVersion.objects.filter(
        created_at__gt=at - dt.timedelta(days=window_days), created_at__lte=at, version__gt=1, created_by__isnull=False
    )
    if user is not None:
        recent = recent.filter(household__in=households_for(user))
    cols = ("household_id", "version", *rules.GUARDED)
    rows = list(recent.values(*cols, "created_by_id"))
    if not rows:
        return []
    wanted = {(r["household_id"], r["version"] - 1) for r in rows}
    previous = {
        (p["household_id"], p["version"]): p
        for p in FileVersion.objects.filter(household_id__in={h for h, _ in wanted}).values(*cols)
        if (p["household_id"], p["version"]) in wanted
    }
    raised: dict[str, set[int]] = {}
    for r in rows:
        before = previous.get((r["household_id"], r["version"] - 1))
        if before is None:
            continue
        if rules.change_guard(before, r, days_between=0, new_document=False, params=params):
            raised.setdefault(str(r["created_by_id"]), set()).add(r["household_id"])
    flagged = rules.staff_pattern({k: len(v) for k, v in raised.items()}, threshold=threshold)
    users = get_user_model().objects.filter(pk__in=[int(k) for k in flagged]).select_related("staff").in_bulk()
    out = [{"user": users[int(k)], "households": len(raised[k])} for k in flagged if int(k) in users]
    return sorted(out, key=lambda x: (-x["households"], x["user"].username))


# Small credit (小额信用) -------------------------------------------------------------------------


def decide_small(
    actor: Any,
    household: Household,
    today: dt.date | None = None,
    *,
    source: str = "page",
    product_code: str = PRODUCT,
) -> CreditDecision:
    """A small pure-online credit decision on the simplified rule set (cap and rules from the strategy),
    for one catalogue product: it must allow small credit online and the household's segment, its cap
    bounds the limit, and the customer's lines of other products count as exposure."""
    today = today or business_today()
    strategy = active_strategy()
    params = rules.StrategyParams.from_dict(strategy.params)
    version = household.current_file
    if version is None:
        raise ValidationFailed("该户尚无档案", "The household has no file yet", code="file_missing")
    product_cap = product_cap_fen(
        IntakeMode.SMALL_CREDIT,
        Channel.ONLINE,
        params.channel_caps_fen[Channel.ONLINE],
        on=today,
        product_code=product_code,
        segments=household.segment_list,
    )
    exposure = exposure_fen(household, excluding_product=product_code)
    disposable = version.disposable_income_fen
    limits, refusals = rules.small_credit_limits(
        disposable_income_fen=np.array([disposable]),
        exposure_fen=np.array([exposure]),
        current_overdue_fen=np.array([version.credit_current_overdue_fen]),
        overdue_count_24m=np.array([version.credit_overdue_count_24m]),
        three_elements_complete=np.array([household.three_elements_complete]),
        params=params,
        product_cap_fen=product_cap,
    )
    limit, codes = int(limits[0]), refusals[0]
    candidates = {
        "small_cap": params.small_cap_fen,
        "small_income": int(max(disposable, 0) * params.small_income_multiple),
        "channel_cap": params.channel_caps_fen[Channel.ONLINE],
    }
    ceiling = min(candidates.values())
    binding = min(candidates, key=lambda k: candidates[k])  # ties: first in the order above
    if exposure > 0 and ceiling - exposure < params.min_limit_fen:
        binding = "exposure"
    if product_cap < ceiling - max(exposure, 0):
        binding = "product_cap"
    candidates["product_cap"] = product_cap
    if any(c != "below_minimum" for c in codes):
        binding = "small_refused"
    decision_inputs: dict[str, Any] = {
        "disposable_income_fen": disposable,
        "current_overdue_fen": version.credit_current_overdue_fen,
        "overdue_count_24m": version.credit_overdue_count_24m,
        "three_elements_complete": household.three_elements_complete,
        "exposure_fen": exposure,
        "candidates_fen": candidates,
        "on": today.isoformat(),
    }
    guard = check_guard(household, version, params)
    limit, binding = guard.hold(limit, binding, decision_inputs)
    decision = CreditDecision.objects.create(
        household=household,
        file_version=version,
        product_code=product_code,
        mode=IntakeMode.SMALL_CREDIT,
        channel=Channel.ONLINE,
        score=None,
        grade="",
        limit_fen=limit,
        binding=binding,
        reasons=[{"code": c} for c in codes],
        **CreditDecision.input_fields(decision_inputs),
        score_model=None,
        strategy=strategy,
        source=source,
        created_at=now(),
        created_by=_user(actor),
    )
    guard.raise_alert(actor, household, decision)
    audit.record(
        actor,
        "credit.decision",
        decision,
        after={
            "household": household.code,
            "mode": decision.mode,
            "limit_fen": limit,
            "binding": binding,
            "refusals": codes,
            "strategy": strategy.version,
            "product": product_code,
        },
        scope_path=_scope(household),
    )
    return decision


# Offline approval (线下审批、线上放款) --------------------------------------------------------------

CHANNEL_CAP_FEN = {Channel.ONLINE: rules.PURE_ONLINE_CAP_FEN, Channel.COMBINED: rules.COMBINED_CAP_FEN}


def submit_application(
    actor: Any,
    household: Household,
    *,
    requested_limit_fen: int,
    channel: str = Channel.COMBINED,
    note: str = "",
    today: dt.date | None = None,
    product_code: str = PRODUCT,
) -> OfflineApplication:
    """An account manager submits a household for offline approval of a line of one catalogue product
    (it must allow offline approval on the channel and the household's segment; its cap bounds the
    request); the model's suggestion is computed now when a model and a strategy are active (otherwise
    the reviewer decides without one)."""
    today = today or business_today()
    access.require_submit(actor)
    access.require_in_scope(actor, household)
    if channel not in Channel.values:
        raise ValidationFailed("渠道无效", "Unknown channel", code="channel_unknown", field="channel")
    if requested_limit_fen <= 0:
        raise ValidationFailed(
            "申请额度须大于零", "The requested limit must be above zero", code="limit_positive", field="requested_limit"
        )
    cap = CHANNEL_CAP_FEN[Channel(channel)]
    if requested_limit_fen > cap:
        raise ValidationFailed(
            f"申请额度超过该渠道上限{cap // 100:,}元",
            f"The requested limit exceeds the channel cap of {cap // 100:,} yuan",
            code="over_channel_cap",
            field="requested_limit",
            cap_fen=cap,
        )
    # The product's own terms (the strategy, with its caps, may not be configured yet).
    product_cap = product_cap_fen(
        IntakeMode.OFFLINE_APPROVAL,
        channel,
        cap,
        on=today,
        product_code=product_code,
        segments=household.segment_list,
    )
    if requested_limit_fen > product_cap:
        raise ValidationFailed(
            f"申请额度超过该产品上限{product_cap // 100:,}元",
            f"The requested limit exceeds the product's cap of {product_cap // 100:,} yuan",
            code="over_product_cap",
            field="requested_limit",
            cap_fen=product_cap,
        )
    locked = Household.objects.select_for_update().select_related("village__grid__outlet").get(pk=household.pk)
    if locked.current_file_id is None:
        raise ValidationFailed("该户尚无档案", "The household has no file yet", code="file_missing")
    if OfflineApplication.objects.filter(
        household=locked, product_code=product_code, status=ApplicationStatus.SUBMITTED
    ).exists():
        raise ValidationFailed(
            "该户已有待审批的申请", "This household already has an application awaiting review", code="application_open"
        )
    suggestion = None
    try:
        suggestion = decide(
            actor, household=locked, channel=channel, source="offline", today=today, product_code=product_code
        )
    except NotConfigured:
        suggestion = None
    except ValidationFailed as exc:
        if exc.code != "product_mode":  # a product without model decisions: the officer decides alone
            raise
        suggestion = None
    application = OfflineApplication.objects.create(
        household=locked,
        product_code=product_code,
        requested_limit_fen=requested_limit_fen,
        channel=channel,
        note=(note or "").strip()[:300],
        submitted_by=actor,
        submitted_at=now(),
        suggestion=suggestion,
    )
    audit.record(
        actor,
        "credit.application.submit",
        application,
        after={
            "household": locked.code,
            "product": product_code,
            "requested_limit_fen": requested_limit_fen,
            "channel": channel,
            "suggestion": suggestion.pk if suggestion else None,
            "suggested_limit_fen": suggestion.limit_fen if suggestion else None,
        },
        reason=application.note,
        scope_path=_scope(locked),
    )
    return application


def _open_application(actor: Any, application: OfflineApplication) -> OfflineApplication:
    access.require_review(actor)
    app = (
        OfflineApplication.objects.select_for_update(of=("self",))
        .select_related("household__village__grid__outlet", "suggestion__score_model")
        .get(pk=application.pk)
    )
    access.require_in_scope(actor, app.household)
    require_second_person(actor, app.submitted_by_id, what_zh="申请", what_en="application")
    if app.status != ApplicationStatus.SUBMITTED:
        raise ValidationFailed(
            "该申请已处理", "This application is no longer awaiting review", code="application_closed"
        )
    return app


def approve_application(
    actor: Any,
    application: OfflineApplication,
    *,
    approved_limit_fen: int,
    reason: str = "",
    today: dt.date | None = None,
) -> CreditLine:
    """A credit officer approves: a decision of mode offline_approval and its line, in one transaction.

    A limit other than the model's suggestion (or any limit without one) needs a reason; the limit
    stays within the channel cap less the customer's other lines.
    """
    app = _open_application(actor, application)
    reason = (reason or "").strip()
    if approved_limit_fen <= 0:
        raise ValidationFailed(
            "批准额度须大于零", "The approved limit must be above zero", code="limit_positive", field="approved_limit"
        )
    strategy = active_strategy()
    params = rules.StrategyParams.from_dict(strategy.params)
    household = app.household
    cap = params.channel_caps_fen[app.channel]
    product_cap = product_cap_fen(
        IntakeMode.OFFLINE_APPROVAL,
        app.channel,
        cap,
        on=today or business_today(),
        product_code=app.product_code,
        segments=household.segment_list,
    )
    if approved_limit_fen > product_cap:
        raise ValidationFailed(
            f"超过该产品上限{product_cap // 100:,}元",
            f"The product's cap of {product_cap // 100:,} yuan would be exceeded",
            code="over_product_cap",
            field="approved_limit",
            cap_fen=product_cap,
        )
    others = exposure_fen(household, excluding_product=app.product_code)
    if others + approved_limit_fen > cap:
        raise ValidationFailed(
            f"超过单户授信上限:最多还可批准{max(cap - others, 0) // 100:,}元",
            f"The customer's cap across all products would be exceeded: at most {max(cap - others, 0) // 100:,} yuan",
            code="customer_cap",
            field="approved_limit",
            cap_fen=cap,
            exposure_fen=others,
        )
    suggestion = app.suggestion
    suggested = suggestion.limit_fen if suggestion else None
    if approved_limit_fen != suggested and not reason:
        raise ValidationFailed(
            "批准额度与模型建议不同,请填写理由" if suggestion else "没有模型建议,请填写审批理由",
            "Say why the limit differs from the model's suggestion"
            if suggestion
            else "There is no model suggestion: say why",
            code="reason_required",
            field="reason",
        )
    version = household.current_file
    decision = CreditDecision.objects.create(
        household=household,
        file_version=version,
        product_code=app.product_code,
        mode=IntakeMode.OFFLINE_APPROVAL,
        channel=app.channel,
        score=suggestion.score if suggestion else None,
        grade=suggestion.grade if suggestion else "",
        limit_fen=approved_limit_fen,
        binding="officer",
        reasons=suggestion.reasons if suggestion else [],
        **CreditDecision.input_fields(
            {
                "application": app.pk,
                "requested_limit_fen": app.requested_limit_fen,
                "suggestion": suggestion.pk if suggestion else None,
                "suggested_limit_fen": suggested,
                "exposure_fen": others,
                "reason": reason,
                "submitted_by": app.submitted_by_id,
            }
        ),
        score_model=suggestion.score_model if suggestion else None,
        strategy=strategy,
        source="offline",
        created_at=now(),
        created_by=_user(actor),
    )
    audit.record(
        actor,
        "credit.decision",
        decision,
        after={
            "household": household.code,
            "mode": decision.mode,
            "limit_fen": approved_limit_fen,
            "binding": "officer",
            "application": app.pk,
            "strategy": strategy.version,
        },
        reason=reason,
        scope_path=_scope(household),
    )
    line = grant_line(actor, decision, today=today)
    app.status, app.reviewed_by, app.reviewed_at = ApplicationStatus.APPROVED, actor, now()
    app.approved_limit_fen, app.reason, app.decision, app.line = approved_limit_fen, reason[:500], decision, line
    app.save(update_fields=["status", "reviewed_by", "reviewed_at", "approved_limit_fen", "reason", "decision", "line"])
    audit.record(
        actor,
        "credit.application.approve",
        app,
        before={"status": ApplicationStatus.SUBMITTED},
        after={
            "status": app.status,
            "household": household.code,
            "requested_limit_fen": app.requested_limit_fen,
            "suggested_limit_fen": suggested,
            "approved_limit_fen": approved_limit_fen,
            "line": line.pk,
        },
        reason=reason,
        scope_path=_scope(household),
    )
    return line


def reject_application(actor: Any, application: OfflineApplication, *, reason: str) -> OfflineApplication:
    app = _open_application(actor, application)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "请填写拒绝理由", "Say why the application is rejected", code="reason_required", field="reason"
        )
    app.status, app.reviewed_by, app.reviewed_at, app.reason = ApplicationStatus.REJECTED, actor, now(), reason[:500]
    app.save(update_fields=["status", "reviewed_by", "reviewed_at", "reason"])
    audit.record(
        actor,
        "credit.application.reject",
        app,
        before={"status": ApplicationStatus.SUBMITTED},
        after={"status": app.status, "household": app.household.code},
        reason=reason,
        scope_path=_scope(app.household),
    )
    return app


def withdraw_application(actor: Any, application: OfflineApplication, *, reason: str = "") -> OfflineApplication:
    """The submitter takes back an application still awaiting review."""
    app = (
        OfflineApplication.objects.select_for_update(of=("self",))
        .select_related("household__village__grid__outlet")
        .get(pk=application.pk)
    )
    if app.submitted_by_id != getattr(actor, "pk", None):
        raise PermissionDenied(
            "只有提交人可以撤回申请", "Only the submitter can withdraw an application", code="forbidden_withdraw"
        )
    if app.status != ApplicationStatus.SUBMITTED:
        raise ValidationFailed(
            "该申请已处理", "This application is no longer awaiting review", code="application_closed"
        )
    app.status, app.reviewed_at, app.reason = ApplicationStatus.WITHDRAWN, now(), (reason or "").strip()[:500]
    app.save(update_fields=["status", "reviewed_at", "reason"])
    audit.record(
        actor,
        "credit.application.withdraw",
        app,
        before={"status": ApplicationStatus.SUBMITTED},
        after={"status": app.status, "household": app.household.code},
        reason=app.reason,
        scope_path=_scope(app.household),
    )
    return app
