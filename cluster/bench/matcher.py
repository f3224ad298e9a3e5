"""Benchmark: matcher face decisions per second on a large watchlist, one search per decision against
searches batched across concurrent calls (``safecity bench matcher``).

Both sides run the matcher's own decision logic (:class:`MatchDecider`) on the same observations
against the same index; the batched side goes through the :class:`SearchBatcher` the matcher actor
uses, with ``--concurrency`` callers at once (cameras' observations arriving together). Handing the
alerts to the dispatcher is not part of either side.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime

import numpy as np

from actors.face_matcher import WatchlistMatcher
from actors.hotlist import HotlistMatcher
from actors.matcher import FaceObservation, MatchDecider
from actors.search_batcher import SearchBatcher
from actors.watchlist import EnrolledPhoto, Subject, WatchlistSnapshot
from cluster.bench.gallery import genuine_queries, random_unit_vectors
from serve.alerts import CameraRef

THRESHOLD = 0.5


def synthetic_watchlist(size: int, rng: np.random.Generator) -> WatchlistSnapshot:
    """``size`` subjects of one random 128-d photo each (neutral ids)."""
    embeddings = random_unit_vectors(size, 128, rng)
    now = datetime.now(UTC)
    ids = tuple(f"subject-{i}" for i in range(size))
    subjects = {
        sid: Subject(sid, sid, "bench", None, "bench", now, (EnrolledPhoto(sid, f"{sid}.jpg", 0.9, row),))
        for sid, row in zip(ids, embeddings, strict=True)
    }
    return WatchlistSnapshot(subjects, embeddings, ids, ids)


def observations(snapshot: WatchlistSnapshot, count: int, rng: np.random.Generator) -> list[FaceObservation]:
    """Half the faces of enrolled subjects (cosine 0.6), half strangers, on 100 cameras, one track each."""
    genuine, _ = genuine_queries(snapshot.embeddings, count // 2, rng)
    strangers = random_unit_vectors(count - len(genuine), 128, rng)
    vectors = np.concatenate([genuine, strangers])[rng.permutation(count)]
    cameras = [CameraRef(f"cam-{i}", f"Camera {i}", "fr") for i in range(100)]
    return [
        FaceObservation(cameras[i % 100], i, time.time(), vector, b"jpeg") for i, vector in enumerate(vectors)
    ]


def one_search_each(decider: MatchDecider, faces: list[FaceObservation]) -> float:
    """Decisions per second, each face searched on its own."""
    started = time.perf_counter()
    for face in faces:
        decider.settle(decider.decide_face(face))
    return len(faces) / (time.perf_counter() - started)


async def batched(
    decider: MatchDecider, faces: list[FaceObservation], concurrency: int
) -> tuple[float, float]:
    """Decisions per second with ``concurrency`` callers sharing a :class:`SearchBatcher`; mean batch."""
    batcher = SearchBatcher(decider.search_faces)
    queue = list(reversed(faces))

    async def caller() -> None:
        while queue:
            face = queue.pop()
            search = await batcher.search(face.embedding)
            decider.settle(decider.decide_face(face, search))

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    stats = batcher.stats()
    return len(faces) / elapsed, stats.queries / max(1, stats.batches)


def main(argv: list[str] | None = None) -> int:
    """Build the watchlist, run both sides, print them and their ratio."""
    parser = argparse.ArgumentParser(prog="safecity bench matcher")
    parser.add_argument("--watchlist", type=int, default=100_000, help="subjects (one photo each)")
    parser.add_argument("--faces", type=int, default=4_000, help="observations decided per side")
    parser.add_argument("--concurrency", type=int, default=64, help="callers at once on the batched side")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    snapshot = synthetic_watchlist(args.watchlist, rng)
    started = time.perf_counter()
    watchlist = WatchlistMatcher.build(snapshot, THRESHOLD)
    build_s = time.perf_counter() - started
    faces = observations(snapshot, args.faces, rng)

    def decider() -> MatchDecider:
        return MatchDecider(watchlist, HotlistMatcher([], datetime.now(UTC)), cooldown_s=0.0)

    single = one_search_each(decider(), faces)
    rate, mean_batch = asyncio.run(batched(decider(), faces, args.concurrency))
    print(
        f"watchlist: {args.watchlist} photos ({type(watchlist.index).__name__}, built in {build_s:.1f} s); "
        f"{args.faces} face decisions per side"
    )
    print(f"{'side':<44} {'decisions/s':>12}")
    print(f"{'one search per decision':<44} {single:>12.0f}")
    print(f"{f'batched, {args.concurrency} callers (mean batch {mean_batch:.1f})':<44} {rate:>12.0f}")
    print(f"ratio batched / single: {rate / single:.2f}x")
    return 0
