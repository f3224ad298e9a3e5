"""Exact-read rate and plates/s of each OCR configuration (``safecity bench plates``).

Every configuration reads the same generated plates (:mod:`cluster.bench.plate_set`) from a single
frame, given the plate's box (the detector is measured by ``safecity bench stages``), with the
default Pakistani formats and correction budget. A read is exact when the vote over its views,
after format-aware selection, equals the registration. The old ``readtext`` path takes about half a
second a plate, so it reads only the first ``--readtext-count`` plates; the other configurations'
rates on that same subset are printed beside it. "recogniser" rows run EasyOCR's, "rapidocr" rows
RapidOCR's PP-OCRv6 (``plates.ocr_backend``); "+ whole crop" adds the crop read as one line to the
vote (``plates.ocr_whole_crop``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cluster.bench.plate_set import PlateSample, generate_plates
from cluster.bench.readtext_reader import ReadtextPlateReader
from cluster.runtime import Runtime
from serve.device import resolve_device
from serve.imaging import Image
from serve.models.registry import ModelRole
from serve.ocr_recognizer import EasyOcrRecognizer
from serve.plate_reader import PlateReader
from serve.plate_text import DEFAULT_PLATE_FORMATS
from serve.plate_vote import candidate, vote
from serve.rapid_recognizer import RapidOcrRecognizer
from serve.types import Box, OcrRead

MAX_CORRECTIONS = 2


class ChipReader(Protocol):
    """What a configuration under test offers: reads of each plate, one per view."""

    def read_many(self, chips: Sequence[tuple[Image, Box]]) -> list[list[OcrRead]]:
        """One read per view of each (image, box)."""
        ...


@dataclass(frozen=True)
class OcrConfig:
    """A reader under test and how many of the samples it reads."""

    name: str
    reader: ChipReader
    count: int


@dataclass(frozen=True)
class Outcome:
    """What one configuration read: exact or not per sample read, and the seconds it took."""

    name: str
    exact: tuple[bool, ...]
    seconds: float

    @property
    def plates_per_s(self) -> float:
        """Plates read per second."""
        return len(self.exact) / self.seconds if self.seconds > 0 else 0.0

    def rate(self, keep: Callable[[int], bool] = lambda _: True) -> float | None:
        """Exact-read rate over the samples whose index passes ``keep``; None when there are none."""
        chosen = [ok for i, ok in enumerate(self.exact) if keep(i)]
        return sum(chosen) / len(chosen) if chosen else None


def measure(config: OcrConfig, samples: Sequence[PlateSample], batch: int) -> Outcome:
    """Read the first ``config.count`` samples, ``batch`` plates a call, as a Serve replica would."""
    chosen = samples[: config.count]
    exact = []
    start = time.perf_counter()
    for first in range(0, len(chosen), batch):
        chunk = chosen[first : first + batch]
        for sample, views in zip(
            chunk, config.reader.read_many([(s.image, s.box) for s in chunk]), strict=True
        ):
            verdict = vote(
                [candidate(v.text, v.confidence, DEFAULT_PLATE_FORMATS, MAX_CORRECTIONS) for v in views]
            )
            exact.append(verdict is not None and verdict.text == sample.text)
    return Outcome(config.name, tuple(exact), time.perf_counter() - start)


def categories(samples: Sequence[PlateSample]) -> dict[str, Callable[[int], bool]]:
    """Each reported category, as a test on a sample's index."""
    labels: dict[str, list[str]] = {
        "width": [s.width_bucket for s in samples],
        "layout": [s.layout.value for s in samples],
        "background": [s.background for s in samples],
        "font": [s.font for s in samples],
    }
    found: dict[str, Callable[[int], bool]] = {}
    for values in labels.values():
        for value in sorted(set(values)):
            found[value] = _member(values, value)
    return found


def _member(values: list[str], value: str) -> Callable[[int], bool]:
    return lambda i: values[i] == value


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f}%"


