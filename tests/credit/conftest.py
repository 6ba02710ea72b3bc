"""Credit fixtures: a small hand-made scorecard over household features and an approved strategy."""

import pytest
from django.db import transaction

from xinedai.core.dates import now
from xinedai.credit import services
from xinedai.credit.models import ScoreModel
from xinedai.credit.rules import DEFAULT_PARAMS
from xinedai.credit.scorecard import CATEGORICAL, NUMERIC, Scorecard, Variable

CARD = Scorecard(
    variables=(
        Variable(
            "net_assets_yuan",
            NUMERIC,
            points=(20, 60, 110),
            missing_points=0,
            edges=(100_000.0, 400_000.0),
            labels=("<100k", "100k-400k", ">=400k"),
        ),
        Variable(
            "disposable_income_yuan",
            NUMERIC,
            points=(10, 50, 90),
            missing_points=0,
            edges=(20_000.0, 60_000.0),
            labels=("<20k", "20k-60k", ">=60k"),
        ),
        Variable(
            "overdue_count_24m",
            NUMERIC,
            points=(120, 40, -40),
            missing_points=0,
            edges=(1.0, 3.0),
            labels=("0", "1-2", ">=3"),
        ),
        Variable(
            "segment",
            CATEGORICAL,
            points=(70, 40),
            missing_points=30,
            categories=(("greenhouse", "breeder"), ("salaried", "business", "smb_owner", "other")),
            labels=("farming", "other"),
        ),
    ),
    intercept_points=300,
)


def make_model(trained_by=None, family="xinedai", version=1):
    return ScoreModel.objects.create(
        family=family,
        version=version,
        name="hand-made",
        compiled=CARD.to_dict(),
        report={"test": {"auc": 0.8}},
        trained_at=now(),
        trained_by=trained_by,
    )


def activate_configuration(users):
    """The hand-made model trained by risk and the default strategy proposed by risk, both approved by
    admin (maker ≠ checker), in the caller's transaction. Returns (model, strategy)."""
    model = make_model(trained_by=users["risk"])
    services.approve_model(users["admin"], model)
    strategy = services.propose_strategy(users["risk"], DEFAULT_PARAMS.to_dict(), note="initial")
    services.approve_strategy(users["admin"], strategy)
    return model, strategy


@pytest.fixture
def credit(bank):
    """The bank of tests/conftest.py with an active model (risk trained, admin approved) and strategy."""
    with transaction.atomic():
        activate_configuration(bank.users)
    return bank
