"""Pages: sign-in, home, my grids, grid detail with hand-over, and the audit log of the user's scope."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from xinedai.core.access import audit_entries_for
from xinedai.core.errors import BusinessError
from xinedai.core.forms import add_business_error
from xinedai.core.paging import CappedPaginator
from xinedai.households.access import households_for

from . import access, services
from .forms import HandOverForm
from .models import GridOwnership
from .queries import coverage_counts


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):  # type: ignore[no-untyped-def]
        ctx = super().get_context_data(**kwargs)
        ctx["bank_name"] = settings.XINEDAI_BANK_NAME
        return ctx


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.has_perm("households.change_household") and access.is_grid_scoped(user):
        return redirect("grids")
    if user.has_perm("org.view_monitoring"):
        return redirect("coverage")
    if user.has_perm("core.view_auditentry"):
        return redirect("audit-log")
    if user.has_perm("households.view_household"):
        return redirect("household-list")
    return render(request, "org/home.html")


@login_required
def grids(request: HttpRequest) -> HttpResponse:
    grid_qs = access.grids_for(request.user).annotate(villages_n=Count("villages")).order_by("outlet__path", "code")
    counts = coverage_counts(households_for(request.user), "village__grid")
    rows = []
    for g in grid_qs:
        n, complete, fresh = counts.get(g.pk, (0, 0, 0))
        rows.append({"grid": g, "households": n, "complete": complete, "fresh": fresh})
    return render(request, "org/grids.html", {"rows": rows})


@login_required
def grid_detail(request: HttpRequest, grid_id: int) -> HttpResponse:
    grid = access.get_grid(request.user, grid_id)
    can_hand_over = request.user.has_perm("org.hand_over_grid")
    form = HandOverForm(managers=access.managers_for(request.user)) if can_hand_over else None
    if request.method == "POST":
        access.require_perm(request.user, "org.hand_over_grid")
        form = HandOverForm(request.POST, managers=access.managers_for(request.user))
        if form.is_valid():
            to = get_user_model().objects.filter(pk=form.cleaned_data["to_manager"]).first()
            try:
                services.hand_over_grid(request.user, grid, to_manager=to, reason=form.cleaned_data["reason"])
            except BusinessError as exc:
                add_business_error(form, exc)
            else:
                messages.success(request, _("The grid was handed over."))
                return redirect("grid-detail", grid_id=grid.pk)
    counts = coverage_counts(households_for(request.user).filter(village__grid=grid), "village")
    villages = [{"village": v, "households": counts.get(v.pk, (0, 0, 0))[0]} for v in grid.villages.all()]
    history = GridOwnership.objects.filter(grid=grid).select_related("manager__staff", "handed_over_by")
    return render(
        request,
        "org/grid_detail.html",
        {
            "grid": grid,
            "villages": villages,
            "history": history,
            "form": form,
            "sub_grids": access.grids_for(request.user).filter(parent=grid),
        },
    )


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    qs = audit_entries_for(request.user, access.scope_path(request.user))
    f = request.GET
    if f.get("action"):
        qs = qs.filter(action__startswith=f["action"])
    if f.get("actor"):
        qs = qs.filter(actor__username=f["actor"])
    if f.get("object_type"):
        qs = qs.filter(object_type=f["object_type"])
    if f.get("object_id"):
        qs = qs.filter(object_id=f["object_id"])
    page = CappedPaginator(qs, 50).get_page(f.get("page"))
    rows = []
    for e in page:
        before, after = e.before or {}, e.after or {}
        keys = sorted(set(before) | set(after))
        rows.append({"e": e, "changes": [(k, before.get(k), after.get(k)) for k in keys]})
    params = f.copy()
    params.pop("page", None)
    return render(
        request, "org/audit_log.html", {"page": page, "rows": rows, "filters": f, "querystring": params.urlencode()}
    )
