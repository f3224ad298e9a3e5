"""A small demo city made from the bundled images: video files that stand in for live cameras."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cluster.samples import FACES, PLATE_SCENE
from serve.imaging import Image, read_image

FPS = 10
FRAME_W, FRAME_H = 960, 540


@dataclass(frozen=True)
class DemoCamera:
    """One demo camera: its config fields and the video file it plays."""

    camera_id: str
    name: str
    kind: str
    video: Path
    lat: float
    lon: float
    zone: str


def _street(rng: np.random.Generator) -> Image:
    """A plain, slightly noisy backdrop (a wall or a road)."""
    gradient = np.linspace(90, 150, FRAME_H, dtype=np.float32)[:, None, None]
    noise = rng.normal(0, 6, (FRAME_H, FRAME_W, 3)).astype(np.float32)
    return np.asarray(np.clip(gradient + noise, 0, 255), dtype=np.uint8)


def _paste(canvas: Image, sprite: Image, x: int, y: int) -> None:
    h, w = sprite.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(canvas.shape[1], x + w), min(canvas.shape[0], y + h)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = sprite[y0 - y : y1 - y, x0 - x : x1 - x]


def _write(path: Path, frames: list[Image]) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (FRAME_W, FRAME_H))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write demo video {path}")
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def walk_past(
    portraits: list[Path], seconds_each: float = 5.0, gap_s: float = 2.0, seed: int = 0
) -> list[Image]:
    """Frames of each portrait walking slowly across the scene, with empty street between them."""
    rng = np.random.default_rng(seed)
    backdrop = _street(rng)
    frames = [backdrop.copy() for _ in range(int(gap_s * FPS))]
    for portrait in portraits:
        image = read_image(portrait)
        scale = (FRAME_H * 0.8) / image.shape[0]
        sprite = np.asarray(
            cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8
        )
        steps = int(seconds_each * FPS)
        for step in range(steps):
            frame = backdrop.copy()
            x = int(FRAME_W * 0.15 + (FRAME_W * 0.5 - sprite.shape[1] / 2) * step / max(1, steps - 1))
            _paste(frame, sprite, x, int(FRAME_H * 0.1))
            frames.append(frame)
        frames.extend(backdrop.copy() for _ in range(int(gap_s * FPS)))
    return frames


def standing(portraits: list[Path], seed: int = 0) -> Image:
    """One frame of people standing side by side (a live camera's still scene), left to right."""
    frame = _street(np.random.default_rng(seed))
    for index, portrait in enumerate(portraits):
        image = read_image(portrait)
        scale = (FRAME_H * 0.6) / image.shape[0]
        sprite = np.asarray(
            cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8
        )
        _paste(frame, sprite, int(FRAME_W * (0.1 + 0.45 * index)), int(FRAME_H * 0.2))
    return frame


def drive_past(scene: Path, seconds: float = 8.0, gap_s: float = 3.5) -> list[Image]:
    """Frames of a slow pan across a street scene, as a fixed ANPR camera sees traffic go by.

    An empty road follows for ``gap_s`` (longer than a track lives), so a looping camera sees the
    vehicles again as new tracks, the way traffic keeps coming on a real road.
    """
    image = read_image(scene)
    scale = FRAME_H / (image.shape[0] * 0.8)
    resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    steps = int(seconds * FPS)
    span = max(0, resized.shape[1] - FRAME_W)
    top = (resized.shape[0] - FRAME_H) // 2
    frames: list[Image] = [
        np.ascontiguousarray(
            resized[top : top + FRAME_H, int(span * i / max(1, steps - 1)) :][:, :FRAME_W], dtype=np.uint8
        )
        for i in range(steps)
    ]
    road = _street(np.random.default_rng(1))
    return frames + [road.copy() for _ in range(int(gap_s * FPS))]


def build_demo_city(folder: Path) -> list[DemoCamera]:
    """Write the demo videos into ``folder`` and describe the cameras that play them."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        DemoCamera(
            "fr-gate-1",
            "Gate 1 (face recognition)",
            "fr",
            _write(folder / "fr-gate-1.mp4", walk_past([FACES / "person_a_2.jpg"])),
            24.8607,
            67.0011,
            "south",
        ),
        DemoCamera(
            "anpr-road-1",
            "Road 1 (number plates)",
            "anpr",
            _write(folder / "anpr-road-1.mp4", drive_past(PLATE_SCENE)),
            24.8615,
            67.0099,
            "south",
        ),
        DemoCamera(
            "fr-market-2",
            "Market 2 (faces and plates)",
            "fr+anpr",
            _write(
                folder / "fr-market-2.mp4",
                walk_past([FACES / "impostor_1.jpg", FACES / "impostor_2.jpg"], 4.0),
            ),
            24.8702,
            67.0301,
            "central",
        ),
    ]


def build_recording_city(folder: Path) -> list[DemoCamera]:
    """The demo cameras and three more (another gate, road and street) for ``demo --record``.

    Six cameras in three zones give the alert and capacity notebooks more than one of everything;
    subject B (enrolled, like subject A, from a photo the cameras do not show) walks past two of them.
    """
    cameras = build_demo_city(folder)
    extra = [
        (
            "fr-gate-3",
            "Gate 3 (face recognition)",
            "fr",
            walk_past([FACES / "person_b_2.jpg"], seed=3),
            24.8811,
            67.0402,
            "north",
        ),
        (
            "anpr-road-4",
            "Road 4 (number plates)",
            "anpr",
            drive_past(PLATE_SCENE, seconds=6.0),
            24.8836,
            67.0455,
            "north",
        ),
        (
            "fr-street-5",
            "Street 5 (faces and plates)",
            "fr+anpr",
            walk_past(
                [FACES / "impostor_2.jpg", FACES / "person_b_2.jpg", FACES / "person_a_2.jpg"], 4.0, seed=5
            ),
            24.8660,
            67.0205,
            "central",
        ),
    ]
    for camera_id, name, kind, frames, lat, lon, zone in extra:
        cameras.append(
            DemoCamera(camera_id, name, kind, _write(folder / f"{camera_id}.mp4", frames), lat, lon, zone)
        )
    return cameras
