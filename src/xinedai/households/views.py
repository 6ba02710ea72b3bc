"""Collection pages for account managers: households, files, members, documents, roster import."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xinedai.core import audit, progress
from xinedai.core.dates import business_today
from xinedai.core.errors import BusinessError
from xinedai.core.forms import add_business_error
from xinedai.core.http import HtmxHttpRequest
from xinedai.core.masking import mask_id_number, mask_name, mask_phone
from xinedai.core.paging import CappedPaginator
from xinedai.org.access import grids_for, villages_for
from xinedai.org.queries import fresh_since

from . import access, rules, services
from .choices import FILE_FIELD_LABELS, FILE_GROUP_LABELS, SEGMENT_BADGE, Segment
from .forms import DocumentForm, FileForm, HouseholdEditForm, HouseholdForm, ImportForm, MemberForm
from .models import FileVersion, ImportJob
from .roster import write_template
from .tasks import import_households_task, progress_key, run_import_job


def _segment_badges(codes: list[str]) -> list[tuple[str, str]]:
    labels = dict(Segment.choices)
    return [(str(labels.get(c, c)), SEGMENT_BADGE.get(c, "gray")) for c in codes]


@login_required
def household_list(request: HtmxHttpRequest) -> HttpResponse:
    qs = access.households_for(request.user).select_related("village__grid", "current_file")
    f = request.GET
    q = f.get("q", "").strip()
    if q:
        qs = qs.filter(Q(code__iexact=q) | Q(head_name__contains=q) | Q(village__name__contains=q))
    if f.get("grid", "").isdigit():
        qs = qs.filter(Q(village__grid_id=f["grid"]) | Q(village__grid__parent_id=f["grid"]))
    if f.get("village"):
        qs = qs.filter(village__code=f["village"])
    if f.get("segment") in Segment.values:
        qs = qs.filter(segments__contains=f",{f['segment']},")
    if f.get("complete") in ("0", "1"):
        qs = qs.filter(three_elements_complete=f["complete"] == "1")
    if f.get("stale") == "1":
        qs = qs.filter(Q(file_updated_at__lt=fresh_since()) | Q(file_updated_at__isnull=True))
    page = CappedPaginator(qs.order_by("code"), 25).get_page(f.get("page"))
    rows = [{"h": h, "head": mask_name(h.head_name), "segments": _segment_badges(h.segment_list)} for h in page]
    params = f.copy()
    params.pop("page", None)
    ctx = {
        "page": page,
        "rows": rows,
        "q": q,
        "filters": f,
        "querystring": params.urlencode(),
        "grids": grids_for(request.user).order_by("code"),
        "segments": Segment.choices,
        "can_add": access.can_edit(request.user),
    }
    template = "households/_table.html" if request.htmx and request.htmx.target == "results" else "households/list.html"
    return render(request, template, ctx)


def _members_view(user: Any, household: Any) -> list[dict]:
    can_reveal = access.can_reveal(user)
    return [
        {
            "m": m,
            "name": mask_name(m.name),
            "id_number": mask_id_number(m.id_number),
            "phone": mask_phone(m.phone),
            "can_reveal": can_reveal,
        }
        for m in household.members.all()
    ]


def _file_rows(version: FileVersion | None) -> list[tuple[str, list[tuple[str, int, bool]]]]:
    if version is None:
        return []
    values = version.values()
    return [
        (str(FILE_GROUP_LABELS[g]), [(str(FILE_FIELD_LABELS[f]), values[f], f.endswith("_fen")) for f in fields])
        for g, fields in rules.GROUPS.items()
    ]


@login_required
def household_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    h = access.get_household(request.user, pk)
    versions = list(h.file_versions.select_related("created_by__staff").order_by("-version"))
    return render(
        request,
        "households/detail.html",
        {
            "h": h,
            "head": mask_name(h.head_name),
            "members": _members_view(request.user, h),
            "segments": _segment_badges(h.segment_list),
            "file": h.current_file,
            "file_rows": _file_rows(h.current_file),
            "versions": versions,
            "documents": h.documents.select_related("file_version").all(),
            "doc_form": DocumentForm(initial={"dated_on": business_today()}),
            "can_edit": access.can_edit(request.user),
        },
    )


@login_required
def household_create(request: HtmxHttpRequest) -> HttpResponse:
    if not request.user.has_perm("households.add_household"):
        raise access.PermissionDenied("您没有建档权限", "You may not create households", code="forbidden_create")
    villages = villages_for(request.user).order_by("code")
    form = HouseholdForm(request.POST or None, villages=villages)
    file_form = FileForm(request.POST or None, prefix="file", initial={"reason": "新建档案"})
    file_form.fields["reason"].required = False
    if request.method == "POST" and form.is_valid() and file_form.is_valid():
        village = villages.filter(pk=form.cleaned_data["village"]).first()
        if village is None:
            raise access.NotFound(
                "村不存在或不在您的管辖范围内", "No such village in your scope", code="village_not_found"
            )
        try:
            with transaction.atomic():
                h = services.create_household(
                    request.user,
                    village=village,
                    head=services.PersonInput(
                        form.cleaned_data["head_name"], form.cleaned_data["id_number"], form.cleaned_data["phone"]
                    ),
                    size=form.cleaned_data["size"],
                    address=form.cleaned_data["address"],
                    segments=form.cleaned_data["segments"],
                    file_values=file_form.values_fen(),
                    reason=file_form.cleaned_data.get("reason") or "新建档案 new file",
                )
        except BusinessError as exc:
            if exc.field in file_form.fields:
                add_business_error(file_form, exc)
            else:
                add_business_error(form, exc)
        else:
            messages.success(request, _("Household %(code)s created.") % {"code": h.code})
            return redirect("household-detail", pk=h.pk)
    return render(request, "households/create.html", {"form": form, "file_form": file_form})


@login_required
def household_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    h = access.get_household(request.user, pk)
    access.require_edit(request.user, h)
    form = HouseholdEditForm(
        request.POST or None, initial={"size": h.size, "address": h.address, "segments": h.segment_list}
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                services.update_household(
                    request.user,
                    h,
                    address=form.cleaned_data["address"],
                    size=form.cleaned_data["size"],
                    segments=form.cleaned_data["segments"],
                    reason=form.cleaned_data["reason"],
                )
        except BusinessError as exc:
            add_business_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("household-detail", pk=h.pk)
    return render(request, "households/edit.html", {"h": h, "form": form})


@login_required
def file_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    h = access.get_household(request.user, pk)
    access.require_edit(request.user, h)
    initial = FileForm.initial_from(h.current_file.values() if h.current_file else {})
    form = FileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                v = services.save_file_version(request.user, h, form.values_fen(), reason=form.cleaned_data["reason"])
        except BusinessError as exc:
            add_business_error(form, exc)
        else:
            messages.success(request, _("File saved as version %(n)s.") % {"n": v.version})
            return redirect("household-detail", pk=h.pk)
    groups = [(str(FILE_GROUP_LABELS[g]), fields) for g, fields in form.groups()]
    return render(
        request, "households/file_edit.html", {"h": h, "head": mask_name(h.head_name), "form": form, "groups": groups}
    )


@login_required
def file_diff(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    h = access.get_household(request.user, pk)
    versions = {v.version: v for v in h.file_versions.all()}
    try:
        b = int(request.GET.get("b", max(versions) if versions else 0))
        a = int(request.GET.get("a", b - 1))
    except ValueError:
        a = b = 0
    after = versions.get(b)
    before = versions.get(a)
    if after is None:
        raise access.NotFound("版本不存在", "No such version", code="version_not_found")
    changes = [
        {
            "label": FILE_FIELD_LABELS.get(c.field, c.field),
            "before": c.before,
            "after": c.after,
            "delta": c.delta,
            "pct": None if c.ratio is None else round(c.ratio * 100),
            "is_money": c.field.endswith("_fen"),
        }
        for c in rules.diff(before.values() if before else None, after.values())
    ]
    template = "households/_diff.html" if request.htmx else "households/diff.html"
    return render(request, template, {"h": h, "a": before, "b": after, "changes": changes})


@login_required
def member_edit(request: HtmxHttpRequest, pk: int, member_id: int | None = None) -> HttpResponse:
    h = access.get_household(request.user, pk)
    access.require_edit(request.user, h)
    member = h.members.filter(pk=member_id).first() if member_id else None
    if member_id and member is None:
        raise access.NotFound("成员不存在", "No such member", code="member_not_found")
    # The edit form starts empty for personal values (they are never sent to the page in full);
    # an empty field keeps the value on file.
    initial = {"relation": member.relation} if member else {"relation": "spouse"}
    form = MemberForm(request.POST or None, initial=initial)
    if member:
        form.fields["name"].required = False
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        name = cd["name"] or (member.name if member else "")
        id_number = cd["id_number"] or (member.id_number if member else None)
        phone = cd["phone"] or (member.phone if member else None)
        try:
            with transaction.atomic():
                services.save_member(
                    request.user,
                    h,
                    services.PersonInput(name, id_number, phone, cd["relation"]),
                    member=member,
                    reason=cd["reason"],
                )
        except BusinessError as exc:
            add_business_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("household-detail", pk=h.pk)
    return render(
        request,
        "households/member_edit.html",
        {
            "h": h,
            "form": form,
            "member": member,
            "masked_name": mask_name(member.name) if member else "",
            "masked_id": mask_id_number(member.id_number) if member else "",
            "masked_phone": mask_phone(member.phone) if member else "",
        },
    )


@login_required
@require_POST
def reveal(request: HtmxHttpRequest, pk: int, member_id: int, field: str) -> HttpResponse:
    h = access.get_household(request.user, pk)
    if not access.can_reveal(request.user):
        raise access.PermissionDenied(
            "您没有查看完整信息的权限", "You may not see full personal values", code="forbidden_reveal"
        )
    member = h.members.filter(pk=member_id).first()
    if member is None:
        raise access.NotFound("成员不存在", "No such member", code="member_not_found")
    value = services.reveal(request.user, member, field)
    return HttpResponse(f'<span class="pii revealed">{escape(value)}</span>')


@login_required
@require_POST
def document_upload(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    h = access.get_household(request.user, pk)
    access.require_edit(request.user, h)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            with transaction.atomic():
                services.attach_document(
                    request.user,
                    h,
                    kind=form.cleaned_data["kind"],
                    dated_on=form.cleaned_data["dated_on"],
                    name=upload.name,
                    content=upload.read(settings.XINEDAI_DOCUMENT_MAX_BYTES + 1),
                    max_bytes=settings.XINEDAI_DOCUMENT_MAX_BYTES,
                )
        except BusinessError as exc:
            add_business_error(form, exc)
        else:
            form = DocumentForm(initial={"dated_on": business_today()})
            messages.success(request, _("Document attached."))
    ctx = {"h": h, "documents": h.documents.select_related("file_version").all(), "doc_form": form, "can_edit": True}
    if request.htmx:
        return render(request, "households/_documents.html", ctx)
    if form.errors:
        return render(request, "households/_documents.html", ctx, status=422)
    return redirect("household-detail", pk=h.pk)


@login_required
def document_download(request: HtmxHttpRequest, doc_id: int) -> HttpResponseBase:
    doc = access.get_document(request.user, doc_id)
    audit.record(
        request.user, "households.document.view", doc, after={"household": doc.household.code, "kind": doc.kind}
    )
    response = FileResponse(doc.file.open("rb"), content_type=doc.content_type)
    response["Content-Disposition"] = f'inline; filename="document-{doc.pk}{doc.extension}"'
    response["Cache-Control"] = "private, no-store"
    return response


# Roster import ------------------------------------------------------------------------------


def _count_rows(path: Path) -> int:
    if path.suffix.lower() == ".csv":
        with path.open("rb") as fh:
            return max(0, sum(1 for _ in fh) - 1)
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True)
        n = max(0, (wb.worksheets[0].max_row or 1) - 1)
        wb.close()
        return n
    except Exception:
        return 0


@login_required
def import_list(request: HtmxHttpRequest) -> HttpResponse:
    access.require_import(request.user)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        suffix = Path(upload.name).suffix.lower()
        if suffix not in (".xlsx", ".csv"):
            form.add_error("file", _("Only .xlsx or .csv files are accepted."))
        else:
            folder = Path(settings.VAR_DIR) / "imports"
            folder.mkdir(parents=True, exist_ok=True)
            stored = folder / f"{uuid.uuid4().hex}{suffix}"
            with stored.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            job = ImportJob.objects.create(
                created_by=cast(User, request.user),
                original_name=upload.name[-200:],
                stored_path=str(stored),
                dry_run=form.cleaned_data["dry_run"],
            )
            rows = _count_rows(stored)
            if rows <= settings.XINEDAI_IMPORT_INLINE_MAX_ROWS:
                with transaction.atomic():
                    run_import_job(job.pk)
            else:
                ImportJob.objects.filter(pk=job.pk).update(total_rows=rows)
                transaction.on_commit(lambda: import_households_task.enqueue(job.pk))
            return redirect("import-detail", job_id=job.pk)
    jobs = access.import_jobs_for(request.user)[:20]
    return render(request, "households/import.html", {"form": form, "jobs": jobs})


@login_required
def import_detail(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    access.require_import(request.user)
    job = access.import_jobs_for(request.user).filter(pk=job_id).first()
    if job is None:
        raise access.NotFound("导入任务不存在", "No such import", code="import_not_found")
    live = progress.read(progress_key(job.pk))
    total = live.get("total") or job.total_rows
    done = job.total_rows if job.is_finished else live.get("done", 0)
    pct = 100 if job.is_finished else (done * 100 // total if total else 0)
    ctx = {"job": job, "phase": live.get("phase", ""), "done": done, "total": total, "pct": pct}
    if request.htmx:
        return render(request, "households/_import_status.html", ctx)
    return render(request, "households/import_detail.html", ctx)


@login_required
def import_template(request: HtmxHttpRequest) -> HttpResponse:
    access.require_import(request.user)
    buffer = io.BytesIO()
    write_template(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = 'attachment; filename="xinedai-roster-template.xlsx"'
    return response
