"""Deciding alerts: a face or plate track against the watchlist and hotlist, once per track, with cooldown.

Pure logic (no Ray); the matcher actor in ``actors/matcher_actor.py`` wraps it. Observations of people
who match nobody are dropped here: nothing about them is kept.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from actors.face_matcher import WatchlistMatcher
from actors.hotlist import HotlistMatcher
from serve.alerts import Alert, CameraRef, PlateRef, SubjectRef
from serve.plate_vote import PlateVerdict

# Decisions about tracks older than this are forgotten (bounds memory on a long run).
_TRACK_MEMORY_S = 600.0


@dataclass(frozen=True)
class FaceObservation:
    """A face track's embedding, sent by a camera actor."""

    camera: CameraRef
    track_id: int
    captured_at: float  # unix seconds of the frame
    embedding: NDArray[np.float32]
    evidence_jpeg: bytes
    quality: float


@dataclass(frozen=True)
class PlateObservation:
    """A plate track's voted read, sent by a camera actor."""

    camera: CameraRef
    track_id: int
    captured_at: float
    verdict: PlateVerdict
    evidence_jpeg: bytes


@dataclass(frozen=True)
class Decision:
    """What became of an observation: an alert, or why not."""

    alert: Alert | None
    outcome: str  # "alert", "no-match", "track-done", "cooldown"


@dataclass
class MatchDecider:
    """One alert per track; no repeat for the same subject or plate on the same camera within the cooldown."""

    watchlist: WatchlistMatcher
    hotlist: HotlistMatcher
    cooldown_s: float
    model_versions: dict[str, str] = field(default_factory=dict)
    _decided_tracks: dict[tuple[str, str, int], float] = field(default_factory=dict)
    _last_alert: dict[tuple[str, str], float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    track_done_by_camera: dict[str, int] = field(default_factory=dict)

    def replace_lists(self, watchlist: WatchlistMatcher, hotlist: HotlistMatcher) -> None:
        """Use new snapshots of the lists (after an enrolment, removal or hotlist change)."""
        self.watchlist, self.hotlist = watchlist, hotlist

    def decide_face(self, observation: FaceObservation) -> Decision:
        """Match a face track's embedding; an alert for the first match of the track."""
        track = (observation.camera.camera_id, "face", observation.track_id)
        if track in self._decided_tracks:
            return self._track_done(observation.camera.camera_id)
        [match] = self.watchlist.match(observation.embedding[None, :])
        if match is None:
            return self._count(Decision(None, "no-match"))
        if self._settle_in_cooldown(track, f"subject:{match.subject_id}", observation.captured_at):
            return self._count(Decision(None, "cooldown"))
        subject = self.watchlist.snapshot.subjects[match.subject_id]
        photo = next(p.photo_file for p in subject.photos if p.photo_id == match.photo_id)
        alert = Alert(
            alert_id=str(uuid.uuid4()),
            kind="face",
            camera=observation.camera,
            captured_at=datetime.fromtimestamp(observation.captured_at, UTC),
            track_id=observation.track_id,
            evidence_jpeg=observation.evidence_jpeg,
            subject=SubjectRef(match.subject_id, match.label, match.category, photo),
            similarity=match.similarity,
            threshold=match.threshold,
            model_versions=self.model_versions,
        )
        return self._count(Decision(alert, "alert"))

    def decide_plate(self, observation: PlateObservation) -> Decision:
        """Check a plate track's voted text against the hotlist; an alert for the first hit of the track."""
        track = (observation.camera.camera_id, "plate", observation.track_id)
        if track in self._decided_tracks:
            return self._track_done(observation.camera.camera_id)
        verdict = observation.verdict
        match = self.hotlist.match(verdict.text)
        if match is None:
            return self._count(Decision(None, "no-match"))
        if self._settle_in_cooldown(track, f"plate:{match.plate}", observation.captured_at):
            return self._count(Decision(None, "cooldown"))
        alert = Alert(
            alert_id=str(uuid.uuid4()),
            kind="plate",
            camera=observation.camera,
            captured_at=datetime.fromtimestamp(observation.captured_at, UTC),
            track_id=observation.track_id,
            evidence_jpeg=observation.evidence_jpeg,
            plate=PlateRef(
                read_text=verdict.text,
                hotlist_plate=match.plate,
                reason=match.reason,
                exact=match.exact,
                ocr_confidence=verdict.confidence,
                reads=verdict.reads,
            ),
            model_versions=self.model_versions,
        )
        return self._count(Decision(alert, "alert"))

    def _settle_in_cooldown(self, track: tuple[str, str, int], key: str, at: float) -> bool:
        """Mark a matched track decided; True if its camera alerted on ``key`` within the cooldown."""
        self._decided_tracks[track] = at
        camera_id = track[0]
        last = self._last_alert.get((camera_id, key))
        if last is not None and at - last < self.cooldown_s:
            return True
        self._last_alert[(camera_id, key)] = at
        self._forget_before(at - _TRACK_MEMORY_S)
        return False

    def _forget_before(self, horizon: float) -> None:
        for track in [t for t, at in self._decided_tracks.items() if at < horizon]:
            del self._decided_tracks[track]

    def _track_done(self, camera_id: str) -> Decision:
        """A track already decided: counted per camera, so that a suppression is visible to operators."""
        self.track_done_by_camera[camera_id] = self.track_done_by_camera.get(camera_id, 0) + 1
        return self._count(Decision(None, "track-done"))

    def _count(self, decision: Decision) -> Decision:
        self.counts[decision.outcome] = self.counts.get(decision.outcome, 0) + 1
        return decision
