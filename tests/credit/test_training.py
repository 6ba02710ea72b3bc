"""Scorecard training: German credit against scorecardpy, the compiled scorer, refusals, the `model` command, PSI."""

from __future__ import annotations

import importlib
import inspect
import io
import json
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from xinedai.core.models import AuditEntry
from xinedai.credit.models import ScoreModel
from xinedai.credit.scorecard import CATEGORICAL, NUMERIC, Scorecard
from xinedai.credit.training import TrainingResult, performance, psi, train_scorecard

TARGET, BAD = "creditability", "bad"


@pytest.fixture(scope="module")
def german() -> pd.DataFrame:
    import scorecardpy as sc

    return sc.germancredit()


@pytest.fixture(scope="module")
def trained(german: pd.DataFrame) -> TrainingResult:
    return train_scorecard(german, target=TARGET, bad_value=BAD)


def reference_scores(result: TrainingResult, frame: pd.DataFrame) -> np.ndarray:
    with warnings.catch_warnings():
        # optbinning 1.0 calls DataFrame.reset_index(inplace=True), deprecated in pandas 3.1.
        from pandas.errors import Pandas4Warning

        warnings.filterwarnings("ignore", category=Pandas4Warning, module=r"optbinning\.")
        return np.asarray(result.estimator.score(frame))


# --- German credit: quality against a plain scorecardpy card on the same split ---------------------------------


@contextmanager
def scorecardpy_on_pandas3() -> Iterator[None]:
    """scorecardpy 0.1.9.7 replaces categorical columns through `df.loc[:, col] = …`, which pandas 3 refuses
    ("Cannot set a Categorical with another, without identical categories"). For the comparison only, swap in
    copies of the four affected functions with `df[col] = …`, and silence the library's deprecation noise."""
    wb = importlib.import_module("scorecardpy.woebin")  # the package re-exports woebin(), hiding the module
    pattern = re.compile(r"(\w+)\.loc\[:,\s*('bin'|'bstbin'\+str\(i\))\]\s*=")
    originals = {}
    for name in ("check_empty_bins", "woebin2_breaks", "woebin2_init_bin", "woebin2_tree_add_1brkp"):
        source, n = pattern.subn(r"\1[\2] =", inspect.getsource(getattr(wb, name)))
        assert n, f"scorecardpy.woebin.{name} changed; revisit this shim"
        namespace: dict[str, object] = {}
        with warnings.catch_warnings():
            # Its docstrings hold invalid "\\[" escapes: DeprecationWarning on 3.11, SyntaxWarning from 3.12.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", SyntaxWarning)
            exec(compile(source, wb.__file__, "exec"), wb.__dict__, namespace)
        originals[name] = getattr(wb, name)
        setattr(wb, name, namespace[name])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            yield
    finally:
        for name, fn in originals.items():
            setattr(wb, name, fn)


def scorecardpy_scores(german: pd.DataFrame, train_index: pd.Index, test_index: pd.Index) -> np.ndarray:
    """scorecardpy's README recipe: var_filter, woebin, woebin_ply, L1 logistic regression, scorecard(_ply)."""
    import scorecardpy as sc
    from sklearn.linear_model import LogisticRegression

    data = german.assign(y=(german[TARGET] == BAD).astype(int)).drop(columns=[TARGET])
    train, test = data.loc[train_index], data.loc[test_index]
    with scorecardpy_on_pandas3():
        train = sc.var_filter(train, y="y")
        test = test[train.columns]
        bins = sc.woebin(train, y="y", no_cores=1, ignore_datetime_cols=False)
        train_woe = sc.woebin_ply(train, bins, no_cores=1)
        x_train = train_woe.drop(columns="y")
        lr = LogisticRegression(l1_ratio=1.0, C=0.9, solver="saga", max_iter=5000, random_state=0)
        lr.fit(x_train, train_woe["y"])
        card = sc.scorecard(bins, lr, list(x_train.columns), points0=600, odds0=1 / 50, pdo=20)
        scored = sc.scorecard_ply(test, card, print_step=0)
    return scored["score"].to_numpy()


