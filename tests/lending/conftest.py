"""Lending tests build on the credit tests' bank: an active model and strategy (tests/credit/conftest.py)."""

import pytest
from django.db import transaction

from tests.credit.conftest import credit  # noqa: F401  (a fixture, re-exported for these tests)
from xinedai.credit import services as credit_services


@pytest.fixture
def line(credit):  # noqa: F811  (the fixture above)
    """h1's active 信e贷 line of 210,000 yuan, the catalogue loaded (LPR 1y + 150 bp). Modules that need
    another line define their own."""
    from xinedai.products.services import seed_catalogue

    from .test_loans import TODAY

    with transaction.atomic():
        seed_catalogue()
        decision = credit_services.decide(credit.users["am1"], household=credit.h1, today=TODAY)
        return credit_services.grant_line(credit.users["risk"], decision, today=TODAY)
