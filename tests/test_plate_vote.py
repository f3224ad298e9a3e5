"""Voting over noisy plate reads."""

from __future__ import annotations

from serve.plate_text import PlateFormat
from serve.plate_vote import PlateCandidate, candidate, vote

FORMATS = (PlateFormat("abc-123", "[A-Z]{3}[0-9]{3}"),)


def test_majority_wins_over_a_single_confident_misread() -> None:
    reads = [
        candidate("MLB 803", 0.6, FORMATS, 2),
        candidate("MLB803", 0.5, FORMATS, 2),
        candidate("MB 803", 0.99, FORMATS, 2),
    ]
    verdict = vote(reads)
    assert verdict is not None
    assert (verdict.text, verdict.support, verdict.reads) == ("MLB803", 2, 3)
    assert verdict.raw_text == "MLB 803"
    assert abs(verdict.confidence - 1.1 / 3) < 1e-9


def test_format_fitting_text_beats_heavier_unfitting_text() -> None:
    reads = [
        PlateCandidate("MB803", "MB 803", 0.9, None),
        PlateCandidate("MB803", "MB 803", 0.9, None),
        PlateCandidate("MLB803", "MLB 803", 0.4, "abc-123"),
    ]
    verdict = vote(reads)
    assert verdict is not None and verdict.text == "MLB803" and verdict.format_name == "abc-123"


def test_correction_is_applied_before_voting() -> None:
    # "MLB8O3" (letter O) is corrected to the format's digit, so it backs "MLB803".
    verdict = vote(
        [
            candidate("MLB8O3", 0.5, FORMATS, 2),
            candidate("MLB803", 0.4, FORMATS, 2),
            candidate("XX", 0.8, FORMATS, 2),
        ]
    )
    assert verdict is not None and (verdict.text, verdict.support) == ("MLB803", 2)


def test_no_text_gives_no_verdict() -> None:
    assert vote([]) is None
    assert vote([candidate("", 0.0, FORMATS, 2), candidate(" - ", 0.3, FORMATS, 2)]) is None
