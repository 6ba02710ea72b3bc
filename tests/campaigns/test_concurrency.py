"""Two scoring jobs of the same campaign at the same time (a re-run while a stale-looking job is still
alive) grant each household once: chunks serialise on the campaign row and take unscored rows only. On
SQLite and on PostgreSQL: each thread holds a connection of its own (SQLite: on the test database file)."""

from __future__ import annotations

import threading

import pytest

from tests.campaigns.conftest import to_posting
from tests.conftest import TODAY
from xinedai.campaigns.models import Campaign, CampaignHousehold
from xinedai.campaigns.tasks import run_scoring_job
from xinedai.credit.choices import LIVE_LINE_STATUSES
from xinedai.credit.models import CreditDecision, CreditLine
from xinedai.ledger import verify


@pytest.fixture
def _committed(transactional_db):  # type: ignore[no-untyped-def]
    """The village is committed, so that both jobs see it."""


def test_two_jobs_at_once_grant_each_household_once(_committed, village):
    v, am = village, village.am
    campaign = to_posting(v)
    counts: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def job() -> None:
        from django.db import connections

        try:
            barrier.wait()
            counts.append(run_scoring_job(campaign.pk, am.pk, TODAY, chunk_size=1))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(counts) == 5
    assert Campaign.objects.get(pk=campaign.pk).status == "scored"
    for h in v.households[:5]:
        assert CreditDecision.objects.filter(household=h, source="campaign").count() == 1
        assert CreditLine.objects.filter(household=h, status__in=LIVE_LINE_STATUSES).count() == 1
    assert CampaignHousehold.objects.filter(campaign=campaign, scored_at__isnull=False).count() == 5
    assert verify.run().clean