def test_german_credit_is_at_least_as_good_as_scorecardpy_on_the_same_split(german, trained):
    y_test = (german.loc[trained.test_index, TARGET] == BAD).to_numpy()
    theirs = performance(y_test, scorecardpy_scores(german, trained.train_index, trained.test_index))
    ours = trained.report["test"]
    assert ours["auc"] >= 0.75
    assert ours["auc"] >= theirs["auc"] - 0.01, (ours, theirs)
    assert ours["gini"] == pytest.approx(2 * ours["auc"] - 1, abs=1e-5)
    assert 0 < ours["ks"] < 1
    print(f"\nours {ours}\nscorecardpy {theirs}")  # noqa: T201 - the figures for the record (pytest -s)


def test_report_describes_the_training(trained):
    r = trained.report
    json.dumps(r, allow_nan=False)  # storable in PostgreSQL jsonb: no NaN anywhere
    assert (r["n_train"], r["n_test"], r["n_missing_target"]) == (700, 300, 0)
    assert r["bad_rate_train"] == pytest.approx(0.3, abs=1e-3)
    assert (r["base_score"], r["base_odds"], r["pdo"]) == (600, 50.0, 20.0)
    assert r["train"]["auc"] > 0.75
    assert r["training_seconds"] > 0 and set(r["versions"]) >= {"optbinning", "sklearn", "pandas"}
    ivs = {row["variable"]: row for row in r["iv"]}
    assert len(ivs) == len(german_columns()) - 1
    assert ivs["status_of_existing_checking_account"]["status"] == "selected"
    for row in ivs.values():
        if row["status"] == "dropped":
            assert row["iv"] < 0.02 and row["reason"] == "IV below 0.02"
        else:
            assert row["iv"] >= 0.02
    selected = [row["variable"] for row in r["iv"] if row["status"] == "selected"]
    assert sorted(selected) == sorted(trained.scorecard.names)
    for v, var in zip(r["variables"], trained.scorecard.variables, strict=True):
        assert v["variable"] == var.name
        assert [b["points"] for b in v["bins"]] == list(var.table)
        assert v["bins"][-1]["label"] == "missing"
        assert sum(b["count"] for b in v["bins"]) == r["n_train"]
    duration = trained.scorecard.variables[trained.scorecard.names.index("duration_in_month")]
    assert duration.kind == NUMERIC
    assert list(duration.points) == sorted(duration.points, reverse=True)  # longer loans, fewer points
    bands = r["psi_baseline"]
    assert len(bands["proportions"]) == len(bands["edges"]) + 1 == 10
    assert sum(bands["proportions"]) == pytest.approx(1.0)


def german_columns() -> list[str]:
    import scorecardpy as sc

    return list(sc.germancredit().columns)


# --- the compiled scorer is optbinning's scorer ------------------------------------------------------------------


def test_compiled_scores_equal_optbinning_scores_on_every_row(trained, german):
    card = trained.scorecard
    expected = reference_scores(trained, trained.features)
    assert np.all(expected == np.rint(expected))
    ours = card.score({n: trained.features[n].to_numpy() for n in card.names})
    assert ours.dtype == np.int32
    assert np.array_equal(ours, expected.astype(np.int64))
    for index in (trained.train_index, trained.test_index):
        assert np.array_equal(
            card.score({n: german.loc[index, n].to_numpy() for n in card.names}),
            expected[trained.features.index.get_indexer(index)].astype(np.int64),
        )
    assert card.intercept_points == 0  # intercept_based=False: the intercept is spread over the variables


def test_round_trip_through_the_stored_dict_scores_the_same(trained, german):
    stored = json.loads(json.dumps(trained.scorecard.to_dict(), allow_nan=False))
    again = Scorecard.from_dict(stored)
    columns = {n: german[n].to_numpy() for n in again.names}
    assert again == Scorecard.from_dict(trained.scorecard.to_dict())
    assert np.array_equal(again.score(columns), trained.scorecard.score(columns))


def test_missing_and_unseen_values_get_the_missing_points(trained, german):
    card = trained.scorecard
    frame = german.loc[:3, card.names].copy()
    frame = frame.astype(dict.fromkeys(card.names, object))
    frame.iloc[0] = np.nan
    frame.iloc[1] = [("never seen" if v.kind == CATEGORICAL else np.nan) for v in card.variables]
    ours = card.score({n: frame[n].to_numpy() for n in card.names})
    missing_total = card.intercept_points + sum(v.missing_points for v in card.variables)
    assert ours[0] == ours[1] == missing_total
    typed = trained.features.loc[:3].copy()  # optbinning wants every candidate column, used or not
    typed.loc[0, card.names] = np.nan
    typed.loc[1, card.names] = [("never seen" if v.kind == CATEGORICAL else np.nan) for v in card.variables]
    assert np.array_equal(ours, reference_scores(trained, typed).astype(np.int64))


