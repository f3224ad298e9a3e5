"""``safecity analyze``: faces and plates in images and videos, matched against the lists."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actors.face_matcher import WatchlistMatcher
from actors.hotlist import HotlistMatcher
from cluster.media import SourceFrame, batched, iter_frames
from serve.face_analyzer import FaceAnalyzer
from serve.plate_analyzer import PlateAnalyzer
from serve.types import Box, FaceCrop, PlateMatch, PlateRead, SubjectMatch

BATCH_SIZE = 8


@dataclass(frozen=True)
class FaceResult:
    """A face found in a frame; ``searched`` if it passed the quality gate, ``match`` for a hit."""

    crop: FaceCrop
    searched: bool
    match: SubjectMatch | None


@dataclass(frozen=True)
class PlateResult:
    """A plate read in a frame, with its hotlist hit if any."""

    read: PlateRead
    match: PlateMatch | None


@dataclass(frozen=True)
class FrameResult:
    """Everything found in one frame."""

    source: str
    frame: int
    faces: list[FaceResult]
    plates: list[PlateResult]

    def to_json(self) -> dict[str, Any]:
        """The documented JSON line of ``safecity analyze --json``."""
        return {
            "source": self.source,
            "frame": self.frame,
            "faces": [
                {
                    "xyxy": _box(f.crop.xyxy),
                    "score": round(f.crop.detector_score, 4),
                    "quality": round(f.crop.quality.score, 4),
                    "match": None
                    if f.match is None
                    else {
                        "subject_id": f.match.subject_id,
                        "label": f.match.label,
                        "similarity": round(f.match.similarity, 4),
                    },
                }
                for f in self.faces
            ],
            "plates": [
                {
                    "xyxy": _box(p.read.xyxy),
                    "text": p.read.text,
                    "raw_text": p.read.raw_text,
                    "confidence": round(p.read.confidence, 4),
                    "format_ok": p.read.format_ok,
                    "match": None
                    if p.match is None
                    else {"plate": p.match.plate, "reason": p.match.reason, "exact": p.match.exact},
                }
                for p in self.plates
            ],
        }


def _box(box: Box) -> list[float]:
    return [round(v, 1) for v in box]


class Analyzer:
    """Runs faces and plates over frames in batches and matches them."""

    def __init__(
        self,
        faces: FaceAnalyzer,
        plates: PlateAnalyzer,
        watchlist: WatchlistMatcher,
        hotlist: HotlistMatcher,
    ) -> None:
        self.faces = faces
        self.plates = plates
        self.watchlist = watchlist
        self.hotlist = hotlist

    def analyze_batch(self, frames: Sequence[SourceFrame]) -> list[FrameResult]:
        """Results for a batch of frames, in order."""
        images = [frame.image for frame in frames]
        face_lists = self.faces.analyze(images)
        plate_lists = self.plates.analyze(images)
        embedded = [face for faces in face_lists for _, face in faces if face is not None]
        matches = iter(self.watchlist.match_faces(embedded))
        results = []
        for frame, faces, plates in zip(frames, face_lists, plate_lists, strict=True):
            face_results = []
            for crop, face in faces:
                match = next(matches) if face is not None else None
                face_results.append(FaceResult(crop, face is not None, match))
            plate_results = [PlateResult(read, self.hotlist.match(read.text)) for read in plates]
            results.append(FrameResult(frame.source, frame.frame, face_results, plate_results))
        return results

    def run(self, paths: Sequence[Path], every: int = 1) -> Iterator[FrameResult]:
        """Results for every frame of every path."""
        for batch in batched(iter_frames(paths, every), BATCH_SIZE):
            yield from self.analyze_batch(batch)


def describe(result: FrameResult) -> str:
    """Human-readable lines for one frame."""
    lines = [
        f"{result.source} [frame {result.frame}]: {len(result.faces)} face(s), {len(result.plates)} plate(s)"
    ]
    for face in result.faces:
        x1, y1, x2, y2 = (round(v) for v in face.crop.xyxy)
        crop = face.crop
        line = f"  face  ({x1},{y1})-({x2},{y2}) score {crop.detector_score:.2f}"
        line += f" quality {crop.quality.score:.2f}"
        if face.match is not None:
            m = face.match
            line += f"  MATCH {m.subject_id} '{m.label}' similarity {m.similarity:.3f}"
            line += f" (threshold {m.threshold:.2f}): verify before acting"
        elif not face.searched:
            line += "  (below quality gate, not searched)"
        lines.append(line)
    for plate in result.plates:
        x1, y1, x2, y2 = (round(v) for v in plate.read.xyxy)
        fmt = plate.read.format_name or "no known format"
        read = plate.read
        line = f"  plate ({x1},{y1})-({x2},{y2}) {read.text!r} confidence {read.confidence:.2f} [{fmt}]"
        if plate.match is not None:
            kind = "exact" if plate.match.exact else f"fuzzy, {plate.match.edits} edit(s)"
            line += f"  HOTLIST {plate.match.plate} ({kind}): {plate.match.reason}"
        lines.append(line)
    return "\n".join(lines)
