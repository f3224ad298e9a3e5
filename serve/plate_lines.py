"""Text lines on a plate crop, found with connected components (no text-detection model).

A plate crop from the detector holds the plate's border, bolts, a coloured strip with an emblem and
sometimes a second text line (a motorcycle plate's digits, a province name). Reading the whole crop as
one line lets those become characters ("MLB803" read as "MLB80317" on the bundled scene). This module
binarises the crop, keeps the blobs shaped like characters, groups them into lines by height and
vertical position, measures each line's tilt, and cuts each line out level: what EasyOCR's recogniser
reads best. Pure numpy and OpenCV, about 2 ms a crop on one CPU core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray

Grey = NDArray[np.uint8]
_Labels = NDArray[np.int32]

# Crops are binarised at this height at least: at the 15-20 px of a small plate, Otsu's threshold
# on the raw pixels merges neighbouring characters.
_WORK_HEIGHT_PX = 64
_MAX_SLOPE = math.tan(math.radians(20))
# Glyphs of one line are within these ratios of its median glyph height. The coloured strip beside
# the number is 1.4 to 1.8 times as tall as the characters; a province header 0.3 to 0.5 times.
_SAME_LINE_HEIGHT = (0.7, 1.45)


@dataclass(frozen=True)
class TextLine:
    """One line of characters in crop pixels: its centre, length along the line, tilt and glyph height."""

    centre_x: float
    centre_y: float
    length_px: float
    char_height_px: float
    angle_deg: float  # clockwise tilt of the line (y grows downwards)
    chars: int  # connected components in it (blur joins characters, so a lower bound)

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The upright box (x0, y0, x1, y1) around the tilted line."""
        theta = math.radians(self.angle_deg)
        half_w = (abs(self.length_px * math.cos(theta)) + abs(self.char_height_px * math.sin(theta))) / 2
        half_h = (abs(self.length_px * math.sin(theta)) + abs(self.char_height_px * math.cos(theta))) / 2
        return (
            self.centre_x - half_w,
            self.centre_y - half_h,
            self.centre_x + half_w,
            self.centre_y + half_h,
        )


@dataclass(frozen=True)
class _Blob:
    label: int
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def centre_y(self) -> float:
        return (self.y0 + self.y1) / 2


