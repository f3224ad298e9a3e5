"""What the face and plate track books share: per-track state that is settled, counted and forgotten."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar


class _Settleable(Protocol):
    settled: bool


TrackState = TypeVar("TrackState", bound=_Settleable)


class TrackBook(Generic[TrackState]):
    """Per-track state keyed by track id."""

    def __init__(self) -> None:
        self._tracks: dict[int, TrackState] = {}

    def settle(self, track_id: int) -> None:
        """The track was decided (alerted or suppressed): no more work for it.

        A track already forgotten (it ended while its decision was pending) is not brought back.
        """
        track = self._tracks.get(track_id)
        if track is not None:
            track.settled = True

    def __len__(self) -> int:
        """Tracks held."""
        return len(self._tracks)

    def forget(self, track_ids: Iterable[int]) -> None:
        """Drop ended tracks."""
        for track_id in track_ids:
            self._tracks.pop(track_id, None)
