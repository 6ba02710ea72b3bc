"""Credit use cases: approve models and strategies (maker ≠ checker), decide, grant credit lines.

Services run in the caller's transaction and write their audit rows there; they never commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.db.models import Max, Sum

from xinedai.core import audit
from xinedai.core.dates import business_today, now
from xinedai.core.errors import BusinessError, PermissionDenied, ValidationFailed
from xinedai.core.ids import age_on
from xinedai.households.models import FileVersion, Household

from . import features, rules
from .choices import LIVE_LINE_STATUSES, Channel, IntakeMode, LineStatus, ModelStatus, StrategyStatus
from .models import CreditDecision, CreditLine, LimitStrategy, ScoreModel
from .scorecard import Scorecard

LINE_TERM_DAYS = 365  # annual re-review


class NotConfigured(BusinessError):
    code = "credit_not_configured"
    status = 409


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _maker_checker(actor: Any, maker: Any, what: str) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise PermissionDenied("审批需要实名操作员", "An approval needs a signed-in approver", code="approver_required")
    if maker is not None and maker.pk == actor.pk:
        raise PermissionDenied(
            f"不能审批自己提交的{what}", f"You cannot approve the {what} you made yourself", code="maker_is_checker"
        )


def approve_model(actor: Any, model: ScoreModel) -> ScoreModel:
    """Activate a trained model for its family after a second person's approval; the old one retires."""
    _maker_checker(actor, model.trained_by, "模型")
    model = ScoreModel.objects.select_for_update().get(pk=model.pk)
    if model.status != ModelStatus.DRAFT:
        raise ValidationFailed("只能审批待审批的模型", "Only a draft model can be approved", code="model_not_draft")
    previous = ScoreModel.objects.filter(family=model.family, status=ModelStatus.ACTIVE).first()
    if previous is not None:
        previous.status = ModelStatus.RETIRED
        previous.save(update_fields=["status"])
    model.status, model.approved_by, model.approved_at = ModelStatus.ACTIVE, actor, now()
    model.save(update_fields=["status", "approved_by", "approved_at"])
    audit.record(
        actor,
        "credit.model.approve",
        model,
        before={"status": "draft", "active_version": previous.version if previous else None},
        after={"status": "active", "version": model.version, "auc": model.report.get("test", {}).get("auc")},
    )
    return model


def propose_strategy(actor: Any, params: dict[str, Any], *, note: str = "") -> LimitStrategy:
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


def approve_strategy(actor: Any, strategy: LimitStrategy) -> LimitStrategy:
    _maker_checker(actor, strategy.created_by, "额度策略")
    strategy = LimitStrategy.objects.select_for_update().get(pk=strategy.pk)
    if strategy.status != StrategyStatus.DRAFT:
        raise ValidationFailed(
            "只能审批待审批的策略", "Only a proposed strategy can be approved", code="strategy_not_draft"
        )
    previous = LimitStrategy.objects.filter(status=StrategyStatus.ACTIVE).first()
    if previous is not None:
        previous.status = StrategyStatus.RETIRED
        previous.save(update_fields=["status"])
    strategy.status, strategy.approved_by, strategy.approved_at = StrategyStatus.ACTIVE, actor, now()
    strategy.save(update_fields=["status", "approved_by", "approved_at"])
    audit.record(
        actor,
        "credit.strategy.approve",
        strategy,
        before={"active_version": previous.version if previous else None},
        after={"version": strategy.version},
    )
    return strategy


def active_model(family: str = "xinedai") -> ScoreModel:
    model = ScoreModel.objects.filter(family=family, status=ModelStatus.ACTIVE).first()
    if model is None:
        raise NotConfigured("尚未启用评分模型", "No scorecard model is active", family=family)
    return model


def active_strategy() -> LimitStrategy:
    strategy = LimitStrategy.objects.filter(status=StrategyStatus.ACTIVE).first()
    if strategy is None:
        raise NotConfigured("尚未启用额度策略", "No limit strategy is active")
    return strategy


def exposure_fen(household: Household, *, excluding_product: str | None = None) -> int:
    """The customer's exposure across all products: the limits of their other live lines."""
    qs = CreditLine.objects.filter(household=household, status__in=LIVE_LINE_STATUSES)
    if excluding_product:
        qs = qs.exclude(product_code=excluding_product)
    return int(qs.aggregate(s=Sum("limit_fen"))["s"] or 0)


