"""Product pages: the catalogue on a date, a product with its version history, propose, approve queue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xinedai.core.dates import business_today
from xinedai.core.errors import BusinessError
from xinedai.core.money import format_yuan
from xinedai.credit.choices import Channel, IntakeMode
from xinedai.households.choices import SEGMENT_BADGE, Segment

from . import access, queries, rules, services
from .choices import (
    FAMILY_LABELS,
    GUARANTEE_BADGE,
    TERM_LABELS,
    VERSION_BADGE,
    EntryPoint,
    GuaranteeType,
    LprTenor,
    RateKind,
    RepaymentMethod,
)
from .forms import ChangeForm, NewProductForm, RejectForm, TermsForm
from .models import Product, ProductVersion

LIST_LABELS: dict[str, Any] = {
    "intake_modes": IntakeMode,
    "channels": Channel,
    "entry_points": EntryPoint,
    "repayment_methods": RepaymentMethod,
    "segments": Segment,
}
ONE_LABELS: dict[str, Any] = {"guarantee_type": GuaranteeType, "rate_kind": RateKind, "lpr_tenor": LprTenor}


def pct(rate: Decimal | str | None) -> str:
    """0.0435 -> '4.35%': at least two decimals, more only when the rate has them."""
    if rate is None:
        return "—"
    value = (Decimal(rate) * 100).normalize()
    if value.as_tuple().exponent > -2:  # type: ignore[operator]
        value = value.quantize(Decimal("0.01"))
    return f"{value:f}%"


def display(name: str, value: Any) -> str:
    """One field's value as people read it: yuan for amounts, percent for rates, labels for codes."""
    if value is None or value == "" or value == []:
        return _("every segment") if name == "segments" else "—"
    if name.endswith("_fen"):
        return format_yuan(int(value))
    if name == "annual_rate":
        return pct(value)
    if name in LIST_LABELS:
        labels = dict(LIST_LABELS[name].choices)
        return "、".join(str(labels.get(v, v)) for v in value)
    if name in ONE_LABELS:
        return str(dict(ONE_LABELS[name].choices).get(value, value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _changes(before: ProductVersion | None, after: ProductVersion) -> list[dict[str, Any]]:
    old = before.terms().as_dict() if before else None
    return [
        {
            "field": str(TERM_LABELS.get(name, name)),
            "before": display(name, b) if before else "—",
            "after": display(name, a),
            "money": name in rules.MONEY_FIELDS,
        }
        for name, b, a in rules.diff(old, after.terms().as_dict())
    ]


def _who(user: Any) -> str:
    if user is None:
        return _("system")
    staff = getattr(user, "staff", None)
    return staff.display_name if staff is not None else user.username


def _on(request: HttpRequest) -> dt.date:
    raw = request.GET.get("on", "")
    try:
        return dt.date.fromisoformat(raw) if raw else business_today()
    except ValueError:
        return business_today()


def _rate_text(version: ProductVersion, on: dt.date) -> str:
    rate = queries.rate_on(version, on)
    if version.rate_kind == RateKind.LPR_SPREAD:
        tenor = dict(LprTenor.choices).get(version.lpr_tenor, version.lpr_tenor)
        return f"{pct(rate)} ({tenor} + {version.spread_bp}bp)"
    return pct(rate)


def _summary(product: Product, version: ProductVersion, on: dt.date) -> dict[str, Any]:
    seg_labels = dict(Segment.choices)
    return {
        "p": product,
        "v": version,
        "guarantee": (version.get_guarantee_type_display(), GUARANTEE_BADGE.get(version.guarantee_type, "gray")),
        "amount": f"{format_yuan(version.min_amount_fen, decimals=False)} – "
        f"{format_yuan(version.max_amount_fen, decimals=False)}",
        "term": f"{version.min_term_months}–{version.max_term_months}",
        "rate": _rate_text(version, on),
        "channels": display("channels", version.channels),
        "intake": display("intake_modes", version.intake_modes),
        "segments": [(str(seg_labels.get(s, s)), SEGMENT_BADGE.get(s, "gray")) for s in version.segments],
    }


@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    access.require_view(request.user)
    on = _on(request)
    f = request.GET
    family = f.get("family") or None
    segment = f.get("segment") if f.get("segment") in Segment.values else None
    rows = [_summary(p, v, on) for p, v in queries.catalogue(on, family=family, segment=segment)]
    families = sorted(set(Product.objects.values_list("family", flat=True)))
    pending = access.pending_for(request.user).count() if access.can_approve(request.user) else 0
    return render(
        request,
        "products/catalogue.html",
        {
            "rows": rows,
            "on": on,
            "filters": f,
            "families": [(code, FAMILY_LABELS.get(code, code)) for code in families],
            "segments": Segment.choices,
            "can_propose": access.can_propose(request.user),
            "can_approve": access.can_approve(request.user),
            "pending": pending,
        },
    )


@login_required
def detail(request: HttpRequest, code: str) -> HttpResponse:
    product = access.get_product(request.user, code)
    on = _on(request)
    current = queries.effective_version(product, on)
    versions = list(product.versions.select_related("proposed_by__staff", "decided_by__staff").order_by("version"))
    history = []
    previous_approved: ProductVersion | None = None
    for v in versions:
        history.append(
            {
                "v": v,
                "badge": VERSION_BADGE.get(v.status, "gray"),
                "changes": _changes(previous_approved, v),
                "in_force": current is not None and v.pk == current.pk,
                "maker": _who(v.proposed_by),
                "checker": _who(v.decided_by),
            }
        )
        if v.status == "approved":
            previous_approved = v
    history.reverse()
    terms = []
    if current is not None:
        terms = [
            (str(TERM_LABELS[name]), display(name, value))
            for name, value in current.terms().as_dict().items()
            if name in TERM_LABELS
        ]
    return render(
        request,
        "products/detail.html",
        {
            "product": product,
            "on": on,
            "current": current,
            "summary": _summary(product, current, on) if current else None,
            "terms": terms,
            "history": history,
            "can_propose": access.can_propose(request.user),
            "user_id": request.user.pk,
        },
    )


def _apply_error(form: TermsForm, exc: BusinessError) -> None:
    if isinstance(exc, services.TermsInvalid):
        lang_en = exc.message == exc.message_en
        form.add_problems(exc.problems, lambda p: p.message_en if lang_en else p.message_zh)
        return
    name = {"min_amount_fen": "min_amount", "max_amount_fen": "max_amount"}.get(exc.field or "", exc.field)
    form.add_error(name if name in form.fields else None, exc.message)


@login_required
def propose(request: HttpRequest, code: str) -> HttpResponse:
    product = access.get_product(request.user, code)
    access.require_propose(request.user)
    today = business_today()
    current = queries.effective_version(product, today) or queries.latest_version(product)
    initial = {**TermsForm.initial_from(current), "effective_from": today}
    form = ChangeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                version = services.propose_change(
                    request.user, product, form.terms(), note=form.cleaned_data["note"], today=today
                )
        except BusinessError as exc:
            _apply_error(form, exc)
        else:
            messages.success(
                request, _("Version %(n)s proposed; it takes effect once approved.") % {"n": version.version}
            )
            return redirect("product-detail", code=product.code)
    return render(request, "products/propose.html", {"product": product, "form": form, "current": current})


@login_required
def create(request: HttpRequest) -> HttpResponse:
    access.require_propose(request.user)
    today = business_today()
    form = NewProductForm(request.POST or None, initial={**TermsForm.initial_from(None), "effective_from": today})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                version = services.create_product(
                    request.user,
                    code=d["code"],
                    name=d["name"],
                    description=d["description"],
                    terms=form.terms(),
                    note=d["note"],
                    today=today,
                )
        except BusinessError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("Product proposed; it is sold once approved."))
            return redirect("product-detail", code=version.product.code)
    return render(request, "products/propose.html", {"product": None, "form": form, "current": None})


def _queue(request: HttpRequest, reject_forms: dict[int, RejectForm] | None = None, status: int = 200) -> HttpResponse:
    rows = []
    for v in access.pending_for(request.user):
        base = queries.effective_version(v.product, v.effective_from) or (
            v.product.versions.filter(status="approved").order_by("-version").first()
        )
        rows.append(
            {
                "v": v,
                "base": base,
                "changes": _changes(base, v),
                "own": v.proposed_by_id == request.user.pk,
                "maker": _who(v.proposed_by),
                "reject_form": (reject_forms or {}).get(v.pk) or RejectForm(prefix=f"r{v.pk}"),
            }
        )
    return render(request, "products/approvals.html", {"rows": rows}, status=status)


@login_required
def approvals(request: HttpRequest) -> HttpResponse:
    access.require_approve(request.user)
    return _queue(request)


@login_required
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    version = access.get_version(request.user, pk)
    try:
        with transaction.atomic():
            services.approve(request.user, version, reason=request.POST.get("reason", ""), today=business_today())
    except BusinessError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(name)s version %(n)s approved.") % {"name": version.product.name, "n": version.version},
        )
    return redirect("product-approvals")


@login_required
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    version = access.get_version(request.user, pk)
    access.require_approve(request.user)
    form = RejectForm(request.POST, prefix=f"r{pk}")
    if form.is_valid():
        try:
            with transaction.atomic():
                services.reject(request.user, version, reason=form.cleaned_data["reason"])
        except BusinessError as exc:
            form.add_error("reason" if exc.field == "reason" else None, exc.message)
        else:
            messages.success(
                request,
                _("%(name)s version %(n)s rejected.") % {"name": version.product.name, "n": version.version},
            )
            return redirect("product-approvals")
    return _queue(request, {pk: form}, status=422)


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    version = access.get_version(request.user, pk)
    try:
        with transaction.atomic():
            services.withdraw(request.user, version, reason=request.POST.get("reason", ""))
    except BusinessError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Proposal withdrawn."))
    return redirect("product-detail", code=version.product.code)