# --- any data set, and refusals ----------------------------------------------------------------------------------


def synthetic(n: int = 3000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(8.5, 0.6, n)
    land = rng.gamma(2.0, 3.0, n)
    village = rng.choice(["plains", "hills", "river", "town", None], n, p=[0.35, 0.25, 0.2, 0.15, 0.05])
    no_village = np.array([v is None for v in village])
    shift = np.select([village == "hills", village == "town", no_village], [0.8, -0.6, 0.5], 0.0)
    risk = -1.2 - 0.9 * (np.log(income) - 8.5) - 0.08 * (land - 6) + shift
    default = rng.random(n) < 1 / (1 + np.exp(-risk))
    income[rng.random(n) < 0.08] = np.nan
    return pd.DataFrame(
        {
            "loan_ref": [f"L{100000 + i}" for i in range(n)],
            "monthly_income_yuan": income.round(0),
            "land_mu": land.round(1),
            "village_type": village,
            "branch": "Linyi",
            "noise": rng.normal(size=n),
            "applied_at": pd.date_range("2025-01-01", periods=n, freq="h"),
            "status": np.where(default, "D", "P"),
        }
    )


def test_trainer_assumes_no_columns_of_its_own():
    df = synthetic()
    result = train_scorecard(df, target="status", bad_value="D", seed=1)
    ivs = {row["variable"]: row for row in result.report["iv"]}
    assert ivs["loan_ref"]["status"] == "dropped" and "ID-like" in ivs["loan_ref"]["reason"]
    assert ivs["branch"] == {
        "variable": "branch",
        "kind": None,
        "iv": None,
        "n_bins": None,
        "status": "dropped",
        "reason": "constant",
    }
    assert ivs["applied_at"]["reason"].startswith("unsupported dtype")
    assert ivs["noise"]["status"] == "dropped"
    card = result.scorecard
    assert set(card.names) == {"monthly_income_yuan", "land_mu", "village_type"}
    kinds = {v.name: v.kind for v in card.variables}
    assert kinds == {"monthly_income_yuan": NUMERIC, "land_mu": NUMERIC, "village_type": CATEGORICAL}
    scores = card.score({n: df[n].to_numpy() for n in card.names})
    assert np.array_equal(scores, reference_scores(result, result.features).astype(np.int64))
    assert result.report["test"]["auc"] > 0.65
    village = card.variables[card.names.index("village_type")]
    assert "town" in {c for group in village.categories for c in group}
    no_village = df["village_type"].isna().to_numpy()
    bins = village.bin_values(df["village_type"].to_numpy())
    assert np.all(bins[no_village] == village.n_bins)
    assert np.all(bins[~no_village] < village.n_bins)


def test_max_variables_and_exclude():
    result = train_scorecard(synthetic(), target="status", bad_value="D", max_variables=1, exclude=["land_mu"])
    assert len(result.scorecard.names) == 1
    ivs = {row["variable"]: row for row in result.report["iv"]}
    assert ivs["land_mu"]["reason"] == "excluded"
    assert any(row["reason"] == "not among the 1 highest IVs" for row in ivs.values())


def test_bad_value_given_as_text_matches_a_numeric_target():
    df = synthetic().assign(status=lambda d: (d["status"] == "D").astype(int))
    result = train_scorecard(df, target="status", bad_value="1")
    assert result.report["bad_rate_train"] == pytest.approx(df["status"].mean(), abs=0.01)


@pytest.mark.parametrize(
    ("change", "target", "bad", "message"),
    [
        (lambda d: d, "outcome", "D", "target column 'outcome' is not in the data"),
        (lambda d: d.assign(status="P"), "status", "D", "one class only"),
        (lambda d: d, "status", "X", "bad value 'X' does not occur"),
        (lambda d: d.assign(status=np.where(d.index < 1, "D", "P")), "status", "D", "at least 2 good and 2 bad"),
        (lambda d: d[["status", "loan_ref", "branch"]], "status", "D", "no usable candidate variable"),
        (lambda d: d[["status", "noise"]], "status", "D", "no variable reaches IV >= 0.5"),
    ],
)
def test_refusals(change, target, bad, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        train_scorecard(change(synthetic(800)), target=target, bad_value=bad, min_iv=0.5)


# --- PSI --------------------------------------------------------------------------------------------------------


def test_psi_is_zero_on_the_baseline_and_large_on_shifted_scores(trained):
    card, baseline = trained.scorecard, trained.report["psi_baseline"]
    scores = card.score({n: trained.features.loc[trained.train_index, n].to_numpy() for n in card.names})
    assert psi(baseline, scores) == pytest.approx(0.0, abs=1e-12)
    test_scores = card.score({n: trained.features.loc[trained.test_index, n].to_numpy() for n in card.names})
    assert psi(baseline, test_scores) < 0.1
    assert psi(baseline, scores + 25) > 0.1
    assert psi(baseline, scores - 25) > 0.1


# --- the command --------------------------------------------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("model", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_model_train_list_show_end_to_end(german, tmp_path):
    path = tmp_path / "german.csv"
    german.to_csv(path, index=False)

    out = run("train", str(path), "--target", TARGET, "--bad", BAD)
    m = ScoreModel.objects.get()
    assert (m.family, m.version, m.status, m.name) == ("xinedai", 1, "draft", "german.csv")
    assert m.data_description == "german.csv, 1000 rows"
    assert m.trained_at.utcoffset() is not None and m.trained_by is None
    assert m.report["test"]["auc"] >= 0.75
    card = Scorecard.from_dict(m.compiled)
    assert "status_of_existing_checking_account" in card.names
    assert f"stored model {m.pk}: xinedai v1 (draft)" in out
    assert "AUC" in out and f"{m.report['test']['auc']:.4f}" in out
    assert "Information value" in out and "duration_in_month" in out
    entry = AuditEntry.objects.get(action="credit.model.train")
    assert entry.object_id == str(m.pk)
    assert entry.after["version"] == 1 and entry.after["auc_test"] == m.report["test"]["auc"]

    run("train", str(path), "--target", TARGET, "--bad", BAD, "--name", "German v2", "--seed", "7")
    assert list(ScoreModel.objects.order_by("version").values_list("version", "name")) == [
        (1, "german.csv"),
        (2, "German v2"),
    ]

    listing = run("list")
    lines = [line for line in listing.splitlines() if "xinedai" in line]
    assert len(lines) == 2 and "German v2" in lines[0] and "draft" in lines[1]

    shown = run("show", str(m.pk))
    assert f"model {m.pk}: xinedai v1 (draft)" in shown and "Information value" in shown
    assert json.loads(run("show", str(m.pk), "--json")) == m.report


@pytest.mark.django_db
def test_model_train_refuses_bad_input_and_stores_nothing(german, tmp_path):
    path = tmp_path / "german.csv"
    german.to_csv(path, index=False)
    audits = AuditEntry.objects.count()
    cases = [
        ((str(path), "--target", "default", "--bad", BAD), "target column 'default' is not in german.csv"),
        ((str(path), "--target", TARGET, "--bad", "terrible"), "bad value 'terrible' does not occur"),
        ((str(tmp_path / "nope.csv"), "--target", TARGET, "--bad", BAD), "no such file"),
    ]
    for args, message in cases:
        with pytest.raises(CommandError, match=re.escape(message)):
            run("train", *args)
    assert ScoreModel.objects.count() == 0
    assert AuditEntry.objects.count() == audits
    with pytest.raises(CommandError, match="no model with id 999"):
        run("show", "999")


@pytest.mark.django_db
def test_parquet_without_pyarrow_says_what_to_install(tmp_path):
    import importlib.util

    if importlib.util.find_spec("pyarrow") or importlib.util.find_spec("fastparquet"):
        pytest.skip("a Parquet engine is installed")
    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(CommandError, match="pip install pyarrow"):
        run("train", str(path), "--target", "y", "--bad", "1")
    assert ScoreModel.objects.count() == 0


def test_the_command_needs_an_action():
    with pytest.raises(CommandError):
        run()
