"""What an API request reads on every call and the bank changes a few times a year, reused for a second.

Every decision (POST /api/v1/credit/decisions) used to read, besides the household, its caller's token
with user, profile and permissions, the active model and strategy and the product's terms in force: three
statements of five, about a third of a decision's cost (bench/README.md); a channel drawdown likewise read
its credential, the product's versions and the LPR fixings. A process now keeps what it read for
`XINEDAI_API_REUSE_SECONDS` (default 1; 0 reads on every request). Decision 0010.

What that means for the bank, and why it is safe:

- A token or channel credential revoked, a user deactivated or given another role, a model, strategy or
  product version approved takes effect at once in the process that saved the change (saving the row
  clears these caches: forget_when_changed) and in every other process within that second. A value read
  while another thread's change was being committed may outlive it by that second too, no longer.
- Every decision still records the model and strategy versions it used, so a decision made in the second
  after an approval with the model before it says so.
- Nothing about a customer or a line is reused: the household, its file, its exposure and its lines are
  read on every request. A failure (an unknown token, no active model) is never kept.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_ALL: weakref.WeakSet[Reused] = weakref.WeakSet()  # type: ignore[type-arg]


def seconds() -> float:
    return float(getattr(settings, "XINEDAI_API_REUSE_SECONDS", 1.0))


class Reused(Generic[K, V]):
    """Values by key, each kept for `seconds()` after it was read; the oldest dropped beyond `size`."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()  # threaded servers share a process's caches
        _ALL.add(self)

    def get(self, key: K, read: Callable[[], V | None]) -> V | None:
        """The value kept for `key` if still fresh, else `read()` — kept unless it is None."""
        life = seconds()
        if life <= 0:
            return read()
        at = time.monotonic()
        with self._lock:
            kept = self._items.get(key)
            if kept is not None and kept[0] > at:
                return kept[1]
        value = read()  # outside the lock: it queries
        if value is not None:
            with self._lock:
                self._items[key] = (at + life, value)
                self._items.move_to_end(key)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def forget_all() -> None:
    """Drop everything every cache of this process keeps. Runs whenever a row of what they keep is saved
    or deleted (forget_when_changed): a token revoked, a model, strategy or product version approved, a
    user deactivated or given another role. An UPDATE that bypasses the models is seen within the second."""
    for cache in list(_ALL):
        cache.clear()


def _forget(**kwargs: object) -> None:
    forget_all()
    # Again once the change is committed: a request of another thread of this process may have read the
    # row as it was before the commit in between.
    transaction.on_commit(forget_all, using=str(kwargs.get("using") or "default"))


def forget_when_changed(*models: type[Model], m2m: tuple[type[Model], ...] = ()) -> None:
    """Clear every cache of the process whenever a row of `models` is saved or deleted, or a
    many-to-many relation through one of `m2m` changes (each domain app names its own in ready())."""
    for model in models:
        post_save.connect(_forget, sender=model, dispatch_uid=f"reuse.save.{model._meta.label}")
        post_delete.connect(_forget, sender=model, dispatch_uid=f"reuse.delete.{model._meta.label}")
    for through in m2m:
        m2m_changed.connect(_forget, sender=through, dispatch_uid=f"reuse.m2m.{through._meta.label}")
