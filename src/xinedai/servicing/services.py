"""Servicing use cases: a manual five-category classification, and the write-off (核销) of a loss-class
loan, each requested with a reason by one person and approved (or rejected) by another. One
transaction's worth each; the caller's transaction frames it.

An approved classification becomes the loan's floor (LoanState.manual_class): the day-end batch classifies
by days past due and keeps the worse of the two, so it never upgrades a manual downgrade on its own. A
later approved request replaces the floor (an upgrade back needs the same two people and a reason).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from xinedai.core import audit
from xinedai.core.approvals import require_second_person
from xinedai.core.dates import business_today, now
from xinedai.core.errors import NotFound, ValidationFailed
from xinedai.lending import services as lending
from xinedai.lending.choices import LoanStatus
from xinedai.lending.models import Loan, Repayment

from . import access, rules
from .choices import ChangeCause, DayStatus, RequestStatus, RiskClass
from .models import BusinessDay, ClassificationChange, ClassificationRequest, LoanState, WriteOffRequest

REQUEST_PERM = "servicing.request_classification"
APPROVE_PERM = "servicing.approve_classification"
WRITE_OFF_REQUEST_PERM = "servicing.request_write_off"
WRITE_OFF_APPROVE_PERM = "servicing.approve_write_off"


def _scope(loan_id: int) -> str:
    """The org path of the loan's outlet: the audit log shows the row to that outlet's chain of units
    (a row without a scope is seen by head office only)."""
    path = Loan.objects.filter(pk=loan_id).values_list("household__village__grid__outlet__path", flat=True).first()
    return path or ""


def _state(loan_id: int) -> LoanState:
    """The loan's state, locked; a loan the batch has not seen yet gets one (schedule_version 0 makes the
    next batch read its running period)."""
    LoanState.objects.get_or_create(loan_id=loan_id)
    return LoanState.objects.select_for_update().get(loan_id=loan_id)


def request_classification(actor: Any, loan_id: int, *, risk_class: int, reason: str) -> ClassificationRequest:
    """Ask for a loan to be classified `risk_class` (1 normal … 5 loss) for a stated reason."""
    loan = access.get_loan(actor, loan_id, perm=REQUEST_PERM)
    if risk_class not in RiskClass.values:
        raise ValidationFailed("分类无效", "Unknown classification", code="class_invalid", field="risk_class")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "请说明调整分类的原因", "Give the reason for the classification", code="reason_required", field="reason"
        )
    state = _state(loan.pk)
    if ClassificationRequest.objects.filter(loan=loan, status=RequestStatus.PENDING).exists():
        raise ValidationFailed(
            "该笔贷款已有待审批的分类申请",
            "The loan already has a classification awaiting approval",
            code="request_pending",
        )
    if risk_class == state.risk_class and state.manual_class == risk_class:
        raise ValidationFailed(
            "分类没有变化", "The loan is already classified so", code="class_unchanged", field="risk_class"
        )
    request = ClassificationRequest.objects.create(
        loan=loan,
        risk_class=risk_class,
        previous_class=state.risk_class,
        reason=reason[:500],
        made_by=actor,
        made_at=now(),
    )
    audit.record(
        actor,
        "servicing.classification_requested",
        request,
        after={"loan": loan.pk, "risk_class": risk_class, "previous_class": state.risk_class},
        reason=reason,
        scope_path=_scope(loan.pk),
    )
    return request


Request = TypeVar("Request", ClassificationRequest, WriteOffRequest)


def _locked_pending(actor: Any, request: Request, *, what_zh: str, what_en: str) -> Request:
    """The request (found in the actor's scope), locked, still pending, and not the actor's own."""
    request = type(request).objects.select_for_update().get(pk=request.pk)
    if request.status != RequestStatus.PENDING:
        raise ValidationFailed("该申请已处理", "The request has already been decided", code="request_decided")
    require_second_person(actor, request.made_by_id, what_zh=what_zh, what_en=what_en)
    return request


def _decided(request: Request, actor: Any, status: str, note: str) -> None:
    """Set the decision on the request (the caller saves it with whatever else it changed)."""
    request.status, request.decided_by, request.decided_at = status, actor, now()
    request.decision_note = note[:500]


def _rejection_note(note: str) -> str:
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(
            "请说明驳回原因", "Give the reason for the rejection", code="note_required", field="note"
        )
    return note


def _reject(actor: Any, request: Request, note: str, action: str) -> Request:
    _decided(request, actor, RequestStatus.REJECTED, note)
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        actor, action, request, after={"loan": request.loan_id}, reason=note, scope_path=_scope(request.loan_id)
    )
    return request


def _pending(actor: Any, request_id: int) -> ClassificationRequest:
    request = access.get_request(actor, request_id, perm=APPROVE_PERM)
    return _locked_pending(actor, request, what_zh="分类申请", what_en="classification request")


def approve_classification(
    actor: Any, request_id: int, *, note: str = "", today: dt.date | None = None
) -> ClassificationRequest:
    """Approve: the requested class becomes the loan's floor now (not at the next batch)."""
    today = today or business_today()
    request = _pending(actor, request_id)
    state = _state(request.loan_id)
    before = state.risk_class
    state.manual_class = request.risk_class
    state.risk_class = max(state.auto_class, request.risk_class)
    if state.risk_class != before:
        state.classified_on = today
        ClassificationChange.objects.create(
            loan_id=request.loan_id,
            changed_on=today,
            from_class=before,
            to_class=state.risk_class,
            days_past_due=state.days_past_due,
            cause=ChangeCause.MANUAL,
            request_id=request.pk,
        )
    state.save(update_fields=["manual_class", "risk_class", "classified_on"])
    _decided(request, actor, RequestStatus.APPROVED, note)
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        actor,
        "servicing.classification_approved",
        request,
        before={"risk_class": before},
        after={"loan": request.loan_id, "manual_class": request.risk_class, "risk_class": state.risk_class},
        reason=request.reason,
        scope_path=_scope(request.loan_id),
    )
    return request


