"""The compiled scorecard kernel, table by table: bins, points, missing values, reasons, round trip."""

import numpy as np
import pytest

from xinedai.credit.scorecard import CATEGORICAL, NUMERIC, Scorecard, Variable

CARD = Scorecard(
    variables=(
        Variable(
            "income",
            NUMERIC,
            points=(10, 30, 55),
            missing_points=0,
            edges=(50_000.0, 120_000.0),
            labels=("<50k", "50k-120k", ">=120k"),
        ),
        Variable(
            "segment",
            CATEGORICAL,
            points=(40, 20),
            missing_points=5,
            categories=(("greenhouse", "breeder"), ("other",)),
            labels=("farm", "other"),
        ),
        Variable("overdue", NUMERIC, points=(60, 15, -20), missing_points=10, edges=(1.0, 3.0)),
    ),
    intercept_points=400,
)


@pytest.mark.parametrize(
    ("income", "segment", "overdue", "bins", "score"),
    [
        (10_000, "greenhouse", 0, (0, 0, 0), 400 + 10 + 40 + 60),
        (50_000, "breeder", 1, (1, 0, 1), 400 + 30 + 40 + 15),  # a split point belongs to the bin above
        (119_999.99, "other", 2.5, (1, 1, 1), 400 + 30 + 20 + 15),
        (1e9, "unknown", 3, (2, 2, 2), 400 + 55 + 5 - 20),  # an unseen category is the missing bin
        (float("nan"), None, float("nan"), (3, 2, 3), 400 + 0 + 5 + 10),
    ],
)
def test_bins_and_scores(income, segment, overdue, bins, score):
    columns = {"income": [income], "segment": [segment], "overdue": [overdue]}
    got_bins = CARD.bin_columns(columns)
    assert tuple(got_bins[0]) == bins
    assert CARD.score(columns).tolist() == [score]


def test_one_and_many_go_through_the_same_function():
    rng = np.random.default_rng(1)
    n = 10_000
    columns = {
        "income": rng.lognormal(11, 0.6, n),
        "segment": rng.choice(["greenhouse", "other", "x"], n),
        "overdue": rng.poisson(0.5, n).astype(float),
    }
    many = CARD.score(columns)
    for i in (0, 17, n - 1):
        one = CARD.score({k: [v[i]] for k, v in columns.items()})
        assert one[0] == many[i]
    assert many.dtype == np.int32


def test_reasons_are_the_biggest_point_losses():
    bins = CARD.bin_columns({"income": [10_000], "segment": ["other"], "overdue": [5]})[0]
    reasons = CARD.reasons(bins)
    assert [(r["variable"], r["points_lost"]) for r in reasons] == [("overdue", 80), ("income", 45), ("segment", 20)]
    assert reasons[1]["bin"] == "<50k"
    best = CARD.bin_columns({"income": [500_000], "segment": ["breeder"], "overdue": [0]})[0]
    assert CARD.reasons(best) == []


def test_round_trip():
    again = Scorecard.from_dict(CARD.to_dict())
    columns = {"income": [1, 60_000, 200_000], "segment": ["breeder", "other", None], "overdue": [0, 2, 9]}
    assert again.score(columns).tolist() == CARD.score(columns).tolist()


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "x", "kind": NUMERIC, "points": (1, 2), "missing_points": 0, "edges": (1.0, 2.0)},
        {"name": "x", "kind": NUMERIC, "points": (1, 2, 3), "missing_points": 0, "edges": (2.0, 1.0)},
        {"name": "x", "kind": CATEGORICAL, "points": (1,), "missing_points": 0, "categories": (("a",), ("b",))},
        {"name": "x", "kind": "ordinal", "points": (1,), "missing_points": 0},
    ],
)
def test_malformed_variables_are_refused(bad):
    with pytest.raises(ValueError):
        Variable(**bad)


@pytest.mark.parametrize("n_edges", [1, 7, 16, 17, 40])
def test_both_binning_paths_agree_with_the_definition(n_edges):
    rng = np.random.default_rng(n_edges)
    edges = tuple(float(e) for e in np.sort(rng.choice(np.arange(-500, 500), n_edges, replace=False)))
    v = Variable("x", NUMERIC, points=tuple(range(n_edges + 1)), missing_points=-1, edges=edges)
    x = np.concatenate([rng.uniform(-600, 600, 1000), np.array(edges), [np.nan, np.inf, -np.inf]])
    expected = np.searchsorted(np.array(edges), x, side="right")
    expected[np.isnan(x)] = n_edges + 1
    assert v.bin_values(x).tolist() == expected.tolist()


@pytest.mark.parametrize("n_edges", [1, 7, 16, 17, 40])
def test_a_few_values_bin_as_many_do(n_edges):
    """Below scorecard.SMALL values take a path of their own (one searchsorted; a dict per category)."""
    from xinedai.credit.scorecard import SMALL

    rng = np.random.default_rng(100 + n_edges)
    edges = tuple(float(e) for e in np.sort(rng.choice(np.arange(-500, 500), n_edges, replace=False)))
    v = Variable("x", NUMERIC, points=tuple(range(n_edges + 1)), missing_points=-1, edges=edges)
    x = np.concatenate([rng.uniform(-600, 600, 1000), np.array(edges), [np.nan, np.inf, -np.inf]])
    many = v.bin_values(x).tolist()
    few = [
        int(v.bin_values(x[i : i + SMALL - 1])[j])
        for i in range(0, len(x), SMALL - 1)
        for j in range(min(SMALL - 1, len(x) - i))
    ]
    assert few == many
    cat = CARD.variables[1]
    values = ["greenhouse", "breeder", "other", "x", None, float("nan"), 3, "", "Other"]
    many_cats = cat.bin_values(values * SMALL).tolist()[: len(values)]
    assert cat.bin_values(values).tolist() == many_cats == [0, 0, 1, 2, 2, 2, 2, 2, 2]
