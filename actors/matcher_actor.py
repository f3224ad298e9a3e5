"""The matcher actor: one per city, holds the lists, decides alerts and hands them to the dispatcher."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ray

from actors.audit import AuditLog
from actors.face_matcher import WatchlistMatcher
from actors.hotlist import HotlistMatcher, HotlistStore
from actors.lists_watch import FileChangeWatch
from actors.matcher import Decision, FaceObservation, MatchDecider, PlateObservation
from actors.watchlist import WatchlistStore


def _load_lists(
    data_dir: Path, threshold: float, scann_min_size: int
) -> tuple[WatchlistMatcher, HotlistMatcher]:
    audit = AuditLog(data_dir / "audit.jsonl")
    snapshot = WatchlistStore(data_dir, audit).snapshot()
    watchlist = WatchlistMatcher.build(snapshot, threshold, scann_min_size=scann_min_size)
    hotlist = HotlistMatcher(HotlistStore(data_dir, audit).list(), datetime.now(UTC))
    return watchlist, hotlist


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
        dispatcher: Any,
    ) -> None:
        self._data_dir = Path(data_dir)
        self._threshold = threshold
        self._scann_min_size = scann_min_size
        self._reload_s = reload_s
        self._dispatcher = dispatcher
        self._watch = FileChangeWatch(
            [self._data_dir / "watchlist.parquet", self._data_dir / "hotlist.parquet"]
        )
        watchlist, hotlist = _load_lists(self._data_dir, threshold, scann_min_size)
        self._decider = MatchDecider(watchlist, hotlist, cooldown_s, model_versions)
        self._reload_task: asyncio.Task[None] | None = None
        self.reloads = 0

    async def _reload_forever(self) -> None:
        while True:
            await asyncio.sleep(self._reload_s)
            self.reload_if_changed()

    def _ensure_reloader(self) -> None:
        if self._reload_task is None:
            self._reload_task = asyncio.get_running_loop().create_task(self._reload_forever())

    def reload_if_changed(self) -> bool:
        """Reload the lists if their files changed; returns whether it did."""
        if not self._watch.changed():
            return False
        watchlist, hotlist = _load_lists(self._data_dir, self._threshold, self._scann_min_size)
        self._decider.replace_lists(watchlist, hotlist)
        self.reloads += 1
        return True

    async def _forward(self, decision: Decision) -> bool:
        if decision.alert is not None:
            await self._dispatcher.submit.remote(decision.alert)
        return decision.outcome in ("alert", "cooldown")

    async def submit_face(self, observation: FaceObservation) -> bool:
        """Decide on a face track; True when the track is settled (matched, alerted or suppressed)."""
        self._ensure_reloader()
        return await self._forward(self._decider.decide_face(observation))

    async def submit_plate(self, observation: PlateObservation) -> bool:
        """Decide on a plate track's voted read; True when the track is settled."""
        self._ensure_reloader()
        return await self._forward(self._decider.decide_plate(observation))

    def stats(self) -> dict[str, Any]:
        """Decision counts and list sizes."""
        return {
            "decisions": dict(self._decider.counts),
            "track_done_by_camera": dict(self._decider.track_done_by_camera),
            "watchlist_photos": self._decider.watchlist.index.size,
            "hotlist_plates": len(self._decider.hotlist),
            "reloads": self.reloads,
        }
