"""Agreeing on one plate text from several noisy reads (views of one crop, or frames of one track)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from serve.plate_text import PlateFormat, select_plate


@dataclass(frozen=True)
class PlateCandidate:
    """One OCR read after normalisation and format correction."""

    text: str
    raw_text: str
    confidence: float
    format_name: str | None


@dataclass(frozen=True)
class PlateVerdict:
    """The winning text; ``confidence`` is the winners' summed OCR confidence over all reads (0..1)."""

    text: str
    raw_text: str
    confidence: float
    format_name: str | None
    support: int
    reads: int


def candidate(
    raw_text: str, confidence: float, formats: Sequence[PlateFormat], max_corrections: int
) -> PlateCandidate:
    """The plate number in one raw OCR read (province words and junk dropped), corrected to a format."""
    corrected = select_plate(raw_text, formats, max_corrections)
    return PlateCandidate(corrected.text, raw_text, confidence, corrected.format_name)


def vote(candidates: Sequence[PlateCandidate]) -> PlateVerdict | None:
    """Confidence-weighted vote; texts that fit a plate format beat those that fit none.

    Ties go to the text read first. ``None`` when no read produced any text.
    """
    readable = [c for c in candidates if c.text]
    if not readable:
        return None
    pool = [c for c in readable if c.format_name is not None] or readable
    weight: dict[str, float] = {}
    for item in pool:
        weight[item.text] = weight.get(item.text, 0.0) + max(item.confidence, 1e-6)
    winner = max(weight, key=lambda text: weight[text])  # max() keeps the first of equal weights
    backers = [c for c in pool if c.text == winner]
    best = max(backers, key=lambda c: c.confidence)
    return PlateVerdict(
        text=winner,
        raw_text=best.raw_text,
        confidence=min(1.0, sum(c.confidence for c in backers) / len(candidates)),
        format_name=best.format_name,
        support=len(backers),
        reads=len(candidates),
    )
