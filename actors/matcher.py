"""Deciding alerts: a face or plate track against the watchlist and hotlist, once per track, with cooldown.

Pure logic (no Ray); the matcher actor in ``actors/matcher_actor.py`` wraps it. Deciding and
remembering are two steps: :meth:`MatchDecider.decide_face` and :meth:`MatchDecider.decide_plate` change
nothing, and :meth:`MatchDecider.settle` records a decision once its alert is durable in the outbox, so
an alert that could not be stored leaves its track open to be decided again. The alert id is derived
from the track, so deciding the same track again gives the same id and the outbox and the receivers
drop the repeat. Observations of people who match nobody are dropped here: nothing about them is kept.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from actors.face_matcher import WatchlistMatcher
from actors.hotlist import HotlistMatcher
from serve.alerts import Alert, AlertKind, CameraRef, PlateRef, SubjectRef, alert_id_for
from serve.errors import SafeCityError
from serve.plate_vote import PlateVerdict
from serve.types import SubjectMatch

# Decisions about tracks older than this are forgotten (bounds memory on a long run).
TRACK_MEMORY_S = 600.0


@dataclass(frozen=True)
class FaceObservation:
    """A face track's embedding, sent by a camera actor."""

    camera: CameraRef
    track_id: int
    captured_at: float  # unix seconds of the frame
    embedding: NDArray[np.float32]
    evidence_jpeg: bytes


@dataclass(frozen=True)
class PlateObservation:
    """A plate track's voted read, sent by a camera actor."""

    camera: CameraRef
    track_id: int
    captured_at: float
    verdict: PlateVerdict
    evidence_jpeg: bytes


@dataclass(frozen=True)
class DecisionMark:
    """What the matcher remembers of a settled track: it is done, and what it matched (for the cooldown)."""

    camera_id: str
    kind: AlertKind
    track_id: int
    match_key: str  # "subject:<id>" or "plate:<hotlist plate>"
    at: float  # unix seconds of the frame decided on
    alerted: bool  # False: matched, but within the cooldown of an earlier alert

    @property
    def track(self) -> tuple[str, str, int]:
        """The track's key in the matcher's memory."""
        return (self.camera_id, self.kind, self.track_id)

    @property
    def cooldown_key(self) -> tuple[str, str]:
        """The cooldown's key: what matched, on which camera."""
        return (self.camera_id, self.match_key)


def mark_from_alert_body(body: bytes) -> DecisionMark:
    """The decision an alert in the outbox records (its webhook body, README "Webhook contract")."""
    try:
        doc = json.loads(body)
        kind = doc["kind"]
        if kind == "face":
            key = f"subject:{doc['subject']['id']}"
        elif kind == "plate":
            key = f"plate:{doc['plate']['hotlist_plate']}"
        else:
            raise ValueError(f"unknown alert kind {kind!r}")
        captured_at = datetime.fromisoformat(doc["captured_at"]).timestamp()
        return DecisionMark(doc["camera"]["id"], kind, int(doc["track_id"]), key, captured_at, alerted=True)
    except (ValueError, KeyError, TypeError) as exc:
        raise SafeCityError(f"an alert in the outbox is not a valid webhook body: {exc}") from exc


Outcome = Literal["alert", "no-match", "track-done", "cooldown"]


@dataclass(frozen=True)
class FaceSearch:
    """The watchlist's answer for one face, and the watchlist snapshot that gave it."""

    watchlist: WatchlistMatcher
    match: SubjectMatch | None


