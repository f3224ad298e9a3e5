"""Which faces of a track to embed: the first usable one, then only clearly better ones, a few at most."""

from __future__ import annotations

from dataclasses import dataclass

from actors.tracking.book import TrackBook


@dataclass
class _FaceTrack:
    best_embedded_quality: float = -1.0
    embedded: int = 0
    settled: bool = False


class FaceTrackBook(TrackBook[_FaceTrack]):
    """Per-camera bookkeeping of face tracks; pure."""

    def __init__(self, *, max_embeddings_per_track: int, min_quality_gain: float = 0.05) -> None:
        super().__init__()
        self.max_embeddings_per_track = max_embeddings_per_track
        self.min_quality_gain = min_quality_gain
        self.offered = 0
        self.accepted = 0

    def offer(self, track_id: int, quality: float) -> bool:
        """Whether a face of ``quality`` (0..1, a cheap estimate is fine) should be embedded now."""
        self.offered += 1
        track = self._tracks.setdefault(track_id, _FaceTrack())
        if track.settled or track.embedded >= self.max_embeddings_per_track:
            return False
        if track.embedded and quality < track.best_embedded_quality + self.min_quality_gain:
            return False
        track.embedded += 1
        track.best_embedded_quality = max(track.best_embedded_quality, quality)
        self.accepted += 1
        return True
