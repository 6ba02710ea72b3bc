"""core.reuse: a value is kept for the configured seconds, failures never, and a saved row of what is kept
clears every cache of the process."""

from xinedai.core import reuse


class Clock:
    def __init__(self) -> None:
        self.at = 50.0

    def __call__(self) -> float:
        return self.at


def reader(values):
    calls = []

    def read():
        calls.append(1)
        return values[len(calls) - 1]

    return read, calls


def test_kept_for_the_configured_seconds_then_read_again(settings, monkeypatch):
    settings.XINEDAI_API_REUSE_SECONDS = 2
    clock = Clock()
    monkeypatch.setattr(reuse.time, "monotonic", clock)
    cache: reuse.Reused[str, str] = reuse.Reused()
    read, calls = reader(["a", "b"])
    assert cache.get("k", read) == "a"
    clock.at += 1.99
    assert cache.get("k", read) == "a" and len(calls) == 1
    clock.at += 0.01
    assert cache.get("k", read) == "b" and len(calls) == 2


def test_a_failure_is_never_kept(settings):
    settings.XINEDAI_API_REUSE_SECONDS = 60
    cache: reuse.Reused[str, str] = reuse.Reused()
    read, calls = reader([None, "found"])
    assert cache.get("k", read) is None
    assert cache.get("k", read) == "found" and len(calls) == 2


def test_zero_seconds_reads_every_time(settings):
    settings.XINEDAI_API_REUSE_SECONDS = 0
    cache: reuse.Reused[str, int] = reuse.Reused()
    read, _ = reader([1, 2, 3])
    assert [cache.get("k", read) for _ in range(3)] == [1, 2, 3]


def test_the_oldest_key_goes_beyond_the_size(settings):
    settings.XINEDAI_API_REUSE_SECONDS = 60
    cache: reuse.Reused[int, int] = reuse.Reused(size=2)
    for k in (1, 2, 3):
        cache.get(k, lambda k=k: k * 10)
    read, calls = reader([99])
    assert cache.get(1, read) == 99 and len(calls) == 1  # 1 was dropped
    assert cache.get(3, lambda: -1) == 30  # 3 was kept


def test_forget_all_clears_every_cache(settings):
    settings.XINEDAI_API_REUSE_SECONDS = 60
    one: reuse.Reused[str, str] = reuse.Reused()
    two: reuse.Reused[str, str] = reuse.Reused()
    one.get("k", lambda: "x")
    two.get("k", lambda: "y")
    reuse.forget_all()
    assert one.get("k", lambda: "x2") == "x2" and two.get("k", lambda: "y2") == "y2"


def test_saving_a_watched_row_forgets(db, settings):
    """The apps register their rows (credit: models and strategies; products; org: tokens, users, roles)."""
    from django.contrib.auth import get_user_model

    settings.XINEDAI_API_REUSE_SECONDS = 60
    cache: reuse.Reused[str, str] = reuse.Reused()
    cache.get("k", lambda: "old")
    get_user_model().objects.create_user("someone", password="x-pass-12345")
    assert cache.get("k", lambda: "new") == "new"
