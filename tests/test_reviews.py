"""The review log: one durable, audited verdict per alert, readable as plain Parquet."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from actors.audit import AuditLog
from actors.reviews import AlreadyReviewedError, ReviewLog
from serve.errors import StoreError

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def reviews(tmp_path: Path, audit: AuditLog) -> ReviewLog:
    return ReviewLog(tmp_path, audit, clock=lambda: NOW)


def test_a_review_is_kept_once_audited_and_read_back_by_a_new_instance(
    reviews: ReviewLog, audit: AuditLog, tmp_path: Path
) -> None:
    reviews.add("alert-1", "confirmed", "seen at the gate", "PC 1", "desk-1 (operator)")
    reviews.add("alert-2", "rejected", "different person", "PC 2", "desk-1 (operator)")
    with pytest.raises(AlreadyReviewedError, match="alert alert-1 was already confirmed by PC 1"):
        reviews.add("alert-1", "rejected", "changed my mind", "PC 3", "desk-2 (operator)")
    again = ReviewLog(tmp_path, audit).get("alert-1")
    assert again is not None
    assert (again.decision, again.reason, again.officer, again.reviewed_at) == (
        "confirmed",
        "seen at the gate",
        "PC 1",
        NOW,
    )
    frame = pd.read_parquet(tmp_path / "reviews.parquet")  # what a notebook reads
    assert list(frame["alert_id"]) == ["alert-1", "alert-2"]
    assert [(e.action, e.target) for e in audit.entries()] == [
        ("alert.review", "alert-1"),
        ("alert.review", "alert-2"),
    ]


def test_a_review_that_cannot_be_audited_does_not_stand(
    reviews: ReviewLog, audit: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    reviews.add("alert-1", "confirmed", "seen", "PC 1", "desk-1")
    before = reviews.path.read_bytes()

    def broken(*args: object, **kwargs: object) -> None:
        raise StoreError("disk full")

    monkeypatch.setattr(audit, "append", broken)
    with pytest.raises(StoreError):
        reviews.add("alert-2", "rejected", "no", "PC 1", "desk-1")
    assert reviews.path.read_bytes() == before and reviews.get("alert-2") is None
