"""Where sign-in codes go: a pluggable sender (settings.XINEDAI_OTP_SENDER, a dotted path).

The demo's ConsoleSender prints the code to the server's console; a bank plugs in its SMS gateway by
writing a class with the same `send(phone, code)` method.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger("xinedai.portal")


class ConsoleSender:
    """Prints the code (demo and development only: never in production)."""

    def send(self, phone: str, code: str) -> None:
        sys.stderr.write(f"[xinedai] 登录验证码 {code} → {phone[:3]}****{phone[-4:]}\n")
        sys.stderr.flush()


class MemorySender:
    """Keeps the last code per number in memory (tests)."""

    sent: dict[str, str] = {}

    def send(self, phone: str, code: str) -> None:
        MemorySender.sent[phone] = code


def sender() -> ConsoleSender | MemorySender:
    return import_string(getattr(settings, "XINEDAI_OTP_SENDER", "xinedai.portal.senders.ConsoleSender"))()
