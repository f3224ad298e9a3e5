"""Text lines on plate crops: synthetic plates drawn here, and the generated benchmark set."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cluster.bench.plate_set import generate_plates
from serve.imaging import clip_box
from serve.plate_lines import TextLine, find_text_lines, line_image
from serve.plate_reader import number_lines
from serve.types import Box

FONT = cv2.FONT_HERSHEY_SIMPLEX


def _plate(width: int = 360, height: int = 110, background: int = 235) -> np.ndarray:
    plate = np.full((height, width), background, np.uint8)
    cv2.rectangle(plate, (3, 3), (width - 4, height - 4), 30, 4)  # border
    return plate


def _text(plate: np.ndarray, text: str, origin: tuple[int, int], scale: float, ink: int = 20) -> Box:
    """Draw ``text`` with its baseline at ``origin``; the box its ink covers."""
    mask = np.zeros_like(plate)
    cv2.putText(mask, text, origin, FONT, scale, 255, max(2, round(scale * 3)), cv2.LINE_AA)
    plate[mask > 127] = ink
    ys, xs = np.nonzero(mask > 127)
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


def _covers(line: TextLine, truth: Box, slack: float = 4.0) -> bool:
    x0, y0, x1, y1 = line.box
    return (
        abs(x0 - truth[0]) <= slack
        and abs(x1 - truth[2]) <= slack
        and abs(y0 - truth[1]) <= slack
        and abs(y1 - truth[3]) <= slack
    )


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_one_line_plate_gives_its_text_without_the_border() -> None:
    plate = _plate()
    truth = _text(plate, "ABC 123", (30, 80), 2.0)
    [line] = find_text_lines(plate)
    assert _covers(line, truth)
    assert abs(line.angle_deg) < 1.5
    assert line.char_height_px == pytest.approx(truth[3] - truth[1], abs=3)


def test_two_line_motorcycle_plate_gives_both_lines_top_to_bottom() -> None:
    plate = _plate(220, 170)
    top = _text(plate, "KMD", (45, 70), 2.0)
    bottom = _text(plate, "1234", (30, 145), 2.0)
    lines = find_text_lines(plate)
    assert len(lines) == 2
    assert _covers(lines[0], top) and _covers(lines[1], bottom)
    assert number_lines(lines) == lines


def test_province_header_is_a_line_of_its_own_and_not_a_number_line() -> None:
    plate = _plate(360, 140)
    header = _text(plate, "SINDH", (140, 35), 0.8)
    number = _text(plate, "ABC 123", (30, 120), 2.0)
    lines = find_text_lines(plate)
    assert len(lines) == 2
    assert _covers(lines[0], header, slack=3) and _covers(lines[1], number)
    assert number_lines(lines) == [lines[1]]


def test_coloured_strip_and_emblem_beside_the_text_are_left_out() -> None:
    plate = _plate()
    cv2.rectangle(plate, (8, 8), (48, 101), 90, -1)  # the strip, darker than the plate in grey
    cv2.circle(plate, (28, 35), 9, 235, -1)  # the emblem on it
    truth = _text(plate, "LEA 1234", (62, 80), 1.7)
    [line] = find_text_lines(plate)
    assert _covers(line, truth)


def test_light_text_on_a_dark_plate_is_found() -> None:
    plate = _plate(background=40)
    truth = _text(plate, "GVT 786", (30, 80), 2.0, ink=230)
    [line] = find_text_lines(plate)
    assert _covers(line, truth)


def test_tilted_line_is_measured_and_cut_out_level() -> None:
    plate = _plate(420, 220)
    _text(plate, "ABC 1234", (40, 130), 2.0)
    # OpenCV's positive angles turn anticlockwise; -8 tilts the line down to the right.
    rotation = cv2.getRotationMatrix2D((210, 110), -8, 1.0)
    tilted = np.asarray(cv2.warpAffine(plate, rotation, (420, 220), borderValue=235), np.uint8)
    [line] = find_text_lines(tilted)
    assert line.angle_deg == pytest.approx(8, abs=1.5)
    level = line_image(tilted, line, height_px=64, margin=0.08)
    assert level.shape[0] == 64
    ink_rows = np.flatnonzero((level < 128).mean(axis=1) > 0.02)
    assert ink_rows.size and ink_rows.min() <= 10 and ink_rows.max() >= 53  # text fills the height


def test_blank_and_tiny_crops_have_no_lines() -> None:
    assert find_text_lines(np.full((60, 200), 200, np.uint8)) == []
    assert find_text_lines(np.zeros((4, 40), np.uint8)) == []
    with pytest.raises(ValueError, match="2-D"):
        find_text_lines(np.zeros((40, 40, 3), np.uint8))


def test_lines_match_the_drawn_lines_of_generated_plates() -> None:
    samples = generate_plates(40, seed=3)
    matched = 0
    for sample in samples:
        x0, y0, x1, y1 = clip_box(sample.box, sample.image.shape[1], sample.image.shape[0])
        grey = np.asarray(cv2.cvtColor(sample.image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY), np.uint8)
        found = [
            (b[0] + x0, b[1] + y0, b[2] + x0, b[3] + y0)
            for b in (line.box for line in number_lines(find_text_lines(grey)))
        ]
        if len(found) == len(sample.number_lines) and all(
            _iou(a, b) >= 0.5 for a, b in zip(found, sample.number_lines, strict=True)
        ):
            matched += 1
    assert matched >= 36, matched  # 39 of 40 when written
