"""Watchlist searches batched across concurrent matcher calls: same answers as single searches."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from actors.face_matcher import WatchlistMatcher
from actors.matcher import FaceSearch, MatchDecider
from actors.search_batcher import SearchBatcher
from cluster.bench.matcher import observations, synthetic_watchlist
from tests.test_matcher import decider, face


def test_batched_watchlist_searches_equal_single_searches_on_scann() -> None:
    rng = np.random.default_rng(7)
    snapshot = synthetic_watchlist(20_000, rng)
    watchlist = WatchlistMatcher.build(snapshot, 0.5, scann_min_size=10_000)
    assert type(watchlist.index).__name__ == "ScannIndex"
    faces = observations(snapshot, 300, rng)
    matcher = MatchDecider(watchlist, decider().hotlist, cooldown_s=0.0)
    batcher = SearchBatcher(matcher.search_faces)

    async def all_at_once() -> list[FaceSearch]:
        return await asyncio.gather(*(batcher.search(f.embedding) for f in faces))

    batched = asyncio.run(all_at_once())
    single = [watchlist.match(f.embedding[None, :])[0] for f in faces]
    assert [s.match for s in batched] == single
    assert sum(m is not None for m in single) >= 100  # half the faces are enrolled subjects
    stats = batcher.stats()
    assert stats.queries == 300 and stats.batches < 10 and stats.largest_batch == 256


def test_a_lone_search_is_made_at_once_and_a_burst_shares_batches() -> None:
    seen: list[int] = []

    def search(queries: Sequence[int]) -> list[int]:
        seen.append(len(queries))
        return [q * 10 for q in queries]

    async def run() -> tuple[int, list[int]]:
        batcher = SearchBatcher(search, max_batch=4)
        lone = await batcher.search(1)
        burst = await asyncio.gather(*(batcher.search(q) for q in range(10)))
        return lone, burst

    lone, burst = asyncio.run(run())
    assert lone == 10 and burst == [q * 10 for q in range(10)]
    assert seen == [1, 4, 4, 2]  # the lone one alone, the burst in batches of at most 4


def test_a_failed_batch_fails_its_callers_and_the_next_batch_goes_on() -> None:
    started, release = threading.Event(), threading.Event()
    calls = 0

    def search(queries: Sequence[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            started.set()
            release.wait(5)
            raise OSError("index file vanished")
        return list(queries)

    async def run() -> tuple[list[object], int]:
        batcher = SearchBatcher(search)
        first = asyncio.ensure_future(batcher.search(1))
        assert await asyncio.to_thread(started.wait, 5)  # the first batch runs before the others queue
        rest = [asyncio.ensure_future(batcher.search(q)) for q in (2, 3)]
        release.set()
        failed = await asyncio.gather(first, return_exceptions=True)
        return [*failed, *await asyncio.gather(*rest)], batcher.stats().batches

    results, batches = asyncio.run(run())
    assert isinstance(results[0], OSError) and results[1:] == [2, 3] and batches == 2


def test_a_search_against_replaced_lists_decides_on_the_snapshot_it_searched() -> None:
    matcher = decider()
    observation = face(1, 1_000.0)
    [search] = matcher.search_faces([observation.embedding])
    empty = WatchlistMatcher.build(synthetic_watchlist(0, np.random.default_rng(0)), 0.5)
    matcher.replace_lists(empty, matcher.hotlist)
    decision = matcher.decide_face(observation, search)
    assert decision.outcome == "alert"
    assert decision.alert is not None and decision.alert.subject is not None
    assert decision.alert.subject.subject_id == "subject-a"


def test_the_batcher_needs_room_for_one_query() -> None:
    with pytest.raises(ValueError, match="max_batch must be at least 1"):
        SearchBatcher(lambda queries: list(queries), max_batch=0)
