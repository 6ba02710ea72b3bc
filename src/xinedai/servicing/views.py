"""Loan pages for staff: the loan list (scoped, filtered, borrowers masked), one loan with its schedule,
repayments, servicing state and classification history, the manual classification request, and the
queue where a second person approves or rejects it (maker ≠ checker, enforced by the service)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xinedai.core.dates import business_today
from xinedai.core.errors import BusinessError
from xinedai.core.forms import add_business_error
from xinedai.core.http import HtmxHttpRequest
from xinedai.core.masking import mask_id_number, mask_name
from xinedai.core.paging import CappedPaginator
from xinedai.households.models import Member
from xinedai.lending import services as lending
from xinedai.lending.choices import LoanStatus
from xinedai.lending.models import Loan
from xinedai.org.access import grids_for
from xinedai.org.models import StaffProfile

from . import access, queries, rules, services
from .choices import REQUEST_BADGE, RequestStatus, RiskClass
from .forms import (
    ClassificationDecisionForm,
    ClassificationRequestForm,
    RecoveryForm,
    ReversalForm,
    WriteOffRequestForm,
)
from .models import ClassificationRequest, LoanState, WriteOffRequest

PAGE_SIZE = 25
RECENT_DECISIONS = 20
QUEUE_SIZE = 50


def _choice(value: str | None, allowed: set[int]) -> int | None:
    return int(value) if value and value.isdigit() and int(value) in allowed else None


# Loan list ----------------------------------------------------------------------------------------


def _filters(params: QueryDict, grid_ids: set[int], manager_ids: set[int]) -> queries.LoanFilters:
    status = params.get("status", LoanStatus.ACTIVE)
    return queries.LoanFilters(
        q=params.get("q", "").strip()[:40],
        risk_class=_choice(params.get("class"), set(RiskClass.values)),
        dpd_over=_choice(params.get("dpd"), set(queries.DPD_BANDS)),
        grid=_choice(params.get("grid"), grid_ids),
        manager=_choice(params.get("manager"), manager_ids),
        status=status if status in LoanStatus.values else "",
    )


@login_required
def loan_list(request: HtmxHttpRequest) -> HttpResponse:
    user = request.user
    access.require_perm(user, access.VIEW_PERM)
    grids = list(grids_for(user).order_by("code"))
    managers = list(
        StaffProfile.objects.filter(user_id__in={g.owner_id for g in grids if g.owner_id}).order_by("employee_no")
    )
    f = _filters(request.GET, {g.pk for g in grids}, {m.user_id for m in managers})
    # The page's ids first, from a narrow query (the filters, the scope and the order), then its 25 loans
    # with household, grid, manager and state: joining those for every match before the sort cost ~40 %
    # of the page with 17,000 loans over 90 days past due in a branch (bench/pages.py).
    ordered = queries.newest_first(queries.filter_loans(access.loans_for(user), f), f)
    page = CappedPaginator(ordered.values_list("pk", flat=True), PAGE_SIZE).get_page(request.GET.get("page"))
    ids = list(page)
    loaded = Loan.objects.select_related(
        "household__village__grid__outlet", "household__village__grid__owner__staff", "servicing"
    ).in_bulk(ids)
    params = request.GET.copy()
    params.pop("page", None)
    ctx = {
        "page": page,
        "rows": queries.loan_rows([loaded[pk] for pk in ids]),
        "f": f,
        "querystring": params.urlencode(),
        "grids": grids,
        "managers": managers,
        "classes": RiskClass.choices,
        "dpd_bands": queries.DPD_BANDS,
        "statuses": LoanStatus.choices,
        "pending": access.requests_for(user).filter(status=RequestStatus.PENDING).count(),
        "write_offs_visible": access.can_see_write_offs(user),
        "write_offs_pending": access.write_offs_for(user).filter(status=RequestStatus.PENDING).count(),
    }
    template = (
        "servicing/_loan_table.html" if request.htmx and request.htmx.target == "results" else "servicing/loans.html"
    )
    return render(request, template, ctx)


# One loan -----------------------------------------------------------------------------------------


def _write_off_context(
    request: HtmxHttpRequest,
    loan: Loan,
    current: int,
    *,
    write_off_form: WriteOffRequestForm | None,
    decision_form: ClassificationDecisionForm | None,
    recovery_form: RecoveryForm | None,
) -> dict[str, Any]:
    """The write-off section: the requests, the proposal form (an active loss-class loan), the checker's
    decision on a pending one (not the maker's own) and the recovery form (a written-off loan)."""
    user = request.user
    requests = list(loan.write_off_requests.select_related("made_by__staff", "decided_by__staff"))
    pending = next((r for r in requests if r.status == RequestStatus.PENDING), None)
    active_loss = rules.may_write_off(loan.status, current)
    can_propose = access.can_request_write_off(user) and active_loss and pending is None
    can_decide = pending is not None and access.can_approve_write_off(user) and pending.made_by_id != user.pk
    still_owed = lending.recoverable_fen(loan)
    can_recover = access.can_request_write_off(user) and still_owed > 0
    return {
        "write_offs": requests,
        "write_off_pending": pending,
        "write_off_shown": bool(requests) or active_loss or loan.status == LoanStatus.WRITTEN_OFF,
        "write_off_form": (write_off_form or WriteOffRequestForm()) if can_propose else None,
        "write_off_decision": (decision_form or ClassificationDecisionForm(prefix="w")) if can_decide else None,
        "write_off_own": pending is not None and pending.made_by_id == user.pk,
        "still_owed": still_owed,
        "recovery_form": (recovery_form or RecoveryForm()) if can_recover else None,
    }


def _loan_page(
    request: HtmxHttpRequest,
    loan: Loan,
    *,
    form: ClassificationRequestForm | None = None,
    write_off_form: WriteOffRequestForm | None = None,
    decision_form: ClassificationDecisionForm | None = None,
    recovery_form: RecoveryForm | None = None,
    reversal_form: ReversalForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    household = loan.household
    state = queries.state_of(loan)
    head = Member.objects.filter(household=household, relation="head").values_list("id_number", flat=True).first()
    requests = list(queries.requests_of(loan))
    pending = next((r for r in requests if r.status == RequestStatus.PENDING), None)
    current = state.risk_class if state else RiskClass.NORMAL
    can_request = access.can_request(user)
    if can_request and pending is None and form is None:
        form = ClassificationRequestForm(initial={"risk_class": min(current + 1, RiskClass.LOSS)})
    schedule = queries.schedule_of(loan)
    repayments = list(loan.repayments.select_related("reversed_by__staff").order_by("-paid_on", "-id"))
    reversible = queries.reversible_repayment(repayments, business_today())
    if reversible is not None and not access.can_reverse_repayment(user, reversible):
        reversible = None
    ctx = {
        "loan": loan,
        "h": household,
        "grid": household.village.grid,
        "borrower": mask_name(household.head_name),
        "id_number": mask_id_number(head),
        "state": state,
        "cls": queries.class_badge(current),
        "auto_cls": queries.class_badge(state.auto_class) if state else None,
        "manual_cls": queries.class_badge(state.manual_class) if state and state.manual_class else None,
        "schedule": schedule,
        "schedule_totals": {
            "principal": sum(i.principal_fen for i in schedule),
            "interest": sum(i.interest_fen for i in schedule),
            "paid_principal": sum(i.paid_principal_fen for i in schedule),
            "paid_interest": sum(i.paid_interest_fen for i in schedule),
        },
        "repayments": repayments,
        "reversible": reversible,
        "reversal_form": (reversal_form or ReversalForm(initial={"repayment": reversible.pk})) if reversible else None,
        # a refused reversal of a repayment no longer reversible (reversed meanwhile, say): its error, formless
        "reversal_error": reversal_form.non_field_errors() if reversal_form is not None and not reversible else None,
        "history": [
            {"c": c, "from": queries.class_badge(c.from_class), "to": queries.class_badge(c.to_class)}
            for c in queries.history_of(loan)
        ],
        "requests": [{"r": r, "to": queries.class_badge(r.risk_class)} for r in requests],
        "request_badge": REQUEST_BADGE,
        "pending": pending,
        "form": form if can_request and pending is None else None,
        "can_approve": access.can_approve(user),
        **_write_off_context(
            request,
            loan,
            current,
            write_off_form=write_off_form,
            decision_form=decision_form,
            recovery_form=recovery_form,
        ),
    }
    return render(request, "servicing/loan.html", ctx, status=status)


@login_required
def loan_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    loan = access.get_loan(request.user, pk, perm=access.VIEW_PERM)
    return _loan_page(request, loan)


def _act(
    request: HtmxHttpRequest,
    loan: Loan,
    form: Any,
    action: Callable[[dict[str, Any]], str],
    form_arg: str,
) -> HttpResponse:
    """A form posted on the loan page: `action` (one transaction) takes the cleaned data and returns the
    message to show; then back to the loan. A refusal is shown on the page in the form, nothing changed."""
    if form.is_valid():
        try:
            with transaction.atomic():
                message = action(form.cleaned_data)
        except BusinessError as exc:
            add_business_error(form, exc)
        else:
            messages.success(request, message)
            return redirect("loan-detail", pk=loan.pk)
    return _loan_page(request, loan, status=422, **{form_arg: form})


@login_required
@require_POST
def request_classification(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    loan = access.get_loan(request.user, pk, perm=access.REQUEST_PERM)

    def act(data: dict[str, Any]) -> str:
        services.request_classification(request.user, loan.pk, risk_class=data["risk_class"], reason=data["reason"])
        return _("Classification request submitted: another person must approve it.")

    return _act(request, loan, ClassificationRequestForm(request.POST), act, "form")


@login_required
@require_POST
def request_write_off(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    loan = access.get_loan(request.user, pk, perm=access.WRITE_OFF_REQUEST_PERM)

    def act(data: dict[str, Any]) -> str:
        services.request_write_off(request.user, loan.pk, reason=data["reason"])
        return _("Write-off proposed: another person must approve it.")

    return _act(request, loan, WriteOffRequestForm(request.POST), act, "write_off_form")


@login_required
@require_POST
def decide_write_off(request: HtmxHttpRequest, request_id: int) -> HttpResponse:
    user = request.user
    write_off: WriteOffRequest = access.get_write_off(user, request_id, perm=access.WRITE_OFF_APPROVE_PERM)
    loan = access.get_loan(user, write_off.loan_id, perm=access.VIEW_PERM)

    def act(data: dict[str, Any]) -> str:
        if data["decision"] == "approve":
            services.approve_write_off(user, write_off.pk, note=data["note"])
            return _("Loan %(loan)s written off.") % {"loan": loan.pk}
        services.reject_write_off(user, write_off.pk, note=data["note"])
        return _("Write-off rejected: loan %(loan)s stays on the books.") % {"loan": loan.pk}

    return _act(request, loan, ClassificationDecisionForm(request.POST, prefix="w"), act, "decision_form")


@login_required
@require_POST
def record_recovery(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    loan = access.get_loan(request.user, pk, perm=access.WRITE_OFF_REQUEST_PERM)

    def act(data: dict[str, Any]) -> str:
        key = f"page-recovery:{data['token']}"
        services.record_recovery(request.user, loan.pk, amount_fen=data["amount"], key=key)
        return _("Recovery recorded.")

    return _act(request, loan, RecoveryForm(request.POST), act, "recovery_form")


@login_required
@require_POST
def reverse_repayment(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    loan = access.get_loan(request.user, pk, perm=access.REVERSE_PERM)

    def act(data: dict[str, Any]) -> str:
        services.reverse_repayment(request.user, loan.pk, data["repayment"], reason=data["reason"])
        return _("Repayment reversed: the loan is back as it was before it.")

    return _act(request, loan, ReversalForm(request.POST), act, "reversal_form")


# Write-offs ---------------------------------------------------------------------------------------


@login_required
def write_offs(request: HtmxHttpRequest) -> HttpResponse:
    """Write-offs in the user's scope: the proposals awaiting approval, then the register (核销台账) of
    approved ones with what each still owes and what was recovered since, newest first."""
    user = request.user
    access.require_write_offs(user)
    scoped = access.write_offs_for(user)
    related = ("loan__household__village__grid__outlet", "loan__servicing", "made_by__staff", "decided_by__staff")
    pending = [
        {"r": r, "borrower": mask_name(r.loan.household.head_name), "state": queries.state_of(r.loan)}
        for r in scoped.filter(status=RequestStatus.PENDING)
        .select_related(*related)
        .order_by("made_at", "id")[:QUEUE_SIZE]
    ]
    approved = scoped.filter(status=RequestStatus.APPROVED).order_by("-written_off_on", "-id")
    totals = queries.write_off_totals(approved)
    page = CappedPaginator(approved.values_list("pk", flat=True), PAGE_SIZE).get_page(request.GET.get("page"))
    ids = list(page)
    loaded = WriteOffRequest.objects.select_related(*related).in_bulk(ids)
    ctx = {
        "pending": pending,
        "pending_total": scoped.filter(status=RequestStatus.PENDING).count(),
        "register": queries.write_off_rows([loaded[pk] for pk in ids]),
        "page": page,
        "totals": totals,
        "can_approve": access.can_approve_write_off(user),
    }
    return render(request, "servicing/write_offs.html", ctx)


# Review queue -------------------------------------------------------------------------------------


def _reviews_page(
    request: HtmxHttpRequest, *, bound: dict[int, ClassificationDecisionForm] | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    bound = bound or {}
    scoped = access.requests_for(user)
    queue = scoped.filter(status=RequestStatus.PENDING).order_by("made_at", "id")
    can_approve = access.can_approve(user)
    rows: list[dict[str, Any]] = []
    for r in queue.select_related("loan__household__village__grid__outlet", "loan__servicing", "made_by__staff")[
        :QUEUE_SIZE
    ]:
        state = queries.state_of(r.loan)
        rows.append(
            {
                "r": r,
                "loan": r.loan,
                "borrower": mask_name(r.loan.household.head_name),
                "state": state,
                "now": queries.class_badge(state.risk_class if state else None),
                "was": queries.class_badge(r.previous_class),
                "to": queries.class_badge(r.risk_class),
                "own": r.made_by_id == user.pk,
                "form": bound.get(r.pk) or ClassificationDecisionForm(prefix=f"c{r.pk}"),
            }
        )
    done = (
        scoped.exclude(status=RequestStatus.PENDING)
        .select_related("loan__household", "made_by__staff", "decided_by__staff")
        .order_by("-decided_at", "-id")[:RECENT_DECISIONS]
    )
    # A decision refused on a request that has left the queue (decided meanwhile) is shown on top.
    shown = {x["r"].pk for x in rows}
    errors = [e for pk, form in bound.items() if pk not in shown for e in form.non_field_errors()]
    ctx = {
        "rows": rows,
        "errors": errors,
        "total": queue.count(),
        "can_approve": can_approve,
        "done": [{"r": r, "to": queries.class_badge(r.risk_class)} for r in done],
        "request_badge": REQUEST_BADGE,
    }
    return render(request, "servicing/reviews.html", ctx, status=status)


@login_required
def classification_reviews(request: HtmxHttpRequest) -> HttpResponse:
    access.require_reviews(request.user)
    return _reviews_page(request)


@login_required
@require_POST
def decide_classification(request: HtmxHttpRequest, request_id: int) -> HttpResponse:
    user = request.user
    access.require_approve(user)
    classification: ClassificationRequest = access.get_request(user, request_id, perm=access.APPROVE_PERM)
    form = ClassificationDecisionForm(request.POST, prefix=f"c{classification.pk}")
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            with transaction.atomic():
                if approve:
                    services.approve_classification(user, classification.pk, note=form.cleaned_data["note"])
                else:
                    services.reject_classification(user, classification.pk, note=form.cleaned_data["note"])
        except BusinessError as exc:
            add_business_error(form, exc)
        else:
            if approve:
                # The effective class is the worse of the approved one and the class by days past due.
                now_class = LoanState.objects.get(loan_id=classification.loan_id).risk_class
                messages.success(
                    request,
                    _("Approved: loan %(loan)s is now classified %(cls)s.")
                    % {"loan": classification.loan_id, "cls": RiskClass(now_class).label},
                )
            else:
                messages.success(
                    request, _("Rejected: loan %(loan)s keeps its class.") % {"loan": classification.loan_id}
                )
            return redirect("classification-reviews")
    return _reviews_page(request, bound={classification.pk: form}, status=422)
