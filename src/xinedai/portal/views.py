"""The customers' mobile pages (/m/): sign in with a code, lines, drawdown with the schedule first, repay, loans."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xinedai.core.dates import business_today
from xinedai.core.errors import BusinessError, PermissionDenied
from xinedai.core.masking import mask_name, mask_phone
from xinedai.lending import rules as lending_rules
from xinedai.lending import services as lending
from xinedai.products.choices import RepaymentMethod

from . import access, services
from .forms import CodeForm, DrawForm, PhoneForm, RepayForm

PENDING_PHONE = "portal_phone"
CHANNEL = "wechat"


def customer_required(view: Any) -> Any:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            household = access.household_of(request)
        except PermissionDenied:
            return redirect("portal-login")
        return view(request, household, *args, **kwargs)

    return wrapper


def login(request: HttpRequest) -> HttpResponse:
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                phone = services.send_code(form.cleaned_data["phone"])
        except BusinessError as exc:
            form.add_error("phone", exc.message)
        else:
            request.session[PENDING_PHONE] = phone
            return redirect("portal-code")
    return render(request, "portal/login.html", {"form": form}, status=422 if form.errors else 200)


def code(request: HttpRequest) -> HttpResponse:
    phone = request.session.get(PENDING_PHONE)
    if not phone:
        return redirect("portal-login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                household = services.check_code(phone, form.cleaned_data["code"])
        except BusinessError as exc:
            household = None
            form.add_error("code", exc.message)
        if household is None:
            if not form.errors:
                form.add_error("code", _("The code is wrong or has expired."))
        else:
            request.session.cycle_key()  # a new session id at sign-in
            request.session.pop(PENDING_PHONE, None)
            request.session[access.SESSION_KEY] = household.pk
            return redirect("portal-home")
    ctx = {"form": form, "phone": mask_phone(phone)}
    return render(request, "portal/code.html", ctx, status=422 if form.errors else 200)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return redirect("portal-login")


def _loan_row(loan: Any, today: Any) -> dict[str, Any]:
    rows = [i for i in loan.instalments.filter(schedule_version=loan.schedule_version) if i.due_on >= today]
    upcoming = [i for i in rows if i.paid_principal_fen < i.principal_fen or i.paid_interest_fen < i.interest_fen]
    return {"loan": loan, "next": upcoming[0] if upcoming else None}


@customer_required
def home(request: HttpRequest, household: Any) -> HttpResponse:
    today = business_today()
    ctx = {
        "name": mask_name(household.head_name),
        "lines": list(access.lines_of(household)),
        "loans": [_loan_row(loan, today) for loan in access.loans_of(household)[:20]],
        "names": _product_names(),
    }
    return render(request, "portal/home.html", ctx)


def _product_names() -> dict[str, str]:
    from xinedai.products.models import Product

    return dict(Product.objects.values_list("code", "name"))


def _draw_context(request: HttpRequest, household: Any, line_id: int, form: DrawForm | None = None) -> dict[str, Any]:
    line = access.get_line(household, line_id)
    found = services.line_terms(line, business_today())
    if found is None:
        raise PermissionDenied("该产品暂停办理", "The product is not on sale", code="product_not_on_sale")
    terms, rate = found
    methods = services.methods_of(terms)
    form = form or DrawForm(terms=terms, methods=methods)
    return {"line": line, "terms": terms, "rate": rate, "form": form, "names": _product_names()}


@customer_required
def draw(request: HttpRequest, household: Any, line_id: int) -> HttpResponse:
    ctx = _draw_context(request, household, line_id)
    if request.method != "POST":
        return render(request, "portal/draw.html", ctx)
    form = DrawForm(request.POST, terms=ctx["terms"], methods=services.methods_of(ctx["terms"]))
    ctx["form"] = form
    if form.is_valid() and not form.cleaned_data["accept"]:
        form.add_error("accept", _("Please read and accept the loan contract."))
    if form.is_valid():
        try:
            with transaction.atomic():
                loan = lending.drawdown(
                    None,
                    ctx["line"],
                    amount_fen=form.cleaned_data["amount"],
                    term_months=form.cleaned_data["term_months"],
                    method=form.cleaned_data["method"],
                    key=f"portal:{household.pk}:{form.cleaned_data['token']}",
                    channel=CHANNEL,
                )
        except BusinessError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("portal-loan", loan_id=loan.pk)
    return render(request, "portal/draw.html", ctx, status=422)


@customer_required
@require_POST
def preview(request: HttpRequest, household: Any, line_id: int) -> HttpResponse:
    """The schedule of the drawdown being filled in, shown before the customer confirms (htmx)."""
    ctx = _draw_context(request, household, line_id)
    form = DrawForm(request.POST, terms=ctx["terms"], methods=services.methods_of(ctx["terms"]))
    form.is_valid()
    data = form.cleaned_data
    rows: list[Any] = []
    error = ""
    if ctx["rate"] is not None and data.get("amount") and data.get("term_months") and data.get("method"):
        try:
            rows = lending_rules.schedule(
                data["amount"], ctx["rate"], data["term_months"], data["method"], business_today()
            )
        except lending_rules.TermsError:
            error = _("These terms cannot be scheduled.")
    else:
        error = _("Enter an amount, a term and a repayment method to see the schedule.")
    total_interest = sum(r.interest_fen for r in rows)
    return render(
        request,
        "portal/_schedule.html",
        {"rows": rows, "error": error, "total_interest": total_interest, "rate": ctx["rate"]},
    )


@customer_required
def loan(request: HttpRequest, household: Any, loan_id: int) -> HttpResponse:
    item = access.get_loan(household, loan_id)
    today = business_today()
    form = RepayForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            payoff = form.cleaned_data["payoff"]
            amount = form.cleaned_data["amount"]
            if not payoff and not amount:
                form.add_error("amount", _("Enter an amount, or choose to pay off the loan."))
            else:
                try:
                    with transaction.atomic():
                        lending.repay(
                            None,
                            item,
                            key=f"portal:{household.pk}:{form.cleaned_data['token']}",
                            channel=CHANNEL,
                            amount_fen=None if payoff else amount,
                            payoff=payoff,
                        )
                except BusinessError as exc:
                    form.add_error(None, exc.message)
                else:
                    return redirect("portal-loan", loan_id=item.pk)
    item.refresh_from_db()
    owed = lending.owed(item, today) if item.status == "active" else None
    if item.status == "written_off" and lending.recoverable_fen(item):  # still owed: it can be repaid
        owed = {"payoff_fen": lending.recoverable_fen(item)}
    ctx = {
        "loan": item,
        "rows": list(item.instalments.filter(schedule_version=item.schedule_version).order_by("number")),
        "repayments": list(item.repayments.all()[:20]),
        "owed": owed,
        "form": form,
        "today": today,
        "method_label": dict(RepaymentMethod.choices).get(item.method, item.method),
        "names": _product_names(),
    }
    return render(request, "portal/loan.html", ctx, status=status)
