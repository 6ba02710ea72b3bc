"""Write an audit row in the caller's transaction. Every service that changes something calls record()."""

from __future__ import annotations

import json
from typing import Any

from django.db import models, transaction

from .masking import mask_mapping
from .models import AuditEntry


def _jsonable(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, models.Model):
            value = value.pk
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, (set, frozenset)):
            value = sorted(value)
        elif not isinstance(value, (str, int, float, bool, list, dict, type(None))):
            value = str(value)
        out[key] = value
    return out


def record(
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    scope_path: str = "",
) -> AuditEntry:
    """Record a change. Must run inside the transaction that makes the change."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record() must run inside the transaction of the change it records")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk if object_id is None else object_id
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=user,
        action=action,
        object_type=object_type or "",
        object_id=str(object_id or ""),
        object_repr=(mask_repr(obj) if obj is not None else "")[:200],
        reason=reason[:500],
        before=mask_mapping(_jsonable(before)),
        after=mask_mapping(_jsonable(after)),
        scope_path=scope_path,
    )


# A key no row has, to find where a new row's key appears in its text (its pk is not known before the insert).
_PK_SENTINEL = -7_919_000_000_000_000_003


def create_with_record(
    obj: models.Model,
    actor: Any,
    action: str,
    *,
    after: dict[str, Any] | None = None,
    reason: str = "",
    scope_path: str = "",
) -> models.Model:
    """Insert a new row and its audit row (as record() writes it), in one statement on PostgreSQL.

    For hot paths (the decision API): the ORM's save() and create() cost several times what the database
    does, and two inserts are two round trips. Here the INSERT of both rows is compiled once per model
    and prepared on the connection (core.statements); the audit row takes the new key from the first
    insert inside the statement. One statement is atomic by itself, so a caller with nothing else to
    write needs no transaction of its own (no BEGIN and COMMIT round trips); inside the caller's
    transaction it is part of it. Elsewhere (SQLite) it is save() then record() in one transaction (a
    savepoint within the caller's).
    """
    from . import statements

    alias = obj._state.db or "default"
    if not statements.prepared_on(alias):
        with transaction.atomic(using=alias):
            obj.save(force_insert=True, using=alias)
            record(actor, action, obj, after=after, reason=reason, scope_path=scope_path)
        return obj
    pk_name = obj._meta.pk.attname
    setattr(obj, pk_name, _PK_SENTINEL)
    parts = mask_repr(obj).split(str(_PK_SENTINEL))
    setattr(obj, pk_name, None)
    user = actor if getattr(actor, "is_authenticated", False) else None
    entry = AuditEntry(
        actor=user,
        action=action,
        object_type=obj._meta.label_lower,
        reason=reason[:500],
        before=None,
        after=mask_mapping(_jsonable(after)),
        scope_path=scope_path,
    )
    pk = statements.insert_with_audit(alias, obj, entry, repr_parts=parts)
    setattr(obj, pk_name, pk)
    obj._state.adding, obj._state.db = False, alias
    return obj


def mask_repr(obj: models.Model) -> str:
    masked = getattr(obj, "masked_repr", None)
    return masked() if callable(masked) else str(obj)


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


def record_many(
    actor: Any,
    action: str,
    object_type: str,
    rows: list[tuple[Any, str, dict[str, Any], str]],
    *,
    reason: str = "",
    at: Any = None,
) -> int:
    """Bulk form of record() for batch work (imports): rows are (object_id, object_repr, after, scope_path)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record_many() must run inside the transaction of the change it records")
    from .bulk import BulkLoader
    from .dates import now

    user_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    when = at or now()
    n = len(rows)
    return BulkLoader().write(
        AuditEntry,
        {
            "at": [when] * n,
            "actor": [user_id] * n,
            "action": [action] * n,
            "object_type": [object_type] * n,
            "object_id": [str(r[0]) for r in rows],
            "object_repr": [r[1][:200] for r in rows],
            "reason": [reason[:500]] * n,
            "before": [None] * n,
            "after": [json.dumps(mask_mapping(_jsonable(r[2])), ensure_ascii=False) for r in rows],
            "scope_path": [r[3] for r in rows],
        },
    )
