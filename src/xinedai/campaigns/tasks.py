"""Background jobs of campaigns: batch scoring of a campaign in chunks, with progress, safe to re-run."""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django_tasks import task

from xinedai.core import progress
from xinedai.core.errors import BusinessError

from . import services
from .choices import ScoringState
from .models import Campaign

log = logging.getLogger(__name__)

CHUNK_SIZE = 500


def progress_key(campaign_id: int) -> str:
    return f"campaign-{campaign_id}"


def run_scoring_job(campaign_id: int, actor_id: int | None, as_of: dt.date, *, chunk_size: int = CHUNK_SIZE) -> int:
    """Score every eligible household of the campaign, one transaction per chunk. Returns how many rows.

    Each chunk writes its decisions and lines and marks its rows scored in one transaction, so a crash
    leaves the earlier chunks done and the later ones untouched; running again takes only the rows not
    scored yet. Must not run inside another transaction (each chunk has to commit on its own).
    """
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    campaign = Campaign.objects.get(pk=campaign_id)
    key = progress_key(campaign_id)
    total = services.eligible_rows(campaign).count()
    done = 0
    services.set_scoring_state(campaign_id, ScoringState.RUNNING, started=True)
    progress.write(key, phase="scoring", done=0, total=total)
    try:
        while True:
            with transaction.atomic():
                result = services.score_next_chunk(actor, campaign, as_of=as_of, size=chunk_size)
            done += result.processed
            total = max(total, done + result.remaining)
            progress.write(key, phase="scoring", done=done, total=total)
            if result.processed == 0 or result.remaining == 0:
                break
    except BusinessError as exc:
        services.set_scoring_state(campaign_id, ScoringState.FAILED, error=exc.message_zh)
        progress.write(key, phase="failed", done=done, total=total)
        return done
    except Exception:
        log.exception("scoring of campaign %s crashed after %s households", campaign_id, done)
        services.set_scoring_state(campaign_id, ScoringState.FAILED, error="系统错误,已完成的批次已保存,可重新运行")
        progress.write(key, phase="failed", done=done, total=total)
        raise
    services.set_scoring_state(campaign_id, ScoringState.DONE)
    progress.write(key, phase="done", done=done, total=total)
    return done


@task()
def score_campaign_task(campaign_id: int, actor_id: int | None, as_of: str) -> int:
    return run_scoring_job(campaign_id, actor_id, dt.date.fromisoformat(as_of))
