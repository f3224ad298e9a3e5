"""The watchlist of wanted people: subjects, their enrolment photos and face embeddings.

Stored as one Parquet file (a row per enrolment photo) replaced atomically under a lock, plus the
enrolment photos themselves, which alerts cite as evidence. Every change is audited.
Only enrolled faces are stored: faces seen by cameras that match nobody never reach this module.
"""

from __future__ import annotations

import builtins
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from actors.audit import AuditLog
from actors.storage import exclusive_lock, read_table, write_bytes_atomic, write_table_atomic
from serve.errors import (
    EnrolmentError,
    ImageDecodeError,
    MultipleFacesError,
    NoFaceError,
    NotFoundError,
    PoorQualityError,
    SafeCityError,
)
from serve.face_analyzer import FaceAnalyzer
from serve.face_policy import EnrolmentPolicy as EnrolmentPolicy
from serve.imaging import decode_image
from serve.types import FaceCrop

EMBEDDING_DIM = 128
SUBJECT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_LABEL_LENGTH = 80
_PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}

WATCHLIST_SCHEMA = pa.schema(
    [
        pa.field("subject_id", pa.string(), nullable=False),
        pa.field("label", pa.string(), nullable=False),
        pa.field("category", pa.string(), nullable=False),
        pa.field("threshold", pa.float64(), nullable=True),
        pa.field("added_by", pa.string(), nullable=False),
        pa.field("added_at", pa.timestamp("ms", tz="UTC"), nullable=False),
        pa.field("photo_id", pa.string(), nullable=False),
        pa.field("photo_file", pa.string(), nullable=False),
        pa.field("quality", pa.float64(), nullable=False),
        pa.field("embedding", pa.list_(pa.float32(), EMBEDDING_DIM), nullable=False),
    ]
)


class WatchlistInputError(SafeCityError, ValueError):
    """A watchlist request is malformed (bad id, label, threshold); nothing was stored."""


@dataclass(frozen=True)
class PhotoUpload:
    """One enrolment photo as received: a name for messages, its bytes, and which face to use."""

    name: str
    data: bytes
    face_index: int | None = None


@dataclass(frozen=True)
class EnrolledPhoto:
    """One stored enrolment photo of a subject."""

    photo_id: str
    photo_file: str
    quality: float
    embedding: NDArray[np.float32]


@dataclass(frozen=True)
class Subject:
    """A watchlist subject with its enrolment photos."""

    subject_id: str
    label: str
    category: str
    threshold: float | None
    added_by: str
    added_at: datetime
    photos: tuple[EnrolledPhoto, ...]


@dataclass(frozen=True)
class WatchlistSnapshot:
    """An immutable view for matching: one embedding row per enrolment photo."""

    subjects: dict[str, Subject]
    embeddings: NDArray[np.float32]  # (n_photos, dim)
    row_subject: tuple[str, ...]
    row_photo: tuple[str, ...]


def pick_face(upload: PhotoUpload, faces: Sequence[FaceCrop], policy: EnrolmentPolicy) -> FaceCrop:
    """The face of ``upload`` to enrol, or an :class:`EnrolmentError` that says why there is none."""
    if not faces:
        raise NoFaceError(f"{upload.name}: no face found")
    if upload.face_index is None and len(faces) > 1:
        boxes = "; ".join(f"#{i}: {[round(v) for v in f.xyxy]}" for i, f in enumerate(faces))
        raise MultipleFacesError(f"{upload.name}: {len(faces)} faces found ({boxes}); pick one with --face N")
    index = upload.face_index or 0
    if not 0 <= index < len(faces):
        raise EnrolmentError(f"{upload.name}: face #{index} requested but only {len(faces)} found")
    face = faces[index]
    quality = face.quality
    if quality.size_px < policy.min_face_px:
        raise PoorQualityError(
            f"{upload.name}: face is {quality.size_px:.0f} px, at least {policy.min_face_px:.0f} px needed"
        )
    if quality.sharpness < policy.min_sharpness:
        raise PoorQualityError(
            f"{upload.name}: face too blurred (sharpness {quality.sharpness:.0f}, "
            f"at least {policy.min_sharpness:.0f} needed)"
        )
    if np.isnan(face.landmarks).any() or quality.score < policy.min_quality:
        raise PoorQualityError(
            f"{upload.name}: face quality {quality.score:.2f} below {policy.min_quality:.2f} "
            "(turned away, occluded or poorly lit)"
        )
    return face


