"""Household use cases: create, edit people, save a file version, attach a document, reveal a value.

Services run inside the caller's transaction and write their audit row there; they never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max

from xinedai.core import audit
from xinedai.core.dates import business_today, now
from xinedai.core.errors import ValidationFailed
from xinedai.core.ids import normalize_mobile, parse_resident_id
from xinedai.org.models import Village

from . import rules
from .choices import DocumentKind, Relation, Segment
from .models import Document, FileVersion, Household, Member


@dataclass
class PersonInput:
    name: str
    id_number: str | None
    phone: str | None
    relation: str = Relation.HEAD


@dataclass
class CleanPerson:
    name: str
    id_number: str | None
    phone: str | None
    relation: str
    birth_date: dt.date | None
    is_male: bool | None
    warnings: list[str]


def clean_person(person: PersonInput, *, today: dt.date) -> CleanPerson:
    name = (person.name or "").strip()
    if not name:
        raise ValidationFailed("请填写姓名", "Name is required", code="name_required", field="name")
    if len(name) > 50:
        raise ValidationFailed("姓名过长", "Name is too long", code="name_too_long", field="name")
    if person.relation not in Relation.values:
        raise ValidationFailed("与户主关系不正确", "Unknown relation", code="relation_unknown", field="relation")
    id_number = birth = is_male = None
    warnings: list[str] = []
    if person.id_number and person.id_number.strip():
        rid = parse_resident_id(person.id_number, today=today)
        id_number, birth, is_male, warnings = rid.number, rid.birth_date, rid.is_male, rid.warnings
    phone = normalize_mobile(person.phone) if person.phone and person.phone.strip() else None
    return CleanPerson(name, id_number, phone, person.relation, birth, is_male, warnings)


def _id_taken(id_number: str, exclude_member: int | None = None) -> bool:
    qs = Member.objects.filter(id_number=id_number)
    if exclude_member:
        qs = qs.exclude(pk=exclude_member)
    return qs.exists()


def _duplicate_id() -> ValidationFailed:
    return ValidationFailed(
        "该身份证号已在本行建档(一人只能属于一户)",
        "This ID number is already on file (one person, one household)",
        code="id_duplicate",
        field="id_number",
    )


def clean_segments(codes: list[str]) -> str:
    unknown = [c for c in codes if c not in Segment.values]
    if unknown:
        raise ValidationFailed("未知客群", "Unknown segment", code="segment_unknown", field="segments", values=unknown)
    return Household.pack_segments(codes)


def clean_file_values(values: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in rules.FILE_FIELDS:
        v = values.get(f, 0)
        if isinstance(v, (float, bool)):
            raise ValidationFailed("金额必须是整数分", "Amounts are whole fen", code="amount_type", field=f)
        out[f] = int(v or 0)
    bad = rules.check_amounts(out)
    if bad:
        field, why = next(iter(bad.items()))
        zh = "不能为负数" if why == "negative" else "数值过大"
        en = "must not be negative" if why == "negative" else "is too large"
        raise ValidationFailed(zh, en, code=f"amount_{why}", field=field, fields=bad)
    return out


def household_code(pk: int) -> str:
    """The household's stable code is its id: bulk writers reserve ids and derive the same code."""
    return f"H{pk:09d}"


