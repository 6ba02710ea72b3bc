"""The compiled scorecard: bin edges and points per variable, applied to whole arrays with numpy.

A pure module (numpy only, no Django): the trainer produces a `Scorecard`, the database stores its
`to_dict()`, and one household or a million go through the same `bin_columns` + `score_binned`.

Bins. A numeric variable with split points s0 < s1 < … < s(k-1) has k+1 bins: (-inf, s0), [s0, s1),
…, [s(k-1), inf) — the convention of optbinning — so a value's bin is searchsorted(edges, x, "right").
A categorical variable lists the categories of each bin. The last bin index of every variable
(`n_bins`) is "missing": NaN, None, or a category the model never saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NUMERIC = "numeric"
CATEGORICAL = "categorical"
# Below this many values a variable is binned with one searchsorted (or a dict look-up per category): for
# one applicant, numpy's per-call cost, not the arithmetic, is what counts.
SMALL = 64


@dataclass(frozen=True)
class Variable:
    name: str
    kind: str
    points: tuple[int, ...]  # one per bin, missing bin excluded
    missing_points: int
    edges: tuple[float, ...] = ()
    categories: tuple[tuple[str, ...], ...] = ()
    iv: float = 0.0
    labels: tuple[str, ...] = ()  # human-readable bin labels, for reports and reasons

    @property
    def n_bins(self) -> int:
        return len(self.points)

    def __post_init__(self) -> None:
        if not 1 <= len(self.points) < 255:
            raise ValueError(f"{self.name}: 1 to 254 bins (bin indices are one byte, the missing bin included)")
        if self.kind == NUMERIC:
            if len(self.points) != len(self.edges) + 1:
                raise ValueError(f"{self.name}: {len(self.edges)} edges need {len(self.edges) + 1} points")
            if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
                raise ValueError(f"{self.name}: edges must increase")
        elif self.kind == CATEGORICAL:
            if len(self.points) != len(self.categories):
                raise ValueError(f"{self.name}: one point value per category group")
        else:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")
        # Built once for bin_values: the edges as an array, each category's bin.
        object.__setattr__(self, "_edges", np.asarray(self.edges, dtype=np.float64))
        object.__setattr__(self, "_lookup", {cat: i for i, group in enumerate(self.categories) for cat in group})

    @property
    def table(self) -> tuple[int, ...]:
        """Points by bin index, the missing bin last."""
        return (*self.points, self.missing_points)

    def bin_values(self, values: Any) -> np.ndarray:
        """Bin indices (uint8) of an array of raw values: the hot path of scoring from raw values."""
        if self.kind == NUMERIC:
            x = np.asarray(values, dtype=np.float64)
            if len(self.edges) > 16 or x.size < SMALL:
                edges: np.ndarray = self._edges  # type: ignore[attr-defined]
                idx = np.searchsorted(edges, x, side="right").astype(np.uint8)
                idx[np.isnan(x)] = self.n_bins
                return idx
            # A scorecard has a handful of bins: one vectorised comparison per split point is about four
            # times faster than searchsorted. NaN compares False everywhere and is sent to the missing bin.
            out = np.zeros(x.shape, dtype=np.uint8)
            for edge in self.edges:
                out += x >= edge
            out += np.isnan(x) * np.uint8(self.n_bins)
            return out
        lookup: dict[str, int] = self._lookup  # type: ignore[attr-defined]
        if len(values) < SMALL:  # one applicant: no numpy detour per category
            return np.fromiter(
                (
                    self.n_bins if v is None or (isinstance(v, float) and v != v) else lookup.get(str(v), self.n_bins)
                    for v in values
                ),
                dtype=np.uint8,
                count=len(values),
            )
        arr = np.asarray(values, dtype=object)
        codes, inverse = np.unique(arr.astype(str), return_inverse=True)
        mapped = np.array([lookup.get(c, self.n_bins) for c in codes], dtype=np.uint8)
        out = mapped[inverse]
        out[np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in arr], dtype=bool)] = self.n_bins
        return out


@dataclass(frozen=True)
class Scorecard:
    """Points scorecard: score = intercept_points + Σ points(variable's bin)."""

    variables: tuple[Variable, ...]
    intercept_points: int
    base_score: int = 600
    base_odds: float = 50.0
    pdo: float = 20.0
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.variables:
            raise ValueError("a scorecard needs at least one variable")
        tables = [v.table for v in self.variables]
        offsets = np.cumsum([0, *[len(t) for t in tables[:-1]]]).astype(np.intp)
        object.__setattr__(self, "_flat", np.concatenate([np.asarray(t, dtype=np.int32) for t in tables]))
        object.__setattr__(self, "_offsets", offsets)
        object.__setattr__(self, "_max", np.asarray([max(t) for t in tables], dtype=np.int32))

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    def bin_columns(self, columns: Mapping[str, Any]) -> np.ndarray:
        """(n, k) uint8 bin indices from raw columns (name → array-like)."""
        return np.column_stack([v.bin_values(columns[v.name]) for v in self.variables])

    def score_binned(self, bins: np.ndarray) -> np.ndarray:
        """Scores (int32) of an (n, k) matrix of bin indices."""
        flat: np.ndarray = self._flat  # type: ignore[attr-defined]
        offsets: np.ndarray = self._offsets  # type: ignore[attr-defined]
        total = np.full(bins.shape[0], self.intercept_points, dtype=np.int32)
        for j in range(bins.shape[1]):
            total += flat[offsets[j] + bins[:, j]]
        return total

    def score(self, columns: Mapping[str, Any]) -> np.ndarray:
        """Scores from raw columns. Same result as score_binned(bin_columns(...)), without the bin matrix."""
        flat: np.ndarray = self._flat  # type: ignore[attr-defined]
        offsets: np.ndarray = self._offsets  # type: ignore[attr-defined]
        total: np.ndarray | None = None
        for j, v in enumerate(self.variables):
            pts = flat[offsets[j] + v.bin_values(columns[v.name])]
            total = pts + self.intercept_points if total is None else total + pts
        if total is None:
            raise ValueError("a scorecard needs at least one variable")
        return total.astype(np.int32, copy=False)

    def points_binned(self, bins: np.ndarray) -> np.ndarray:
        """(n, k) points earned per variable."""
        flat: np.ndarray = self._flat  # type: ignore[attr-defined]
        offsets: np.ndarray = self._offsets  # type: ignore[attr-defined]
        return flat[offsets[None, :] + bins.astype(np.intp)]

    def reasons(self, bins_row: Sequence[int], top: int = 3) -> list[dict[str, Any]]:
        """The variables that cost the applicant most points against their best bin (reason codes)."""
        row = np.asarray(bins_row, dtype=np.intp)[None, :]
        earned = self.points_binned(row)[0]
        lost = self._max - earned  # type: ignore[attr-defined]
        order = np.argsort(-lost, kind="stable")
        out = []
        for j in order[:top]:
            if lost[j] <= 0:
                break
            v = self.variables[j]
            b = int(row[0, j])
            label = "missing" if b == v.n_bins else (v.labels[b] if b < len(v.labels) else str(b))
            out.append({"variable": v.name, "bin": label, "points": int(earned[j]), "points_lost": int(lost[j])})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "intercept_points": self.intercept_points,
            "base_score": self.base_score,
            "base_odds": self.base_odds,
            "pdo": self.pdo,
            "meta": dict(self.meta),
            "variables": [
                {
                    "name": v.name,
                    "kind": v.kind,
                    "points": list(v.points),
                    "missing_points": v.missing_points,
                    "edges": list(v.edges),
                    "categories": [list(c) for c in v.categories],
                    "iv": v.iv,
                    "labels": list(v.labels),
                }
                for v in self.variables
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scorecard:
        variables = tuple(
            Variable(
                name=v["name"],
                kind=v["kind"],
                points=tuple(int(p) for p in v["points"]),
                missing_points=int(v["missing_points"]),
                edges=tuple(float(e) for e in v.get("edges", ())),
                categories=tuple(tuple(str(c) for c in g) for g in v.get("categories", ())),
                iv=float(v.get("iv", 0.0)),
                labels=tuple(v.get("labels", ())),
            )
            for v in data["variables"]
        )
        return cls(
            variables=variables,
            intercept_points=int(data["intercept_points"]),
            base_score=int(data.get("base_score", 600)),
            base_odds=float(data.get("base_odds", 50.0)),
            pdo=float(data.get("pdo", 20.0)),
            meta=dict(data.get("meta", {})),
        )


def psi(baseline: Mapping[str, Any], scores: np.ndarray) -> float:
    """Population stability index of new scores against the stored training bands."""
    edges = np.asarray(baseline["edges"], dtype=np.float64)
    expected = np.asarray(baseline["proportions"], dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        raise ValueError("no scores to compare")
    actual = np.bincount(np.searchsorted(edges, s, side="right"), minlength=len(edges) + 1) / s.size
    # An empty band would make the log infinite; the usual floor keeps PSI finite and still large.
    e = np.clip(expected, 1e-4, None)
    a = np.clip(actual, 1e-4, None)
    return float(np.sum((a - e) * np.log(a / e)))
