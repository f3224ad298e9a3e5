"""Image decoding and the small geometric helpers every model stage needs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from serve.errors import ImageDecodeError
from serve.types import Box

Image = NDArray[np.uint8]
"""An 8-bit BGR image of shape (height, width, 3), as OpenCV returns it."""

MAX_IMAGE_SIDE_PX = 16384


def decode_image(data: bytes, *, name: str = "image") -> Image:
    """Decode encoded image bytes (JPEG, PNG, ...) to BGR, or raise naming ``name``."""
    if not data:
        raise ImageDecodeError(f"{name}: empty, not an image")
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageDecodeError(f"{name}: not a decodable image (JPEG, PNG, BMP, WebP, TIFF)")
    if max(image.shape[:2]) > MAX_IMAGE_SIDE_PX:
        raise ImageDecodeError(f"{name}: {image.shape[1]}x{image.shape[0]} px is larger than supported")
    return np.ascontiguousarray(image, dtype=np.uint8)


def read_image(path: Path) -> Image:
    """Read and decode an image file, or raise naming the path."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ImageDecodeError(f"{path}: no such file") from exc
    except OSError as exc:
        raise ImageDecodeError(f"{path}: cannot read: {exc.strerror}") from exc
    return decode_image(data, name=str(path))


def encode_jpeg(image: Image, quality: int = 90) -> bytes:
    """Encode a BGR image as JPEG bytes."""
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ImageDecodeError("could not encode image as JPEG")
    return bytes(encoded.tobytes())


def clip_box(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """Round a float box to integer pixels inside a ``width`` x ``height`` image."""
    x1, y1, x2, y2 = box
    return (
        int(max(0, min(width, np.floor(x1)))),
        int(max(0, min(height, np.floor(y1)))),
        int(max(0, min(width, np.ceil(x2)))),
        int(max(0, min(height, np.ceil(y2)))),
    )


def expand_box(box: Box, factor: float) -> Box:
    """Scale a box about its centre by ``factor``."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half_w, half_h = (x2 - x1) * factor / 2, (y2 - y1) * factor / 2
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def crop(image: Image, box: Box) -> Image:
    """The pixels of ``box`` (clipped to the image); may be empty for a box outside it."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = clip_box(box, width, height)
    return image[y1:y2, x1:x2]


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    ix1, iy1 = max(a[0], b[0]), max(a[1], b[1])
    ix2, iy2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, ix2 - ix1) * max(0.0, iy2 - iy1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def laplacian_variance(image: Image) -> float:
    """Focus measure: variance of the Laplacian of the grey image (higher is sharper)."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())
