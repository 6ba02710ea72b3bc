"""Campaign use cases, in the order a whole-village campaign (整村授信) goes through them.

1. collecting  — `create_campaign`: account managers collect files for the village (household pages
   or the roster import at /imports/).
2. reviewing   — `start_review` snapshots the village's households into the campaign's roster;
   `refresh_roster` adds households filed since; `review` records the village committee's decision
   per household (村委会评议: approve, or veto with a mandatory reason). Reviews may be changed until
   posting starts.
3. posted      — `start_posting` (every household reviewed, at least one approved) opens the public
   posting period (公示, 7 days by default, both ends inclusive); the posting list of approved
   households is exported with masked names. `raise_objection` records objections (异议) raised
   within the period; `resolve_objection` upholds or dismisses them at any time.
   `score_next_chunk` (run by campaigns.tasks in chunks, each its own transaction) grants
   pre-approved lines (预授信) in status "posted" to approved households without an open objection,
   and marks those rows scored in the same transaction: a crash leaves earlier chunks done and later
   ones untouched, and a re-run never scores a row twice. Scoring needs posting to have started; it
   may run during the period, since the lines only take effect at activation.
4. scored      — when no eligible household is left unscored. Re-runs stay allowed (a household whose
   objection was dismissed is scored then).
5. activated   — `activate`, on a business date after the last day of posting: posted lines of
   households without an open objection become active (激活). A household with an open objection
   keeps its posted line until the objection is resolved: upheld → line revoked; dismissed → line
   activated (at once when the campaign is already activated). Vetoed households never get a line.
   cancelled   — `cancel`, from any open status: posted lines of the campaign are revoked.

Services run in the caller's transaction, lock the campaign row first (every writer of a campaign's
rows does, so they serialise), write their audit rows there and never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Max, Q, QuerySet

from xinedai.core import audit
from xinedai.core.dates import now
from xinedai.core.errors import ValidationFailed
from xinedai.core.masking import mask_name
from xinedai.credit import batch as credit_batch
from xinedai.credit import services as credit_services
from xinedai.credit.choices import LIVE_LINE_STATUSES, Channel, LineStatus
from xinedai.credit.models import CreditDecision, CreditLine
from xinedai.households.models import Household
from xinedai.org.models import Village

from .choices import (
    OPEN_CAMPAIGN_STATUSES,
    POSTING_DAYS,
    CampaignStatus,
    HouseholdStatus,
    Resolution,
    ReviewResult,
    ScoringState,
)
from .models import Campaign, CampaignHousehold, Objection

PRODUCT = credit_batch.PRODUCT
SOURCE = "campaign"


class CampaignStateError(ValidationFailed):
    code = "campaign_state"
    status = 409


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _scope(campaign: Campaign) -> str:
    return campaign.village.grid.outlet.path


def _lock(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update(of=("self",)).select_related("village__grid__outlet").get(pk=campaign.pk)


def _require_status(campaign: Campaign, *allowed: str, doing_zh: str, doing_en: str) -> None:
    if campaign.status not in allowed:
        raise CampaignStateError(
            f"活动当前状态为“{campaign.get_status_display()}”,不能{doing_zh}",
            f"The campaign is {campaign.status}; it cannot {doing_en}",
            code="campaign_state",
            status_now=campaign.status,
            allowed=list(allowed),
        )


def _open_objection() -> Q:
    return Q(objections__resolution="")


def eligible_rows(campaign: Campaign) -> QuerySet[CampaignHousehold]:
    """Rows the next scoring chunk takes: approved, not scored yet, without an open objection."""
    return (
        CampaignHousehold.objects.filter(campaign=campaign, status=HouseholdStatus.APPROVED, scored_at__isnull=True)
        .exclude(_open_objection())
        .order_by("pk")
    )


# 1. collecting ------------------------------------------------------------------------------


def create_campaign(actor: Any, *, village: Village, name: str, channel: str = Channel.COMBINED) -> Campaign:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("请填写活动名称", "Give the campaign a name", code="name_required", field="name")
    if channel not in Channel.values:
        raise ValidationFailed("渠道无效", "Unknown channel", code="channel_unknown", field="channel")
    # Lock the village so two requests cannot both pass the one-open-campaign check (the unique
    # constraint backs it up).
    village = Village.objects.select_for_update().select_related("grid__outlet").get(pk=village.pk)
    if Campaign.objects.filter(village=village, status__in=OPEN_CAMPAIGN_STATUSES).exists():
        raise ValidationFailed(
            "该村已有进行中的整村授信活动",
            "The village already has an open campaign",
            code="campaign_open_exists",
            field="village",
        )
    campaign = Campaign.objects.create(
        name=name[:100], village=village, channel=channel, created_at=now(), created_by=_user(actor)
    )
    audit.record(
        actor,
        "campaigns.create",
        campaign,
        after={"name": campaign.name, "village": village.code, "channel": channel},
        scope_path=village.grid.outlet.path,
    )
    return campaign


# 2. reviewing -------------------------------------------------------------------------------


def _add_households(campaign: Campaign) -> int:
    have = CampaignHousehold.objects.filter(campaign=campaign).values_list("household_id", flat=True)
    new_ids = list(
        Household.objects.filter(village=campaign.village)
        .exclude(pk__in=have)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    CampaignHousehold.objects.bulk_create(
        [CampaignHousehold(campaign=campaign, household_id=hid) for hid in new_ids], batch_size=1000
    )
    return len(new_ids)


def start_review(actor: Any, campaign: Campaign) -> Campaign:
    """Snapshot the village's households on file into the roster and open the committee review."""
    campaign = _lock(campaign)
    _require_status(campaign, CampaignStatus.COLLECTING, doing_zh="开始评议", doing_en="start review")
    added = _add_households(campaign)
    if added == 0:
        raise ValidationFailed(
            "该村尚无建档户,请先采集或导入花名册",
            "The village has no households on file yet: collect or import them first",
            code="roster_empty",
        )
    campaign.status, campaign.review_started_at = CampaignStatus.REVIEWING, now()
    campaign.save(update_fields=["status", "review_started_at"])
    audit.record(
        actor,
        "campaigns.review.start",
        campaign,
        before={"status": "collecting"},
        after={"status": "reviewing", "households": added},
        scope_path=_scope(campaign),
    )
    return campaign


