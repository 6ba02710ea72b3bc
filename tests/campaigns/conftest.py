"""Campaign fixtures: the credit-configured test bank with a village (V1, am1's grid) of six households."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction

from tests.conftest import TODAY, Bank, file_values, pid
from tests.credit.conftest import credit  # noqa: F401
from xinedai.campaigns import services
from xinedai.campaigns.models import Campaign, CampaignHousehold
from xinedai.households import services as hh

NAMES = ["赵一", "钱二", "孙三", "周四", "吴五"]
PHONES = [f"1391234{n:04d}" for n in range(1, 6)]


@dataclass
class Village:
    bank: Bank
    households: list[Any]  # h1 first, then the five added here, in code order

    @property
    def am(self) -> Any:
        return self.bank.users["am1"]


@pytest.fixture
def village(credit) -> Village:  # noqa: F811
    """V1 (东村, grid G1a of am1) with h1 and five more households, each with a file and a head."""
    added = []
    with transaction.atomic():
        for n, (name, phone) in enumerate(zip(NAMES, PHONES, strict=True), start=11):
            added.append(
                hh.create_household(
                    credit.users["am1"],
                    village=credit.v1,
                    head=hh.PersonInput(name, pid(n), phone),
                    size=4,
                    segments=["greenhouse"],
                    file_values=file_values(asset_house_fen=30_000_000 + n * 1_000_000),
                    reason="整村采集",
                    today=TODAY,
                )
            )
    households = sorted([credit.h1, *added], key=lambda h: h.code)
    return Village(credit, households)


def make_campaign(v: Village, name: str = "东村整村授信") -> Campaign:
    with transaction.atomic():
        return services.create_campaign(v.am, village=v.bank.v1, name=name)


def rows_by_household(campaign: Campaign) -> dict[int, CampaignHousehold]:
    return {r.household_id: r for r in CampaignHousehold.objects.filter(campaign=campaign)}


def to_posting(v: Village, *, veto: int = 1, starts_on: dt.date = TODAY) -> Campaign:
    """A campaign in public posting: every household approved but the last `veto` ones."""
    campaign = make_campaign(v)
    with transaction.atomic():
        services.start_review(v.am, campaign)
    rows = rows_by_household(campaign)
    for i, h in enumerate(v.households):
        with transaction.atomic():
            if i >= len(v.households) - veto:
                services.review(v.am, rows[h.pk], result="veto", reason="常年在外务工,无法核实", reviewed_on=TODAY)
            else:
                services.review(v.am, rows[h.pk], result="approve", reviewed_on=TODAY)
    with transaction.atomic():
        return services.start_posting(v.am, campaign, starts_on=starts_on)
