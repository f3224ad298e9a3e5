"""Letterbox geometry on square and rectangular canvases: exact both ways, centred, grey padding."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from actors.camera.letterbox import DEFAULT_CANVAS, PAD_VALUE, Canvas, LetterboxTransform, letterbox

SQUARE = Canvas(640, 640)
CANVASES = [SQUARE, DEFAULT_CANVAS, Canvas(384, 640)]
SHAPES = [(480, 640), (640, 480), (1080, 1920), (1920, 1080), (301, 977), (977, 301), (1, 1), (3, 7)]


def on_canvas(transform: LetterboxTransform, xyxy: NDArray[np.float64]) -> NDArray[np.float64]:
    """Frame boxes where the letterbox put them: scaled per axis, then shifted by the padding."""
    scale = [transform.scale_x, transform.scale_y] * 2
    return np.asarray(xyxy * scale + [transform.pad_x, transform.pad_y] * 2, np.float64)


@pytest.mark.parametrize("canvas", CANVASES, ids=lambda c: f"{c.width_px}x{c.height_px}")
@pytest.mark.parametrize("shape", SHAPES)
def test_round_trip_is_exact_and_the_image_is_centred(canvas: Canvas, shape: tuple[int, int]) -> None:
    height, width = shape
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out, transform = letterbox(image, canvas)
    assert out.shape == (canvas.height_px, canvas.width_px, 3) and out.dtype == np.uint8
    assert canvas.fits(out)
    boxes = np.array([[0, 0, width, height], [width * 0.1, height * 0.2, width * 0.6, height * 0.9]])
    np.testing.assert_allclose(transform.to_source(on_canvas(transform, boxes)), boxes, atol=1e-3)
    # The image fills one axis and is centred on the other (within a pixel); the rest is grey.
    x1, y1, x2, y2 = on_canvas(transform, np.array([[0, 0, width, height]], np.float64))[0]
    assert (x1, x2) == (0, canvas.width_px) or (y1, y2) == (0, canvas.height_px)
    assert abs(x1 - (canvas.width_px - x2)) <= 1 and abs(y1 - (canvas.height_px - y2)) <= 1
    top, bottom, left, right = int(y1), int(np.ceil(y2)), int(x1), int(np.ceil(x2))
    assert (out[:top] == PAD_VALUE).all() and (out[bottom:] == PAD_VALUE).all()
    assert (out[:, :left] == PAD_VALUE).all() and (out[:, right:] == PAD_VALUE).all()


def test_a_16_9_frame_fills_the_default_canvas_but_for_12_rows() -> None:
    _, transform = letterbox(np.zeros((1080, 1920, 3), np.uint8), DEFAULT_CANVAS)
    assert (transform.scale_x, transform.scale_y) == (1 / 3, 1 / 3)
    assert (transform.pad_x, transform.pad_y) == (0, 12)  # 360 image rows on 384


@pytest.mark.parametrize("canvas", [Canvas(320, 320), Canvas(320, 192)], ids=["square", "rect"])
def test_content_maps_back_to_the_right_pixels(canvas: Canvas) -> None:
    image = np.zeros((400, 1000, 3), np.uint8)
    image[100:200, 700:800] = 255  # a white square in a landscape frame
    out, transform = letterbox(image, canvas)
    ys, xs = np.nonzero(out[:, :, 0] > 127)
    found = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
    np.testing.assert_allclose(transform.to_source(found), [[700, 100, 800, 200]], atol=3.5)


def test_boxes_in_the_padding_are_clipped_to_the_frame() -> None:
    _, transform = letterbox(np.zeros((100, 400, 3), np.uint8), SQUARE)  # 640 x 160 image, 240 px bands
    [box] = transform.to_source(np.array([[-50, 0, 700, 640]], np.float32))
    assert box.tolist() == [0.0, 0.0, 400.0, 100.0]
    [inside] = transform.to_source(np.array([[320, 240, 480, 400]], np.float32))
    assert inside.tolist() == pytest.approx([200.0, 0.0, 300.0, 100.0])


@pytest.mark.parametrize("canvas", [SQUARE, DEFAULT_CANVAS], ids=["square", "rect"])
def test_an_exact_fit_is_kept_unscaled(canvas: Canvas) -> None:
    image = np.random.default_rng(1).integers(0, 256, canvas.shape, dtype=np.uint8)
    out, transform = letterbox(image, canvas)
    assert (out == image).all() and transform.scale == 1.0 and (transform.pad_x, transform.pad_y) == (0, 0)


HOLDING = [((320, 180), (320, 192), 1.0), ((640, 384), (640, 384), 1.0), ((33, 1), (64, 32), 64 / 33)]


@pytest.mark.parametrize(("frame", "holding", "scale"), HOLDING)
def test_the_canvas_holding_a_frame_is_the_smallest_it_fits_on_without_shrinking(
    frame: tuple[int, int], holding: tuple[int, int], scale: float
) -> None:
    canvas = Canvas.holding(*frame)
    assert (canvas.width_px, canvas.height_px) == holding
    image = np.zeros((frame[1], frame[0], 3), np.uint8)
    assert letterbox(image, canvas)[1].scale == pytest.approx(scale)


def test_refuses_a_non_image_and_a_canvas_off_the_stride() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        letterbox(np.zeros((0, 10, 3), np.uint8))
    with pytest.raises(ValueError, match="height_px must be a positive multiple of 32, got 360"):
        Canvas(640, 360)