def reject_classification(actor: Any, request_id: int, *, note: str) -> ClassificationRequest:
    """Reject with a note; the loan's classification is left as it is."""
    note = _rejection_note(note)
    return _reject(actor, _pending(actor, request_id), note, "servicing.classification_rejected")


# Write-off (核销) -----------------------------------------------------------------------------------


def _write_off_allowed(loan: Loan) -> LoanState:
    """A loan may be written off while it is active and classified loss (损失类): by days past due (more
    than 360) or by an approved manual classification. Returns its state, locked."""
    if loan.status != LoanStatus.ACTIVE:
        raise ValidationFailed(
            "只有未结清的贷款可以核销", "Only an active loan can be written off", code="loan_not_active"
        )
    state = _state(loan.pk)
    if not rules.may_write_off(loan.status, state.risk_class):
        raise ValidationFailed(
            "只有损失类贷款可以核销",
            "Only a loan classified loss can be written off",
            code="not_loss_class",
            risk_class=state.risk_class,
        )
    return state


def request_write_off(actor: Any, loan_id: int, *, reason: str) -> WriteOffRequest:
    """Propose writing off a loss-class loan, saying why (the borrower's situation, the recovery efforts
    made, the evidence). Another person approves it."""
    loan = access.get_loan(actor, loan_id, perm=WRITE_OFF_REQUEST_PERM)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "请说明核销理由及已采取的清收措施",
            "Give the reason for the write-off and the recovery efforts made",
            code="reason_required",
            field="reason",
        )
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    _write_off_allowed(loan)
    if WriteOffRequest.objects.filter(loan=loan, status=RequestStatus.PENDING).exists():
        raise ValidationFailed(
            "该笔贷款已有待审批的核销申请", "The loan already has a write-off awaiting approval", code="request_pending"
        )
    request = WriteOffRequest.objects.create(loan=loan, reason=reason[:500], made_by=actor, made_at=now())
    audit.record(
        actor,
        "servicing.write_off_requested",
        request,
        after={"loan": loan.pk, "principal_outstanding_fen": loan.principal_outstanding_fen},
        reason=reason,
        scope_path=_scope(loan.pk),
    )
    return request


def _pending_write_off(actor: Any, request_id: int) -> WriteOffRequest:
    request = access.get_write_off(actor, request_id, perm=WRITE_OFF_APPROVE_PERM)
    return _locked_pending(actor, request, what_zh="核销申请", what_en="write-off request")