def refresh_roster(actor: Any, campaign: Campaign) -> int:
    """Add households filed in the village since review started (while review is still open)."""
    campaign = _lock(campaign)
    _require_status(campaign, CampaignStatus.REVIEWING, doing_zh="更新名单", doing_en="refresh the roster")
    added = _add_households(campaign)
    if added:
        audit.record(actor, "campaigns.roster.refresh", campaign, after={"added": added}, scope_path=_scope(campaign))
    return added


def review(
    actor: Any, row: CampaignHousehold, *, result: str, reason: str = "", reviewed_on: dt.date
) -> CampaignHousehold:
    """Record the village committee's review of one household: approve, or veto with a reason."""
    campaign = _lock(row.campaign)
    _require_status(campaign, CampaignStatus.REVIEWING, doing_zh="录入评议结果", doing_en="take reviews")
    reason = (reason or "").strip()
    if result not in ReviewResult.values:
        raise ValidationFailed("评议结果无效", "Unknown review result", code="review_result", field="result")
    if result == ReviewResult.VETO and not reason:
        raise ValidationFailed("否决必须填写理由", "A veto needs a reason", code="veto_reason_required", field="reason")
    row = CampaignHousehold.objects.select_related("household").get(pk=row.pk)
    before = {"status": row.status, "veto_reason": row.veto_reason}
    row.status = HouseholdStatus.APPROVED if result == ReviewResult.APPROVE else HouseholdStatus.VETOED
    row.veto_reason = reason[:300] if result == ReviewResult.VETO else ""
    row.reviewed_on, row.reviewed_at, row.reviewed_by = reviewed_on, now(), _user(actor)
    row.save(update_fields=["status", "veto_reason", "reviewed_on", "reviewed_at", "reviewed_by"])
    audit.record(
        actor,
        "campaigns.review",
        row,
        before=before,
        after={"household": row.household.code, "status": row.status, "reviewed_on": reviewed_on},
        reason=row.veto_reason,
        scope_path=_scope(campaign),
    )
    row.campaign = campaign
    return row


