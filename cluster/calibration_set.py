"""Write the frames the int8 detectors are calibrated on: ``python -m cluster.calibration_set``.

They are made once from the bundled sample media (demo cameras and generated plates on real scenes)
and committed under ``serve/models/calibration/``, so every node quantizes from the same frames
without the sample media or this layer. Run it again only to change the calibration set.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np

from cluster.bench.plate_set import generate_plates
from cluster.demo_city import build_demo_city
from serve.imaging import Image
from serve.models.quantize import CALIBRATION_DIR

DEMO_FRAMES_PER_CAMERA = 6
PLATE_SCENES = 30
PLATE_SEED = 99  # apart from the seeds `bench plates` reads (0, 1, 2) and the tests use


def _every_nth(video: Path, count: int) -> list[Image]:
    capture = cv2.VideoCapture(str(video))
    frames: list[Image] = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(np.asarray(frame, np.uint8))
    capture.release()
    step = max(1, len(frames) // count)
    return frames[step // 2 :: step][:count]


def main() -> None:
    """Replace the calibration frames."""
    CALIBRATION_DIR.mkdir(parents=True, exist_ok=True)
    for old in CALIBRATION_DIR.glob("*.jpg"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="safecity-calibration-") as tmp:
        frames = [
            f
            for camera in build_demo_city(Path(tmp))
            for f in _every_nth(camera.video, DEMO_FRAMES_PER_CAMERA)
        ]
    frames += [sample.image for sample in generate_plates(PLATE_SCENES, seed=PLATE_SEED)]
    for index, frame in enumerate(frames):
        cv2.imwrite(str(CALIBRATION_DIR / f"frame-{index:03d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {len(frames)} frames to {CALIBRATION_DIR}")


if __name__ == "__main__":
    main()
