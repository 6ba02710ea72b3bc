"""Credit pages: a household's lines and decisions, offline applications and their review queue, the
key-information change alerts with the staff-side pattern, and the models and limit strategies with their
approval by a second person."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xinedai.core.dates import business_today
from xinedai.core.errors import BusinessError, NotFound
from xinedai.core.forms import add_business_error
from xinedai.core.http import HtmxHttpRequest
from xinedai.core.masking import mask_name
from xinedai.core.paging import CappedPaginator
from xinedai.households import access as household_access
from xinedai.households.models import Household
from xinedai.lending.queries import written_off_debtors
from xinedai.servicing import access as servicing_access
from xinedai.servicing import queries as servicing_queries

from . import access, queries, rules, services
from .choices import (
    ALERT_BADGE,
    APPLICATION_BADGE,
    BINDING_LABELS,
    FEATURE_LABELS,
    GUARDED_LABELS,
    LINE_BADGE,
    MODEL_BADGE,
    SMALL_REFUSAL_LABELS,
    ApplicationStatus,
    IntakeMode,
    ModelStatus,
    StrategyStatus,
)
from .forms import (
    AlertReviewForm,
    ApplicationForm,
    ApproveForm,
    ConfigDecisionForm,
    DecideForm,
    RejectForm,
    StrategyForm,
)
from .models import ChangeAlert, CreditDecision, LimitStrategy, ScoreModel

RECENT_DECISIONS = 10
RECENT_LOANS = 20


def _reasons(decision: CreditDecision) -> list[str]:
    out = []
    for r in decision.reasons or []:
        if "code" in r:
            out.append(str(SMALL_REFUSAL_LABELS.get(r["code"], r["code"])))
        else:
            out.append(
                _("%(variable)s %(bin)s: −%(points)s points")
                % {
                    "variable": str(FEATURE_LABELS.get(r.get("variable", ""), r.get("variable", ""))),
                    "bin": r.get("bin", ""),
                    "points": r.get("points_lost", 0),
                }
            )
    return out


def decision_row(decision: CreditDecision | None, *, granted: set[int] | None = None) -> dict[str, Any] | None:
    if decision is None:
        return None
    guard = (decision.inputs or {}).get("change_guard")
    return {
        "d": decision,
        "granted": decision.pk in (granted or set()),
        "binding": str(BINDING_LABELS.get(decision.binding, decision.binding)),
        "reasons": _reasons(decision),
        "held_from_fen": guard["uncapped_limit_fen"] if guard else None,
    }


def _guard_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**i, "label": str(GUARDED_LABELS.get(i["field"], i["field"]))} for i in items]


# Household credit page ----------------------------------------------------------------------------


def _product_choices(h: Household, *, all_segments: bool = False) -> list[tuple[str, str]]:
    """(code, name) of the catalogue products on sale today that a model calculation may use for this
    household: the mode is among the product's, and a segment product only for its segments."""
    from xinedai.products.queries import catalogue

    segments = set(h.segment_list)
    out = [
        (p.code, p.name)
        for p, terms in catalogue(business_today())
        if IntakeMode.MODEL in terms.intake_modes
        and (all_segments or not terms.segments or segments & set(terms.segments))
    ]
    return out or [("xinedai", "信e贷")]


