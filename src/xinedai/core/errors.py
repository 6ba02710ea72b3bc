"""One base for expected business failures: a stable code, a message in Chinese and English, fields."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language


class BusinessError(Exception):
    """An expected failure the user can act on. Never a 500: API returns JSON, pages a form error."""

    code = "business_error"
    status = 400

    def __init__(
        self,
        message_zh: str,
        message_en: str,
        *,
        code: str | None = None,
        field: str | None = None,
        status: int | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message_en)
        if code:
            self.code = code
        if status is not None:
            if type(status) is not int:  # `status` is the HTTP status; a business status goes in details
                raise TypeError(f"BusinessError status must be an HTTP status code, not {status!r}")
            self.status = status
        self.message_zh = message_zh
        self.message_en = message_en
        self.field = field
        self.details = details

    @property
    def message(self) -> str:
        lang = (get_language() or "zh-hans").lower()
        return self.message_en if lang.startswith("en") else self.message_zh

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class NotFound(BusinessError):
    code = "not_found"
    status = 404


class PermissionDenied(BusinessError):
    code = "permission_denied"
    status = 403


class ValidationFailed(BusinessError):
    code = "validation_failed"
    status = 422