def file_inputs(version: FileVersion | dict[str, int], *, age: int, family_size: int, segment: str) -> dict[str, Any]:
    values = version.values() if isinstance(version, FileVersion) else dict(version)
    cols: dict[str, list[Any]] = {k: [int(values.get(k, 0))] for k in features.NEEDED}
    cols.update({"age": [age], "family_size": [family_size], "segment": [segment]})
    computed = features.compute(cols)
    return {k: (v[0] if k == "segment" else int(v[0])) for k, v in computed.items()}


def _score(model: ScoreModel, inputs: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    card = Scorecard.from_dict(model.compiled)
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
) -> CreditDecision:
    """Model decision for a household (its current file) or for a complete file given in full."""
    today = today or business_today()
    if channel not in Channel.values:
        raise ValidationFailed("渠道无效", "Unknown channel", code="channel_unknown", field="channel")
    model, strategy = active_model(), active_strategy()
    params = rules.StrategyParams.from_dict(strategy.params)
    version = None
    exposure = 0
    if household is not None:
        version = household.current_file
        if version is None:
            raise ValidationFailed("该户尚无档案", "The household has no file yet", code="file_missing")
        head = household.members.filter(relation="head").first()
        if head is None or head.birth_date is None:
            raise ValidationFailed("户主身份证号缺失", "The head's ID number is missing", code="head_id_missing")
        age = age_on(head.birth_date, today)
        family_size = household.size
        segment = features.primary_segment(household.segments)
        exposure = exposure_fen(household, excluding_product="xinedai")
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
        product_cap_fen=params.channel_caps_fen[channel],
        channel=channel,
        params=params,
    )
    grade = rules.grade_names(params)[int(limits.grade[0])]
    decision = CreditDecision.objects.create(
        household=household,
        file_version=version,
        mode=IntakeMode.MODEL,
        channel=channel,
        score=score,
        grade=grade,
        limit_fen=int(limits.limit_fen[0]),
        binding=rules.binding_names(limits.binding)[0],
        reasons=reasons,
        inputs={
            **inputs,
            "exposure_fen": exposure,
            "candidates_fen": {k: int(v[0]) for k, v in limits.candidates.items()},
        },
        score_model=model,
        strategy=strategy,
        source=source,
        created_at=now(),
        created_by=_user(actor),
    )
    if household is not None:
        audit.record(
            actor,
            "credit.decision",
            decision,
            after={
                "household": household.code,
                "score": score,
                "grade": grade,
                "limit_fen": decision.limit_fen,
                "binding": decision.binding,
                "model": model.version,
                "strategy": strategy.version,
            },
            scope_path=household.village.grid.outlet.path,
        )
    return decision


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
    if decision.limit_fen <= 0:
        raise ValidationFailed(
            "该决策未给出额度", "The decision grants no limit", code="no_limit", binding=decision.binding
        )
    params = rules.StrategyParams.from_dict(decision.strategy.params)
    others = exposure_fen(household, excluding_product="xinedai")
    cap = params.channel_caps_fen[decision.channel]
    if others + decision.limit_fen > cap:
        raise ValidationFailed(
            "超过单户授信上限",
            "The customer's cap across all products would be exceeded",
            code="customer_cap",
            cap_fen=cap,
            exposure_fen=others,
        )
    previous = (
        CreditLine.objects.filter(household=household, product_code="xinedai", status__in=LIVE_LINE_STATUSES)
        .select_for_update()
        .first()
    )
    if previous is not None:
        if previous.used_fen > decision.limit_fen:
            raise ValidationFailed(
                "新额度低于已用额度", "The new limit is below what is drawn", code="limit_below_used"
            )
        previous.status = LineStatus.REVOKED
        previous.save(update_fields=["status"])
    line = CreditLine.objects.create(
        household=household,
        limit_fen=decision.limit_fen,
        used_fen=previous.used_fen if previous else 0,
        intake_mode=decision.mode,
        channel=decision.channel,
        status=status,
        decision=decision,
        granted_at=now(),
        expires_on=today + dt.timedelta(days=LINE_TERM_DAYS),
        granted_by=_user(actor),
    )
    audit.record(
        actor,
        "credit.line.grant",
        line,
        before={"limit_fen": previous.limit_fen} if previous else None,
        after={
            "household": household.code,
            "limit_fen": line.limit_fen,
            "status": line.status,
            "mode": line.intake_mode,
            "decision": decision.pk,
        },
        scope_path=household.village.grid.outlet.path,
    )
    return line
