"""Lending read models other domains ask: which customers still owe on a written-off loan."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from .choices import LoanStatus
from .models import Loan


def written_off_debtors(household_ids: Iterable[int] | None = None) -> set[int]:
    """Households with a written-off loan not yet recovered in full (账销案存): the bank grants them no new
    line (credit.services.grant_line, credit.batch). A few rows, found by the loan status index."""
    owing = Loan.objects.filter(
        Q(written_off_principal_fen__gt=0) | Q(offbook_interest_fen__gt=0) | Q(offbook_penalty_fen__gt=0),
        status=LoanStatus.WRITTEN_OFF,
    )
    if household_ids is not None:
        owing = owing.filter(household_id__in=list(household_ids))
    return set(owing.values_list("household_id", flat=True).distinct())