def report(outcomes: Sequence[Outcome], samples: Sequence[PlateSample], subset: int) -> list[str]:
    """The result tables as lines of text."""
    lines = [
        f"{len(samples)} generated plates; exact = the voted, format-corrected read equals the registration",
        f"{'configuration':<38} {'plates':>6} {'exact':>7} {f'first {subset}':>9} {'plates/s':>9}",
    ]
    for o in outcomes:
        exact, first = _percent(o.rate()), _percent(o.rate(lambda i: i < subset))
        lines.append(f"{o.name:<38} {len(o.exact):>6} {exact:>7} {first:>9} {o.plates_per_s:>9.1f}")
    lines.append("")
    lines.append("exact-read rate by category (plates in it)")
    header = f"{'category':<22}" + "".join(f" {f'[{i}]':>7}" for i in range(len(outcomes)))
    lines.append(header)
    for name, keep in categories(samples).items():
        count = sum(keep(i) for i in range(len(samples)))
        cells = "".join(f" {_percent(o.rate(keep)):>7}" for o in outcomes)
        lines.append(f"{f'{name} ({count})':<22}{cells}")
    lines.extend(
        f"[{i}] {o.name}" + (f" (first {len(o.exact)} plates only)" if len(o.exact) < len(samples) else "")
        for i, o in enumerate(outcomes)
    )
    return lines


def main(argv: list[str] | None, runtime: Runtime) -> int:
    """Run the plate-reading benchmark and print its tables."""
    parser = argparse.ArgumentParser(prog="safecity bench plates", description=__doc__)
    parser.add_argument("--count", type=int, default=200, help="generated plates (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated set")
    parser.add_argument(
        "--readtext-count", type=int, default=40, help="plates the old readtext path reads (default 40)"
    )
    parser.add_argument("--batch", type=int, default=8, help="plates per reader call (default 8)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.batch < 1 or args.readtext_count < 0:
        parser.error("--count and --batch must be at least 1, --readtext-count at least 0")

    samples = generate_plates(args.count, args.seed)
    store, device = runtime.models, resolve_device(runtime.config.models.device)
    links = store.cache_dir / "easyocr"
    recognizer = EasyOcrRecognizer.load(store.path(ModelRole.OCR_RECOGNIZER), links_root=links, device=device)
    onnx_features = EasyOcrRecognizer.load(  # as a one-thread replica runs it; here at the default threads
        store.path(ModelRole.OCR_RECOGNIZER), links_root=links, device=device, onnx_features=True
    )
    configs = [
        OcrConfig(
            "recogniser, whole crop, 1 view", PlateReader(recognizer, 1, split_lines=False), args.count
        ),
        OcrConfig("recogniser, lines, 1 view (default)", PlateReader(recognizer, 1), args.count),
        OcrConfig("the same, features in onnxruntime", PlateReader(onnx_features, 1), args.count),
        OcrConfig("recogniser, lines, 2 views", PlateReader(recognizer, 2), args.count),
        OcrConfig("recogniser, lines, 3 views", PlateReader(recognizer, 3), args.count),
        OcrConfig(
            "recogniser, lines + whole crop, 1 view", PlateReader(recognizer, whole_crop=True), args.count
        ),
    ]
    rapid = RapidOcrRecognizer.load(store.path(ModelRole.RAPIDOCR_RECOGNIZER), device=device)
    configs += [
        OcrConfig("rapidocr, lines, 1 view", PlateReader(rapid), args.count),
        OcrConfig("rapidocr, lines + whole crop, 1 view", PlateReader(rapid, whole_crop=True), args.count),
    ]
    subset = min(args.readtext_count, args.count)
    if subset:
        readtext = ReadtextPlateReader.load(
            store.path(ModelRole.OCR_DETECTOR),
            store.path(ModelRole.OCR_RECOGNIZER),
            links_root=links,
            device=device,
        )
        configs.insert(0, OcrConfig("readtext (CRAFT), 3 views (before)", readtext, subset))
    for config in configs:  # warm-up: first calls allocate
        config.reader.read_many([(samples[0].image, samples[0].box)])
    outcomes = [measure(config, samples, args.batch) for config in configs]
    print(f"device: {device}; recogniser = EasyOCR's English g2, rapidocr = PP-OCRv6 small (onnxruntime)")
    for line in report(outcomes, samples, subset or args.count):
        print(line)
    return 0
