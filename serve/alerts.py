"""The alert: what SafeCity tells the dispatch system, and the JSON it is sent as.

An alert is a candidate for human verification (``status`` starts as ``"unverified"``); it carries the
evidence an officer needs to verify it: the crop from the camera, the enrolment photo it matched, the
score and the threshold, the camera and the capture time.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

AlertKind = Literal["face", "plate"]
ALERT_SCHEMA_VERSION = 1
# Alert ids are name-based UUIDs under this namespace: the same decision always gets the same id.
_ALERT_ID_NAMESPACE = uuid.UUID("5a0c1e7e-3f1b-4c2d-9b7a-2d4e6f8a0b1c")


def alert_id_for(camera_id: str, kind: AlertKind, track_id: int) -> str:
    """The id of the alert about a track: stable across retries and restarts of the matcher.

    Track ids never repeat on a camera (they start from the shard's start time), so one track gives one
    id however often it is decided, and two tracks never share one.
    """
    return str(uuid.uuid5(_ALERT_ID_NAMESPACE, f"{camera_id}\x1f{kind}\x1f{track_id}"))


@dataclass(frozen=True)
class CameraRef:
    """Where an alert was seen."""

    camera_id: str
    name: str
    kind: str
    lat: float | None = None
    lon: float | None = None
    zone: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        location = None if self.lat is None or self.lon is None else {"lat": self.lat, "lon": self.lon}
        return {
            "id": self.camera_id,
            "name": self.name,
            "kind": self.kind,
            "location": location,
            "zone": self.zone,
        }


@dataclass(frozen=True)
class SubjectRef:
    """The watchlist subject a face matched."""

    subject_id: str
    label: str
    category: str
    enrolment_photo: str  # photo file name under the data directory's watchlist-photos/


@dataclass(frozen=True)
class PlateRef:
    """The hotlist entry a plate matched, and what was read."""

    read_text: str
    hotlist_plate: str
    reason: str
    exact: bool
    ocr_confidence: float
    reads: int  # OCR reads of the track the verdict was voted from


@dataclass(frozen=True)
class Alert:
    """One alert. ``alert_id`` is stable: retries and restarts resend the same id."""

    alert_id: str
    kind: AlertKind
    camera: CameraRef
    captured_at: datetime
    track_id: int
    evidence_jpeg: bytes = field(repr=False)
    subject: SubjectRef | None = None
    plate: PlateRef | None = None
    similarity: float | None = None
    threshold: float | None = None
    model_versions: dict[str, str] = field(default_factory=dict)
    emitted_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: str = "unverified"

    def __post_init__(self) -> None:
        if (self.kind == "face") != (self.subject is not None) or (self.kind == "plate") != (
            self.plate is not None
        ):
            raise ValueError(f"a {self.kind} alert needs exactly its own match (subject or plate)")
        if self.captured_at.tzinfo is None or self.emitted_at.tzinfo is None:
            raise ValueError("alert times must be timezone-aware")

    def to_json(self) -> dict[str, Any]:
        """The documented webhook body (see README, "Webhook contract")."""
        return {
            "schema": ALERT_SCHEMA_VERSION,
            "alert_id": self.alert_id,
            "kind": self.kind,
            "status": self.status,
            "camera": self.camera.to_json(),
            "captured_at": self.captured_at.astimezone(UTC).isoformat(timespec="milliseconds"),
            "emitted_at": self.emitted_at.astimezone(UTC).isoformat(timespec="milliseconds"),
            "track_id": self.track_id,
            "subject": None
            if self.subject is None
            else {
                "id": self.subject.subject_id,
                "label": self.subject.label,
                "category": self.subject.category,
            },
            "plate": None
            if self.plate is None
            else {
                "text": self.plate.read_text,
                "hotlist_plate": self.plate.hotlist_plate,
                "reason": self.plate.reason,
                "match": "exact" if self.plate.exact else "fuzzy",
                "ocr_confidence": round(self.plate.ocr_confidence, 4),
                "reads": self.plate.reads,
            },
            "similarity": None if self.similarity is None else round(self.similarity, 4),
            "threshold": self.threshold,
            "evidence": {
                "crop_jpeg_base64": base64.b64encode(self.evidence_jpeg).decode("ascii"),
                "enrolment_photo": None if self.subject is None else self.subject.enrolment_photo,
            },
            "models": dict(self.model_versions),
        }
