"""Product fixtures: the demo bank, the seeded catalogue and a frozen business date."""

import pytest
from django.db import transaction

from tests.conftest import TODAY
from xinedai.products import services


@pytest.fixture(autouse=True)
def _frozen_today(monkeypatch):  # type: ignore[no-untyped-def]
    for module in ("views", "services", "api"):
        monkeypatch.setattr(f"xinedai.products.{module}.business_today", lambda: TODAY)


@pytest.fixture
def catalogue(bank):  # type: ignore[no-untyped-def]
    with transaction.atomic():
        services.seed_catalogue()
    return bank
