"""Request and response bodies of the operator API (they are its OpenAPI schema)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from actors.hotlist import valid_plate
from actors.reviews import Decision, Review, validate_keep
from actors.watchlist import validate_label, validate_subject_id, validate_threshold
from cluster.api.keys import KEY_NAME_PATTERN
from cluster.api.roles import Role

AlertStatus = Literal["unverified", "confirmed", "rejected"]


class Body(BaseModel):
    """A request body: unknown fields are errors, like the config's."""

    model_config = ConfigDict(extra="forbid")


class Reply(BaseModel):
    """A response body."""

    model_config = ConfigDict(extra="ignore")


class ErrorReply(Reply):
    """Every refusal: what is wrong and, for bad input, which field."""

    detail: str = Field(description="What is wrong, for a person.")
    field: str | None = Field(None, description="The request field at fault, where there is one.")


class Health(Reply):
    """The service is up."""

    status: Literal["ok"] = "ok"
    version: str


class KeyCreate(Body):
    """A new API key."""

    name: str = Field(pattern=KEY_NAME_PATTERN.pattern, description="Unique name, shown in the audit log.")
    role: Role


class KeyInfo(Reply):
    """A stored key (never the key itself)."""

    name: str
    role: Role
    created_by: str
    created_at: str


class KeyCreated(KeyInfo):
    """A key just made: ``key`` is shown this once and cannot be recovered."""

    key: str


class EnrolFields(Body):
    """The text fields of an enrolment (the photos come as files beside them)."""

    id: str = Field(description="Stable subject id (letters, digits, . _ -).")
    label: str = Field(description="Display label; neutral labels in demos and tests.")
    category: str = Field("", max_length=200, description="Category or reason, e.g. 'wanted: case 2026/114'.")
    threshold: float | None = Field(None, description="This subject's match threshold (default: faces').")
    face: int | None = Field(None, ge=0, description="Which face to use when a photo shows several.")

    # The store's own checks, so the API refuses with the CLI's words and names the field.
    @field_validator("id")
    @classmethod
    def _id(cls, subject_id: str) -> str:
        return validate_subject_id(subject_id)

    @field_validator("label")
    @classmethod
    def _label(cls, label: str) -> str:
        return validate_label(label)

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, threshold: float | None) -> float | None:
        return validate_threshold(threshold)


class PhotoInfo(Reply):
    """One enrolment photo (fetch its bytes from the photo endpoint)."""

    photo_id: str
    quality: float


class SubjectInfo(Reply):
    """A watchlist subject, without its embeddings."""

    subject_id: str
    label: str
    category: str
    threshold: float | None
    added_by: str
    added_at: datetime
    photos: list[PhotoInfo]


class HotlistAdd(Body):
    """A wanted plate, added or updated."""

    plate: str = Field(description="The plate as written; separators are ignored.")
    reason: str = Field(min_length=1, max_length=200, description="Why it is wanted.")
    expires_at: AwareDatetime | None = Field(
        None, description="ISO 8601 time with a zone after which it no longer matches."
    )

    @field_validator("plate")
    @classmethod
    def _plate(cls, plate: str) -> str:
        valid_plate(plate)
        return plate

    @field_validator("reason")
    @classmethod
    def _reason(cls, reason: str) -> str:
        if not reason.strip():
            raise ValueError("reason must not be blank")
        return reason.strip()

    @field_validator("expires_at")
    @classmethod
    def _future(cls, expires_at: datetime | None) -> datetime | None:
        if expires_at is not None and expires_at <= datetime.now(UTC):
            raise ValueError(f"expiry {expires_at.isoformat()} is not in the future")
        return expires_at


class HotlistInfo(Reply):
    """A hotlist entry."""

    plate: str
    reason: str
    added_by: str
    added_at: datetime
    expires_at: datetime | None
    expired: bool


