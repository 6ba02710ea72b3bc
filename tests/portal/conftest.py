"""Portal tests: the credit tests' bank with h1's 信e贷 line granted, codes kept in memory."""

import pytest
from django.db import transaction

from tests.credit.conftest import credit  # noqa: F401  (a fixture, re-exported)
from tests.lending.test_loans import TODAY


@pytest.fixture
def customer(credit, settings):  # noqa: F811
    from xinedai.credit import services as credit_services
    from xinedai.portal.senders import MemorySender
    from xinedai.products.services import seed_catalogue

    settings.XINEDAI_OTP_SENDER = "xinedai.portal.senders.MemorySender"
    MemorySender.sent.clear()
    with transaction.atomic():
        seed_catalogue()
        decision = credit_services.decide(credit.users["am1"], household=credit.h1, today=TODAY)
        credit.line = credit_services.grant_line(credit.users["risk"], decision, today=TODAY)
    credit.phone = credit.h1.members.get(relation="head").phone
    return credit
