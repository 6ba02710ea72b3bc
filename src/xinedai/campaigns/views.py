"""Campaign pages: list, create, the campaign's page (progress, review, objections, scoring, activation)
and the public posting list (.xlsx and a printable page)."""

from __future__ import annotations

import io
import json
from typing import Any

import plotly.graph_objects as go
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from xinedai.core import audit, progress
from xinedai.core.dates import business_today
from xinedai.core.errors import BusinessError, NotFound
from xinedai.core.forms import add_business_error
from xinedai.core.http import HtmxHttpRequest
from xinedai.core.masking import mask_name

from . import access, queries, services
from .choices import CAMPAIGN_BADGE, HOUSEHOLD_BADGE, RESOLUTION_BADGE, CampaignStatus, HouseholdStatus
from .forms import CampaignForm, CancelForm, ObjectionForm, PostingForm, ResolveForm, ReviewForm
from .models import Campaign, CampaignHousehold, Objection
from .tasks import progress_key, score_campaign_task

FUNNEL_LABELS = {
    "on_file": gettext_lazy("Households on file"),
    "reviewed": gettext_lazy("Reviewed"),
    "approved": gettext_lazy("Committee approved"),
    "scored": gettext_lazy("Scored"),
    "granted": gettext_lazy("Granted"),
    "activated": gettext_lazy("Activated"),
}


def _fail(request: HtmxHttpRequest, exc: BusinessError) -> None:
    messages.error(request, exc.message)


def _funnel_figure(summary: queries.Summary) -> dict[str, Any]:
    stages = summary.funnel()
    fig = go.Figure(
        go.Funnel(
            y=[str(FUNNEL_LABELS[k]) for k, _v in stages],
            x=[v for _k, v in stages],
            textinfo="value+percent initial",
            marker={"color": ["#94a3b8", "#1d4ed8", "#0f766e", "#b45309", "#b91c1c", "#15803d"]},
        )
    )
    fig.update_layout(
        margin={"l": 110, "r": 20, "t": 10, "b": 10},
        height=300,
        font={"family": "PingFang SC, Noto Sans CJK SC, Microsoft YaHei, sans-serif"},
    )
    return json.loads(fig.to_json())


def _row_ctx(row: CampaignHousehold) -> dict[str, Any]:
    return {
        "r": row,
        "head": mask_name(row.household.head_name),
        "badge": HOUSEHOLD_BADGE.get(row.status, "gray"),
        "open_objections": getattr(row, "open_objections", 0),
    }


