"""Racing channel requests, on SQLite and on PostgreSQL alike: 200 duplicate drawdowns through the API give
one loan and one answer, whichever of the channel's credentials sends them and even when the service is
asked for the same business key at the same time; racing drawdowns with keys of their own never together
exceed the line; racing applications of one customer never pass the daily limit together. Each thread
holds a connection of its own (SQLite: on the test database file, tests/conftest.py). A lost race is an
answer the channel can act on (201, 409, 422, 429), never a 500."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections, transaction
from django.db.models import Sum
from django.http import HttpResponse

from xinedai.channel import services
from xinedai.channel.models import ChannelApplication, IdempotencyRecord
from xinedai.credit.models import CreditLine
from xinedai.ledger import verify
from xinedai.ledger.choices import EntryKind
from xinedai.ledger.models import JournalEntry
from xinedai.lending import services as lending
from xinedai.lending.models import Loan

from .conftest import TODAY, Channels, Y, drawdown_body, post

WORKERS = 20


@pytest.fixture
def _committed(transactional_db):  # type: ignore[no-untyped-def]
    """The fixtures' rows are committed, so that every thread sees them."""


def _race(n: int, request: Callable[[int], Any]) -> list[tuple[int, bytes]]:
    """n requests from WORKERS threads, the first WORKERS released together; (status, body) of each. An
    exception escaping a request (the test client re-raises what would be a 500) fails the test."""
    results: list[tuple[int, bytes]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(min(n, WORKERS))

    def one(i: int) -> None:
        try:
            if i < WORKERS:
                start.wait()
            resp = request(i)
            with lock:
                results.append((resp.status_code, resp.content))
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(one, range(n)))
    assert errors == []
    assert len(results) == n
    return results


def _assert_ledger_clean() -> None:
    report = verify.run()
    assert report.clean, report.differences


def test_200_concurrent_duplicate_drawdowns_give_one_loan_and_identical_answers(
    _committed, channels: Channels, signed_line
):
    # the channel rotates its credential: both the old and the new one are live and send the same request
    with transaction.atomic():
        _, rotated = services.issue_credential(None, "mobile_banking", name="mobile banking (rotated)")
    secrets = (channels.mobile_secret, rotated)
    body = drawdown_body(signed_line)
    results = _race(200, lambda i: post(channels.client(secrets[i % 2]), "/drawdowns", body, key="dup"))
    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {201, 409} and statuses[201] >= 1, statuses
    answers = {content for status, content in results if status != 409}
    assert len(answers) == 1  # every non-409 answer is the first one, byte for byte
    assert {json.loads(content)["code"] for status, content in results if status == 409} <= {"idempotency_in_flight"}
    loan = Loan.objects.get()
    assert (loan.drawdown_key, loan.principal_fen) == ("mobile_banking:dup", body["amount_fen"])
    assert JournalEntry.objects.filter(kind=EntryKind.DISBURSEMENT).count() == 1
    assert CreditLine.objects.get(pk=signed_line.pk).used_fen == body["amount_fen"]
    record = IdempotencyRecord.objects.get()
    assert (record.status, record.attempt, record.response_body.encode()) == ("done", 1, answers.pop())
    assert post(channels.client(), "/drawdowns", body, key="dup").content == record.response_body.encode()
    _assert_ledger_clean()


def test_the_api_and_the_service_racing_on_one_business_key_disburse_once(_committed, channels: Channels, signed_line):
    body = drawdown_body(signed_line)
    key = services.business_key(channels.mobile, "dup")

    def request(i: int) -> Any:
        if i % 2:
            return post(channels.client(), "/drawdowns", body, key="dup")
        with transaction.atomic():
            loan = lending.drawdown(
                None,
                signed_line,
                amount_fen=body["amount_fen"],
                term_months=12,
                method="annuity",
                key=key,
                channel="mobile_banking",
                today=TODAY,
            )
        return HttpResponse(str(loan.pk), status=201)

    results = _race(40, request)
    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {201, 409} and statuses[201] >= 20, statuses
    loan = Loan.objects.get()
    assert loan.drawdown_key == key
    assert {content for status, content in results if status == 201 and content.isdigit()} == {str(loan.pk).encode()}
    assert JournalEntry.objects.filter(kind=EntryKind.DISBURSEMENT).count() == 1
    assert CreditLine.objects.get(pk=signed_line.pk).used_fen == body["amount_fen"]
    _assert_ledger_clean()


def test_racing_drawdowns_through_the_api_never_exceed_the_line(_committed, channels: Channels, signed_line):
    assert signed_line.available_fen == 200_000 * Y  # the pure-online cap
    # 40 drawdowns of 25,000 with keys of their own, from both channels' credentials: exactly 8 fit
    secrets = (channels.mobile_secret, channels.wechat_secret)
    body = drawdown_body(signed_line, 25_000 * Y)
    results = _race(40, lambda i: post(channels.client(secrets[i % 2]), "/drawdowns", body, key=f"k{i}"))
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 8, 422: 32}, statuses
    assert {json.loads(content)["code"] for status, content in results if status == 422} == {"amount_over_available"}
    line = CreditLine.objects.get(pk=signed_line.pk)
    assert line.used_fen == 200_000 * Y == line.limit_fen
    assert Loan.objects.aggregate(total=Sum("principal_fen"))["total"] == 200_000 * Y
    assert JournalEntry.objects.filter(kind=EntryKind.DISBURSEMENT).count() == 8
    _assert_ledger_clean()


def test_racing_applications_of_one_customer_stay_within_the_daily_limit(_committed, channels: Channels, settings):
    settings.XINEDAI_CHANNEL_APPLICATIONS_PER_DAY = 3
    products = ["xinedai", "anjie_edai", "beiyongjin_edai", "nongshang_edai", "dapeng_dai", "zhongzhi_wuyou_dai"]
    results = _race(
        len(products),
        lambda i: post(channels.client(), "/applications", {"product": products[i]}, key=f"a{i}"),
    )
    statuses = Counter(status for status, _ in results)
    assert 500 not in statuses
    made = ChannelApplication.objects.count()
    assert made == statuses[201] <= 3, statuses
    if statuses[429]:
        assert made == 3
