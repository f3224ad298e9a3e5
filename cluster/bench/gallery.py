"""Benchmark: exact vs ScaNN gallery search on realistic queries, plus the isotropic false-match table.

Run: python -m cluster.bench.gallery [--sizes 100000 1000000] [--queries 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from actors.false_match import (
    false_positive_identification_rate,
    simulate_best_impostor,
    threshold_for_fpir,
)
from actors.gallery import ExactIndex, GalleryIndex, ScannIndex

DIM = 128
GENUINE_COSINE = 0.6
MODEL_SIZES = (1_000, 10_000, 100_000, 1_000_000)
MODEL_THRESHOLDS = (0.363, 0.40, 0.45, 0.50)
MODEL_TARGETS = (0.01, 0.001)
SIMULATED_SIZE = 100_000
SIMULATED_QUERIES = 2_000
_CHUNK = 65_536

FloatArray = npt.NDArray[np.float32]


def random_unit_vectors(n: int, dim: int, rng: np.random.Generator) -> FloatArray:
    """n uniform random unit vectors, generated in float32 chunks to bound peak memory."""
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, _CHUNK):
        block = out[start : start + _CHUNK]
        block[:] = rng.standard_normal(block.shape, dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
    return out


def genuine_queries(
    gallery: FloatArray, n: int, rng: np.random.Generator, cosine: float = GENUINE_COSINE
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Queries at exactly `cosine` to a random gallery row each: normalise(c*g + sqrt(1-c^2)*u), u ⟂ g."""
    truth = rng.choice(gallery.shape[0], size=n, replace=False).astype(np.int64)
    targets = gallery[truth]
    noise = rng.standard_normal(targets.shape, dtype=np.float32)
    noise -= np.sum(noise * targets, axis=1, keepdims=True) * targets
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    queries = cosine * targets + np.sqrt(1.0 - cosine**2) * noise
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return queries.astype(np.float32), truth


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _search_rates(index: GalleryIndex, queries: FloatArray, n_single: int) -> tuple[float, float]:
    batch = _timed(lambda: index.search(queries, 1))
    singles = queries[:n_single]
    single = _timed(lambda: [index.search(singles[i : i + 1], 1) for i in range(n_single)])
    return queries.shape[0] / batch, n_single / single


def bench_size(size: int, n_queries: int, n_single: int, rng: np.random.Generator) -> list[str]:
    """Table rows (exact, scann) for one gallery size."""
    gallery = random_unit_vectors(size, DIM, rng)
    queries, truth = genuine_queries(gallery, n_queries, rng)

    start = time.perf_counter()
    exact = ExactIndex(gallery)
    exact_build = time.perf_counter() - start
    start = time.perf_counter()
    scann = ScannIndex(gallery)
    scann_build = time.perf_counter() - start
    print(
        f"  size {size}: scann leaves {scann.num_leaves}, searched {scann.leaves_to_search}, "
        f"reorder {scann.reorder_size}, training sample {scann.training_sample_size}"
    )

    exact_top = exact.search(queries, 1).indices[:, 0]
    print(f"  size {size}: exact top-1 is the true identity for {np.mean(exact_top == truth):.4f} of queries")
    exact_rates = _search_rates(exact, queries, n_single)
    rows = []
    for index, build_s in ((exact, exact_build), (scann, scann_build)):
        batch_qps, single_qps = _search_rates(index, queries, n_single) if index is scann else exact_rates
        recall = float(np.mean(index.search(queries, 1).indices[:, 0] == exact_top))
        rows.append(
            f"{size:>9} {index.kind:>6} {build_s:>8.2f} {batch_qps:>10.0f} {single_qps:>10.0f} "
            f"{recall:>9.4f} {batch_qps / exact_rates[0]:>8.2f} {single_qps / exact_rates[1]:>9.2f}"
        )
    return rows


def model_table() -> list[str]:
    """FPIR of the isotropic model at fixed thresholds, and thresholds for target FPIRs."""
    head = " ".join(f"{'FPIR@' + str(t):>10}" for t in MODEL_THRESHOLDS)
    head += " " + " ".join(f"{'t@FPIR ' + format(f, 'g'):>12}" for f in MODEL_TARGETS)
    lines = [f"{'gallery':>9} {head}"]
    for n in MODEL_SIZES:
        fpirs = " ".join(f"{false_positive_identification_rate(t, n, DIM):>10.3g}" for t in MODEL_THRESHOLDS)
        thresholds = " ".join(f"{threshold_for_fpir(f, n, DIM):>12.4f}" for f in MODEL_TARGETS)
        lines.append(f"{n:>9} {fpirs} {thresholds}")
    return lines


def simulated_check(rng: np.random.Generator) -> list[str]:
    """Empirical vs formula FPIR on a simulated random gallery, with the binomial standard error."""
    best = simulate_best_impostor(SIMULATED_SIZE, SIMULATED_QUERIES, DIM, rng)
    median_t = threshold_for_fpir(0.5, SIMULATED_SIZE, DIM)
    lines = [f"simulated: gallery {SIMULATED_SIZE}, {SIMULATED_QUERIES} impostor queries, dim {DIM}"]
    lines.append(f"{'threshold':>10} {'empirical':>10} {'formula':>10} {'std err':>10}")
    for t in (*MODEL_THRESHOLDS[:2], median_t):
        p = false_positive_identification_rate(t, SIMULATED_SIZE, DIM)
        se = float(np.sqrt(p * (1 - p) / SIMULATED_QUERIES))
        lines.append(f"{t:>10.4f} {np.mean(best > t):>10.4f} {p:>10.4f} {se:>10.4f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000, help="realistic queries per size (batch)")
    parser.add_argument("--single", type=int, default=200, help="of those, searched one at a time")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    print(f"Gallery search, dim {DIM}, queries at cosine {GENUINE_COSINE} to a known gallery vector")
    table = [
        f"{'size':>9} {'index':>6} {'build s':>8} {'batch q/s':>10} {'single q/s':>10} "
        f"{'recall@1':>9} {'x batch':>8} {'x single':>9}"
    ]
    for size in args.sizes:
        table += bench_size(size, min(args.queries, size), min(args.single, args.queries, size), rng)
    print("\n".join(table))
    print("(recall@1 against exact; x = scann/exact queries/s)\n")
    print("Isotropic false-match model (dim 128)")
    print("\n".join(model_table()))
    print()
    print("\n".join(simulated_check(rng)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
