"""The audit log page: who changed what, with before/after, filterable."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from xinedai.org.access import scope_path

from .access import audit_entries_for


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    qs = audit_entries_for(request.user, scope_path(request.user))
    f = request.GET
    if f.get("action"):
        qs = qs.filter(action__startswith=f["action"])
    if f.get("actor"):
        qs = qs.filter(actor__username=f["actor"])
    if f.get("object_type"):
        qs = qs.filter(object_type=f["object_type"])
    if f.get("object_id"):
        qs = qs.filter(object_id=f["object_id"])
    page = Paginator(qs, 50).get_page(f.get("page"))
    rows = []
    for e in page:
        before, after = e.before or {}, e.after or {}
        keys = sorted(set(before) | set(after))
        rows.append({"e": e, "changes": [(k, before.get(k), after.get(k)) for k in keys]})
    params = f.copy()
    params.pop("page", None)
    return render(request, "core/audit_log.html", {"page": page, "rows": rows, "filters": f,
                                                    "querystring": params.urlencode()})
