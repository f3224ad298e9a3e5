"""The matcher actor: one per city, on the state node; holds the lists, decides alerts, hands them on.

A decision is settled only once the dispatcher has stored its alert durably; a Ray retry after a crash
decides the same track again and, the alert id being derived from the track, gives the same alert. A
restarted matcher takes back what it decided from the outbox before it decides anything new.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import ray

from actors.actor_address import ActorAddress
from actors.audit import AuditLog
from actors.backoff import Backoff
from actors.face_matcher import WatchlistMatcher
from actors.hotlist import HotlistMatcher, HotlistStore
from actors.lists_watch import FileChangeWatch
from actors.matcher import (
    Decision,
    DecisionMark,
    FaceObservation,
    MatchDecider,
    PlateObservation,
    mark_from_alert_body,
)
from actors.metrics import MatcherMetrics, export_forever
from actors.search_batcher import BatcherStats, SearchBatcher
from actors.watchlist import WatchlistStore
from serve.errors import SafeCityError

log = logging.getLogger(__name__)
_RECOVERY_RETRY = Backoff(initial_s=0.5, maximum_s=10.0)


def _load_lists(
    data_dir: Path, threshold: float, scann_min_size: int
) -> tuple[WatchlistMatcher, HotlistMatcher]:
    audit = AuditLog(data_dir / "audit.jsonl")
    snapshot = WatchlistStore(data_dir, audit).snapshot()
    watchlist = WatchlistMatcher.build(snapshot, threshold, scann_min_size=scann_min_size)
    hotlist = HotlistMatcher(HotlistStore(data_dir, audit).list(), datetime.now(UTC))
    return watchlist, hotlist


def readable_marks(bodies: list[bytes]) -> tuple[list[DecisionMark], int]:
    """The decisions stored alerts record, and how many bodies could not be read (logged, skipped)."""
    marks, unreadable = [], 0
    for body in bodies:
        try:
            marks.append(mark_from_alert_body(body))
        except SafeCityError as exc:
            unreadable += 1
            log.warning("matcher: skipping a stored alert: %s", exc)
    return marks, unreadable


@dataclass(frozen=True)
class MatcherStats:
    """The matcher's counters since it (last) started."""

    decisions: dict[str, int]  # by outcome: alert, no-match, cooldown, track-done
    track_done_by_camera: dict[str, int]  # observations of already-decided tracks, per camera
    watchlist_photos: int
    hotlist_plates: int
    reloads: int
    recovered_decisions: int  # decisions taken back from the outbox at start
    unreadable_stored_alerts: int
    face_searches: BatcherStats  # watchlist searches and the batches they were made in


@ray.remote(num_cpus=0.25, max_restarts=-1, max_task_retries=-1)
class MatcherActor:
    """Wraps :class:`MatchDecider`; reloads the lists when their files change."""

    def __init__(
        self,
        data_dir: str,
        threshold: float,
        scann_min_size: int,
        cooldown_s: float,
        reload_s: float,
        model_versions: dict[str, str],
        dispatcher: ActorAddress,
    ) -> None:
        self._data_dir = Path(data_dir)
        self._threshold = threshold
        self._scann_min_size = scann_min_size
        self._reload_s = reload_s
        self._dispatcher = dispatcher.handle()
        self._watch = FileChangeWatch(
            [self._data_dir / "watchlist.parquet", self._data_dir / "hotlist.parquet"]
        )
        watchlist, hotlist = _load_lists(self._data_dir, threshold, scann_min_size)
        self._decider = MatchDecider(watchlist, hotlist, cooldown_s, model_versions)
        self._camera_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._face_searches = SearchBatcher(self._decider.search_faces)
        self._alerts_by_kind: dict[str, int] = defaultdict(int)
        metrics = MatcherMetrics()
        self.reloads = 0
        self.recovered = 0
        self.unreadable = 0
        # The constructor of an async actor runs on its event loop; both loops start with the actor.
        loop = asyncio.get_running_loop()
        self._recovery = loop.create_task(self._recover())
        self._reloader = loop.create_task(self._reload_forever())
        self._exporter = loop.create_task(export_forever(lambda: self._export(metrics)))

    async def _recover(self) -> None:
        """Take back the decisions of earlier matchers from the alerts in the outbox."""
        since = time.time() - self._decider.memory_s
        attempt = 0
        while True:
            try:
                bodies: list[bytes] = await self._dispatcher.alert_bodies_since.remote(since)
                break
            except ray.exceptions.RayError:
                attempt += 1
                log.exception("matcher: reading earlier decisions from the dispatcher failed; retrying")
                await asyncio.sleep(_RECOVERY_RETRY.delay(attempt, random.Random()))
        marks, self.unreadable = readable_marks(bodies)
        self.recovered = self._decider.remember(marks)

    async def _reload_forever(self) -> None:
        while True:
            await asyncio.sleep(self._reload_s)
            try:
                await self.reload_if_changed()
            except Exception:  # a list being rewritten must not end reloading for good
                log.exception("matcher: reloading the lists failed; keeping the previous ones")

    async def reload_if_changed(self) -> bool:
        """Reload the lists if their files changed; returns whether it did.

        The index is built on a thread (ScaNN over a large watchlist takes seconds) and swapped in on the
        event loop, so decisions go on meanwhile against the previous lists.
        """
        if not self._watch.changed():
            return False
        watchlist, hotlist = await asyncio.to_thread(
            _load_lists, self._data_dir, self._threshold, self._scann_min_size
        )
        self._decider.replace_lists(watchlist, hotlist)
        self.reloads += 1
        return True

    async def _decide(self, camera_id: str, decide: Callable[[], Decision]) -> bool:
        await asyncio.shield(self._recovery)
        # One decision per camera at a time: a cooldown or track memory must see the one settled before.
        async with self._camera_locks[camera_id]:
            decision = decide()
            if decision.alert is not None:
                await self._dispatcher.submit.remote(decision.alert)  # raises if it was not stored
                self._alerts_by_kind[decision.alert.kind] += 1
            self._decider.settle(decision)
        return decision.settles_track

    async def submit_face(self, observation: FaceObservation) -> bool:
        """Decide on a face track; True when the track is settled (alerted, suppressed or done).

        The watchlist search goes into a batch with the other cameras' searches waiting meanwhile.
        """
        await asyncio.shield(self._recovery)
        search = None
        if not self._decider.has_decided(observation):
            search = await self._face_searches.search(observation.embedding)
        return await self._decide(
            observation.camera.camera_id, lambda: self._decider.decide_face(observation, search)
        )

    async def submit_plate(self, observation: PlateObservation) -> bool:
        """Decide on a plate track's voted read; True when the track is settled."""
        return await self._decide(
            observation.camera.camera_id, lambda: self._decider.decide_plate(observation)
        )

    def _export(self, metrics: MatcherMetrics) -> None:
        searches = self._face_searches.stats()
        metrics.record(
            self._decider.counts,
            self._alerts_by_kind,
            searches.queries,
            searches.batches,
            self._decider.watchlist.index.size,
            len(self._decider.hotlist),
        )

    def stats(self) -> MatcherStats:
        """Decision counts and list sizes."""
        return MatcherStats(
            decisions=dict(self._decider.counts),
            track_done_by_camera=dict(self._decider.track_done_by_camera),
            watchlist_photos=self._decider.watchlist.index.size,
            hotlist_plates=len(self._decider.hotlist),
            reloads=self.reloads,
            recovered_decisions=self.recovered,
            unreadable_stored_alerts=self.unreadable,
            face_searches=self._face_searches.stats(),
        )
