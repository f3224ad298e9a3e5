"""Isotropic false-match model: closed forms, simulation agreement and threshold inversion."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from actors.false_match import (
    false_positive_identification_rate,
    pair_false_match_rate,
    simulate_best_impostor,
    threshold_for_fpir,
)

THRESHOLDS = np.linspace(-0.95, 0.95, 39)


@pytest.mark.parametrize("t", THRESHOLDS)
def test_pair_rate_matches_low_dimensional_closed_forms(t: float) -> None:
    # On the 2-sphere the cosine is uniform on [-1, 1] (Archimedes); on the circle the angle is uniform.
    assert pair_false_match_rate(t, dim=3) == pytest.approx((1 - t) / 2, abs=1e-12)
    assert pair_false_match_rate(t, dim=2) == pytest.approx(math.acos(t) / math.pi, abs=1e-12)


def test_pair_rate_edges_symmetry_and_monotonicity() -> None:
    # For t < 0 the rate rounds to 1 in double precision; the symmetry check below covers that side.
    rates = [pair_false_match_rate(t) for t in THRESHOLDS if t >= 0]
    assert all(a > b for a, b in itertools.pairwise(rates))
    assert pair_false_match_rate(0.0) == pytest.approx(0.5)
    for t in THRESHOLDS:
        assert pair_false_match_rate(t) + pair_false_match_rate(-t) == pytest.approx(1.0, abs=1e-12)
    assert pair_false_match_rate(1.0) == 0.0
    assert pair_false_match_rate(-1.0) == 1.0


def _within_sampling_error(empirical: float, p: float, n: int, sigmas: float = 4.5) -> bool:
    return abs(empirical - p) <= sigmas * math.sqrt(p * (1 - p) / n) + 1 / n


@pytest.mark.parametrize("dim", [16, 128])
def test_pair_rate_agrees_with_simulation(dim: int) -> None:
    cosines = simulate_best_impostor(1, 100_000, dim, np.random.default_rng(dim))
    for t in (0.05, 0.1, 0.2):
        p = pair_false_match_rate(t, dim)
        assert _within_sampling_error(float(np.mean(cosines > t)), p, cosines.size), (dim, t)


@pytest.mark.parametrize(("gallery_size", "dim"), [(20_000, 128), (2_000, 32)])
def test_fpir_agrees_with_simulation(gallery_size: int, dim: int) -> None:
    n_queries = 2000
    best = simulate_best_impostor(gallery_size, n_queries, dim, np.random.default_rng(gallery_size))
    for target in (0.05, 0.5, 0.95):
        t = threshold_for_fpir(target, gallery_size, dim)
        p = false_positive_identification_rate(t, gallery_size, dim)
        assert _within_sampling_error(float(np.mean(best > t)), p, n_queries), (gallery_size, dim, target)


def test_fpir_is_stable_for_tiny_pair_rates() -> None:
    p = pair_false_match_rate(0.7)
    assert 0 < p < 1e-17  # 1 - (1 - p)**N would round to exactly 0 here
    assert false_positive_identification_rate(0.7, 1_000_000) == pytest.approx(1_000_000 * p, rel=1e-9)
    assert false_positive_identification_rate(0.3, 1) == pytest.approx(pair_false_match_rate(0.3), rel=1e-12)
    assert false_positive_identification_rate(0.3, 0) == 0.0


@pytest.mark.parametrize("gallery_size", [1, 1_000, 1_000_000])
@pytest.mark.parametrize("target", [1e-6, 1e-3, 0.01, 0.5, 0.99])
def test_threshold_for_fpir_inverts_fpir(gallery_size: int, target: float) -> None:
    t = threshold_for_fpir(target, gallery_size)
    assert false_positive_identification_rate(t, gallery_size) == pytest.approx(target, rel=1e-6)


def test_threshold_rises_with_gallery_size() -> None:
    thresholds = [threshold_for_fpir(0.01, n) for n in (1_000, 10_000, 100_000, 1_000_000)]
    assert all(a < b for a, b in itertools.pairwise(thresholds))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: threshold_for_fpir(0.0, 100), "target_fpir"),
        (lambda: threshold_for_fpir(1.0, 100), "target_fpir"),
        (lambda: threshold_for_fpir(0.1, 0), "gallery_size"),
        (lambda: pair_false_match_rate(0.5, dim=1), "dim"),
        (lambda: false_positive_identification_rate(0.5, -1), "gallery_size"),
        (lambda: simulate_best_impostor(0, 10, 128, np.random.default_rng(0)), "gallery_size"),
    ],
)
def test_invalid_arguments(call: object, message: str) -> None:
    assert callable(call)
    with pytest.raises(ValueError, match=message):
        call()
