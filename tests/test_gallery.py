"""Gallery search: exact correctness, padding, validation, ScaNN recall and build_index selection."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from actors.gallery import (
    SCANN_MIN_SIZE,
    SCANN_MIN_TRAIN_SIZE,
    ExactIndex,
    GalleryIndex,
    ScannIndex,
    SearchResult,
    build_index,
)
from cluster.bench.gallery import genuine_queries, random_unit_vectors

DIM = 128


def _gallery(n: int, seed: int = 0) -> np.ndarray:
    return random_unit_vectors(n, DIM, np.random.default_rng(seed))


def _assert_well_formed(result: SearchResult, n_queries: int, k: int) -> None:
    assert result.indices.shape == result.similarities.shape == (n_queries, k)
    assert result.indices.dtype == np.int64
    assert result.similarities.dtype == np.float32
    assert np.all(result.similarities[:, :-1] >= result.similarities[:, 1:])
    assert np.array_equal(result.indices == -1, np.isneginf(result.similarities))


def test_exact_returns_true_neighbour() -> None:
    gallery = _gallery(5000)
    queries, truth = genuine_queries(gallery, 200, np.random.default_rng(1))
    result = ExactIndex(gallery).search(queries, 1)
    _assert_well_formed(result, 200, 1)
    assert np.array_equal(result.indices[:, 0], truth)
    np.testing.assert_allclose(result.similarities[:, 0], 0.6, atol=1e-5)


def test_exact_top_k_matches_full_sort() -> None:
    gallery = _gallery(1000)
    queries = random_unit_vectors(20, DIM, np.random.default_rng(2))
    result = ExactIndex(gallery).search(queries, 10)
    _assert_well_formed(result, 20, 10)
    sims = queries @ gallery.T
    expected = np.argsort(-sims, axis=1)[:, :10]
    assert np.array_equal(result.indices, expected)
    np.testing.assert_allclose(result.similarities, np.take_along_axis(sims, expected, axis=1), rtol=1e-6)


def test_exact_pads_when_k_exceeds_size() -> None:
    gallery = _gallery(3)
    result = ExactIndex(gallery).search(gallery, 5)
    _assert_well_formed(result, 3, 5)
    assert np.array_equal(result.indices[:, 0], np.arange(3))
    assert sorted(result.indices[0, :3]) == [0, 1, 2]
    assert np.all(result.indices[:, 3:] == -1)


@pytest.mark.parametrize("index", [ExactIndex, build_index])
def test_empty_gallery_returns_padding(index: Callable[[np.ndarray], GalleryIndex]) -> None:
    searcher = index(np.empty((0, DIM), np.float32))
    assert searcher.size == 0 and searcher.dim == DIM and searcher.kind == "exact"
    result = searcher.search(_gallery(4), 3)
    _assert_well_formed(result, 4, 3)
    assert np.all(result.indices == -1)


@pytest.mark.parametrize(
    ("queries", "k", "message"),
    [
        (np.zeros((2, 64), np.float32), 1, "query dim 64 does not match gallery dim 128"),
        (np.zeros(DIM, np.float32), 1, "queries must be 2-D"),
        (np.zeros((2, DIM), np.float64), 1, "queries must be float32"),
        ([[0.0] * DIM], 1, "queries must be a numpy array"),
        (np.zeros((2, DIM), np.float32), 0, "k must be a positive integer"),
    ],
)
def test_query_validation(queries: np.ndarray, k: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExactIndex(_gallery(10)).search(queries, k)


@pytest.mark.parametrize(
    ("gallery", "message"),
    [
        (np.zeros(DIM, np.float32), "gallery embeddings must be 2-D"),
        (np.zeros((10, DIM), np.float64), "gallery embeddings must be float32"),
        (np.zeros((10, 0), np.float32), "dim must be positive"),
    ],
)
def test_gallery_validation(gallery: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_index(gallery)


def test_scann_refuses_tiny_gallery() -> None:
    with pytest.raises(ValueError, match="ScannIndex needs at least"):
        ScannIndex(_gallery(SCANN_MIN_TRAIN_SIZE - 1))


def test_scann_results_are_exactly_rescored_and_padded() -> None:
    gallery = _gallery(SCANN_MIN_TRAIN_SIZE)
    index = ScannIndex(gallery)
    queries = gallery[:5]
    result = index.search(queries, 10)
    _assert_well_formed(result, 5, 10)
    assert np.array_equal(result.indices[:, 0], np.arange(5))
    exact = np.take_along_axis(queries @ gallery.T, result.indices, axis=1)
    np.testing.assert_allclose(result.similarities, exact, atol=1e-5)

    # Asking for more than the searched leaves hold must pad, not return ScaNN's (0, NaN) filler.
    padded = index.search(queries, index.size + 5)
    _assert_well_formed(padded, 5, index.size + 5)
    assert np.all(padded.indices[:, -5:] == -1)
    assert (padded.indices[:, : index.size] == -1).any()  # the searched leaves hold < size points
    assert not np.isnan(padded.similarities).any()


@pytest.mark.slow
def test_scann_recall_on_realistic_queries() -> None:
    gallery = _gallery(100_000)
    queries, _ = genuine_queries(gallery, 1000, np.random.default_rng(3))
    exact = ExactIndex(gallery).search(queries, 1)
    approx = ScannIndex(gallery).search(queries, 1)
    _assert_well_formed(approx, 1000, 1)
    recall = float(np.mean(approx.indices[:, 0] == exact.indices[:, 0]))
    assert recall >= 0.99, f"ScaNN recall@1 {recall:.4f} vs exact"


def test_build_index_switches_at_threshold() -> None:
    gallery = _gallery(SCANN_MIN_SIZE)
    assert build_index(gallery[:-1]).kind == "exact"
    assert build_index(gallery).kind == "scann"
    assert build_index(gallery[:1999], scann_min_size=2000).kind == "exact"
    assert build_index(gallery[:2000], scann_min_size=2000).kind == "scann"
    # Too small to train ScaNN, whatever the caller asks for.
    assert build_index(gallery[:10], scann_min_size=0).kind == "exact"
