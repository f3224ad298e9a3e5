"""Voting over the reads of one plate track, so one vehicle gives one decision."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from actors.tracking.book import TrackBook
from serve.plate_vote import PlateCandidate, PlateVerdict, vote


@dataclass
class _PlateTrack:
    candidates: list[PlateCandidate] = field(default_factory=list)
    frames: int = 0
    last_text: str | None = None
    best_confidence: float = -1.0
    best_evidence: bytes = b""
    settled: bool = False


class PlateTrackBook(TrackBook[_PlateTrack]):
    """Per-camera bookkeeping of plate tracks; pure."""

    def __init__(self, *, min_reads: int = 2, max_reads: int = 8, shortcut_confidence: float = 0.9) -> None:
        super().__init__()
        self.min_reads = min_reads
        self.max_reads = max_reads
        self.shortcut_confidence = shortcut_confidence

    def add(
        self, track_id: int, candidates: Sequence[PlateCandidate], evidence_jpeg: bytes
    ) -> PlateVerdict | None:
        """Add one frame's reads; returns the track's voted read when it is ready and has changed."""
        track = self._tracks.setdefault(track_id, _PlateTrack())
        if track.settled:
            return None
        readable = [c for c in candidates if c.text]
        if readable and track.frames < self.max_reads:  # frames where OCR read nothing do not count
            track.candidates.extend(readable)
            track.frames += 1
        frame_best = max((c.confidence for c in readable), default=0.0)
        if frame_best > track.best_confidence:
            track.best_confidence, track.best_evidence = frame_best, evidence_jpeg
        verdict = vote(track.candidates)
        if verdict is None:
            return None
        confident = verdict.format_name is not None and verdict.confidence >= self.shortcut_confidence
        if track.frames < self.min_reads and not confident:
            return None
        if verdict.text == track.last_text:
            return None
        track.last_text = verdict.text
        return verdict

    def evidence(self, track_id: int) -> bytes:
        """The JPEG crop of the track's most confident read."""
        track = self._tracks.get(track_id)
        return track.best_evidence if track else b""
