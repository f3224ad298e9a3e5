"""Isotropic 1:N false-match model, used to document the default match threshold.

Models impostor embeddings as independent uniform random unit vectors. Real SFace embeddings are not
isotropic (faces share structure, so impostor cosines spread wider), so the rates here are a lower
bound on real false matches: operators should calibrate the threshold on their own impostor set.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq
from scipy.special import betainc

# Bounds the (queries x gallery chunk) similarity block in simulate_best_impostor: 2**24 float32 = 64 MiB.
_SIM_BLOCK_ELEMENTS = 1 << 24


def _check_dim(dim: int) -> None:
    if dim < 2:
        raise ValueError(f"dim must be at least 2, got {dim}")


def pair_false_match_rate(threshold: float, dim: int = 128) -> float:
    """P(cos > threshold) for two independent uniform random unit vectors in `dim` dimensions."""
    _check_dim(dim)
    if threshold >= 1.0:
        return 0.0
    if threshold <= -1.0:
        return 1.0
    tail = 0.5 * float(betainc((dim - 1) / 2, 0.5, 1.0 - threshold * threshold))
    return tail if threshold >= 0 else 1.0 - tail


def false_positive_identification_rate(threshold: float, gallery_size: int, dim: int = 128) -> float:
    """P(the best of `gallery_size` impostors exceeds threshold) = 1 - (1 - p)^N, p the pair rate."""
    if gallery_size < 0:
        raise ValueError(f"gallery_size must be non-negative, got {gallery_size}")
    p = pair_false_match_rate(threshold, dim)
    if p >= 1.0:
        return 1.0 if gallery_size > 0 else 0.0
    return -math.expm1(gallery_size * math.log1p(-p))


def threshold_for_fpir(target_fpir: float, gallery_size: int, dim: int = 128) -> float:
    """The cosine threshold at which `false_positive_identification_rate` equals `target_fpir`."""
    if not 0.0 < target_fpir < 1.0:
        raise ValueError(f"target_fpir must be in (0, 1), got {target_fpir}")
    if gallery_size < 1:
        raise ValueError(f"gallery_size must be at least 1, got {gallery_size}")
    _check_dim(dim)

    def excess(t: float) -> float:
        return false_positive_identification_rate(t, gallery_size, dim) - target_fpir

    # FPIR falls monotonically from 1 at t = -1 to 0 at t = 1, so the root is bracketed.
    return float(brentq(excess, -1.0, 1.0, xtol=1e-12))


def _random_unit(rng: np.random.Generator, n: int, dim: int) -> npt.NDArray[np.float32]:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def simulate_best_impostor(
    gallery_size: int, n_queries: int, dim: int, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """Max cosine per query over a random unit-vector gallery of independent impostors.

    The gallery is generated chunk by chunk and never held whole, so memory stays bounded at any size.
    """
    if gallery_size < 1 or n_queries < 1:
        raise ValueError(f"gallery_size and n_queries must be positive, got {gallery_size}, {n_queries}")
    _check_dim(dim)
    queries = _random_unit(rng, n_queries, dim)
    best = np.full(n_queries, -np.inf, np.float32)
    chunk = max(1, _SIM_BLOCK_ELEMENTS // n_queries)
    for start in range(0, gallery_size, chunk):
        gallery = _random_unit(rng, min(chunk, gallery_size - start), dim)
        np.maximum(best, (queries @ gallery.T).max(axis=1), out=best)
    return best
