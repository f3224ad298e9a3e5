"""``/api/v1/search/faces``: who on the watchlist looks like the face in a photo (supervisor, audited).

The photo is searched and forgotten: it is never stored, and the audit log keeps its SHA-256, the
stated purpose and the candidates, not the face.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.exceptions import RequestValidationError

from actors.watchlist import pick_face
from cluster.api.routes.watchlist import read_photo
from cluster.api.schemas import SearchCandidate, SearchReply
from cluster.api.security import Services, Supervisor
from serve.errors import EnrolmentError, ImageDecodeError
from serve.face_policy import EnrolmentPolicy
from serve.imaging import decode_image

router = APIRouter(prefix="/search", tags=["search"])


def _required(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])


@router.post("/faces")
def search_faces(
    caller: Supervisor,
    services: Services,
    photo: Annotated[UploadFile, File(description="A photo with the face to search for.")],
    purpose: Annotated[str, Form(max_length=300, description="Why: case or incident reference.")],
    k: Annotated[int, Form(ge=1, le=20, description="How many candidates.")] = 5,
    face: Annotated[int | None, Form(ge=0, description="Which face, when the photo shows several.")] = None,
) -> SearchReply:
    """The ``k`` subjects most similar to the photo's face, each marked whether it reaches its threshold."""
    if not purpose.strip():
        raise _required("purpose", "a face search needs its purpose stated (case or incident reference)")
    upload = read_photo(0, photo, face)
    faces_config = services.config.faces
    # The live gates, not enrolment's: a search photo is what a camera or a witness gave.
    policy = EnrolmentPolicy(
        min_face_px=faces_config.min_face_px, min_sharpness=0.0, min_quality=faces_config.min_quality
    )
    with services.enrol_lock:
        analyzer = services.faces()
        try:
            image = decode_image(upload.data, name=upload.name)
        except ImageDecodeError as exc:
            raise EnrolmentError(str(exc)) from exc
        chosen = pick_face(upload, analyzer.crops(image, analyzer.detect([image])[0]), policy)
        [embedded] = analyzer.embed([chosen])
    matcher = services.runtime.watchlist_matcher()
    found = matcher.candidates(embedded.embedding, k)
    services.audit.append(
        caller.actor,
        "search.faces",
        hashlib.sha256(upload.data).hexdigest(),
        {
            "purpose": purpose.strip(),
            "k": k,
            "candidates": [{"subject_id": c.subject_id, "similarity": round(c.similarity, 4)} for c in found],
        },
    )
    return SearchReply(
        purpose=purpose.strip(),
        candidates=[
            SearchCandidate(
                subject_id=c.subject_id,
                label=c.label,
                category=c.category,
                similarity=round(c.similarity, 4),
                threshold=c.threshold,
                reaches_threshold=c.reaches_threshold,
                photo_id=c.photo_id,
            )
            for c in found
        ],
    )