# 3. posted ----------------------------------------------------------------------------------


def start_posting(actor: Any, campaign: Campaign, *, starts_on: dt.date, ends_on: dt.date | None = None) -> Campaign:
    """Open the public posting period of the approved households (公示)."""
    campaign = _lock(campaign)
    _require_status(campaign, CampaignStatus.REVIEWING, doing_zh="开始公示", doing_en="start posting")
    ends_on = ends_on or starts_on + dt.timedelta(days=POSTING_DAYS - 1)
    if ends_on < starts_on:
        raise ValidationFailed(
            "公示结束日不能早于开始日",
            "Posting cannot end before it starts",
            code="posting_dates",
            field="posting_ends_on",
        )
    rows = CampaignHousehold.objects.filter(campaign=campaign)
    pending = rows.filter(status=HouseholdStatus.PENDING).count()
    if pending:
        raise ValidationFailed(
            f"还有{pending}户未评议",
            f"{pending} households are not reviewed yet",
            code="review_incomplete",
            pending=pending,
        )
    approved = rows.filter(status=HouseholdStatus.APPROVED).count()
    if not approved:
        raise ValidationFailed("没有评议通过的户", "No household was approved", code="nothing_approved")
    campaign.status, campaign.posted_at = CampaignStatus.POSTED, now()
    campaign.posting_starts_on, campaign.posting_ends_on = starts_on, ends_on
    campaign.save(update_fields=["status", "posted_at", "posting_starts_on", "posting_ends_on"])
    audit.record(
        actor,
        "campaigns.posting.start",
        campaign,
        before={"status": "reviewing"},
        after={"status": "posted", "approved": approved, "starts_on": starts_on, "ends_on": ends_on},
        scope_path=_scope(campaign),
    )
    return campaign


def raise_objection(
    actor: Any, row: CampaignHousehold, *, objector: str, content: str, raised_on: dt.date, as_of: dt.date
) -> Objection:
    """Record an objection raised during the posting period against a posted household."""
    campaign = _lock(row.campaign)
    _require_status(
        campaign, CampaignStatus.POSTED, CampaignStatus.SCORED, doing_zh="登记异议", doing_en="take objections"
    )
    objector, content = (objector or "").strip(), (content or "").strip()
    if not objector:
        raise ValidationFailed("请填写异议人", "Who raised the objection?", code="objector_required", field="objector")
    if not content:
        raise ValidationFailed("请填写异议内容", "What is the objection?", code="content_required", field="content")
    assert campaign.posting_starts_on and campaign.posting_ends_on  # set by start_posting
    if raised_on > as_of or not (campaign.posting_starts_on <= raised_on <= campaign.posting_ends_on):
        raise ValidationFailed(
            "异议须在公示期内提出",
            "An objection must be raised within the posting period",
            code="objection_outside_posting",
            field="raised_on",
        )
    row = CampaignHousehold.objects.select_related("household").get(pk=row.pk)
    if row.status not in (HouseholdStatus.APPROVED, HouseholdStatus.POSTED):
        raise ValidationFailed("该户不在公示名单中", "The household is not on the posting list", code="not_posted")
    objection = Objection.objects.create(
        campaign_household=row,
        objector=objector[:100],
        content=content[:1000],
        raised_on=raised_on,
        recorded_at=now(),
        recorded_by=_user(actor),
    )
    audit.record(
        actor,
        "campaigns.objection.raise",
        objection,
        after={"household": row.household.code, "objector": mask_name(objector), "raised_on": raised_on},
        reason=content[:500],
        scope_path=_scope(campaign),
    )
    return objection


def _revoke_line(line_id: int | None) -> int:
    if line_id is None:
        return 0
    return CreditLine.objects.filter(pk=line_id, status=LineStatus.POSTED).update(status=LineStatus.REVOKED)


