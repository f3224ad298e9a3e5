"""The review log: one durable, audited verdict per alert, readable as plain Parquet."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from actors.audit import AuditLog
from actors.reviews import REVIEW_SCHEMA, AlreadyReviewedError, ReviewInputError, ReviewLog
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


def test_keep_is_stored_audited_and_only_for_a_confirmed_alert(reviews: ReviewLog, audit: AuditLog) -> None:
    kept = reviews.add("alert-1", "confirmed", "seen at the gate", "PC 1", "desk-1", keep=True)
    assert kept.kept and reviews.get("alert-1") == kept
    with pytest.raises(ReviewInputError, match="keep is only for a confirmed alert; this one is rejected"):
        reviews.add("alert-2", "rejected", "no", "PC 1", "desk-1", keep=True)
    assert reviews.get("alert-2") is None
    [entry] = audit.entries()
    assert entry.details == {
        "decision": "confirmed",
        "reason": "seen at the gate",
        "officer": "PC 1",
        "keep": True,
    }
    assert list(pd.read_parquet(reviews.path)["keep"]) == [True]


def test_a_review_file_from_before_keep_reads_as_not_kept(reviews: ReviewLog) -> None:
    old_schema = pa.schema([field for field in REVIEW_SCHEMA if field.name != "keep"])
    row = {
        "alert_id": "alert-1",
        "decision": "confirmed",
        "reason": "seen",
        "officer": "PC 1",
        "reviewed_by": "desk-1",
        "reviewed_at": NOW,
    }
    pq.write_table(pa.Table.from_pylist([row], schema=old_schema), reviews.path)
    review = reviews.get("alert-1")
    assert review is not None and review.officer == "PC 1" and review.keep is False and not review.kept
    reviews.add("alert-2", "confirmed", "seen", "PC 1", "desk-1", keep=True)  # rewritten with the column
    assert list(pd.read_parquet(reviews.path)["keep"]) == [False, True]


def test_reviews_removed_under_the_lock_are_gone_and_others_stay(reviews: ReviewLog) -> None:
    for alert_id in ("alert-1", "alert-2", "alert-3"):
        reviews.add(alert_id, "rejected", "no", "PC 1", "desk-1")
    with reviews.locked() as locked:
        assert set(locked.all()) == {"alert-1", "alert-2", "alert-3"}
        assert locked.remove(["alert-1", "alert-3", "never-reviewed"]) == 2
    assert set(reviews.all()) == {"alert-2"}
