"""Manual five-category classifications: a reason, a maker and a different checker; the batch keeps the
approved class as the loan's floor and never upgrades it on its own."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from tests.lending.test_eod import grant
from tests.lending.test_loans import TODAY, clean, draw
from xinedai.core.errors import BusinessError
from xinedai.lending.models import Loan
from xinedai.servicing import eod, services
from xinedai.servicing.choices import RiskClass
from xinedai.servicing.models import ClassificationChange, ClassificationRequest, LoanState

DAY = dt.timedelta(days=1)


@pytest.fixture
def line(credit):  # type: ignore[no-untyped-def]
    return grant(credit, credit.h1)


def test_a_manual_downgrade_needs_a_second_person_and_the_batch_keeps_it(line, credit):
    loan = draw(line)
    eod.run(TODAY)
    co, risk, am1 = credit.users["co"], credit.users["risk"], credit.users["am1"]
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.request_classification(am1, loan.pk, risk_class=RiskClass.SUBSTANDARD, reason="经营失败")
    assert err.value.code == "forbidden"  # an account manager may not classify
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.request_classification(co, loan.pk, risk_class=RiskClass.SUBSTANDARD, reason="  ")
    assert err.value.code == "reason_required"
    with transaction.atomic():
        request = services.request_classification(
            co, loan.pk, risk_class=RiskClass.SUBSTANDARD, reason="大棚受灾，经营收入中断"
        )
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.request_classification(co, loan.pk, risk_class=RiskClass.DOUBTFUL, reason="再次")
    assert err.value.code == "request_pending"
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.approve_classification(co, request.pk)  # co has no approval right either
    assert err.value.code == "forbidden"
    state = LoanState.objects.get(loan_id=loan.pk)
    assert (state.risk_class, state.manual_class) == (RiskClass.NORMAL, None)  # nothing changed yet

    with transaction.atomic():
        services.approve_classification(risk, request.pk, today=TODAY + DAY)
    request.refresh_from_db()
    assert (request.status, request.decided_by_id) == ("approved", risk.pk)
    state.refresh_from_db()
    assert (state.auto_class, state.manual_class, state.risk_class) == (1, 3, 3)
    change = ClassificationChange.objects.get(loan_id=loan.pk)
    assert (change.from_class, change.to_class, change.cause, change.request_id) == (1, 3, "manual", request.pk)

    eod.run(TODAY + DAY)  # not overdue at all: by days past due it is normal, and yet it stays substandard
    eod.run(TODAY + 2 * DAY)
    state.refresh_from_db()
    assert (state.days_past_due, state.auto_class, state.risk_class) == (0, 1, 3)
    assert ClassificationChange.objects.filter(loan_id=loan.pk).count() == 1
    clean()


def test_the_maker_cannot_approve_their_own_request(line, credit):
    loan = draw(line)
    risk = credit.users["risk"]
    with transaction.atomic():
        request = services.request_classification(risk, loan.pk, risk_class=RiskClass.DOUBTFUL, reason="涉诉")
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.approve_classification(risk, request.pk)
    assert err.value.code == "maker_is_checker"
    assert ClassificationRequest.objects.get(pk=request.pk).status == "pending"
    assert not LoanState.objects.filter(loan_id=loan.pk, manual_class__isnull=False).exists()
    with pytest.raises(BusinessError) as err, transaction.atomic():
        services.reject_classification(credit.users["bm"], request.pk, note="")
    assert err.value.code == "note_required"
    with transaction.atomic():
        services.reject_classification(credit.users["bm"], request.pk, note="证据不足")
    assert ClassificationRequest.objects.get(pk=request.pk).status == "rejected"
    assert Loan.objects.get(pk=loan.pk).status == "active"
