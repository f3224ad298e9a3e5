"""Images per second of each perception stage on the bundled images (``safecity bench stages``).

Each stage runs on the same inputs, warmed up first, timed over ``--repeat`` rounds; batch sizes 1
and 8 are measured side by side so the batching gain is a ratio from one run.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from cluster.bench.detectors import compare_detectors, comparison_rows, ratio_lines
from cluster.bench.object_models import compare_object_models, object_model_lines
from cluster.runtime import Runtime
from cluster.samples import ASSETS
from serve.imaging import Image, read_image


def _rate(work: Callable[[], object], items: int, repeat: int) -> float:
    work()  # warm-up: first calls allocate and compile
    start = time.perf_counter()
    for _ in range(repeat):
        work()
    return items * repeat / (time.perf_counter() - start)


def main(argv: list[str] | None, runtime: Runtime) -> int:
    """Run the stage benchmark and print a table."""
    parser = argparse.ArgumentParser(prog="safecity bench stages")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    faces_images = [read_image(p) for p in sorted((ASSETS / "faces").glob("*.jpg"))]
    plate_image = read_image(ASSETS / "plates" / "cgi_two_cars.jpg")
    batch8: list[Image] = (faces_images * 2)[:8]
    face, plate = runtime.faces, runtime.plates
    detections = face.detect(batch8)
    crops = [c for image, dets in zip(batch8, detections, strict=True) for c in face.crops(image, dets)]
    plate_dets = plate.detect([plate_image])[0]
    plate_boxes = [plate_dets.box(i) for i in range(len(plate_dets))]
    face_detect, plate_detect = compare_detectors(runtime, batch8, [plate_image] * 8, args.repeat)
    object_models = compare_object_models(runtime, crops, plate_image, plate_boxes, args.repeat)
    rows = [
        *comparison_rows(face_detect),
        (
            "landmarks+align+quality",
            _rate(
                lambda: [face.crops(im, d) for im, d in zip(batch8, detections, strict=True)],
                len(crops),
                args.repeat,
            ),
        ),
        ("embed, batch 1", _rate(lambda: [face.embed([c]) for c in crops], len(crops), args.repeat)),
        ("embed, batch 8", _rate(lambda: face.embed(crops), len(crops), args.repeat)),
        *comparison_rows(plate_detect),
        (
            "plate OCR, one plate a call",
            _rate(
                lambda: [plate.reader.read(plate_image, b) for b in plate_boxes],
                len(plate_boxes),
                args.repeat,
            ),
        ),
        (
            f"plate OCR, {plate.reader.views} view(s), batched + vote",
            _rate(lambda: plate.read(plate_image, plate_dets), len(plate_boxes), args.repeat),
        ),
        ("faces end to end, batch 8", _rate(lambda: face.analyze(batch8), 8, args.repeat)),
        ("plates end to end, batch 8", _rate(lambda: plate.analyze([plate_image] * 8), 8, args.repeat)),
    ]
    print(f"device: {runtime.config.models.device} -> {face.detector.device}")
    print(f"{'stage':<46} {'items/s':>9}")
    for name, rate in rows:
        print(f"{name:<46} {rate:>9.1f}")
    by_name = dict(rows)
    for stage in ("face detect", "plate detect", "embed"):
        gain = by_name[f"{stage}, batch 8"] / by_name[f"{stage}, batch 1"]
        print(f"batching gain, {stage}: {gain:.2f}x (batch 8 vs batch 1, same run)")
    for line in ratio_lines([face_detect, plate_detect], face.detector.canvas):
        print(line)
    for line in object_model_lines(object_models):
        print(line)
    return 0
