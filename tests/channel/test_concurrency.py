"""Racing channel requests on PostgreSQL (SQLite takes its write lock at BEGIN, so it serialises them anyway):
200 duplicate drawdowns through the API give one loan and one answer; racing applications of one customer
never pass the daily limit together."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections

from xinedai.channel.models import ChannelApplication, IdempotencyRecord
from xinedai.credit.models import CreditLine
from xinedai.ledger import verify
from xinedai.ledger.choices import EntryKind
from xinedai.ledger.models import JournalEntry
from xinedai.lending.models import Loan

from .conftest import Channels, drawdown_body, post

pytestmark = pytest.mark.postgres_only
WORKERS = 20


@pytest.fixture
def _pg(transactional_db):  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite serialises writers at BEGIN anyway")


def _race(n: int, request: Any) -> list[tuple[int, bytes]]:
    """n requests from WORKERS threads, the first WORKERS released together; (status, body) of each."""
    results: list[tuple[int, bytes]] = []
    lock = threading.Lock()
    start = threading.Barrier(min(n, WORKERS))

    def one(i: int) -> None:
        try:
            if i < WORKERS:
                start.wait()
            resp = request(i)
            with lock:
                results.append((resp.status_code, resp.content))
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(one, range(n)))
    return results


def test_200_concurrent_duplicate_drawdowns_give_one_loan_and_identical_answers(_pg, channels: Channels, signed_line):
    body = drawdown_body(signed_line)
    results = _race(200, lambda i: post(channels.client(), "/drawdowns", body, key="dup"))
    assert len(results) == 200
    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {201, 409} and statuses[201] >= 1, statuses
    answers = {content for status, content in results if status != 409}
    assert len(answers) == 1  # every non-409 answer is the first one, byte for byte
    assert {json.loads(content)["code"] for status, content in results if status == 409} <= {"idempotency_in_flight"}
    assert Loan.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.DISBURSEMENT).count() == 1
    assert CreditLine.objects.get(pk=signed_line.pk).used_fen == body["amount_fen"]
    record = IdempotencyRecord.objects.get()
    assert (record.status, record.attempt, record.response_body.encode()) == ("done", 1, answers.pop())
    assert post(channels.client(), "/drawdowns", body, key="dup").content == record.response_body.encode()
    assert verify.run().clean


def test_racing_applications_of_one_customer_stay_within_the_daily_limit(_pg, channels: Channels, settings):
    settings.XINEDAI_CHANNEL_APPLICATIONS_PER_DAY = 3
    products = ["xinedai", "anjie_edai", "beiyongjin_edai", "nongshang_edai", "dapeng_dai", "zhongzhi_wuyou_dai"]
    results = _race(
        len(products),
        lambda i: post(channels.client(), "/applications", {"product": products[i]}, key=f"a{i}"),
    )
    statuses = Counter(status for status, _ in results)
    made = ChannelApplication.objects.count()
    assert made == statuses[201] <= 3, statuses
    if statuses[429]:
        assert made == 3
