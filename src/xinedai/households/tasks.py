"""Background jobs of the households domain: large roster imports with progress."""

from __future__ import annotations

import logging
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django_tasks import task

from xinedai.core import progress
from xinedai.core.dates import business_today, now
from xinedai.core.errors import BusinessError

from .choices import ImportStatus
from .models import ImportJob
from .roster import RosterRejected, import_roster

log = logging.getLogger(__name__)


def progress_key(job_id: int) -> str:
    return f"import-{job_id}"


def _progress(job_id: int):  # type: ignore[no-untyped-def]
    def report(phase: str, done: int, total: int) -> None:
        # Not in the job's row: the import holds its transaction open until the last row is written.
        progress.write(progress_key(job_id), phase=phase, done=done, total=total)

    return report


def run_import_job(job_id: int) -> None:
    """Run one queued import job: all rows in one transaction, or none with the row errors stored."""
    job = ImportJob.objects.get(pk=job_id)
    if job.is_finished:
        return
    ImportJob.objects.filter(pk=job_id).update(status=ImportStatus.RUNNING)
    user = get_user_model().objects.get(pk=job.created_by_id)
    try:
        with transaction.atomic():
            report = import_roster(
                Path(job.stored_path), user, today=business_today(), dry_run=job.dry_run, progress=_progress(job_id)
            )
    except RosterRejected as exc:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportStatus.FAILED,
            error_count=len(exc.report.errors),
            total_rows=exc.report.total_rows,
            errors=[e.as_dict() for e in exc.report.errors[:1000]],
            finished_at=now(),
        )
        return
    except BusinessError as exc:
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportStatus.FAILED,
            error_count=1,
            errors=[{"row": 0, "column": "", "reason": exc.message}],
            finished_at=now(),
        )
        return
    except Exception:
        log.exception("import job %s crashed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportStatus.CRASHED,
            error_count=1,
            finished_at=now(),
            errors=[{"row": 0, "column": "", "reason": "系统错误,未导入任何一行 internal error; nothing was imported"}],
        )
        raise
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportStatus.CHECKED if job.dry_run else ImportStatus.DONE,
        imported_rows=report.imported,
        total_rows=report.total_rows,
        processed_rows=report.total_rows,
        finished_at=now(),
    )


@task()
def import_households_task(job_id: int) -> None:
    run_import_job(job_id)