def _household_page(
    request: HtmxHttpRequest,
    h: Household,
    *,
    apply_form: ApplicationForm | None = None,
    decide_error: str = "",
    grant_error: tuple[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    open_application = h.offline_applications.filter(status=ApplicationStatus.SUBMITTED).first()
    open_alert = h.change_alerts.filter(status="open").select_related("from_version", "to_version").first()
    granted = access.granted_decision_ids(h)
    names = dict(_product_choices(h, all_segments=True))
    ctx = {
        "h": h,
        "head": mask_name(h.head_name),
        "file": h.current_file,
        "lines": [
            {"line": line, "badge": LINE_BADGE.get(line.status, "gray"), "product": names.get(line.product_code)}
            for line in access.live_lines(h)
        ],
        "decisions": [decision_row(d, granted=granted) for d in access.decisions_of(h)[:RECENT_DECISIONS]],
        "decide_form": DecideForm(products=_product_choices(h)),
        "decide_error": decide_error,
        "grant_error": grant_error,
        "can_decide": access.can_decide(user),
        "can_submit": access.can_submit(user),
        "apply_form": apply_form or ApplicationForm(products=_product_choices(h)),
        "open_application": open_application,
        "applications": h.offline_applications.select_related("submitted_by__staff", "reviewed_by__staff")[:10],
        "application_badge": APPLICATION_BADGE,
        "open_alert": open_alert,
        "open_alert_items": _guard_items(open_alert.items) if open_alert else [],
        "can_review": access.can_review(user),
        "grantable_modes": {IntakeMode.MODEL, IntakeMode.SMALL_CREDIT},
        # The household's loans, newest first (servicing's scope: the same as the household's), and
        # whether it still owes on a written-off loan (no line can be granted then).
        "loans": servicing_queries.loan_rows(
            list(
                servicing_access.loans_for(user)
                .filter(household=h)
                .select_related("household", "servicing")
                .order_by("-start_on", "-id")[:RECENT_LOANS]
            )
        ),
        "written_off_debt": bool(written_off_debtors([h.pk])),
    }
    return render(request, "credit/household.html", ctx, status=status)


@login_required
def household_credit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    h = household_access.get_household(request.user, pk)
    return _household_page(request, h)


@login_required
@require_POST
def decide(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    h = household_access.get_household(request.user, pk)
    access.require_decide(request.user)
    mode = request.POST.get("mode", "model")
    form = DecideForm(request.POST, products=_product_choices(h))
    if not form.is_valid():
        return _household_page(request, h, decide_error=_("Choose a product and a channel."), status=422)
    try:
        with transaction.atomic():
            if mode == "small":
                services.decide_small(
                    request.user, h, source="page", product_code=form.cleaned_data["product"] or services.PRODUCT
                )
            else:
                services.decide(
                    request.user,
                    household=h,
                    channel=form.cleaned_data["channel"],
                    product_code=form.cleaned_data["product"] or services.PRODUCT,
                    source="page",
                )
    except BusinessError as exc:
        return _household_page(request, h, decide_error=exc.message, status=422)
    messages.success(request, _("Decision calculated. Nothing is granted until you press Grant."))
    return redirect("credit-household", pk=h.pk)


@login_required
@require_POST
def grant(request: HtmxHttpRequest, pk: int, decision_id: int) -> HttpResponse:
    h = household_access.get_household(request.user, pk)
    access.require_decide(request.user)
    decision = access.decisions_of(h).filter(pk=decision_id).first()
    if decision is None or decision.mode == IntakeMode.OFFLINE_APPROVAL:
        raise NotFound("决策不存在", "No such decision", code="decision_not_found")
    try:
        with transaction.atomic():
            line = services.grant_line(request.user, decision)
    except BusinessError as exc:
        return _household_page(request, h, grant_error=(decision.pk, exc.message), status=422)
    messages.success(request, _("Credit line granted: %(limit)s yuan.") % {"limit": f"{line.limit_fen // 100:,}"})
    return redirect("credit-household", pk=h.pk)


@login_required
@require_POST
def apply(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    h = household_access.get_household(request.user, pk)
    access.require_submit(request.user)
    form = ApplicationForm(request.POST, products=_product_choices(h))
    if form.is_valid():
        try:
            with transaction.atomic():
                services.submit_application(
                    request.user,
                    h,
                    requested_limit_fen=form.cleaned_data["requested_limit"],
                    channel=form.cleaned_data["channel"],
                    note=form.cleaned_data["note"],
                    product_code=form.cleaned_data["product"] or services.PRODUCT,
                )
        except BusinessError as exc:
            add_business_error(form, exc)
        else:
            messages.success(request, _("Submitted for offline approval."))
            return redirect("credit-household", pk=h.pk)
    return _household_page(request, h, apply_form=form, status=422)


@login_required
@require_POST
def withdraw(request: HtmxHttpRequest, application_id: int) -> HttpResponse:
    application = access.get_application(request.user, application_id)
    with transaction.atomic():
        services.withdraw_application(request.user, application, reason=request.POST.get("reason", ""))
    messages.success(request, _("Application withdrawn."))
    return redirect("credit-household", pk=application.household_id)


# Review queue ----------------------------------------------------------------------------------


def _review_page(
    request: HtmxHttpRequest, *, bound: dict[int, dict[str, Any]] | None = None, status: int = 200
) -> HttpResponse:
    bound = bound or {}
    from xinedai.products.models import Product

    queue = access.applications_for(request.user).filter(status=ApplicationStatus.SUBMITTED).order_by("submitted_at")
    names = {services.PRODUCT: "信e贷", **dict(Product.objects.values_list("code", "name"))}
    rows = []
    for app in queue[:50]:
        h = app.household
        forms = bound.get(app.pk, {})
        alert = h.change_alerts.filter(status="open").first()
        rows.append(
            {
                "app": app,
                "h": h,
                "head": mask_name(h.head_name),
                "file": h.current_file,
                "suggestion": decision_row(app.suggestion),
                "documents": h.documents.select_related("file_version").all(),
                "alert_items": _guard_items(alert.items) if alert else [],
                "own": app.submitted_by_id == request.user.pk,
                "product": names.get(app.product_code, app.product_code),
                "approve_form": forms.get("approve")
                or ApproveForm(
                    prefix=f"a{app.pk}",
                    initial={"approved_limit": (app.suggestion.limit_fen if app.suggestion else 0) // 100 or ""},
                ),
                "reject_form": forms.get("reject") or RejectForm(prefix=f"r{app.pk}"),
            }
        )
    done = (
        access.applications_for(request.user)
        .exclude(status=ApplicationStatus.SUBMITTED)
        .select_related("reviewed_by__staff")
        .order_by("-reviewed_at")[:20]
    )
    ctx = {"rows": rows, "done": done, "badge": APPLICATION_BADGE, "total": queue.count()}
    return render(request, "credit/reviews.html", ctx, status=status)


@login_required
def reviews(request: HtmxHttpRequest) -> HttpResponse:
    access.require_review(request.user)
    return _review_page(request)


@login_required
@require_POST
def approve(request: HtmxHttpRequest, application_id: int) -> HttpResponse:
    access.require_review(request.user)
    application = access.get_application(request.user, application_id)
    form = ApproveForm(request.POST, prefix=f"a{application.pk}")
    if form.is_valid():
        try:
            with transaction.atomic():
                line = services.approve_application(
                    request.user,
                    application,
                    approved_limit_fen=form.cleaned_data["approved_limit"],
                    reason=form.cleaned_data["reason"],
                )
        except BusinessError as exc:
            add_business_error(form, exc)
        else:
            messages.success(
                request,
                _("Approved: %(code)s, line of %(limit)s yuan.")
                % {"code": application.household.code, "limit": f"{line.limit_fen // 100:,}"},
            )
            return redirect("credit-reviews")
    return _review_page(request, bound={application.pk: {"approve": form}}, status=422)


@login_required
@require_POST
def reject(request: HtmxHttpRequest, application_id: int) -> HttpResponse:
    access.require_review(request.user)
    application = access.get_application(request.user, application_id)
    form = RejectForm(request.POST, prefix=f"r{application.pk}")
    if form.is_valid():
        try:
            with transaction.atomic():
                services.reject_application(request.user, application, reason=form.cleaned_data["reason"])
        except BusinessError as exc:
            add_business_error(form, exc)
        else:
            messages.success(request, _("Rejected: %(code)s.") % {"code": application.household.code})
            return redirect("credit-reviews")
    return _review_page(request, bound={application.pk: {"reject": form}}, status=422)


# Change alerts ------------------------------------------------------------------------------------


def _int(value: str | None, default: int, lo: int, hi: int) -> int:
    try:
        return max(lo, min(hi, int(value or default)))
    except ValueError:
        return default


def _alerts_page(
    request: HtmxHttpRequest, *, bound: dict[int, AlertReviewForm] | None = None, status: int = 200
) -> HttpResponse:
    bound = bound or {}
    user = request.user
    strategy = services.LimitStrategy.objects.filter(status="active").first()
    params = rules.StrategyParams.from_dict(strategy.params) if strategy else rules.DEFAULT_PARAMS
    window = _int(request.GET.get("window"), params.guard_window_days, 1, 366)
    threshold = _int(request.GET.get("threshold"), 5, 1, 10_000)
    can_review = access.can_review(user)
    rows = [
        {
            "a": a,
            "head": mask_name(a.household.head_name),
            "items": _guard_items(a.items),
            "form": bound.get(a.pk) or AlertReviewForm(prefix=f"x{a.pk}"),
            "own": a.to_version.created_by_id == user.pk,
        }
        for a in access.alerts_for(user).filter(status="open").order_by("raised_at")[:100]
    ]
    ctx = {
        "rows": rows,
        "done": access.alerts_for(user).exclude(status="open").order_by("-reviewed_at")[:20],
        "badge": ALERT_BADGE,
        "can_review": can_review,
        "window": window,
        "threshold": threshold,
        "flagged": services.flag_managers(window, threshold, user=user, params=params),
    }
    return render(request, "credit/alerts.html", ctx, status=status)


@login_required
def alerts(request: HtmxHttpRequest) -> HttpResponse:
    access.require_view_alerts(request.user)
    return _alerts_page(request)


@login_required
@require_POST
def alert_review(request: HtmxHttpRequest, alert_id: int) -> HttpResponse:
    access.require_review(request.user)
    alert: ChangeAlert = access.get_alert(request.user, alert_id)
    form = AlertReviewForm(request.POST, prefix=f"x{alert.pk}")
    if form.is_valid():
        try:
            with transaction.atomic():
                services.review_alert(
                    request.user, alert, accept=form.cleaned_data["outcome"] == "accept", note=form.cleaned_data["note"]
                )
        except BusinessError as exc:
            add_business_error(form, exc)
        else:
            messages.success(request, _("Alert reviewed."))
            return redirect("credit-alerts")
    return _alerts_page(request, bound={alert.pk: form}, status=422)


# Annual re-review ---------------------------------------------------------------------------------

RENEWAL_WINDOW_DAYS = 60


@login_required
def renewals(request: HtmxHttpRequest) -> HttpResponse:
    """Lines due for the annual re-review in the user's scope: expiring within the window (default 60
    days) or expired with loans still on them. A re-review is a new decision on the household's page and
    its grant, which renews a drawn line in place (decision 0012)."""
    today = business_today()
    within = _int(request.GET.get("within"), RENEWAL_WINDOW_DAYS, 1, 366)
    qs = access.lines_due_for_review(request.user, today, within)
    page = CappedPaginator(qs, 50).get_page(request.GET.get("page"))
    from xinedai.products.queries import catalogue

    names = {p.code: p.name for p, _terms in catalogue(today)}
    rows = [
        {
            "line": line,
            "head": mask_name(line.household.head_name),
            "product": names.get(line.product_code, line.product_code),
            "days_left": max(0, (line.expires_on - today).days),
            "days_ago": max(0, (today - line.expires_on).days),
            "badge": LINE_BADGE.get(line.status, "gray"),
        }
        for line in page
    ]
    return render(
        request,
        "credit/renewals.html",
        {"page": page, "rows": rows, "within": within, "today": today},
    )


# Start page ---------------------------------------------------------------------------------------


@login_required
def home(request: HtmxHttpRequest) -> HttpResponse:
    user = request.user
    qs = household_access.households_for(user).select_related("village", "current_file").order_by("code")
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(code__iexact=q) | Q(head_name__contains=q) | Q(village__name__contains=q))
    # Counted up to a cap, as the household list is: an exact count of a million households in a head
    # office's scope took 148 ms of every visit to this page (bench/README.md).
    page = CappedPaginator(qs, 25).get_page(request.GET.get("page"))
    lines = access.live_lines_by_household(list(page))
    ctx = {
        "page": page,
        "q": q,
        "rows": [{"h": h, "head": mask_name(h.head_name), "line": lines.get(h.pk)} for h in page],
        "can_review": access.can_review(user),
        "can_view_alerts": access.can_view_alerts(user),
        "open_reviews": access.applications_for(user).filter(status=ApplicationStatus.SUBMITTED).count()
        if access.can_review(user)
        else 0,
        "open_alerts": access.alerts_for(user).filter(status="open").count(),
        "due_for_review": CappedPaginator(access.lines_due_for_review(user, business_today(), RENEWAL_WINDOW_DAYS), 1),
        "my_applications": access.open_applications_of(user)[:20] if access.can_submit(user) else [],
    }
    return render(request, "credit/home.html", ctx)


# Models and strategies (模型与策略) ---------------------------------------------------------------------


def _drift_figure(drift: queries.Drift) -> dict[str, Any]:
    fig = go.Figure(
        [
            go.Bar(name=str(_("Training baseline")), x=drift.bands, y=drift.baseline, marker_color="#94a3b8"),
            go.Bar(
                name=str(_("Last %(days)s days") % {"days": queries.DRIFT_DAYS}),
                x=drift.bands,
                y=drift.recent,
                marker_color="#1d4ed8",
            ),
        ]
    )
    fig.update_layout(
        barmode="group",
        height=260,
        margin={"l": 40, "r": 10, "t": 10, "b": 40},
        yaxis={"tickformat": ".0%"},
        legend={"orientation": "h", "y": 1.12},
        font={"family": "PingFang SC, Noto Sans CJK SC, Microsoft YaHei, sans-serif"},
    )
    return json.loads(fig.to_json())


@login_required
def configuration(request: HtmxHttpRequest) -> HttpResponse:
    """Model versions with their held-out figures and the active model's drift; limit strategy versions
    and the active strategy's parameters. Approvals happen on each version's page."""
    user = request.user
    access.require_view_configuration(user)
    model_list = list(queries.models())
    active = [m for m in model_list if m.status == ModelStatus.ACTIVE]
    drifts = [queries.drift(m) for m in active]
    strategy_list = list(queries.strategies())
    active_strategy = next((s for s in strategy_list if s.status == StrategyStatus.ACTIVE), None)
    ctx = {
        "models": [
            {"m": m, "figures": queries.held_out(m), "badge": MODEL_BADGE.get(m.status, "gray")} for m in model_list
        ],
        "drifts": [
            {"d": d, "figure": _drift_figure(d), "id": f"drift-{d.model.pk}", "data_id": f"drift-{d.model.pk}-data"}
            for d in drifts
        ],
        "strategies": [{"s": s, "badge": MODEL_BADGE.get(s.status, "gray")} for s in strategy_list],
        "active_strategy": active_strategy,
        "active_rows": queries.strategy_rows(active_strategy.params) if active_strategy else [],
        "can_propose": access.can_propose_strategy(user),
        "thresholds": servicing_queries.threshold_sets(business_today()),
        "pending": sum(1 for m in model_list if m.status == ModelStatus.DRAFT)
        + sum(1 for s in strategy_list if s.status == StrategyStatus.DRAFT),
    }
    return render(request, "credit/configuration.html", ctx)


def _model_page(
    request: HtmxHttpRequest, model: ScoreModel, form: ConfigDecisionForm | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    report = model.report or {}
    iv = sorted(report.get("iv", []), key=lambda r: -(r.get("iv") or 0))
    ctx = {
        "m": model,
        "badge": MODEL_BADGE.get(model.status, "gray"),
        "report": report,
        "figures": queries.held_out(model),
        "iv": iv,
        "decision_form": (form or ConfigDecisionForm()) if access.can_approve_model(user, model) else None,
        "own": model.status == ModelStatus.DRAFT and model.trained_by_id == user.pk,
        "drift": queries.drift(model) if model.status == ModelStatus.ACTIVE else None,
    }
    return render(request, "credit/model.html", ctx, status=status)


@login_required
def model_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    access.require_view_configuration(request.user)
    model = ScoreModel.objects.filter(pk=pk).select_related("trained_by__staff", "approved_by__staff").first()
    if model is None:
        raise NotFound("模型不存在", "No such model", code="model_not_found")
    return _model_page(request, model)


def _decide_version(
    request: HtmxHttpRequest,
    decide: Callable[[bool, str], str],
    done: HttpResponse,
    page: Callable[[ConfigDecisionForm], HttpResponse],
) -> HttpResponse:
    """A second person's approval or rejection of a model or strategy version: `decide(approve, note)`
    (one transaction) returns the message to show; a refusal is shown in the form, nothing changed."""
    form = ConfigDecisionForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                message = decide(form.cleaned_data["decision"] == "approve", form.cleaned_data["note"])
        except BusinessError as exc:
            add_business_error(form, exc)
        else:
            messages.success(request, message)
            return done
    return page(form)


@login_required
@require_POST
def model_decide(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    access.require_view_configuration(request.user)
    model = ScoreModel.objects.filter(pk=pk).first()
    if model is None:
        raise NotFound("模型不存在", "No such model", code="model_not_found")
    name = {"name": f"{model.family} v{model.version}"}

    def decide(approve: bool, note: str) -> str:
        if approve:
            services.approve_model(request.user, model, note=note)
            return _("Model %(name)s approved: it scores every decision from now on.") % name
        services.reject_model(request.user, model, note=note)
        return _("Model %(name)s rejected.") % name

    return _decide_version(
        request,
        decide,
        redirect("credit-model", pk=model.pk),
        lambda form: _model_page(request, model, form, status=422),
    )


def _strategy_page(
    request: HtmxHttpRequest, strategy: LimitStrategy, form: ConfigDecisionForm | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    active = LimitStrategy.objects.filter(status=StrategyStatus.ACTIVE).first()
    compare = active if active is not None and active.pk != strategy.pk else None
    ctx = {
        "s": strategy,
        "badge": MODEL_BADGE.get(strategy.status, "gray"),
        "rows": queries.strategy_rows(strategy.params, compare.params if compare else None),
        "compare": compare,
        "decision_form": (form or ConfigDecisionForm()) if access.can_approve_strategy(user, strategy) else None,
        "own": strategy.status == StrategyStatus.DRAFT and strategy.created_by_id == user.pk,
    }
    return render(request, "credit/strategy.html", ctx, status=status)


def _strategy(pk: int) -> LimitStrategy:
    strategy = LimitStrategy.objects.filter(pk=pk).select_related("created_by__staff", "approved_by__staff").first()
    if strategy is None:
        raise NotFound("额度策略不存在", "No such limit strategy", code="strategy_not_found")
    return strategy


@login_required
def strategy_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    access.require_view_configuration(request.user)
    return _strategy_page(request, _strategy(pk))


@login_required
@require_POST
def strategy_decide(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    access.require_view_configuration(request.user)
    strategy = _strategy(pk)
    version = {"version": strategy.version}

    def decide(approve: bool, note: str) -> str:
        if approve:
            services.approve_strategy(request.user, strategy, note=note)
            return _("Limit strategy v%(version)s approved: decisions use it from now on.") % version
        services.reject_strategy(request.user, strategy, note=note)
        return _("Limit strategy v%(version)s rejected.") % version

    return _decide_version(
        request,
        decide,
        redirect("credit-strategy", pk=strategy.pk),
        lambda form: _strategy_page(request, strategy, form, status=422),
    )


@login_required
def strategy_new(request: HtmxHttpRequest) -> HttpResponse:
    """Propose a new version of the limit strategy, starting from the active one's parameters."""
    user = request.user
    access.require_propose_strategy(user)
    active = LimitStrategy.objects.filter(status=StrategyStatus.ACTIVE).first()
    base = active.params if active else rules.DEFAULT_PARAMS.to_dict()
    status = 200
    if request.method == "POST":
        form = StrategyForm(request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    strategy = services.propose_strategy(
                        user, form.cleaned_data["params"], note=form.cleaned_data["note"]
                    )
            except BusinessError as exc:
                add_business_error(form, exc)
            else:
                messages.success(
                    request,
                    _("Limit strategy v%(version)s proposed: another person must approve it.")
                    % {"version": strategy.version},
                )
                return redirect("credit-strategy", pk=strategy.pk)
        status = 422
    else:
        form = StrategyForm(initial=StrategyForm.initial_from(base))
    return render(request, "credit/strategy_form.html", {"form": form, "active": active}, status=status)