def approve_write_off(actor: Any, request_id: int, *, note: str = "", today: dt.date | None = None) -> WriteOffRequest:
    """Approve: the loan is written off now (lending.services.write_off), on the business date. Refused
    while a day-end batch is running (it would accrue on a loan it read as active a moment before) and
    when the loan is no longer active or no longer classified loss."""
    today = today or business_today()
    request = _pending_write_off(actor, request_id)
    # The latest business day's row, locked: the batch locks it too before it opens the next date
    # (eod._open_day), so a date cannot start between this check and the write-off's commit.
    BusinessDay.objects.select_for_update().order_by("-business_on").first()
    if BusinessDay.objects.filter(status=DayStatus.RUNNING).exists():
        raise ValidationFailed(
            "日终批处理正在运行，请在其完成后再审批核销",
            "The day-end batch is running: approve the write-off once it has finished",
            code="eod_running",
        )
    loan = Loan.objects.select_for_update().get(pk=request.loan_id)
    _write_off_allowed(loan)
    interest = loan.interest_receivable_fen + loan.offbook_interest_fen
    penalty = loan.penalty_receivable_fen + loan.offbook_penalty_fen
    scope = _scope(loan.pk)
    loan = lending.write_off(actor, loan, key=str(request.pk), today=today, reason=request.reason, scope_path=scope)
    _decided(request, actor, RequestStatus.APPROVED, note)
    request.written_off_on = today
    request.principal_fen, request.interest_fen, request.penalty_fen = loan.written_off_principal_fen, interest, penalty
    request.grid_id, request.outlet_id = (
        Loan.objects.filter(pk=loan.pk)
        .values_list("household__village__grid_id", "household__village__grid__outlet_id")
        .get()
    )
    request.save(
        update_fields=[
            "status",
            "decided_by",
            "decided_at",
            "decision_note",
            "written_off_on",
            "principal_fen",
            "interest_fen",
            "penalty_fen",
            "grid",
            "outlet",
        ]
    )
    audit.record(
        actor,
        "servicing.write_off_approved",
        request,
        after={"loan": loan.pk, "principal_fen": request.principal_fen, "written_off_on": today},
        reason=request.reason,
        scope_path=scope,
    )
    return request


def reject_write_off(actor: Any, request_id: int, *, note: str) -> WriteOffRequest:
    """Reject with a note; the loan stays on the books as it is."""
    note = _rejection_note(note)
    return _reject(actor, _pending_write_off(actor, request_id), note, "servicing.write_off_rejected")


def record_recovery(actor: Any, loan_id: int, *, amount_fen: int, key: str, today: dt.date | None = None) -> Any:
    """Money recovered at the counter on a written-off loan (清收), exactly once per key (the page's form
    token): principal first, then interest, then penalty (lending.services.repay on a written-off loan)."""
    loan = access.get_loan(actor, loan_id, perm=WRITE_OFF_REQUEST_PERM)
    if loan.status != LoanStatus.WRITTEN_OFF:
        raise ValidationFailed(
            "只有已核销的贷款在此登记收回",
            "Recoveries are recorded here for written-off loans only",
            code="loan_not_written_off",
        )
    return lending.repay(actor, loan, key=key, channel="counter", amount_fen=amount_fen, today=today)


def reverse_repayment(actor: Any, loan_id: int, repayment_id: int, *, reason: str, today: dt.date | None = None) -> Any:
    """A supervisor reverses a repayment or recovery made today by mistake (冲正; lending.services
    .reverse_repayment puts the loan back). Never by the person who recorded it, and never once the day's
    batch has begun: the batch would already have accrued on what the repayment left, and a reversal
    then would leave that wrong."""
    today = today or business_today()
    loan = access.get_loan(actor, loan_id, perm=access.REVERSE_PERM)
    repayment = Repayment.objects.filter(pk=repayment_id, loan=loan).first()
    if repayment is None:
        raise NotFound("该笔还款不存在", "No such repayment on this loan", code="repayment_not_found")
    require_second_person(actor, repayment.created_by_id, what_zh="还款", what_en="repayment")
    return reverse_before_day_end(actor, repayment, reason=reason, today=today)


def reverse_before_day_end(actor: Any, repayment: Repayment, *, reason: str, today: dt.date) -> Any:
    """lending.services.reverse_repayment, refused once the repayment's day-end batch has begun (staff
    through reverse_repayment above, a channel reversing its own repayment through channel.services)."""
    # The latest business day's row, locked: the batch locks it too before it opens a date (eod._open_day).
    BusinessDay.objects.select_for_update().order_by("-business_on").first()
    if BusinessDay.objects.filter(business_on__gte=repayment.paid_on).exists():
        raise ValidationFailed(
            f"营业日{repayment.paid_on}已开始日终，不能再冲正当日还款",
            f"The day-end of {repayment.paid_on} has begun: its repayments can no longer be reversed",
            code="day_closed",
        )
    return lending.reverse_repayment(actor, repayment, reason=reason, today=today)
