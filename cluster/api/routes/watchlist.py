"""``/api/v1/watchlist``: wanted people (supervisor); enrolment by the store the CLI uses."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from actors.watchlist import PhotoUpload, Subject
from cluster.api.schemas import EnrolFields, PhotoInfo, SubjectInfo
from cluster.api.security import Services, Supervisor
from serve.errors import NotFoundError, SafeCityError

router = APIRouter(prefix="/watchlist", tags=["watchlist"])

PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/bmp", "image/tiff"})


class PhotoTypeError(SafeCityError):
    """An upload is not one of the image types enrolment takes (415); nothing was stored."""


_MEDIA_BY_SUFFIX = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


def _info(subject: Subject) -> SubjectInfo:
    return SubjectInfo(
        subject_id=subject.subject_id,
        label=subject.label,
        category=subject.category,
        threshold=subject.threshold,
        added_by=subject.added_by,
        added_at=subject.added_at,
        photos=[PhotoInfo(photo_id=p.photo_id, quality=p.quality) for p in subject.photos],
    )


def read_photo(index: int, upload: UploadFile, face: int | None) -> PhotoUpload:
    """An uploaded photo for the store; named by its base name (for messages and its file suffix)."""
    name = PurePath(upload.filename or "").name or f"photo-{index + 1}"
    if upload.content_type not in PHOTO_TYPES:
        raise PhotoTypeError(
            f"{name} is {upload.content_type or 'of no stated type'}; "
            f"send one of {', '.join(sorted(PHOTO_TYPES))}"
        )
    return PhotoUpload(name=name, data=upload.file.read(), face_index=face)


@router.get("/subjects")
def list_subjects(caller: Supervisor, services: Services) -> list[SubjectInfo]:
    """Every subject by id, with photo ids and qualities (never embeddings)."""
    return [_info(subject) for subject in services.watchlist.list()]


@router.post("/subjects", status_code=status.HTTP_201_CREATED)
def enrol_subject(
    caller: Supervisor,
    services: Services,
    id: Annotated[str, Form(description="Stable subject id (letters, digits, . _ -).")],
    label: Annotated[str, Form(description="Display label; neutral labels in demos and tests.")],
    photos: Annotated[list[UploadFile], File(description="One or more photos of the subject's face.")],
    category: Annotated[str, Form(description="Category or reason.")] = "",
    threshold: Annotated[float | None, Form(description="This subject's match threshold.")] = None,
    face: Annotated[int | None, Form(description="Which face to use when a photo shows several.")] = None,
) -> SubjectInfo:
    """Enrol a subject, or add photos to one: all photos are checked before anything is stored."""
    try:
        fields = EnrolFields(id=id, label=label, category=category, threshold=threshold, face=face)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None
    uploads = [read_photo(index, upload, fields.face) for index, upload in enumerate(photos)]
    with services.enrol_lock:
        subject = services.watchlist.enrol(
            fields.id,
            fields.label,
            uploads,
            analyzer=services.faces(),
            actor=caller.actor,
            category=fields.category,
            threshold=fields.threshold,
            policy=services.enrolment_policy(),
        )
    return _info(subject)


@router.get("/subjects/{subject_id}")
def get_subject(subject_id: str, caller: Supervisor, services: Services) -> SubjectInfo:
    """One subject with its photo ids."""
    return _info(services.watchlist.get(subject_id))


@router.get(
    "/subjects/{subject_id}/photos/{photo_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The enrolment photo as stored."}},
)
def get_photo(subject_id: str, photo_id: str, caller: Supervisor, services: Services) -> Response:
    """An enrolment photo (biometric data: each view is audited)."""
    subject = services.watchlist.get(subject_id)
    photo = next((p for p in subject.photos if p.photo_id == photo_id), None)
    if photo is None:
        raise NotFoundError(f"subject {subject_id!r} has no photo {photo_id!r}")
    data = services.watchlist.photo_path(photo).read_bytes()
    services.audit.append(caller.actor, "watchlist.photo.view", subject_id, {"photo_id": photo_id})
    media = _MEDIA_BY_SUFFIX.get(PurePath(photo.photo_file).suffix, "application/octet-stream")
    return Response(data, media_type=media, headers={"Cache-Control": "no-store"})


@router.delete("/subjects/{subject_id}")
def remove_subject(subject_id: str, caller: Supervisor, services: Services) -> SubjectInfo:
    """Remove a subject and its photos."""
    return _info(services.watchlist.remove(subject_id, actor=caller.actor))
