"""A generated set of Pakistani number plates pasted on real scene backgrounds (``safecity bench plates``).

Deterministic from a seed, offline, no system fonts: text is drawn with OpenCV's Hershey fonts and
Pillow's bundled font. Each sample is a small scene crop holding one plate, with the plate's box and
its true registration. Plates vary the way a city's cameras see them: formats ABC-123, ABC-1234,
AB-123, AB-1234; one line, one line under (or over) a province header, two-line motorcycle plates;
white, yellow and green-ish plates with borders and a coloured side strip; 60 to 200 px wide; tilt and
perspective, blur, noise, JPEG artefacts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image as PilImage
from PIL import ImageDraw, ImageFont

from cluster.samples import FACES, PLATES
from serve.imaging import Image, read_image
from serve.types import Box

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PROVINCE_HEADERS = (
    "SINDH",
    "PUNJAB",
    "ICT ISLAMABAD",
    "ISLAMABAD",
    "BALOCHISTAN",
    "KPK",
    "KHYBER PAKHTUNKHWA",
    "GB",
    "AJK",
)
# (letters, digits) of ABC-123, ABC-1234, AB-123, AB-1234.
FORMATS = ((3, 3), (3, 4), (2, 3), (2, 4))
MIN_WIDTH_PX, MAX_WIDTH_PX = 60, 200
_CANVAS_HEIGHT_PX = 240  # plates are drawn this tall, then warped down to their size in the scene
FONTS: dict[str, int | None] = {
    "pillow": None,  # Pillow's bundled sans-serif
    "hershey-simplex": cv2.FONT_HERSHEY_SIMPLEX,
    "hershey-duplex": cv2.FONT_HERSHEY_DUPLEX,
    "hershey-triplex": cv2.FONT_HERSHEY_TRIPLEX,
}
_BACKGROUNDS_BGR = {
    "white": (238, 240, 240),
    "yellow": (40, 205, 235),
    "green": (185, 225, 185),
}


class Layout(StrEnum):
    """How the text sits on the plate."""

    ONE_LINE = "one-line"
    HEADER = "header"  # a province name in small letters above (or below) the number
    TWO_LINE = "two-line"  # motorcycle: letters over digits


@dataclass(frozen=True)
class PlateSample:
    """One scene with one plate: ``box`` is the plate in ``image`` pixels, ``text`` its registration."""

    image: Image
    box: Box
    text: str
    layout: Layout
    width_px: int
    background: str
    font: str
    number_lines: tuple[Box, ...]  # where the registration's lines are drawn, top to bottom

    @property
    def width_bucket(self) -> str:
        """The plate's width class, for per-category results."""
        if self.width_px < 100:
            return "60-99 px"
        if self.width_px < 150:
            return "100-149 px"
        return "150-200 px"


@dataclass(frozen=True)
class _Style:
    """How a plate's text is drawn."""

    hershey: int | None  # an OpenCV Hershey font, or None for Pillow's bundled font
    weight: float  # stroke thickness relative to the text height
    colour_bgr: tuple[int, int, int]