@dataclass(frozen=True)
class Decision:
    """What an observation should become: an alert, or why not; ``mark`` is what settling remembers."""

    alert: Alert | None
    outcome: Outcome
    camera_id: str
    mark: DecisionMark | None = None

    @property
    def settles_track(self) -> bool:
        """Whether the camera can stop sending observations of this track."""
        return self.outcome in ("alert", "cooldown", "track-done")


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

    @property
    def memory_s(self) -> float:
        """How far back decisions matter: the track memory, or the cooldown if longer."""
        return max(TRACK_MEMORY_S, self.cooldown_s)

    def replace_lists(self, watchlist: WatchlistMatcher, hotlist: HotlistMatcher) -> None:
        """Use new snapshots of the lists (after an enrolment, removal or hotlist change)."""
        self.watchlist, self.hotlist = watchlist, hotlist

    def remember(self, marks: Sequence[DecisionMark]) -> int:
        """Take back decisions an earlier matcher settled (rebuilt from the outbox after a restart)."""
        for mark in marks:
            self._record(mark)
        return len(marks)

    def search_faces(self, embeddings: Sequence[NDArray[np.float32]]) -> list[FaceSearch]:
        """The watchlist's answer for each embedding, in one index query (batched across cameras)."""
        watchlist = self.watchlist  # one snapshot for the whole batch, even if the lists are replaced
        if not embeddings:
            return []
        return [FaceSearch(watchlist, match) for match in watchlist.match(np.stack(embeddings))]

    def decide_face(self, observation: FaceObservation, search: FaceSearch | None = None) -> Decision:
        """Match a face track's embedding; an alert for the first match of the track (not yet recorded).

        ``search`` is the watchlist's answer when it was asked ahead (:meth:`search_faces`); without it
        the watchlist is searched here.
        """
        if self.has_decided(observation):
            return Decision(None, "track-done", observation.camera.camera_id)
        if search is None:
            [search] = self.search_faces([observation.embedding])
        match = search.match
        if match is None:
            return Decision(None, "no-match", observation.camera.camera_id)
        subject = search.watchlist.snapshot.subjects[match.subject_id]
        photo = next(p.photo_file for p in subject.photos if p.photo_id == match.photo_id)
        return self._matched(
            observation,
            "face",
            f"subject:{match.subject_id}",
            subject=SubjectRef(match.subject_id, match.label, match.category, photo),
            similarity=match.similarity,
            threshold=match.threshold,
        )

    def decide_plate(self, observation: PlateObservation) -> Decision:
        """Check a plate track's voted text against the hotlist; an alert for the first hit of the track."""
        if self.has_decided(observation):
            return Decision(None, "track-done", observation.camera.camera_id)
        verdict = observation.verdict
        match = self.hotlist.match(verdict.text)
        if match is None:
            return Decision(None, "no-match", observation.camera.camera_id)
        plate = PlateRef(
            read_text=verdict.text,
            hotlist_plate=match.plate,
            reason=match.reason,
            exact=match.exact,
            ocr_confidence=verdict.confidence,
            reads=verdict.reads,
        )
        return self._matched(observation, "plate", f"plate:{match.plate}", plate=plate)

    def has_decided(self, observation: FaceObservation | PlateObservation) -> bool:
        """Whether the observation's track was settled already (its later observations change nothing)."""
        kind: AlertKind = "face" if isinstance(observation, FaceObservation) else "plate"
        return (observation.camera.camera_id, kind, observation.track_id) in self._decided_tracks

    def _matched(
        self,
        observation: FaceObservation | PlateObservation,
        kind: AlertKind,
        match_key: str,
        *,
        subject: SubjectRef | None = None,
        plate: PlateRef | None = None,
        similarity: float | None = None,
        threshold: float | None = None,
    ) -> Decision:
        """A matched track: suppressed within the cooldown of an earlier alert, else its alert."""
        camera_id, track_id = observation.camera.camera_id, observation.track_id
        mark = DecisionMark(camera_id, kind, track_id, match_key, observation.captured_at, alerted=True)
        if self._in_cooldown(mark):
            return Decision(None, "cooldown", camera_id, replace(mark, alerted=False))
        alert = Alert(
            alert_id=alert_id_for(camera_id, kind, track_id),
            kind=kind,
            camera=observation.camera,
            captured_at=datetime.fromtimestamp(observation.captured_at, UTC),
            track_id=track_id,
            evidence_jpeg=observation.evidence_jpeg,
            subject=subject,
            plate=plate,
            similarity=similarity,
            threshold=threshold,
            model_versions=self.model_versions,
        )
        return Decision(alert, "alert", camera_id, mark)

    def settle(self, decision: Decision) -> None:
        """Record a decision: call once its alert (if any) is durable in the outbox, never before."""
        self.counts[decision.outcome] = self.counts.get(decision.outcome, 0) + 1
        if decision.outcome == "track-done":  # counted per camera, so that a suppression is visible
            camera_id = decision.camera_id
            self.track_done_by_camera[camera_id] = self.track_done_by_camera.get(camera_id, 0) + 1
        if decision.mark is not None:
            self._record(decision.mark)
            self._forget_before(decision.mark.at - self.memory_s)

    def _in_cooldown(self, mark: DecisionMark) -> bool:
        last = self._last_alert.get(mark.cooldown_key)
        return last is not None and mark.at - last < self.cooldown_s

    def _record(self, mark: DecisionMark) -> None:
        self._decided_tracks[mark.track] = max(mark.at, self._decided_tracks.get(mark.track, mark.at))
        if mark.alerted:
            last = self._last_alert.get(mark.cooldown_key)
            self._last_alert[mark.cooldown_key] = mark.at if last is None else max(last, mark.at)

    def _forget_before(self, horizon: float) -> None:
        for track in [t for t, at in self._decided_tracks.items() if at < horizon]:
            del self._decided_tracks[track]
        for key in [k for k, at in self._last_alert.items() if at < horizon]:
            del self._last_alert[key]
