"""A campaign from roster to activated lines: review with a veto, objections upheld and dismissed,
re-runs, and a crash in the middle of the batch that resumes without granting anything twice."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import transaction

from tests.campaigns.conftest import make_campaign, rows_by_household, to_posting
from tests.conftest import TODAY
from xinedai.campaigns import services
from xinedai.campaigns.models import Campaign, CampaignHousehold, Objection
from xinedai.campaigns.tasks import progress_key, run_scoring_job
from xinedai.core import progress
from xinedai.core.errors import BusinessError
from xinedai.core.models import AuditEntry
from xinedai.credit import batch as credit_batch
from xinedai.credit import services as credit_services
from xinedai.credit.choices import LIVE_LINE_STATUSES
from xinedai.credit.models import CreditDecision, CreditLine

END = TODAY + dt.timedelta(days=6)  # 7 days of posting, both ends inclusive
AFTER = END + dt.timedelta(days=1)


def refresh(campaign: Campaign) -> Campaign:
    return Campaign.objects.get(pk=campaign.pk)


def status_of(campaign: Campaign) -> dict[str, str]:
    return {
        r.household.code: r.status
        for r in CampaignHousehold.objects.filter(campaign=campaign).select_related("household")
    }


def live_lines(household_id: int) -> list[CreditLine]:
    return list(CreditLine.objects.filter(household_id=household_id, status__in=LIVE_LINE_STATUSES))


def test_campaign_from_roster_to_activated_lines(village):
    v, am = village, village.am
    a, b, c, d, e, f = v.households
    campaign = make_campaign(v)
    assert campaign.status == "collecting" and campaign.channel == "combined"

    with transaction.atomic():
        services.start_review(am, campaign)
    rows = rows_by_household(campaign)
    assert set(rows) == {h.pk for h in v.households}
    assert all(r.status == "pending" for r in rows.values())

    # A veto needs a reason; the refused review leaves the row untouched.
    with pytest.raises(BusinessError) as exc, transaction.atomic():
        services.review(am, rows[f.pk], result="veto", reason="  ", reviewed_on=TODAY)
    assert exc.value.code == "veto_reason_required"
    assert CampaignHousehold.objects.get(pk=rows[f.pk].pk).status == "pending"
    for h in (a, b, c, d, e):
        with transaction.atomic():
            services.review(am, rows[h.pk], result="approve", reviewed_on=TODAY)
    with transaction.atomic():
        services.review(am, rows[f.pk], result="veto", reason="有赌博行为", reviewed_on=TODAY)
    vetoed = CampaignHousehold.objects.get(pk=rows[f.pk].pk)
    assert (vetoed.status, vetoed.veto_reason, vetoed.reviewed_by, vetoed.reviewed_on) == (
        "vetoed",
        "有赌博行为",
        am,
        TODAY,
    )

    with transaction.atomic():
        campaign = services.start_posting(am, campaign, starts_on=TODAY)
    assert (campaign.status, campaign.posting_starts_on, campaign.posting_ends_on) == ("posted", TODAY, END)

    # An objection against b before scoring: b is not scored while it is open.
    with transaction.atomic():
        ob = services.raise_objection(
            am, rows[b.pk], objector="村民甲", content="该户有未结清民间借贷", raised_on=TODAY, as_of=TODAY
        )
    assert run_scoring_job(campaign.pk, am.pk, TODAY, chunk_size=2) == 4
    campaign = refresh(campaign)
    assert (campaign.status, campaign.scoring_state, campaign.scoring_runs) == ("scored", "done", 1)
    assert progress.read(progress_key(campaign.pk)) == {"phase": "done", "done": 4, "total": 4}
    st = status_of(campaign)
    assert st == {
        a.code: "posted",
        b.code: "approved",
        c.code: "posted",
        d.code: "posted",
        e.code: "posted",
        f.code: "vetoed",
    }
    for h in (a, c, d, e):
        row = CampaignHousehold.objects.get(campaign=campaign, household=h)
        (line,) = live_lines(h.pk)
        assert (line.status, line.pk, line.decision_id) == ("posted", row.line_id, row.decision_id)
        assert row.limit_fen == line.limit_fen > 0
        assert CreditDecision.objects.get(pk=row.decision_id).source == "campaign"
    assert live_lines(f.pk) == [] and live_lines(b.pk) == []

    # An objection against c after scoring: c's line stays posted at activation.
    with transaction.atomic():
        oc = services.raise_objection(
            am, rows[c.pk], objector="村民乙", content="实际不在本村居住", raised_on=END, as_of=END
        )

    # Activation waits for the end of the posting period.
    with pytest.raises(BusinessError) as exc, transaction.atomic():
        services.activate(am, campaign, as_of=END)
    assert exc.value.code == "posting_not_ended"
    assert refresh(campaign).status == "scored"
    with transaction.atomic():
        assert services.activate(am, campaign, as_of=AFTER) == 3
    campaign = refresh(campaign)
    assert (campaign.status, campaign.activated_on) == ("activated", AFTER)
    st = status_of(campaign)
    assert [st[h.code] for h in v.households] == ["activated", "approved", "posted", "activated", "activated", "vetoed"]
    assert [ln.status for ln in live_lines(c.pk)] == ["posted"]
    assert [ln.status for ln in live_lines(a.pk)] == ["active"]

    # c's objection upheld: its posted line is revoked.
    with transaction.atomic():
        services.resolve_objection(am, oc, resolution="upheld", note="经核实属实", as_of=AFTER)
    assert live_lines(c.pk) == []
    assert CreditLine.objects.get(household=c, decision__source="campaign").status == "revoked"
    assert status_of(campaign)[c.code] == "revoked"

    # b's objection dismissed: a re-run scores b alone, and activation activates it.
    with transaction.atomic():
        services.resolve_objection(am, ob, resolution="dismissed", note="借款已结清,有收据", as_of=AFTER)
    assert Objection.objects.get(pk=ob.pk).resolved_by == am
    assert run_scoring_job(campaign.pk, am.pk, AFTER, chunk_size=2) == 1
    assert [ln.status for ln in live_lines(b.pk)] == ["posted"]
    out = call_command_output("--date", AFTER.isoformat())
    assert "activated 1 lines" in out
    st = status_of(campaign)
    assert [st[h.code] for h in v.households] == [
        "activated",
        "activated",
        "revoked",
        "activated",
        "activated",
        "vetoed",
    ]
    # Exactly one campaign decision per scored household, one live line per activated one, none for f.
    for h in (a, b, d, e):
        assert CreditDecision.objects.filter(household=h, source="campaign").count() == 1
        assert [ln.status for ln in live_lines(h.pk)] == ["active"]
    assert CreditDecision.objects.filter(household=f).count() == 0
    # A further re-run and activation change nothing.
    assert run_scoring_job(campaign.pk, am.pk, AFTER, chunk_size=2) == 0
    assert CreditDecision.objects.filter(source="campaign").count() == 5
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "campaigns.create",
        "campaigns.review.start",
        "campaigns.review",
        "campaigns.posting.start",
        "campaigns.objection.raise",
        "campaigns.objection.resolve",
        "campaigns.score",
        "campaigns.scored",
        "campaigns.activate",
        "campaigns.line.activate",
    } <= actions


def call_command_output(*args: str) -> str:
    out = io.StringIO()
    call_command("campaigns_activate", *args, stdout=out)  # `xinedai campaigns-activate` on the command line
    return out.getvalue()


def test_dismissed_objection_after_activation_activates_the_line_at_once(village):
    v, am = village, village.am
    campaign = to_posting(v)
    a = v.households[0]
    row = rows_by_household(campaign)[a.pk]
    run_scoring_job(campaign.pk, am.pk, TODAY)
    with transaction.atomic():
        o = services.raise_objection(am, row, objector="村民丙", content="异议内容", raised_on=TODAY, as_of=TODAY)
        services.activate(am, campaign, as_of=AFTER)
    assert [ln.status for ln in live_lines(a.pk)] == ["posted"]
    with transaction.atomic():
        services.resolve_objection(am, o, resolution="dismissed", note="不属实", as_of=AFTER)
    assert [ln.status for ln in live_lines(a.pk)] == ["active"]
    assert CampaignHousehold.objects.get(pk=row.pk).status == "activated"


def test_crash_in_the_middle_of_the_batch_resumes_without_granting_twice(village, monkeypatch):
    v, am = village, village.am
    campaign = to_posting(v)  # five approved, one vetoed
    approved = [h.pk for h in v.households[:5]]
    real = credit_batch.decide_batch
    calls = {"n": 0}

    def crash_on_second_chunk(*args, **kwargs):
        calls["n"] += 1
        result = real(*args, **kwargs)  # writes this chunk's decisions and lines, then dies
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return result

    monkeypatch.setattr(credit_batch, "decide_batch", crash_on_second_chunk)
    with pytest.raises(RuntimeError, match="worker killed"):
        run_scoring_job(campaign.pk, am.pk, TODAY, chunk_size=2)
    campaign = refresh(campaign)
    assert (campaign.status, campaign.scoring_state) == ("posted", "failed")
    assert progress.read(progress_key(campaign.pk))["phase"] == "failed"
    # The first chunk is done, the second rolled back whole, the third untouched.
    scored = CampaignHousehold.objects.filter(campaign=campaign, scored_at__isnull=False)
    assert sorted(scored.values_list("household_id", flat=True)) == approved[:2]
    assert CreditDecision.objects.filter(source="campaign").count() == 2
    assert CreditLine.objects.count() == 2

    monkeypatch.setattr(credit_batch, "decide_batch", real)
    assert run_scoring_job(campaign.pk, am.pk, TODAY, chunk_size=2) == 3
    # And running once more is harmless.
    assert run_scoring_job(campaign.pk, am.pk, TODAY, chunk_size=2) == 0
    campaign = refresh(campaign)
    assert (campaign.status, campaign.scoring_state, campaign.scoring_runs) == ("scored", "done", 3)
    for hid in approved:
        assert len(live_lines(hid)) == 1
        assert CreditDecision.objects.filter(household_id=hid, source="campaign").count() == 1
    assert CreditLine.objects.count() == 5  # nothing revoked and re-granted either
    assert live_lines(v.households[5].pk) == []


def test_households_with_a_line_from_elsewhere_keep_it(village):
    v, am = village, village.am
    a = v.households[0]
    with transaction.atomic():
        credit_batch.decide_batch(
            [a.pk],
            actor=am,
            model=credit_services.active_model(),
            strategy=credit_services.active_strategy(),
            channel="combined",
            as_of=TODAY,
        )
    (before,) = live_lines(a.pk)
    campaign = to_posting(v)
    run_scoring_job(campaign.pk, am.pk, TODAY)
    assert live_lines(a.pk) == [before] and before.status == "active"
    row = CampaignHousehold.objects.get(campaign=campaign, household=a)
    assert (row.status, row.line_id, row.decision_id) == ("existing_line", None, None)
