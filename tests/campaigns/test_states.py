"""The campaign state machine refuses steps out of order, and a refused step changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from tests.campaigns.conftest import make_campaign, rows_by_household, to_posting
from tests.conftest import TODAY
from xinedai.campaigns import services
from xinedai.campaigns.models import Campaign, CampaignHousehold, Objection
from xinedai.campaigns.tasks import run_scoring_job
from xinedai.core.errors import BusinessError
from xinedai.core.models import AuditEntry
from xinedai.credit.models import CreditDecision, CreditLine, ScoreModel
from xinedai.org import services as org

END = TODAY + dt.timedelta(days=6)


def refused(code: str, fn, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    audits = AuditEntry.objects.count()
    with pytest.raises(BusinessError) as exc, transaction.atomic():
        fn(*args, **kwargs)
    assert exc.value.code == code, exc.value.message_en
    assert AuditEntry.objects.count() == audits


def test_refusals_before_posting(village):
    v, am = village, village.am
    campaign = make_campaign(v)
    refused("campaign_state", services.start_posting, am, campaign, starts_on=TODAY)
    refused("campaign_state", services.request_scoring, am, campaign)
    refused("campaign_state", services.activate, am, campaign, as_of=TODAY)
    refused("campaign_open_exists", services.create_campaign, am, village=v.bank.v1, name="又一个")
    refused("name_required", services.create_campaign, am, village=v.bank.v2, name=" ")
    with transaction.atomic():
        services.start_review(am, campaign)
    refused("campaign_state", services.start_review, am, campaign)
    rows = list(rows_by_household(campaign).values())
    # Scoring comes after review, once posting has started.
    refused("campaign_state", services.request_scoring, am, campaign)
    refused("campaign_state", services.score_next_chunk, am, campaign, as_of=TODAY, size=10)
    refused("review_incomplete", services.start_posting, am, campaign, starts_on=TODAY)
    for r in rows:
        with transaction.atomic():
            services.review(am, r, result="veto", reason="不符合条件", reviewed_on=TODAY)
    refused("nothing_approved", services.start_posting, am, campaign, starts_on=TODAY)
    with transaction.atomic():
        services.review(am, rows[0], result="approve", reviewed_on=TODAY)
    refused("posting_dates", services.start_posting, am, campaign, starts_on=TODAY, ends_on=TODAY - dt.timedelta(1))
    kw = {"objector": "甲", "content": "x", "raised_on": TODAY, "as_of": TODAY}
    refused("campaign_state", services.raise_objection, am, rows[0], **kw)
    assert Campaign.objects.get(pk=campaign.pk).status == "reviewing"
    assert CreditDecision.objects.count() == 0


def test_empty_village_cannot_start_review(credit):
    with transaction.atomic():
        v4 = org.create_village(None, code="V4", name="北村", grid=credit.g1a)
        campaign = services.create_campaign(credit.users["am1"], village=v4, name="北村整村授信")
    refused("roster_empty", services.start_review, credit.users["am1"], campaign)
    assert Campaign.objects.get(pk=campaign.pk).status == "collecting"
    assert not CampaignHousehold.objects.filter(campaign=campaign).exists()


def test_refusals_during_posting(village):
    v, am = village, village.am
    campaign = to_posting(v)
    rows = rows_by_household(campaign)
    a, f = v.households[0], v.households[5]
    refused("campaign_state", services.review, am, rows[a.pk], result="veto", reason="x", reviewed_on=TODAY)
    refused("campaign_state", services.activate, am, campaign, as_of=END + dt.timedelta(days=30))
    # Objections: inside the period, against a posted household, not dated in the future.
    kw = {"objector": "村民", "content": "异议"}
    late = END + dt.timedelta(1)
    refused("objection_outside_posting", services.raise_objection, am, rows[a.pk], raised_on=late, as_of=late, **kw)
    refused("objection_outside_posting", services.raise_objection, am, rows[a.pk], raised_on=END, as_of=TODAY, **kw)
    refused("not_posted", services.raise_objection, am, rows[f.pk], raised_on=TODAY, as_of=TODAY, **kw)
    empty = {"objector": "甲", "content": "", "raised_on": TODAY, "as_of": TODAY}
    refused("content_required", services.raise_objection, am, rows[a.pk], **empty)
    assert not Objection.objects.exists()
    with transaction.atomic():
        o = services.raise_objection(am, rows[a.pk], raised_on=TODAY, as_of=TODAY, **kw)
    refused("resolution_note_required", services.resolve_objection, am, o, resolution="upheld", note="", as_of=TODAY)
    with transaction.atomic():
        services.resolve_objection(am, o, resolution="upheld", note="属实", as_of=TODAY)
    refused("objection_resolved", services.resolve_objection, am, o, resolution="dismissed", note="再议", as_of=TODAY)
    assert CampaignHousehold.objects.get(pk=rows[a.pk].pk).status == "excluded"


def test_scoring_needs_an_active_model(village):
    v, am = village, village.am
    campaign = to_posting(v)
    ScoreModel.objects.update(status="retired")
    refused("credit_not_configured", services.request_scoring, am, campaign)
    assert Campaign.objects.get(pk=campaign.pk).scoring_state == "idle"
    # The job itself records a clear failure instead of crashing.
    assert run_scoring_job(campaign.pk, am.pk, TODAY) == 0
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert (campaign.status, campaign.scoring_state, campaign.scoring_error) == ("posted", "failed", "尚未启用评分模型")
    assert CreditLine.objects.count() == 0


def test_cancel_revokes_posted_lines_and_activated_campaigns_cannot_be_cancelled(village):
    v, am = village, village.am
    campaign = to_posting(v)
    run_scoring_job(campaign.pk, am.pk, TODAY)
    assert CreditLine.objects.filter(status="posted").count() == 5
    refused("cancel_reason_required", services.cancel, am, campaign, reason="")
    with transaction.atomic():
        services.cancel(am, campaign, reason="村委会换届,重新组织")
    assert CreditLine.objects.filter(status="revoked").count() == 5
    assert set(CampaignHousehold.objects.filter(campaign=campaign).values_list("status", flat=True)) == {
        "revoked",
        "vetoed",
    }
    refused("campaign_state", services.cancel, am, campaign, reason="again")
    # The village may start again once the campaign is closed.
    second = to_posting(v)
    run_scoring_job(second.pk, am.pk, TODAY)
    with transaction.atomic():
        services.activate(am, second, as_of=END + dt.timedelta(days=1))
    refused("campaign_state", services.cancel, am, second, reason="too late")


def test_one_open_campaign_per_village_is_a_database_rule(village):
    make_campaign(village)
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.create(name="dup", village=village.bank.v1, created_at=Campaign.objects.get().created_at)


def test_a_running_job_blocks_a_second_one_until_it_goes_stale(village):
    from xinedai.core.dates import now

    v, am = village, village.am
    campaign = to_posting(v)
    Campaign.objects.filter(pk=campaign.pk).update(scoring_state="running", scoring_updated_at=now())
    refused("scoring_busy", services.request_scoring, am, Campaign.objects.get(pk=campaign.pk))
    # The worker died an hour ago: the campaign may be scored again (the re-run resumes where it stopped).
    Campaign.objects.filter(pk=campaign.pk).update(scoring_updated_at=now() - dt.timedelta(hours=1))
    with transaction.atomic():
        services.request_scoring(am, Campaign.objects.get(pk=campaign.pk))
    assert Campaign.objects.get(pk=campaign.pk).scoring_state == "queued"