def generate_plates(count: int, seed: int = 0, box_jitter: float = 0.04) -> list[PlateSample]:
    """``count`` samples, the same for the same ``seed``.

    ``box_jitter`` moves each side of the true box by up to that fraction of the plate's size, the way
    a detector's box is a little off; 0 gives the exact box.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    rng = np.random.default_rng(seed)
    scenes = _scenes()
    layouts = list(Layout)
    return [
        _sample(rng, scenes[int(rng.integers(len(scenes)))], layouts[i % len(layouts)], box_jitter)
        for i in range(count)
    ]


@cache
def _scenes() -> tuple[Image, ...]:
    paths: list[Path] = [PLATES / "cgi_two_cars.jpg", *sorted(FACES.glob("*.jpg"))]
    return tuple(read_image(path) for path in paths)


def _registration(rng: np.random.Generator) -> tuple[str, str]:
    letters, digits = FORMATS[int(rng.integers(len(FORMATS)))]
    head = "".join(LETTERS[int(i)] for i in rng.integers(0, 26, letters))
    tail = str(int(rng.integers(1, 10))) + "".join(str(int(d)) for d in rng.integers(0, 10, digits - 1))
    return head, tail


def _sample(rng: np.random.Generator, scene: Image, layout: Layout, box_jitter: float) -> PlateSample:
    head, tail = _registration(rng)
    background = list(_BACKGROUNDS_BGR)[int(rng.integers(len(_BACKGROUNDS_BGR)))]
    font = list(FONTS)[int(rng.integers(len(FONTS)))]
    style = _Style(
        hershey=FONTS[font],
        weight=rng.uniform(0.09, 0.15),
        colour_bgr=(20, 20, 20) if rng.random() < 0.8 else (50, 30, 20),
    )
    plate, drawn = _draw_plate(rng, head, tail, layout, _BACKGROUNDS_BGR[background], style)
    width_px = int(rng.integers(MIN_WIDTH_PX, MAX_WIDTH_PX + 1))
    image, quad, matrix = _paste(rng, plate, width_px, scene)
    image = _degrade(rng, image, width_px)
    scale = width_px / plate.shape[1]
    lines = tuple(_warped_box(box, scale, matrix) for box in drawn)
    box = _jittered_box(rng, quad, box_jitter, image.shape)
    return PlateSample(image, box, head + tail, layout, width_px, background, font, lines)


def _warped_box(box: tuple[int, int, int, int], scale: float, matrix: NDArray[np.float64]) -> Box:
    x0, y0, x1, y1 = (v * scale for v in box)
    corners = np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], np.float32)
    warped = cv2.perspectiveTransform(corners, matrix)[0]
    (left, top), (right, bottom) = warped.min(axis=0), warped.max(axis=0)
    return (float(left), float(top), float(right), float(bottom))


def _draw_plate(
    rng: np.random.Generator,
    head: str,
    tail: str,
    layout: Layout,
    background_bgr: tuple[int, int, int],
    style: _Style,
) -> tuple[Image, list[tuple[int, int, int, int]]]:
    """The plate at canvas size, and the boxes of the lines holding the registration."""
    height = _CANVAS_HEIGHT_PX
    aspect = {Layout.ONE_LINE: (2.6, 4.4), Layout.HEADER: (2.0, 3.2), Layout.TWO_LINE: (1.35, 1.8)}[layout]
    width = int(height * rng.uniform(*aspect))
    shade = rng.uniform(0.85, 1.05)
    plate = np.empty((height, width, 3), np.uint8)
    plate[:] = np.clip(np.array(background_bgr) * shade, 0, 255).astype(np.uint8)
    # A soft light gradient across the plate (sun, headlights).
    ramp = np.linspace(rng.uniform(-25, 0), rng.uniform(0, 25), width, dtype=np.float32)
    plate = np.clip(plate.astype(np.float32) + ramp[None, :, None], 0, 255).astype(np.uint8)

    inset = int(height * 0.06)
    left = inset
    if layout is not Layout.TWO_LINE and rng.random() < 0.5:
        # A green or blue strip with a light emblem on the left, as on many Pakistani plates.
        strip = int(width * rng.uniform(0.08, 0.13))
        colour = (40, 120, 30) if rng.random() < 0.5 else (140, 60, 20)
        cv2.rectangle(plate, (inset, inset), (inset + strip, height - inset), colour, -1)
        centre = (inset + strip // 2, int(height * rng.uniform(0.3, 0.5)))
        cv2.circle(plate, centre, max(3, strip // 4), (235, 235, 235), -1)
        left = inset + strip + int(height * rng.uniform(0.06, 0.14))

    separator = ("-", " ", "  ")[int(rng.integers(3))]
    top, bottom, right = inset * 2, height - inset * 2, width - inset * 2
    left = max(left, inset * 2)
    if layout is Layout.ONE_LINE:
        drawn = [_draw_text(plate, head + separator + tail, (left, top, right, bottom), style, rng)]
    elif layout is Layout.HEADER:
        header = PROVINCE_HEADERS[int(rng.integers(len(PROVINCE_HEADERS)))]
        header_height = (bottom - top) * rng.uniform(0.2, 0.3)
        gap = (bottom - top) * 0.08
        if rng.random() < 0.75:
            header_box = (left, top, right, int(top + header_height))
            number_box = (left, int(top + header_height + gap), right, bottom)
        else:
            header_box = (left, int(bottom - header_height), right, bottom)
            number_box = (left, top, right, int(bottom - header_height - gap))
        _draw_text(plate, header, header_box, style, rng)
        drawn = [_draw_text(plate, head + separator + tail, number_box, style, rng)]
    else:
        middle = (top + bottom) // 2
        gap = int((bottom - top) * 0.05)
        drawn = [
            _draw_text(plate, head, (left, top, right, middle - gap), style, rng),
            _draw_text(plate, tail, (left, middle + gap, right, bottom), style, rng),
        ]

    border = max(2, int(height * rng.uniform(0.015, 0.04)))
    cv2.rectangle(
        plate,
        (border // 2, border // 2),
        (width - 1 - border // 2, height - 1 - border // 2),
        (25, 25, 25),
        border,
    )
    return plate, drawn


def _draw_text(
    plate: Image, text: str, region: tuple[int, int, int, int], style: _Style, rng: np.random.Generator
) -> tuple[int, int, int, int]:
    """Draw ``text`` as large as fits in ``region`` (x0, y0, x1, y1), centred; the box it took."""
    mask = _text_mask(text, style)
    x0, y0, x1, y1 = region
    box_w, box_h = x1 - x0, y1 - y0
    height = box_h * rng.uniform(0.85, 1.0)
    width = mask.shape[1] * height / mask.shape[0]
    if width > box_w:  # narrow the letters a little before shrinking them
        width = max(box_w, width * 0.8)
        if width > box_w:
            height *= box_w / width
            width = box_w
    w, h = max(1, int(width)), max(1, int(height))
    scaled = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255
    ox, oy = x0 + (box_w - w) // 2, y0 + (box_h - h) // 2
    target = plate[oy : oy + h, ox : ox + w].astype(np.float32)
    ink = np.array(style.colour_bgr, np.float32)
    plate[oy : oy + h, ox : ox + w] = (target * (1 - scaled) + ink * scaled).astype(np.uint8)
    return (ox, oy, ox + w, oy + h)


def _text_mask(text: str, style: _Style) -> NDArray[np.uint8]:
    """White text on black, cropped tight, about 120 px tall."""
    size = 120
    if style.hershey is None:
        font = ImageFont.load_default(size=size)
        stroke = max(0, int(size * (style.weight - 0.09)))
        left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
        canvas = PilImage.new("L", (int(right - left) + 8, int(bottom - top) + 8), 0)
        ImageDraw.Draw(canvas).text(
            (4 - left, 4 - top), text, fill=255, font=font, stroke_width=stroke, stroke_fill=255
        )
        mask = np.asarray(canvas, np.uint8)
    else:
        scale = cv2.getFontScaleFromHeight(style.hershey, size)
        thickness = max(2, int(size * style.weight))
        (w, h), base = cv2.getTextSize(text, style.hershey, scale, thickness)
        mask = np.zeros((h + base + 2 * thickness, w + 2 * thickness), np.uint8)
        cv2.putText(mask, text, (thickness, h + thickness), style.hershey, scale, 255, thickness, cv2.LINE_AA)
    ys, xs = np.nonzero(mask)
    return np.ascontiguousarray(mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


def _paste(
    rng: np.random.Generator, plate: Image, width_px: int, scene: Image
) -> tuple[Image, NDArray[np.float32], NDArray[np.float64]]:
    """The plate shrunk to ``width_px``, tilted, in perspective, on a random crop of ``scene``."""
    height_px = max(8, round(plate.shape[0] * width_px / plate.shape[1]))
    small = cv2.resize(plate, (width_px, height_px), interpolation=cv2.INTER_AREA)
    bg_w = int(width_px * rng.uniform(2.2, 3.2))
    bg_h = int(max(height_px * 3, bg_w * 0.6))
    background = _background(rng, scene, bg_w, bg_h)

    corners = np.array([[0, 0], [width_px, 0], [width_px, height_px], [0, height_px]], np.float32)
    angle = np.deg2rad(rng.uniform(-7, 7))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
    centred = (corners - corners.mean(axis=0)) @ rotation.T
    # Perspective: each corner moves by up to 7% of the width and 10% of the height.
    wobble = rng.uniform(-1, 1, size=(4, 2)).astype(np.float32) * [0.07 * width_px, 0.10 * height_px]
    centre = np.array([bg_w, bg_h], np.float32) / 2 + rng.uniform(-0.15, 0.15, 2).astype(np.float32) * [
        bg_w - width_px,
        bg_h - height_px,
    ]
    quad = (centred + wobble + centre).astype(np.float32)
    matrix = np.asarray(cv2.getPerspectiveTransform(corners, quad), np.float64)
    warped = cv2.warpPerspective(small, matrix, (bg_w, bg_h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full(small.shape[:2], 255, np.uint8), matrix, (bg_w, bg_h))
    alpha = mask.astype(np.float32)[..., None] / 255
    image = (background.astype(np.float32) * (1 - alpha) + warped.astype(np.float32) * alpha).astype(np.uint8)
    return image, quad, matrix


def _background(rng: np.random.Generator, scene: Image, width: int, height: int) -> Image:
    scale = max(1.0, width / scene.shape[1], height / scene.shape[0]) * rng.uniform(1.0, 1.6)
    resized = cv2.resize(scene, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    y = int(rng.integers(0, resized.shape[0] - height + 1))
    x = int(rng.integers(0, resized.shape[1] - width + 1))
    return np.ascontiguousarray(resized[y : y + height, x : x + width])


def _degrade(rng: np.random.Generator, image: Image, width_px: int) -> Image:
    """Camera effects: defocus or motion blur, contrast, sensor noise, JPEG compression."""
    if rng.random() < 0.25:
        length = int(rng.integers(2, 5))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1 / length
        image = np.asarray(cv2.filter2D(image, -1, kernel), np.uint8)
    else:
        sigma = rng.uniform(0.0, 0.9) * (0.6 + width_px / 250)
        if sigma > 0.2:
            image = np.asarray(cv2.GaussianBlur(image, (0, 0), sigma), np.uint8)
    gain, offset = rng.uniform(0.7, 1.15), rng.uniform(-30, 20)
    noisy = image.astype(np.float32) * gain + offset + rng.normal(0, rng.uniform(0, 6), image.shape)
    image = np.clip(noisy, 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 91))])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    return np.ascontiguousarray(decoded, dtype=np.uint8)


def _jittered_box(
    rng: np.random.Generator, quad: NDArray[np.float32], jitter: float, shape: Sequence[int]
) -> Box:
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    w, h = x1 - x0, y1 - y0
    dx0, dx1 = rng.uniform(-jitter, jitter, 2) * w
    dy0, dy1 = rng.uniform(-jitter, jitter, 2) * h
    return (
        float(max(0.0, x0 + dx0)),
        float(max(0.0, y0 + dy0)),
        float(min(shape[1], x1 + dx1)),
        float(min(shape[0], y1 + dy1)),
    )