def _activate_rows(rows: list[CampaignHousehold]) -> list[CampaignHousehold]:
    """Posted lines become active; returns the rows whose line was activated now."""
    line_ids = [r.line_id for r in rows if r.line_id]
    posted = set(
        CreditLine.objects.select_for_update()
        .filter(pk__in=line_ids, status=LineStatus.POSTED)
        .values_list("pk", flat=True)
    )
    CreditLine.objects.filter(pk__in=posted).update(status=LineStatus.ACTIVE)
    at = now()
    done = [r for r in rows if r.line_id in posted]
    for r in done:
        r.status, r.activated_at = HouseholdStatus.ACTIVATED, at
    CampaignHousehold.objects.bulk_update(done, ["status", "activated_at"], batch_size=1000)
    return done


def resolve_objection(actor: Any, objection: Objection, *, resolution: str, note: str, as_of: dt.date) -> Objection:
    """Uphold (no line: a posted one is revoked) or dismiss (the household goes on) an objection."""
    row = objection.campaign_household
    campaign = _lock(row.campaign)
    _require_status(
        campaign, *OPEN_CAMPAIGN_STATUSES, CampaignStatus.ACTIVATED, doing_zh="处理异议", doing_en="resolve objections"
    )
    note = (note or "").strip()
    if resolution not in Resolution.values:
        raise ValidationFailed("处理结果无效", "Unknown resolution", code="resolution", field="resolution")
    if not note:
        raise ValidationFailed(
            "请填写处理意见", "Say how the objection was resolved", code="resolution_note_required", field="note"
        )
    objection = Objection.objects.select_for_update().get(pk=objection.pk)
    if not objection.is_open:
        raise ValidationFailed("该异议已处理", "The objection is already resolved", code="objection_resolved")
    row = CampaignHousehold.objects.select_related("household").get(pk=row.pk)
    before = {"household_status": row.status}
    objection.resolution, objection.resolution_note = resolution, note[:300]
    objection.resolved_at, objection.resolved_by = now(), _user(actor)
    objection.save(update_fields=["resolution", "resolution_note", "resolved_at", "resolved_by"])
    if resolution == Resolution.UPHELD:
        if row.status == HouseholdStatus.POSTED:
            _revoke_line(row.line_id)
            row.status = HouseholdStatus.REVOKED
        elif row.status == HouseholdStatus.APPROVED:
            row.status = HouseholdStatus.EXCLUDED
        row.save(update_fields=["status"])
    elif (
        row.status == HouseholdStatus.POSTED
        and campaign.status == CampaignStatus.ACTIVATED
        and not row.objections.filter(resolution="").exists()
    ):
        _activate_rows([row])
    audit.record(
        actor,
        "campaigns.objection.resolve",
        objection,
        before=before,
        after={"household": row.household.code, "resolution": resolution, "household_status": row.status},
        reason=objection.resolution_note,
        scope_path=_scope(campaign),
    )
    return objection


# Batch scoring ------------------------------------------------------------------------------


def request_scoring(actor: Any, campaign: Campaign) -> Campaign:
    """Check that scoring may run now and mark the job queued; the caller enqueues it after commit."""
    campaign = _lock(campaign)
    _require_status(
        campaign,
        CampaignStatus.POSTED,
        CampaignStatus.SCORED,
        CampaignStatus.ACTIVATED,
        doing_zh="批量测算授信(须在评议完成并开始公示之后)",
        doing_en="be scored (scoring comes after review, once posting has started)",
    )
    if campaign.scoring_busy:
        raise CampaignStateError("批量测算正在进行中", "Scoring is already running", code="scoring_busy")
    credit_services.active_model()  # fails early with a clear message when credit is not configured
    credit_services.active_strategy()
    campaign.scoring_state, campaign.scoring_error, campaign.scoring_updated_at = ScoringState.QUEUED, "", now()
    campaign.save(update_fields=["scoring_state", "scoring_error", "scoring_updated_at"])
    audit.record(
        actor,
        "campaigns.scoring.request",
        campaign,
        after={"eligible": eligible_rows(campaign).count()},
        scope_path=_scope(campaign),
    )
    return campaign


