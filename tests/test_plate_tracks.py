"""The plate track book: which crops are read (OCR per track, not per frame) and the vote over reads."""

from __future__ import annotations

import pytest

from actors.tracking.plate_tracks import PlateTrackBook, plate_crop_quality
from serve.plate_vote import PlateCandidate


def read(text: str, confidence: float = 0.6, fits: bool = True) -> PlateCandidate:
    return PlateCandidate(text, text, confidence, "fmt" if fits else None)


def offer_and_add(
    book: PlateTrackBook, track: int, reads: list[PlateCandidate], evidence: bytes = b"", quality: float = 0.5
) -> object:
    assert book.offer(track, quality), "the book refused a read the test expected it to take"
    return book.add(track, reads, evidence)


def test_votes_over_frames_and_reports_changes_only() -> None:
    book = PlateTrackBook(min_reads=3, max_reads=6)
    assert offer_and_add(book, 3, [read("MLB803")], b"a") is None  # one frame is not enough
    assert offer_and_add(book, 3, [read("MB803", 0.7)], b"b") is None
    first = offer_and_add(book, 3, [read("MLB803")], b"c")
    assert first is not None and getattr(first, "text", None) == "MLB803"  # 1.2 against 0.7
    assert not book.decided(3)  # MLB803 won two frames of the three it needs
    assert book.evidence(3) == b"b"  # the most confident read's crop


def test_agreeing_reads_decide_the_track_and_stop_reading() -> None:
    book = PlateTrackBook(min_reads=2, max_reads=4)
    assert offer_and_add(book, 1, [read("MLB803")]) is None
    verdict = offer_and_add(book, 1, [read("MLB803")])
    assert verdict is not None and book.decided(1)
    assert not book.offer(1, 0.99)  # decided: even a better crop is not read
    assert (book.offered, book.accepted) == (3, 2)


def test_disagreeing_reads_continue_up_to_the_cap() -> None:
    book = PlateTrackBook(min_reads=2, max_reads=3)
    offer_and_add(book, 1, [read("MLB803")])
    offer_and_add(book, 1, [read("MB803")])
    assert not book.decided(1)
    offer_and_add(book, 1, [read("ABC123")])
    assert not book.offer(1, 1.0)  # the cap: three reads made
    assert book.accepted == 3


def test_after_the_first_reads_only_crops_as_good_as_the_best_are_read() -> None:
    book = PlateTrackBook(min_reads=2, max_reads=5)
    offer_and_add(book, 1, [read("MLB803")], quality=0.3)
    offer_and_add(book, 1, [read("MB803")], quality=0.6)
    assert not book.offer(1, 0.5)  # worse than the best read so far
    assert book.offer(1, 0.7)


def test_one_read_in_flight_per_track() -> None:
    book = PlateTrackBook(min_reads=2, max_reads=4)
    assert book.offer(1, 0.5)
    assert not book.offer(1, 0.9)  # the first read has not come back yet
    assert book.offer(2, 0.5)  # another track is independent
    book.add(1, [read("MLB803")], b"")
    assert book.offer(1, 0.5)


def test_a_cancelled_read_does_not_count_against_the_budget() -> None:
    book = PlateTrackBook(min_reads=1, max_reads=1)
    assert book.offer(1, 0.5)
    book.cancel(1)  # shed as stale
    assert book.offer(1, 0.5)
    book.add(1, [read("MLB803", 0.5)], b"")
    assert not book.offer(1, 0.5)


def test_confident_single_read_shortcut_and_settling() -> None:
    book = PlateTrackBook(min_reads=3, max_reads=4, shortcut_confidence=0.9)
    verdict = offer_and_add(book, 1, [read("MLB803", 0.95), read("MLB803", 0.97)], b"x")
    assert verdict is not None and book.decided(1)
    book.settle(1)
    assert not book.offer(1, 1.0)


def test_a_settled_track_ignores_a_read_that_was_in_flight() -> None:
    book = PlateTrackBook(min_reads=1, max_reads=4)
    assert book.offer(1, 0.5)
    book.settle(1)
    assert book.add(1, [read("MLB803", 0.99)], b"") is None


def test_reads_where_ocr_saw_nothing_do_not_count_towards_min_reads() -> None:
    book = PlateTrackBook(min_reads=2, max_reads=5)
    assert offer_and_add(book, 1, [read("", 0.0, fits=False)]) is None
    assert offer_and_add(book, 1, []) is None
    assert offer_and_add(book, 1, [read("MLB803")]) is None  # only one read with text so far
    verdict = offer_and_add(book, 1, [read("MLB803")])
    assert verdict is not None and getattr(verdict, "reads", None) == 2


def test_a_confident_read_that_fits_no_format_takes_no_shortcut() -> None:
    book = PlateTrackBook(min_reads=2, max_reads=4, shortcut_confidence=0.9)
    assert offer_and_add(book, 1, [read("MLB803", 0.95, fits=False)]) is None
    assert not book.decided(1)
    assert offer_and_add(book, 2, [read("MLB803", 0.85)]) is None


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="min_reads <= max_reads"):
        PlateTrackBook(min_reads=3, max_reads=2)


def test_crop_quality_grows_with_size_score_and_focus() -> None:
    assert plate_crop_quality(240, 0.9, 400) == pytest.approx(0.9)  # capped at full size and focus
    assert plate_crop_quality(60, 0.9, 400) == pytest.approx(0.45)
    assert plate_crop_quality(120, 0.9, 150 / 4) == pytest.approx(0.45)
    assert plate_crop_quality(0, 0.9, 400) == 0.0
