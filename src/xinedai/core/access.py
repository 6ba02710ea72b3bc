"""Who may read the audit trail, and which part of it: auditors and risk see their org subtree."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from xinedai.core.errors import PermissionDenied

from .models import AuditEntry


def audit_entries_for(user, scope_path: str | None) -> QuerySet[AuditEntry]:  # type: ignore[no-untyped-def]
    """Audit rows a user may read. `scope_path` is the user's org path (from org.access), '/' for all.

    Rows without a scope (staff, tokens, configuration) are visible to head-office scope only.
    """
    if not user.has_perm("core.view_auditentry") or scope_path is None:
        raise PermissionDenied("您没有查看审计日志的权限", "You may not read the audit log", code="forbidden_audit")
    qs = AuditEntry.objects.select_related("actor")
    if scope_path == "/" or scope_path.count("/") <= 2:
        return qs
    return qs.filter(Q(scope_path__startswith=scope_path))