def validate_subject_id(subject_id: str) -> str:
    """``subject_id`` if valid, else :class:`WatchlistInputError` saying what a valid one is."""
    if not SUBJECT_ID_PATTERN.match(subject_id):
        raise WatchlistInputError(
            f"subject id {subject_id!r} is invalid: use 1-64 letters, digits, '.', '_' or '-'"
        )
    return subject_id


def validate_label(label: str) -> str:
    """``label`` if it has 1 to ``MAX_LABEL_LENGTH`` characters, else :class:`WatchlistInputError`."""
    if not label.strip() or len(label) > MAX_LABEL_LENGTH:
        raise WatchlistInputError(f"label must be 1-{MAX_LABEL_LENGTH} characters, got {len(label.strip())}")
    return label


def validate_threshold(threshold: float | None) -> float | None:
    """``threshold`` if absent or strictly between 0 and 1, else :class:`WatchlistInputError`."""
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise WatchlistInputError(f"threshold must be between 0 and 1, got {threshold}")
    return threshold


def _validate_subject(subject_id: str, label: str, threshold: float | None) -> None:
    validate_subject_id(subject_id)
    validate_label(label)
    validate_threshold(threshold)


class WatchlistStore:
    """The watchlist of one data directory."""

    def __init__(self, data_dir: Path, audit: AuditLog) -> None:
        self.data_dir = data_dir
        self.audit = audit
        self.table_path = data_dir / "watchlist.parquet"
        self.photo_dir = data_dir / "watchlist-photos"
        self._lock_path = data_dir / "watchlist.lock"

    def enrol(
        self,
        subject_id: str,
        label: str,
        photos: Sequence[PhotoUpload],
        *,
        analyzer: FaceAnalyzer,
        actor: str,
        category: str = "",
        threshold: float | None = None,
        policy: EnrolmentPolicy = EnrolmentPolicy(),
    ) -> Subject:
        """Add a subject, or photos to an existing one; all photos are checked before anything is stored."""
        _validate_subject(subject_id, label, threshold)
        if not photos:
            raise WatchlistInputError("enrolment needs at least one photo")
        images = []
        for upload in photos:
            try:
                images.append(decode_image(upload.data, name=upload.name))
            except ImageDecodeError as exc:
                raise EnrolmentError(str(exc)) from exc
        chosen = [
            pick_face(upload, analyzer.crops(image, detections), policy)
            for upload, image, detections in zip(photos, images, analyzer.detect(images), strict=True)
        ]
        embeddings = analyzer.embed(chosen)
        now = datetime.now(UTC)
        with exclusive_lock(self._lock_path):
            table = read_table(self.table_path, WATCHLIST_SCHEMA)
            existing = self._rows(table)
            known = [row for row in existing if row["subject_id"] == subject_id]
            rows = [row for row in existing if row["subject_id"] != subject_id]
            known_photos = {row["photo_id"] for row in known}
            added_by = known[0]["added_by"] if known else actor
            added_at = known[0]["added_at"] if known else now
            for row in known:
                rows.append({**row, "label": label, "category": category, "threshold": threshold})
            new_photo_ids = []
            for upload, face in zip(photos, embeddings, strict=True):
                photo_id = hashlib.sha256(upload.data).hexdigest()[:24]
                if photo_id in known_photos or photo_id in new_photo_ids:
                    continue
                suffix = Path(upload.name).suffix.lower()
                photo_file = f"{photo_id}{suffix if suffix in _PHOTO_SUFFIXES else '.jpg'}"
                write_bytes_atomic(self.photo_dir / photo_file, upload.data)
                new_photo_ids.append(photo_id)
                rows.append(
                    {
                        "subject_id": subject_id,
                        "label": label,
                        "category": category,
                        "threshold": threshold,
                        "added_by": added_by,
                        "added_at": added_at,
                        "photo_id": photo_id,
                        "photo_file": photo_file,
                        "quality": face.crop.quality.score,
                        "embedding": face.embedding.tolist(),
                    }
                )
            write_table_atomic(self.table_path, pa.Table.from_pylist(rows, schema=WATCHLIST_SCHEMA))
            self.audit.append(
                actor,
                "watchlist.update" if known else "watchlist.enrol",
                subject_id,
                {"label": label, "category": category, "threshold": threshold, "photos_added": new_photo_ids},
            )
        return self.get(subject_id)

    def remove(self, subject_id: str, *, actor: str) -> Subject:
        """Delete a subject and its photos."""
        with exclusive_lock(self._lock_path):
            table = read_table(self.table_path, WATCHLIST_SCHEMA)
            rows = self._rows(table)
            removed = [row for row in rows if row["subject_id"] == subject_id]
            if not removed:
                raise NotFoundError(f"subject {subject_id!r} is not on the watchlist")
            subject = self._subjects(removed)[subject_id]
            kept = [row for row in rows if row["subject_id"] != subject_id]
            write_table_atomic(self.table_path, pa.Table.from_pylist(kept, schema=WATCHLIST_SCHEMA))
            still_used = {row["photo_file"] for row in kept}
            for row in removed:
                if row["photo_file"] not in still_used:
                    (self.photo_dir / row["photo_file"]).unlink(missing_ok=True)
            self.audit.append(actor, "watchlist.remove", subject_id, {"label": subject.label})
        return subject

    def get(self, subject_id: str) -> Subject:
        """One subject, or :class:`NotFoundError`."""
        subject = self._subjects(self._rows(read_table(self.table_path, WATCHLIST_SCHEMA))).get(subject_id)
        if subject is None:
            raise NotFoundError(f"subject {subject_id!r} is not on the watchlist")
        return subject

    def list(self) -> builtins.list[Subject]:
        """All subjects, by id."""
        subjects = self._subjects(self._rows(read_table(self.table_path, WATCHLIST_SCHEMA)))
        return [subjects[key] for key in sorted(subjects)]

    def photo_path(self, photo: EnrolledPhoto) -> Path:
        """Where an enrolment photo is kept."""
        return self.photo_dir / photo.photo_file

    def snapshot(self) -> WatchlistSnapshot:
        """Everything the matcher needs, read once."""
        table = read_table(self.table_path, WATCHLIST_SCHEMA)
        rows = self._rows(table)
        if rows:
            embeddings = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
        else:
            embeddings = np.zeros((0, EMBEDDING_DIM), np.float32)
        return WatchlistSnapshot(
            subjects=self._subjects(rows),
            embeddings=embeddings,
            row_subject=tuple(row["subject_id"] for row in rows),
            row_photo=tuple(row["photo_id"] for row in rows),
        )

    @staticmethod
    def _rows(table: pa.Table) -> builtins.list[dict[str, Any]]:
        return table.to_pylist()  # type: ignore[no-any-return]

    @staticmethod
    def _subjects(rows: Sequence[dict[str, Any]]) -> dict[str, Subject]:
        grouped: dict[str, builtins.list[dict[str, Any]]] = {}
        for row in rows:
            grouped.setdefault(str(row["subject_id"]), []).append(row)
        subjects = {}
        for subject_id, group in grouped.items():
            first = group[0]
            added_at = first["added_at"]
            assert isinstance(added_at, datetime)
            threshold = first["threshold"]
            subjects[subject_id] = Subject(
                subject_id=subject_id,
                label=str(first["label"]),
                category=str(first["category"]),
                threshold=float(threshold) if isinstance(threshold, float) else None,
                added_by=str(first["added_by"]),
                added_at=added_at,
                photos=tuple(
                    EnrolledPhoto(
                        photo_id=str(row["photo_id"]),
                        photo_file=str(row["photo_file"]),
                        quality=float(row["quality"]),
                        embedding=np.asarray(row["embedding"], dtype=np.float32),
                    )
                    for row in group
                ),
            )
        return subjects