@dataclass
class ChunkResult:
    processed: int = 0
    granted: int = 0
    limit_fen: int = 0
    remaining: int = 0


def score_next_chunk(actor: Any, campaign: Campaign, *, as_of: dt.date, size: int) -> ChunkResult:
    """Score the next `size` eligible households and mark them scored, in the caller's transaction.

    Households that already hold a live line of the product from elsewhere keep it (a batch must not
    replace an active line by a posted one); they are marked and not scored.
    """
    campaign = _lock(campaign)
    _require_status(
        campaign,
        CampaignStatus.POSTED,
        CampaignStatus.SCORED,
        CampaignStatus.ACTIVATED,
        doing_zh="批量测算授信",
        doing_en="be scored",
    )
    rows = list(eligible_rows(campaign).select_related("household")[:size])
    result = ChunkResult()
    at = now()
    if rows:
        ids = [r.household_id for r in rows]
        has_line = set(
            CreditLine.objects.filter(
                household_id__in=ids, product_code=PRODUCT, status__in=LIVE_LINE_STATUSES
            ).values_list("household_id", flat=True)
        )
        to_score = [hid for hid in ids if hid not in has_line]
        decisions: dict[int, CreditDecision] = {}
        lines: dict[int, int] = {}
        if to_score:
            before = CreditDecision.objects.aggregate(m=Max("pk"))["m"] or 0
            batch = credit_batch.decide_batch(
                to_score,
                actor=actor,
                model=credit_services.active_model(),
                strategy=credit_services.active_strategy(),
                channel=campaign.channel,
                as_of=as_of,
                line_status=LineStatus.POSTED,
                source=SOURCE,
                chunk_size=max(len(to_score), 1),
            )
            # The campaign lock serialises every campaign writer, and one open campaign per village keeps
            # other campaigns off these households: the decisions above `before` are this chunk's.
            for d in CreditDecision.objects.filter(household_id__in=to_score, source=SOURCE, pk__gt=before).only(
                "pk", "household_id", "limit_fen"
            ):
                decisions[int(d.household_id)] = d  # type: ignore[arg-type]
            lines = dict(
                CreditLine.objects.filter(decision_id__in=[d.pk for d in decisions.values()]).values_list(
                    "household_id", "pk"
                )
            )
            result.granted, result.limit_fen = batch.granted, batch.limit_fen
        for r in rows:
            r.scored_at = at
            decision = decisions.get(r.household_id)
            r.decision = decision
            r.line_id = lines.get(r.household_id)
            r.limit_fen = decision.limit_fen if decision is not None and r.line_id else 0
            if r.household_id in has_line:
                r.status = HouseholdStatus.EXISTING_LINE
            elif r.line_id:
                r.status = HouseholdStatus.POSTED
            else:
                r.status = HouseholdStatus.DECLINED
        CampaignHousehold.objects.bulk_update(rows, ["scored_at", "decision", "line", "limit_fen", "status"])
        result.processed = len(rows)
        audit.record_many(
            actor,
            "campaigns.score",
            "campaigns.campaignhousehold",
            [
                (
                    r.pk,
                    r.household.masked_repr(),
                    {
                        "campaign": campaign.pk,
                        "household": r.household.code,
                        "status": r.status,
                        "limit_fen": r.limit_fen,
                    },
                    _scope(campaign),
                )
                for r in rows
            ],
            at=at,
        )
    result.remaining = eligible_rows(campaign).count()
    campaign.scoring_updated_at = at
    campaign.save(update_fields=["scoring_updated_at"])
    if result.remaining == 0 and campaign.status == CampaignStatus.POSTED:
        campaign.status, campaign.scored_at = CampaignStatus.SCORED, at
        campaign.save(update_fields=["status", "scored_at"])
        audit.record(
            actor,
            "campaigns.scored",
            campaign,
            before={"status": "posted"},
            after={"status": "scored"},
            scope_path=_scope(campaign),
        )
    return result