def _progress_ctx(campaign: Campaign) -> dict[str, Any]:
    live = progress.read(progress_key(campaign.pk))
    total = int(live.get("total") or 0)
    done = int(live.get("done") or 0)
    finished = not campaign.scoring_busy and campaign.scoring_state == "done"
    pct = 100 if finished else (done * 100 // total if total else 0)
    return {"c": campaign, "done": done, "total": total, "pct": pct, "phase": live.get("phase", "")}


@login_required
def campaign_list(request: HtmxHttpRequest) -> HttpResponse:
    qs = access.campaigns_for(request.user).annotate(
        roster=Count("households", distinct=True),
        activated=Count("households", filter=Q(households__status=HouseholdStatus.ACTIVATED), distinct=True),
    )
    status = request.GET.get("status", "")
    if status in CampaignStatus.values:
        qs = qs.filter(status=status)
    rows = [{"c": c, "badge": CAMPAIGN_BADGE[c.status]} for c in qs[:200]]
    return render(
        request,
        "campaigns/list.html",
        {"rows": rows, "status": status, "statuses": CampaignStatus.choices, "can_act": access.can_act(request.user)},
    )


@login_required
def campaign_create(request: HtmxHttpRequest) -> HttpResponse:
    access.require_act(request.user)
    villages = access.villages_to_start(request.user).order_by("code")
    initial = {"village": request.GET.get("village", "")}
    form = CampaignForm(request.POST or None, villages=villages, initial=initial)
    if request.method == "POST" and form.is_valid():
        village = villages.filter(pk=form.cleaned_data["village"]).first()
        if village is None:
            raise NotFound("村不存在或不在您的管辖范围内", "No such village in your scope", code="village_not_found")
        try:
            with transaction.atomic():
                campaign = services.create_campaign(
                    request.user, village=village, name=form.cleaned_data["name"], channel=form.cleaned_data["channel"]
                )
        except BusinessError as exc:
            add_business_error(form, exc)
        else:
            messages.success(request, _("Campaign created."))
            return redirect("campaign-detail", pk=campaign.pk)
    return render(request, "campaigns/create.html", {"form": form})


@login_required
def campaign_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    campaign = access.get_campaign(request.user, pk)
    summary = queries.summary(campaign)
    rows_qs = (
        CampaignHousehold.objects.filter(campaign=campaign)
        .select_related("household", "reviewed_by__staff", "line")
        .annotate(open_objections=Count("objections", filter=Q(objections__resolution="")))
        .order_by("household__code")
    )
    status = request.GET.get("status", "")
    if status in HouseholdStatus.values:
        rows_qs = rows_qs.filter(status=status)
    rows = [_row_ctx(r) for r in rows_qs]
    objections = (
        Objection.objects.filter(campaign_household__campaign=campaign)
        .select_related("campaign_household__household", "recorded_by__staff", "resolved_by__staff")
        .order_by("resolution", "-recorded_at")
    )
    today = business_today()
    can_act = access.can_act(request.user)
    objectable = [
        (r["r"].pk, f"{r['r'].household.code} {r['head']}")
        for r in rows
        if r["r"].status in (HouseholdStatus.APPROVED, HouseholdStatus.POSTED)
    ]
    posting_open = bool(
        campaign.status in (CampaignStatus.POSTED, CampaignStatus.SCORED)
        and campaign.posting_starts_on
        and campaign.posting_ends_on
        and campaign.posting_starts_on <= today <= campaign.posting_ends_on
    )
    ended = bool(campaign.posting_ends_on and today > campaign.posting_ends_on)
    ctx = {
        "c": campaign,
        "badge": CAMPAIGN_BADGE[campaign.status],
        "s": summary,
        "figure": _funnel_figure(summary),
        "rows": rows,
        "row_status": status,
        "household_statuses": HouseholdStatus.choices,
        "objections": [
            {
                "o": o,
                "head": mask_name(o.campaign_household.household.head_name),
                "badge": RESOLUTION_BADGE[o.resolution],
            }
            for o in objections
        ],
        "can_act": can_act,
        "today": today,
        "posting_form": PostingForm(initial={"posting_starts_on": today}),
        "objection_form": ObjectionForm(initial={"raised_on": today}),
        "objectable": objectable,
        "posting_open": posting_open,
        "posting_ended": ended,
        "resolve_form": ResolveForm(),
        "cancel_form": CancelForm(),
        "can_score": can_act
        and campaign.status in (CampaignStatus.POSTED, CampaignStatus.SCORED, CampaignStatus.ACTIVATED)
        and not campaign.scoring_busy
        and summary.eligible > 0,
        "can_activate": can_act
        and campaign.status in (CampaignStatus.SCORED, CampaignStatus.ACTIVATED)
        and ended
        and summary.granted > summary.activated,
        **_progress_ctx(campaign),
    }
    return render(request, "campaigns/detail.html", ctx)


@login_required
def campaign_progress(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    campaign = access.get_campaign(request.user, pk)
    response = render(request, "campaigns/_progress.html", _progress_ctx(campaign))
    if request.GET.get("polling") and not campaign.scoring_busy:
        response["HX-Refresh"] = "true"  # the job ended: reload so the summary and rows catch up
    return response


def _action(request: HtmxHttpRequest, pk: int) -> Campaign:
    access.require_act(request.user)
    return access.get_campaign(request.user, pk)


@login_required
@require_POST
def start_review(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    campaign = _action(request, pk)
    try:
        with transaction.atomic():
            services.start_review(request.user, campaign)
    except BusinessError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("Committee review started."))
    return redirect("campaign-detail", pk=pk)


@login_required
@require_POST
def refresh_roster(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    campaign = _action(request, pk)
    try:
        with transaction.atomic():
            added = services.refresh_roster(request.user, campaign)
    except BusinessError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("%(n)s households added to the roster.") % {"n": added})
    return redirect("campaign-detail", pk=pk)


@login_required
@require_POST
def review(request: HtmxHttpRequest, pk: int, row_id: int) -> HttpResponse:
    campaign = _action(request, pk)
    row = access.get_row(request.user, campaign, row_id)
    form = ReviewForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            with transaction.atomic():
                row = services.review(
                    request.user,
                    row,
                    result=form.cleaned_data["result"],
                    reason=form.cleaned_data["reason"],
                    reviewed_on=business_today(),
                )
        except BusinessError as exc:
            error = exc.message
    else:
        error = "; ".join(str(e) for errs in form.errors.values() for e in errs)
    if request.htmx:
        row = access.get_row(request.user, campaign, row_id)
        ctx = {**_row_ctx(row), "c": campaign, "can_act": True, "error": error}
        return render(request, "campaigns/_row.html", ctx)
    if error:
        messages.error(request, error)
    return redirect("campaign-detail", pk=pk)


@login_required
@require_POST
def start_posting(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    campaign = _action(request, pk)
    form = PostingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the posting dates."))
        return redirect("campaign-detail", pk=pk)
    try:
        with transaction.atomic():
            services.start_posting(
                request.user,
                campaign,
                starts_on=form.cleaned_data["posting_starts_on"],
                ends_on=form.cleaned_data.get("posting_ends_on"),
            )
    except BusinessError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("Public posting started."))
    return redirect("campaign-detail", pk=pk)


@login_required
@require_POST
def objection_create(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    campaign = _action(request, pk)
    form = ObjectionForm(request.POST)
    row_id = request.POST.get("row", "")
    if not form.is_valid() or not row_id.isdigit():
        messages.error(request, _("Fill in the household, the objector, the objection and its date."))
        return redirect("campaign-detail", pk=pk)
    row = access.get_row(request.user, campaign, row_id)
    try:
        with transaction.atomic():
            services.raise_objection(request.user, row, as_of=business_today(), **form.cleaned_data)
    except BusinessError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("Objection recorded."))
    return redirect("campaign-detail", pk=pk)


@login_required
@require_POST
def objection_resolve(request: HtmxHttpRequest, pk: int, objection_id: int) -> HttpResponse:
    campaign = _action(request, pk)
    objection = access.get_objection(request.user, campaign, objection_id)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a resolution and say why."))
        return redirect("campaign-detail", pk=pk)
    try:
        with transaction.atomic():
            services.resolve_objection(request.user, objection, as_of=business_today(), **form.cleaned_data)
    except BusinessError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("Objection resolved."))
    return redirect("campaign-detail", pk=pk)


@login_required
@require_POST
def score(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    campaign = _action(request, pk)
    try:
        with transaction.atomic():
            services.request_scoring(request.user, campaign)
    except BusinessError as exc:
        _fail(request, exc)
    else:
        as_of = business_today().isoformat()
        user_id = request.user.pk
        # After commit: the job's chunks commit on their own, and must see the queued state.
        transaction.on_commit(lambda: score_campaign_task.enqueue(campaign.pk, user_id, as_of))
        messages.success(request, _("Batch scoring started."))
    return redirect("campaign-detail", pk=pk)


@login_required
@require_POST
def activate(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    campaign = _action(request, pk)
    try:
        with transaction.atomic():
            n = services.activate(request.user, campaign, as_of=business_today())
    except BusinessError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("%(n)s credit lines activated.") % {"n": n})
    return redirect("campaign-detail", pk=pk)


@login_required
@require_POST
def cancel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    campaign = _action(request, pk)
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for cancelling."))
        return redirect("campaign-detail", pk=pk)
    try:
        with transaction.atomic():
            services.cancel(request.user, campaign, reason=form.cleaned_data["reason"])
    except BusinessError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("Campaign cancelled."))
    return redirect("campaign-detail", pk=pk)


def _posting(request: HtmxHttpRequest, pk: int, fmt: str) -> tuple[Campaign, list[queries.PostingRow]]:
    campaign = _action(request, pk)
    if campaign.status == CampaignStatus.COLLECTING:
        raise services.CampaignStateError(
            "评议开始后才有公示名单", "The posting list exists once review has started", code="no_posting_list"
        )
    rows = queries.posting_list(campaign)
    audit.record(
        request.user,
        "campaigns.posting.export",
        campaign,
        after={"format": fmt, "households": len(rows)},
        scope_path=campaign.village.grid.outlet.path,
    )
    return campaign, rows


@login_required
def posting_xlsx(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    campaign, rows = _posting(request, pk, "xlsx")
    buffer = io.BytesIO()
    queries.write_posting_xlsx(campaign, rows, buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="posting-{campaign.village.code}-{campaign.pk}.xlsx"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def posting_print(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    campaign, rows = _posting(request, pk, "html")
    return render(request, "campaigns/posting_print.html", {"c": campaign, "rows": rows})
