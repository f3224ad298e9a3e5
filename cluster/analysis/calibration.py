"""From non-mated pair scores to FPIR at any watchlist size, and a threshold per size.

Two models of the pair rate p(t) (chance that one non-mated comparison reaches ``t``):

- isotropic: embeddings as independent random unit vectors in 128 dimensions
  (``actors.false_match``); exact, but real faces share structure and score higher;
- fitted: a normal distribution fitted to the measured non-mated pair scores; it follows the real
  embedder, but its far tail is an extrapolation from a few hundred pairs.

FPIR at watchlist size N is ``1 - (1 - p)^N`` in both (the closed form); :func:`simulate_fpir` draws
best-of-N impostor scores to check it. The recommended threshold is the stricter of the two models
(pass the fit's :meth:`NormalTail.upper_bound` to allow for how few pairs it was fitted on).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.stats import chi2, norm

from actors.false_match import (
    false_positive_identification_rate,
    simulate_best_impostor,
    threshold_for_fpir,
)
from cluster.analysis.errors import AnalysisDataError
from cluster.analysis.scores import FloatArray, fnir

WATCHLIST_SIZES = (1_000, 10_000, 100_000, 1_000_000)
EMBEDDING_DIM = 128
_SIM_BLOCK = 1 << 22  # draws held at once by simulate_fpir (32 MiB of float64)


@dataclass(frozen=True)
class NormalTail:
    """A normal model of non-mated pair scores."""

    mean: float
    std: float
    pairs: int  # how many scores it was fitted on

    def pair_rate(self, threshold: float) -> float:
        """P(one non-mated pair scores >= threshold)."""
        return float(norm.sf(threshold, self.mean, self.std))

    def upper_bound(self, confidence: float = 0.95) -> NormalTail:
        """The same model with mean and spread at their one-sided ``confidence`` upper bounds.

        Treats the pairs as independent, which they are not quite (each probe appears in several), so
        the bound is still optimistic; it guards against the small samples the fit is made from.
        """
        if not 0.5 <= confidence < 1.0:
            raise ValueError(f"confidence must be in [0.5, 1), got {confidence}")
        dof = self.pairs - 1
        std = self.std * math.sqrt(dof / float(chi2.ppf(1.0 - confidence, dof)))
        mean = self.mean + float(norm.ppf(confidence)) * self.std / math.sqrt(self.pairs)
        return NormalTail(mean, std, self.pairs)

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        """Draw ``size`` non-mated pair scores."""
        return rng.normal(self.mean, self.std, size)


def fit_normal_tail(nonmated_pairs: FloatArray) -> NormalTail:
    """Fit mean and spread; needs at least 10 scores with some spread."""
    if len(nonmated_pairs) < 10:
        raise AnalysisDataError(f"at least 10 non-mated pair scores are needed, got {len(nonmated_pairs)}")
    std = float(np.std(nonmated_pairs, ddof=1))
    if std <= 0:
        raise AnalysisDataError("the non-mated pair scores are all equal: cannot fit their spread")
    return NormalTail(float(np.mean(nonmated_pairs)), std, len(nonmated_pairs))


def fpir_closed_form(pair_rate: float, watchlist_size: int) -> float:
    """``1 - (1 - p)^N``, computed without cancellation for tiny ``p``."""
    if pair_rate >= 1.0:
        return 1.0
    return -math.expm1(watchlist_size * math.log1p(-pair_rate))


def fitted_fpir(tail: NormalTail, threshold: float, watchlist_size: int) -> float:
    """FPIR at ``watchlist_size`` under the fitted normal model."""
    return fpir_closed_form(tail.pair_rate(threshold), watchlist_size)


def isotropic_fpir(threshold: float, watchlist_size: int) -> float:
    """FPIR at ``watchlist_size`` under the isotropic 128-d model."""
    return false_positive_identification_rate(threshold, watchlist_size, EMBEDDING_DIM)


def fitted_threshold(tail: NormalTail, target_fpir: float, watchlist_size: int) -> float:
    """The threshold at which the fitted model's FPIR equals ``target_fpir``."""
    if not 0.0 < target_fpir < 1.0:
        raise ValueError(f"target_fpir must be in (0, 1), got {target_fpir}")
    return float(brentq(lambda t: fitted_fpir(tail, t, watchlist_size) - target_fpir, -1.0, 2.0, xtol=1e-9))


def simulate_fpir(
    draw_best: Callable[[int], FloatArray], thresholds: FloatArray, searches: int
) -> FloatArray:
    """Share of ``searches`` simulated non-mated searches whose best score reaches each threshold."""
    best = np.sort(draw_best(searches))
    return np.asarray(1.0 - np.searchsorted(best, thresholds, side="left") / searches, np.float64)


def best_of_fitted(
    tail: NormalTail, watchlist_size: int, rng: np.random.Generator
) -> Callable[[int], FloatArray]:
    """A drawer of best-of-N scores from the fitted model, N = ``watchlist_size`` (bounded memory)."""

    def draw(searches: int) -> FloatArray:
        best = np.full(searches, -np.inf)
        per_block = max(1, _SIM_BLOCK // watchlist_size)
        for start in range(0, searches, per_block):
            rows = min(per_block, searches - start)
            if watchlist_size <= _SIM_BLOCK:
                block = tail.sample(rng, rows * watchlist_size).reshape(rows, watchlist_size)
                best[start : start + rows] = block.max(axis=1)
            else:  # one search at a time, its gallery in chunks
                for row in range(start, start + rows):
                    for done in range(0, watchlist_size, _SIM_BLOCK):
                        chunk = tail.sample(rng, min(_SIM_BLOCK, watchlist_size - done))
                        best[row] = max(best[row], float(chunk.max()))
        return best

    return draw


def best_of_isotropic(watchlist_size: int, rng: np.random.Generator) -> Callable[[int], FloatArray]:
    """A drawer of best-of-N cosines of random unit vectors (``actors.false_match``)."""

    def draw(searches: int) -> FloatArray:
        best = simulate_best_impostor(watchlist_size, searches, EMBEDDING_DIM, rng)
        return np.asarray(best, np.float64)

    return draw


@dataclass(frozen=True)
class ThresholdChoice:
    """The threshold for one watchlist size, with what it costs in missed matches."""

    watchlist_size: int
    target_fpir: float
    isotropic_threshold: float
    fitted_threshold: float
    recommended: float  # the stricter of the two
    fnir: float  # share of the measured mated searches it misses


def recommend_thresholds(
    tail: NormalTail,
    mated_searches: FloatArray,
    target_fpir: float,
    sizes: Sequence[int] = WATCHLIST_SIZES,
) -> list[ThresholdChoice]:
    """One :class:`ThresholdChoice` per watchlist size."""
    choices = []
    for size in sizes:
        iso = threshold_for_fpir(target_fpir, size, EMBEDDING_DIM)
        fit = fitted_threshold(tail, target_fpir, size)
        chosen = max(iso, fit)
        choices.append(
            ThresholdChoice(
                watchlist_size=size,
                target_fpir=target_fpir,
                isotropic_threshold=iso,
                fitted_threshold=fit,
                recommended=chosen,
                fnir=float(fnir(mated_searches, np.array([chosen]))[0]),
            )
        )
    return choices