def create_household(
    actor: Any,
    *,
    village: Village,
    head: PersonInput,
    size: int,
    address: str = "",
    segments: list[str] | None = None,
    file_values: dict[str, Any] | None = None,
    reason: str = "",
    today: dt.date | None = None,
) -> Household:
    today = today or business_today()
    person = clean_person(PersonInput(head.name, head.id_number, head.phone, Relation.HEAD), today=today)
    if person.id_number and _id_taken(person.id_number):
        raise _duplicate_id()
    if not 1 <= int(size) <= 30:
        raise ValidationFailed("家庭人口应在1至30之间", "Family size must be 1 to 30", code="size_range", field="size")
    household = Household.objects.create(
        code=f"new-{uuid.uuid4().hex[:16]}",
        village=village,
        address=address.strip()[:200],
        size=int(size),
        segments=clean_segments(segments or []),
        head_name=person.name,
        three_elements_complete=rules.three_elements_complete(person.name, person.id_number, person.phone),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    household.code = household_code(household.pk)
    household.save(update_fields=["code"])
    try:
        with transaction.atomic():
            Member.objects.create(
                household=household,
                name=person.name,
                id_number=person.id_number,
                phone=person.phone,
                relation=Relation.HEAD,
                birth_date=person.birth_date,
                is_male=person.is_male,
            )
    except IntegrityError:
        raise _duplicate_id() from None
    audit.record(
        actor,
        "households.household.create",
        household,
        after={
            "village": village.code,
            "head_name": person.name,
            "id_number": person.id_number,
            "phone": person.phone,
            "size": size,
            "segments": household.segments,
        },
        scope_path=village.grid.outlet.path,
    )
    save_file_version(actor, household, file_values or {}, reason=reason or "建档 / new file")
    return household


HOUSEHOLD_FIELDS = ["address", "size", "segments", "village_id"]


def update_household(
    actor: Any, household: Household, *, address: str, size: int, segments: list[str], reason: str
) -> Household:
    before = audit.snapshot(household, HOUSEHOLD_FIELDS)
    if not 1 <= int(size) <= 30:
        raise ValidationFailed("家庭人口应在1至30之间", "Family size must be 1 to 30", code="size_range", field="size")
    household.address = address.strip()[:200]
    household.size = int(size)
    household.segments = clean_segments(segments)
    household.save(update_fields=["address", "size", "segments"])
    audit.record(
        actor,
        "households.household.update",
        household,
        before=before,
        after=audit.snapshot(household, HOUSEHOLD_FIELDS),
        reason=reason,
        scope_path=household.village.grid.outlet.path,
    )
    return household


def _refresh_head(household: Household) -> None:
    head = household.members.filter(relation=Relation.HEAD).first()
    if head is None:
        return
    household.head_name = head.name
    household.three_elements_complete = head.three_elements_complete
    household.save(update_fields=["head_name", "three_elements_complete"])


def save_member(
    actor: Any,
    household: Household,
    person: PersonInput,
    *,
    member: Member | None = None,
    reason: str = "",
    today: dt.date | None = None,
) -> Member:
    """Add a member, or change one. The head cannot be added twice; ID numbers stay unique bank-wide."""
    today = today or business_today()
    clean = clean_person(person, today=today)
    if clean.id_number and _id_taken(clean.id_number, exclude_member=member.pk if member else None):
        raise _duplicate_id()
    if (
        clean.relation == Relation.HEAD
        and household.members.filter(relation=Relation.HEAD).exclude(pk=member.pk if member else 0).exists()
    ):
        raise ValidationFailed("每户只能有一位户主", "A household has one head", code="head_exists", field="relation")
    before = _member_snapshot(member) if member else None
    if member is None:
        member = Member(household=household)
    member.name, member.id_number, member.phone, member.relation = (
        clean.name,
        clean.id_number,
        clean.phone,
        clean.relation,
    )
    member.birth_date, member.is_male = clean.birth_date, clean.is_male
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError:
        raise _duplicate_id() from None
    _refresh_head(household)
    audit.record(
        actor,
        "households.member.update" if before else "households.member.create",
        member,
        before=before,
        after=_member_snapshot(member),
        reason=reason,
        scope_path=household.village.grid.outlet.path,
    )
    return member


def _member_snapshot(member: Member) -> dict[str, Any]:
    # "member_name", not "name": the audit trail masks people's names by this key.
    return {
        "member_name": member.name,
        "id_number": member.id_number,
        "phone": member.phone,
        "relation": member.relation,
    }


def remove_member(actor: Any, household: Household, member: Member, *, reason: str) -> None:
    if member.relation == Relation.HEAD:
        raise ValidationFailed("不能删除户主", "The head cannot be removed", code="head_required", field="relation")
    if not reason.strip():
        raise ValidationFailed("请填写原因", "Give a reason", code="reason_required", field="reason")
    before = _member_snapshot(member)
    audit.record(
        actor,
        "households.member.delete",
        member,
        before=before,
        reason=reason,
        scope_path=household.village.grid.outlet.path,
    )
    member.delete()


def save_file_version(
    actor: Any, household: Household, values: dict[str, Any], *, reason: str, source: str = "form"
) -> FileVersion:
    """Save the household's file as a new version (never an update) and make it current."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "请填写本次修改的原因", "Say why the file changes", code="reason_required", field="reason"
        )
    clean = clean_file_values(values)
    locked = Household.objects.select_for_update().get(pk=household.pk)
    previous = FileVersion.objects.filter(pk=locked.current_file_id).first() if locked.current_file_id else None
    if previous is not None and all(getattr(previous, f) == clean[f] for f in rules.FILE_FIELDS):
        raise ValidationFailed("档案内容没有变化", "Nothing in the file changed", code="file_unchanged")
    number = (FileVersion.objects.filter(household=locked).aggregate(m=Max("version"))["m"] or 0) + 1
    at = now()
    version = FileVersion(
        household=locked,
        version=number,
        created_at=at,
        reason=reason[:300],
        source=source,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        **clean,
    )
    version.fill_totals()
    version.save()
    household.current_file = version
    household.file_updated_at = at
    Household.objects.filter(pk=household.pk).update(current_file=version, file_updated_at=at)
    changes = rules.diff(previous.values() if previous else None, version.values())
    audit.record(
        actor,
        "households.file.save",
        version,
        before={c.field: c.before for c in changes} if previous else None,
        after={c.field: c.after for c in changes},
        reason=reason,
        scope_path=household.village.grid.outlet.path,
    )
    return version


# Allowed document types, recognised by their first bytes rather than by the name the browser sent.
_SIGNATURES = [
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"RIFF", "image/webp", ".webp"),
]


def sniff(head: bytes) -> tuple[str, str] | None:
    for magic, content_type, ext in _SIGNATURES:
        if head.startswith(magic) and (magic != b"RIFF" or head[8:12] == b"WEBP"):
            return content_type, ext
    return None


def attach_document(
    actor: Any,
    household: Household,
    *,
    kind: str,
    dated_on: dt.date,
    name: str,
    content: bytes,
    max_bytes: int,
    version: FileVersion | None = None,
    today: dt.date | None = None,
) -> Document:
    today = today or business_today()
    if kind not in DocumentKind.values:
        raise ValidationFailed("请选择文件类型", "Choose a document kind", code="document_kind", field="kind")
    if dated_on > today:
        raise ValidationFailed(
            "文件日期不能晚于今天",
            "The document date cannot be in the future",
            code="document_date_future",
            field="dated_on",
        )
    if not content:
        raise ValidationFailed("文件为空", "The file is empty", code="document_empty", field="file")
    if len(content) > max_bytes:
        raise ValidationFailed(
            f"文件超过{max_bytes // 1024 // 1024}MB",
            f"The file exceeds {max_bytes // 1024 // 1024} MB",
            code="document_too_large",
            field="file",
        )
    sniffed = sniff(content[:16])
    if sniffed is None:
        raise ValidationFailed(
            "只接受照片(JPG/PNG/WebP)或PDF",
            "Only photos (JPG/PNG/WebP) or PDF are accepted",
            code="document_type",
            field="file",
        )
    version = version or household.current_file
    if version is None or version.household_id != household.pk:
        raise ValidationFailed("请先建立档案", "Create the file first", code="file_missing", field="file")
    content_type, ext = sniffed
    digest = hashlib.sha256(content).hexdigest()
    doc = Document(
        household=household,
        file_version=version,
        kind=kind,
        dated_on=dated_on,
        original_name=name[-200:],
        content_type=content_type,
        size_bytes=len(content),
        sha256=digest,
        extension=ext,
        uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    # Content-addressed path: a file left behind by a rolled-back transaction is harmless and reused.
    doc.file.save(f"{digest}{ext}", ContentFile(content), save=False)
    doc.save()
    audit.record(
        actor,
        "households.document.attach",
        doc,
        after={
            "household": household.code,
            "version": version.version,
            "kind": kind,
            "dated_on": dated_on,
            "sha256": digest,
            "size_bytes": len(content),
        },
        scope_path=household.village.grid.outlet.path,
    )
    return doc


REVEALABLE = {"name", "id_number", "phone"}


def reveal(actor: Any, member: Member, field: str) -> str:
    """Return a full personal value; the caller has checked the permission. Each view is audited."""
    if field not in REVEALABLE:
        raise ValidationFailed("不支持的字段", "Unknown field", code="reveal_field", field="field")
    audit.record(
        actor,
        "pii.reveal",
        member,
        object_type="households.member",
        after={"field": field, "household": member.household.code},
        scope_path=member.household.village.grid.outlet.path,
    )
    return getattr(member, field) or ""
