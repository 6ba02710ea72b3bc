"""A demo loan history: past loans of households like the bank's, with a known default process.

The demo's scorecard is trained on this, so its AUC measures how well training recovers a process we
wrote down (below), not noise. Pure numpy/pandas; deterministic for a seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TARGET = "outcome"
BAD = "default"

SEGMENT_RISK = {
    "greenhouse": -0.15,
    "breeder": 0.05,
    "business": 0.2,
    "smb_owner": 0.1,
    "salaried": -0.25,
    "other": 0.3,
}


def default_logit(f: dict[str, np.ndarray]) -> np.ndarray:
    """The true log-odds of default the demo bank's history follows."""
    age = f["age"].astype(float)
    disposable = np.maximum(f["disposable_income_yuan"].astype(float), 0)
    net = np.maximum(f["net_assets_yuan"].astype(float), 0)
    return (
        -2.6
        + 0.75 * np.minimum(f["overdue_count_24m"], 6)
        + 1.6 * (f["current_overdue_yuan"] > 0)
        + 0.018 * np.maximum(f["debt_ratio_pct"] - 35, 0).clip(max=100)
        - 0.55 * np.log1p(disposable / 20_000)
        - 0.35 * np.log1p(net / 200_000)
        + 0.22 * np.minimum(f["inquiries_6m"], 8)
        + 0.5 * (age < 26)
        + 0.45 * (age > 60)
        + np.vectorize(lambda s: SEGMENT_RISK.get(s, 0.3))(f["segment"])
    )


def loan_history(features: dict[str, np.ndarray], *, seed: int, noise: float = 0.25) -> pd.DataFrame:
    """One past loan per row: the borrower's features when the loan was granted and its outcome."""
    rng = np.random.default_rng(seed)
    n = len(features["age"])
    jittered = dict(features)
    for key in ("disposable_income_yuan", "net_assets_yuan", "annual_income_yuan"):
        jittered[key] = (features[key] * rng.lognormal(0, noise, n)).astype(np.int64)
    p = 1 / (1 + np.exp(-default_logit(jittered)))
    bad = rng.random(n) < p
    frame = pd.DataFrame(dict(jittered.items()))
    frame[TARGET] = np.where(bad, BAD, "repaid")
    return frame