def find_text_lines(grey: Grey) -> list[TextLine]:
    """The text lines of a grey plate crop, top to bottom; empty when none is found.

    The text is taken to be dark if the middle of the crop is mostly light (the plate), light
    otherwise; the other way is tried when that finds nothing.
    """
    if grey.ndim != 2:
        raise ValueError(f"expected a 2-D grey image, got shape {grey.shape}")
    height, width = grey.shape
    if height < 6 or width < 6:
        return []
    scale = max(1.0, _WORK_HEIGHT_PX / height)
    work = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR) if scale > 1 else grey
    work = cv2.GaussianBlur(work, (3, 3), 0)
    _, dark = cv2.threshold(work, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    h, w = dark.shape
    # The plate's background fills most of the crop's middle: if that is light, the text is dark.
    light_plate = float(np.mean(dark[h // 4 : h - h // 4, w // 4 : w - w // 4] == 0)) >= 0.5
    light = np.asarray(cv2.bitwise_not(dark), np.uint8)
    inks = (np.asarray(dark, np.uint8), light) if light_plate else (light, np.asarray(dark, np.uint8))
    for ink in inks:
        lines = _find_lines(ink)
        if lines:
            return [_scaled(line, 1 / scale) for line in lines]
    return []


def _find_lines(ink: Grey) -> list[TextLine]:
    count, found, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    labels = np.asarray(found, np.int32)
    blobs = [
        _Blob(i, int(x), int(y), int(x + w), int(y + h))
        for i, (x, y, w, h, _) in enumerate(stats[1:count], start=1)
    ]
    shaped = [b for b in blobs if _is_character(b, int(stats[b.label][4]), ink.shape)]
    chars = [b for b in shaped if not _holds_others(b, shaped)]
    runs = _runs_of_lines(chars)
    if runs:
        runs = _with_glued(runs, ink, labels, {b.label for b in chars})
    return sorted((_level_line(run, labels) for run in runs), key=lambda line: line.centre_y)


def _is_character(blob: _Blob, area: int, shape: tuple[int, ...]) -> bool:
    """Whether a connected component is shaped like a character, or several run together by blur."""
    height, width = shape[:2]
    w, h = blob.width, blob.height
    if h < max(6, 0.12 * height) or h > 0.9 * height:
        return False  # specks; the plate's border or the car around it
    if w > 8 * h or w < 0.05 * h:
        return False  # border runs
    if area < 0.12 * w * h:
        return False  # thin frames
    if area > 0.8 * w * h and w > 0.35 * h:
        return False  # solid blocks: a coloured strip, a shadow
    return blob.x0 > 0 and blob.x1 < width  # not cut by the crop's sides (the car, a border post)


def _holds_others(blob: _Blob, blobs: list[_Blob]) -> bool:
    """Whether another blob's centre lies inside ``blob``'s box: a frame (border, strip), not a character."""
    return any(
        other is not blob
        and blob.x0 < (other.x0 + other.x1) / 2 < blob.x1
        and blob.y0 < (other.y0 + other.y1) / 2 < blob.y1
        for other in blobs
    )


def _columns(blob: _Blob, labels: _Labels) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """x, top and bottom (exclusive) of each column of ``blob``, in work pixels."""
    mask = labels[blob.y0 : blob.y1, blob.x0 : blob.x1] == blob.label
    filled = mask.any(axis=0)
    top = np.argmax(mask, axis=0)
    bottom = mask.shape[0] - np.argmax(mask[::-1], axis=0)
    xs = np.flatnonzero(filled)
    return xs + blob.x0, top[filled] + blob.y0, bottom[filled] + blob.y0  # column i spans [i, i + 1)


def _runs_of_lines(blobs: list[_Blob]) -> list[list[_Blob]]:
    """Blobs grouped into lines of similar glyph height, each split at wide gaps; single glyphs dropped."""
    low, high = _SAME_LINE_HEIGHT
    groups: list[list[_Blob]] = []
    for blob in sorted(blobs, key=lambda b: -b.height):
        for group in groups:
            median = float(np.median([b.height for b in group]))
            inside = min(b.y0 for b in group) <= blob.centre_y <= max(b.y1 for b in group)
            if inside and low * median <= blob.height <= high * median:
                group.append(blob)
                break
        else:
            groups.append([blob])
    return [
        run
        for group in groups
        for run in _split_at_gaps(group)
        if len(run) >= 2 or run[0].width >= 1.2 * run[0].height
    ]


def _split_at_gaps(group: list[_Blob]) -> list[list[_Blob]]:
    """A line's blobs split at gaps wider than a few characters (a bolt or emblem far from the text)."""
    ordered = sorted(group, key=lambda b: b.x0)
    median = float(np.median([b.height for b in ordered]))
    runs = [[ordered[0]]]
    for blob in ordered[1:]:
        if blob.x0 - max(b.x1 for b in runs[-1]) > 4 * median:
            runs.append([blob])
        else:
            runs[-1].append(blob)
    return runs


def _with_glued(runs: list[list[_Blob]], ink: Grey, labels: _Labels, kept: set[int]) -> list[list[_Blob]]:
    """Each line with the characters that blur glued to a wall beside it.

    The first or last character often touches the plate's coloured strip, its side border or the dark
    car around it; that component is not character-shaped, so the character was lost with it. Those
    walls are taller than any character: an opening with a vertical line a little taller than the
    characters finds them, and what is left of a rejected component once they are removed, inside a
    line's band, next to it and as tall as its glyphs, is a glued character. Measured: 81.3% exact
    reads of 600 generated plates with this step, 80.7% without.
    """
    tallest = max(b.height for run in runs for b in run)
    kernel = np.ones((max(3, round(1.3 * tallest)), 1), np.uint8)
    free = cv2.subtract(ink, cv2.morphologyEx(ink, cv2.MORPH_OPEN, kernel))
    count, free_labels, stats, _ = cv2.connectedComponentsWithStats(free, connectivity=8)
    inked = free > 0
    origin = dict(zip(free_labels[inked].tolist(), labels[inked].tolist(), strict=True))
    pieces = [
        _Blob(-i, int(x), int(y), int(x + w), int(y + h))  # negative label: not in ``labels``
        for i, (x, y, w, h, _) in enumerate(stats[1:count], start=1)
        if origin.get(i) not in kept
    ]
    return [_glued_run(run, pieces, labels) for run in runs]


def _glued_run(run: list[_Blob], pieces: list[_Blob], labels: _Labels) -> list[_Blob]:
    """``run`` with the pieces beside its ends whose top and bottom line up with the end glyph's."""
    height = float(np.median([b.height for b in run]))
    grown = list(run)
    for side in (-1, 1):
        while True:
            end = min(grown, key=lambda b: b.x0) if side < 0 else max(grown, key=lambda b: b.x1)
            top, bottom = _edge_extent(end, labels, side, max(1, round(0.3 * height)))
            near = [
                p
                for p in pieces
                if p not in grown
                and abs(p.y0 - top) <= 0.2 * height
                and abs(p.y1 - bottom) <= 0.2 * height
                and p.height >= 0.75 * height
                and p.width >= 0.15 * height
                and (0 <= end.x0 - p.x1 <= 0.8 * height if side < 0 else 0 <= p.x0 - end.x1 <= 0.8 * height)
            ]
            if not near:
                break
            grown.append(max(near, key=lambda p: p.x1) if side < 0 else min(near, key=lambda p: p.x0))
    return grown


def _edge_extent(blob: _Blob, labels: _Labels, side: int, columns: int) -> tuple[int, int]:
    """Top and bottom of ``blob``'s ink in its first (side -1) or last (side 1) ``columns`` columns."""
    if blob.label < 0:
        return blob.y0, blob.y1
    xs, tops, bottoms = _columns(blob, labels)
    keep = xs < xs.min() + columns if side < 0 else xs > xs.max() - columns
    return int(tops[keep].min()), int(bottoms[keep].max())


def _level_line(run: list[_Blob], labels: _Labels) -> TextLine:
    """The line through ``run``'s glyphs: the main axis of their ink gives its tilt.

    Glyph shapes bias a fit through a few glyphs' middles or bottoms by degrees (a "4" or a "7"
    has no ink at the baseline on one side); the principal axis of all the line's ink does not.
    """
    points = np.concatenate([_ink_points(b, labels) for b in run])
    centre = points.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov((points - centre).T))
    axis = vectors[:, -1] if vectors[0, -1] >= 0 else -vectors[:, -1]
    slope = float(np.clip(axis[1] / max(axis[0], 1e-9), -_MAX_SLOPE, _MAX_SLOPE))
    angle = math.atan(slope)
    along = np.array([math.cos(angle), math.sin(angle)])
    across = np.array([-math.sin(angle), math.cos(angle)])
    u, v = (points - centre) @ along, (points - centre) @ across
    u0, u1 = float(u.min()), float(u.max()) + 1
    v0, v1 = float(np.percentile(v, 1)), float(np.percentile(v, 99)) + 1
    middle = centre + along * (u0 + u1) / 2 + across * (v0 + v1) / 2
    return TextLine(
        centre_x=float(middle[0]),
        centre_y=float(middle[1]),
        length_px=float(u1 - u0),
        char_height_px=float(v1 - v0),
        angle_deg=math.degrees(angle),
        chars=len(run),
    )


def _ink_points(blob: _Blob, labels: _Labels) -> NDArray[np.float64]:
    """(x, y) of each ink pixel of ``blob`` (pixel i spans [i, i + 1)); a glued piece gives its box."""
    if blob.label < 0:
        grid_x, grid_y = np.meshgrid(np.arange(blob.x0, blob.x1), np.arange(blob.y0, blob.y1))
        return np.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype(np.float64)
    ys, xs = np.nonzero(labels[blob.y0 : blob.y1, blob.x0 : blob.x1] == blob.label)
    return np.stack([xs + blob.x0, ys + blob.y0], axis=1).astype(np.float64)


def _scaled(line: TextLine, factor: float) -> TextLine:
    return replace(
        line,
        centre_x=line.centre_x * factor,
        centre_y=line.centre_y * factor,
        length_px=line.length_px * factor,
        char_height_px=line.char_height_px * factor,
    )


def line_image(grey: Grey, line: TextLine, *, height_px: int, margin: float) -> Grey:
    """``line`` cut out of ``grey`` level, ``margin`` times its glyph height around it, ``height_px`` tall."""
    pad = margin * line.char_height_px
    src_w, src_h = line.length_px + 2 * pad, line.char_height_px + 2 * pad
    scale = height_px / src_h
    out_w = max(1, round(src_w * scale))
    theta = math.radians(line.angle_deg)
    cos, sin = math.cos(theta) / scale, math.sin(theta) / scale
    # Output pixel (u, v) samples the crop at centre + R(theta) @ ((u, v) - output centre) / scale;
    # pixel centres sit at integer coordinates for OpenCV, at half-integers in TextLine.
    cx, cy = line.centre_x - 0.5, line.centre_y - 0.5
    u0, v0 = (out_w - 1) / 2, (height_px - 1) / 2
    matrix = np.array(
        [
            [cos, -sin, cx - cos * u0 + sin * v0],
            [sin, cos, cy - sin * u0 - cos * v0],
        ],
        np.float64,
    )
    flags = cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP
    level = cv2.warpAffine(grey, matrix, (out_w, height_px), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(level, np.uint8)