# 5. activated / cancelled -------------------------------------------------------------------


def activate(actor: Any, campaign: Campaign, *, as_of: dt.date) -> int:
    """After the posting period: posted lines without an open objection become active. Returns how many."""
    campaign = _lock(campaign)
    _require_status(
        campaign,
        CampaignStatus.SCORED,
        CampaignStatus.ACTIVATED,
        doing_zh="激活额度(须先完成批量测算)",
        doing_en="be activated (score it first)",
    )
    assert campaign.posting_ends_on is not None
    if as_of <= campaign.posting_ends_on:
        raise CampaignStateError(
            f"公示期至{campaign.posting_ends_on:%Y-%m-%d}结束,之后才能激活",
            f"Posting runs until {campaign.posting_ends_on}; lines activate after it ends",
            code="posting_not_ended",
            posting_ends_on=campaign.posting_ends_on.isoformat(),
        )
    rows = list(
        CampaignHousehold.objects.filter(campaign=campaign, status=HouseholdStatus.POSTED)
        .exclude(_open_objection())
        .select_related("household")
        .order_by("pk")
    )
    done = _activate_rows(rows)
    before = campaign.status
    if campaign.status != CampaignStatus.ACTIVATED:
        campaign.status, campaign.activated_on, campaign.activated_at = CampaignStatus.ACTIVATED, as_of, now()
        campaign.save(update_fields=["status", "activated_on", "activated_at"])
    audit.record(
        actor,
        "campaigns.activate",
        campaign,
        before={"status": before},
        after={"status": campaign.status, "activated": len(done), "as_of": as_of},
        scope_path=_scope(campaign),
    )
    if done:
        audit.record_many(
            actor,
            "campaigns.line.activate",
            "credit.creditline",
            [
                (
                    r.line_id,
                    r.household.masked_repr(),
                    {"campaign": campaign.pk, "household": r.household.code, "limit_fen": r.limit_fen},
                    _scope(campaign),
                )
                for r in done
            ],
        )
    return len(done)


def cancel(actor: Any, campaign: Campaign, *, reason: str) -> Campaign:
    """Stop a campaign that is not activated yet; its posted (not yet active) lines are revoked."""
    campaign = _lock(campaign)
    _require_status(campaign, *OPEN_CAMPAIGN_STATUSES, doing_zh="取消", doing_en="be cancelled")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("请填写取消原因", "Give a reason", code="cancel_reason_required", field="reason")
    if campaign.scoring_busy:
        raise CampaignStateError("批量测算正在进行中", "Scoring is running", code="scoring_busy")
    rows = CampaignHousehold.objects.filter(campaign=campaign, status=HouseholdStatus.POSTED)
    line_ids = list(rows.exclude(line__isnull=True).values_list("line_id", flat=True))
    revoked = CreditLine.objects.filter(pk__in=line_ids, status=LineStatus.POSTED).update(status=LineStatus.REVOKED)
    rows.update(status=HouseholdStatus.REVOKED)
    before = campaign.status
    campaign.status, campaign.cancelled_at, campaign.cancel_reason = CampaignStatus.CANCELLED, now(), reason[:300]
    campaign.save(update_fields=["status", "cancelled_at", "cancel_reason"])
    audit.record(
        actor,
        "campaigns.cancel",
        campaign,
        before={"status": before},
        after={"status": "cancelled", "lines_revoked": revoked},
        reason=reason,
        scope_path=_scope(campaign),
    )
    return campaign


def set_scoring_state(campaign_id: int, state: str, *, error: str = "", started: bool = False) -> None:
    """The job's own bookkeeping, written outside the chunk transactions (autocommit)."""
    updates: dict[str, Any] = {"scoring_state": state, "scoring_error": error[:300], "scoring_updated_at": now()}
    qs = Campaign.objects.filter(pk=campaign_id)
    if started:
        updates["scoring_runs"] = F("scoring_runs") + 1
    qs.update(**updates)
