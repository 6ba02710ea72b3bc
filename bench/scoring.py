"""Benchmark of the scoring kernel: households per second from already-binned inputs and from raw values.

    .venv/bin/python bench/scoring.py [--rows 10000000] [--variables 12]

Goals (issue 3): >= 10 million/s binned, >= 3 million/s raw (binning included), on one core.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from xinedai.credit.scorecard import NUMERIC, Scorecard, Variable


def card(k: int, rng: np.random.Generator) -> Scorecard:
    variables = []
    for j in range(k):
        n_bins = int(rng.integers(4, 9))
        edges = tuple(float(e) for e in np.sort(rng.choice(np.arange(1, 1000), n_bins - 1, replace=False)))
        points = tuple(int(p) for p in rng.integers(-30, 60, n_bins))
        variables.append(Variable(f"v{j}", NUMERIC, points=points, missing_points=0, edges=edges))
    return Scorecard(variables=tuple(variables), intercept_points=350)


def best_of(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--variables", type=int, default=12)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    sc = card(args.variables, rng)
    n = args.rows
    raw = {v.name: rng.uniform(0, 1000, n) for v in sc.variables}
    raw["v0"][::97] = np.nan  # some missing values
    bins = sc.bin_columns(raw)
    assert bins.shape == (n, args.variables)
    t_binned = best_of(lambda: sc.score_binned(bins))
    t_raw = best_of(lambda: sc.score(raw))
    one = {k: v[:1] for k, v in raw.items()}
    t_one = best_of(lambda: [sc.score(one) for _ in range(1000)]) / 1000
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    print(f"machine   {os.cpu_count()} cores · {cpu} · numpy {np.__version__} · Python {platform.python_version()}")
    print(f"card      {args.variables} numeric variables, {sum(v.n_bins for v in sc.variables)} bins")
    print(f"binned    {n:,} rows in {t_binned:.3f} s = {n / t_binned / 1e6:.1f} million/s (goal >= 10)")
    print(f"raw       {n:,} rows in {t_raw:.3f} s = {n / t_raw / 1e6:.1f} million/s (goal >= 3)")
    print(f"one       {t_one * 1e6:.0f} µs per single applicant (same function)")


if __name__ == "__main__":
    main()
