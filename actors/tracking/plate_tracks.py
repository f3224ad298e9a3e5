"""Which crops of a plate track are read, and the vote over their reads: OCR per track, not per frame.

A plate track reads its first crops, then only crops at least as good as the best read so far, one
read in flight at a time, until its vote is decided (the same formatted text won ``min_reads`` frames,
or one frame read it very confidently) or ``max_reads`` reads were made. A decided or settled track is
never read again: a parked car in view for an hour costs its detections only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from actors.tracking.book import TrackBook
from serve.plate_vote import PlateCandidate, PlateVerdict, vote

# A plate this wide (camera pixels) or wider reads as well as plates get; narrower ones score less.
FULL_WIDTH_PX = 120.0
# Laplacian variance of a sharp plate crop's grey pixels is in the hundreds; heavy blur is below 30.
SHARP_VARIANCE = 150.0


def plate_crop_quality(width_px: float, detector_score: float, sharpness: float) -> float:
    """How promising a plate crop is for OCR, in [0, 1]: size, detector score and focus together."""
    size = min(1.0, max(0.0, width_px) / FULL_WIDTH_PX)
    focus = min(1.0, max(0.0, sharpness) / SHARP_VARIANCE)
    return size * min(1.0, max(0.0, detector_score)) * math.sqrt(focus)


@dataclass
class _PlateTrack:
    candidates: list[PlateCandidate] = field(default_factory=list)
    frame_winners: list[str] = field(default_factory=list)
    requested: int = 0
    in_flight: bool = False
    best_requested_quality: float = -1.0
    last_text: str | None = None
    best_confidence: float = -1.0
    best_evidence: bytes = b""
    decided: bool = False
    settled: bool = False


class PlateTrackBook(TrackBook[_PlateTrack]):
    """Per-camera bookkeeping of plate tracks: the read budget and the vote; pure."""

    def __init__(self, *, min_reads: int, max_reads: int, shortcut_confidence: float = 0.9) -> None:
        super().__init__()
        if not 1 <= min_reads <= max_reads:
            raise ValueError(f"need 1 <= min_reads <= max_reads, got {min_reads} and {max_reads}")
        self.min_reads = min_reads
        self.max_reads = max_reads
        self.shortcut_confidence = shortcut_confidence
        self.offered = 0
        self.accepted = 0

    def offer(self, track_id: int, quality: float) -> bool:
        """Whether this frame's crop of the track (``quality`` from :func:`plate_crop_quality`) is read now.

        Accepting it counts one read against the track's budget; :meth:`add` or :meth:`cancel` must follow.
        """
        self.offered += 1
        track = self._tracks.setdefault(track_id, _PlateTrack())
        if track.settled or track.decided or track.in_flight or track.requested >= self.max_reads:
            return False
        if track.requested >= self.min_reads and quality < track.best_requested_quality:
            return False
        track.requested += 1
        track.in_flight = True
        track.best_requested_quality = max(track.best_requested_quality, quality)
        self.accepted += 1
        return True

    def cancel(self, track_id: int) -> None:
        """An accepted read did not happen (shed as stale, or failed): it does not count."""
        track = self._tracks.get(track_id)
        if track is not None and track.in_flight:
            track.in_flight = False
            track.requested -= 1

    def add(
        self, track_id: int, candidates: Sequence[PlateCandidate], evidence_jpeg: bytes
    ) -> PlateVerdict | None:
        """Add one read's candidates (its views); returns the track's verdict when ready and changed."""
        track = self._tracks.get(track_id)
        if track is None or track.settled:
            return None  # ended (forgotten) or decided while this read was in flight
        track.in_flight = False
        readable = [c for c in candidates if c.text]
        frame_verdict = vote(readable)
        if frame_verdict is not None:  # reads where OCR saw nothing do not count towards min_reads
            track.candidates.extend(readable)
            track.frame_winners.append(frame_verdict.text)
            if frame_verdict.confidence > track.best_confidence:
                track.best_confidence, track.best_evidence = frame_verdict.confidence, evidence_jpeg
        verdict = vote(track.candidates)
        if verdict is None:
            return None
        formatted = verdict.format_name is not None
        confident = formatted and verdict.confidence >= self.shortcut_confidence
        agreed = formatted and track.frame_winners.count(verdict.text) >= self.min_reads
        track.decided = track.decided or confident or agreed
        if len(track.frame_winners) < self.min_reads and not confident:
            return None
        if verdict.text == track.last_text:
            return None
        track.last_text = verdict.text
        return verdict

    def decided(self, track_id: int) -> bool:
        """Whether the track's vote is decided (no more reads)."""
        track = self._tracks.get(track_id)
        return track is not None and track.decided

    def evidence(self, track_id: int) -> bytes:
        """The JPEG crop of the track's most confident read."""
        track = self._tracks.get(track_id)
        return track.best_evidence if track else b""
