"""The generated plate set behind ``safecity bench plates``."""

from __future__ import annotations

import numpy as np
import pytest

from cluster.bench.plate_set import MAX_WIDTH_PX, MIN_WIDTH_PX, Layout, generate_plates
from serve.plate_text import DEFAULT_PLATE_FORMATS


def test_same_seed_gives_the_same_samples() -> None:
    first, second = generate_plates(6, seed=11), generate_plates(6, seed=11)
    for a, b in zip(first, second, strict=True):
        assert (a.text, a.box, a.layout, a.width_px, a.font, a.number_lines) == (
            b.text,
            b.box,
            b.layout,
            b.width_px,
            b.font,
            b.number_lines,
        )
        assert np.array_equal(a.image, b.image)
    assert [s.text for s in generate_plates(6, seed=12)] != [s.text for s in first]


def test_samples_cover_the_formats_layouts_and_sizes() -> None:
    samples = generate_plates(60, seed=0)
    assert {s.layout for s in samples} == set(Layout)
    formats = {next(f.name for f in DEFAULT_PLATE_FORMATS if f.fits(s.text)) for s in samples}
    assert formats == {f.name for f in DEFAULT_PLATE_FORMATS}
    assert all(MIN_WIDTH_PX <= s.width_px <= MAX_WIDTH_PX for s in samples)
    assert {s.width_bucket for s in samples} == {"60-99 px", "100-149 px", "150-200 px"}
    assert len({s.background for s in samples}) == 3 and len({s.font for s in samples}) == 4


def test_boxes_hold_the_plate_and_its_number_lines() -> None:
    for sample in generate_plates(30, seed=1):
        height, width = sample.image.shape[:2]
        x0, y0, x1, y1 = sample.box
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        assert x1 - x0 == pytest.approx(sample.width_px, rel=0.2)
        assert len(sample.number_lines) == (2 if sample.layout is Layout.TWO_LINE else 1)
        for lx0, ly0, lx1, ly1 in sample.number_lines:
            centre = ((lx0 + lx1) / 2, (ly0 + ly1) / 2)
            assert x0 <= centre[0] <= x1 and y0 <= centre[1] <= y1


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="count"):
        generate_plates(-1)