class ReviewCreate(Body):
    """An officer's verdict on an alert."""

    decision: Decision = Field(
        description="confirmed: the person or vehicle is the one wanted; rejected: not."
    )
    reason: str = Field(min_length=1, max_length=500, description="What the officer found.")
    officer: str = Field(min_length=1, max_length=80, description="The officer who verified it.")
    keep: bool = Field(
        False,
        description="Keep the alert, its evidence and this review beyond retention.alert_days "
        "(only with confirmed).",
    )

    @field_validator("reason", "officer")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("must not be blank")
        return text.strip()

    @field_validator("keep")
    @classmethod
    def _keep(cls, keep: bool, info: ValidationInfo) -> bool:
        decision = info.data.get("decision")  # absent when it was refused itself
        return keep if decision is None else validate_keep(decision, keep)


class ReviewInfo(Reply):
    """A stored review."""

    decision: Decision
    reason: str
    officer: str
    reviewed_by: str
    reviewed_at: datetime
    keep: bool = Field(description="Kept beyond the retention period.")

    @classmethod
    def of(cls, review: Review) -> ReviewInfo:
        """The reply form of a stored review."""
        return cls(
            decision=review.decision,
            reason=review.reason,
            officer=review.officer,
            reviewed_by=review.reviewed_by,
            reviewed_at=review.reviewed_at,
            keep=review.keep,
        )


class AlertSummary(Reply):
    """An alert as listed and streamed (no images)."""

    alert_id: str
    kind: Literal["face", "plate"]
    status: AlertStatus
    camera_id: str
    camera_name: str | None
    zone: str | None
    captured_at: datetime
    emitted_at: datetime
    subject_id: str | None
    subject_label: str | None
    subject_category: str | None
    plate_text: str | None
    hotlist_plate: str | None
    plate_reason: str | None
    plate_exact: bool | None
    similarity: float | None
    threshold: float | None
    review: ReviewInfo | None = None


class AlertDetail(AlertSummary):
    """One alert with its evidence: the camera crop and the enrolment photo it matched."""

    track_id: int | None
    lat: float | None
    lon: float | None
    models: dict[str, str]
    evidence_jpeg_base64: str
    enrolment_photo: str | None
    enrolment_photo_base64: str | None = Field(
        description="The enrolment photo, or null for a plate alert or a subject since removed."
    )


class AlertPage(Reply):
    """A page of alerts, newest capture first."""

    total: int = Field(description="Alerts matching the filters, over all pages.")
    limit: int
    offset: int
    items: list[AlertSummary]


class AuditEntryInfo(Reply):
    """One audit log entry."""

    at: str
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    prev_hash: str


class AuditPage(Reply):
    """Audit entries, newest first, with the result of verifying the whole hash chain."""

    chain_intact: bool
    chain_error: str | None
    total: int
    limit: int
    offset: int
    entries: list[AuditEntryInfo]


class Caller(Reply):
    """Who the key belongs to."""

    name: str
    role: Role


class SearchCandidate(Reply):
    """A watchlist subject ranked by similarity to the searched face."""

    subject_id: str
    label: str
    category: str
    similarity: float
    threshold: float
    reaches_threshold: bool = Field(description="Whether live matching would alert on this subject.")
    photo_id: str = Field(description="The subject's enrolment photo most similar to the face.")


class SearchReply(Reply):
    """The candidates of a face search: leads for a person to verify, never an identification."""

    purpose: str
    candidates: list[SearchCandidate]


class CameraCounters(Reply):
    """A camera's counters since its shard started."""

    state: str = Field(description="connecting, streaming, backoff, ended or stopped.")
    frames_read: int
    frames_analysed: int
    frames_dropped: int
    frames_shed: int
    reconnects: int
    last_frame_age_s: float | None
    stream_error: str | None


class CameraInfo(Reply):
    """A configured camera and, while the pipeline runs, its live counters."""

    id: str
    name: str
    kind: str
    zone: str
    url: str = Field(description="The stream's url, any password replaced by ***.")
    enabled: bool
    analysis_fps: float
    live: CameraCounters | None = Field(description="Null when no pipeline is running this camera.")
