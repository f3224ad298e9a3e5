"""Camera counters over time, measured model costs, and the sizing curve built from them.

Camera counters are the job's report lines (``python -m cluster.job`` prints one JSON object per
camera, ``{"at": <unix s>, "camera": {...CameraStats...}}``); other lines of a job log are skipped.
Counters are cumulative since the camera's shard started, so rates come from differences between
snapshots.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cluster.analysis.errors import AnalysisDataError
from cluster.analysis.scores import FloatArray
from cluster.config import SafeCityConfig

COUNTERS = ("frames_read", "frames_analysed", "frames_dropped", "shed_total")


def load_camera_stats(path: Path) -> pd.DataFrame:
    """One row per (snapshot, camera): ``at`` (UTC), ``camera_id``, the counters, ``shed_total``."""
    if not path.is_file():
        raise AnalysisDataError(
            f"no camera counters at {path}: save the job's output there (`ray job logs <id> > {path.name}`) "
            "or record a run with `safecity demo --record DIR`"
        )
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.startswith("{"):
            continue  # other lines of a job log
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AnalysisDataError(f"{path} line {number} is not valid JSON: {exc}") from exc
        camera = doc.get("camera")
        if not isinstance(camera, dict):
            continue  # dispatch counters and other report lines
        shed = camera.pop("shed", {}) or {}
        rows.append({"at": doc.get("at"), **camera, **{f"shed_{k}": v for k, v in shed.items()}})
    if not rows:
        raise AnalysisDataError(f'{path} holds no camera counter lines ({{"camera": ...}})')
    frame = pd.DataFrame(rows)
    frame["at"] = pd.to_datetime(frame["at"], unit="s", utc=True)
    frame["shed_total"] = frame[
        [c for c in frame.columns if c.startswith("shed_") and c != "shed_total"]
    ].sum(axis=1)
    return frame.sort_values(["at", "camera_id"], ignore_index=True)


def latest_counters(stats: pd.DataFrame) -> pd.DataFrame:
    """Each camera's newest snapshot, indexed by camera."""
    return stats.groupby("camera_id").last()


def rates(stats: pd.DataFrame) -> pd.DataFrame:
    """Per camera, frames per second read, analysed, dropped and shed between its first and last snapshot."""
    rows = {}
    for camera_id, group in stats.groupby("camera_id"):
        first, last = group.iloc[0], group.iloc[-1]
        seconds = (last["at"] - first["at"]).total_seconds()
        if seconds > 0:
            rows[camera_id] = {f"{c}_per_s": (last[c] - first[c]) / seconds for c in COUNTERS}
    return pd.DataFrame.from_dict(rows, orient="index")


@dataclass(frozen=True)
class StageCost:
    """Measured cost of one model stage at one batch size: CPU seconds per item."""

    stage: str
    batch: int
    seconds_per_item: float
    items: str  # what an item is: images, faces, plates


def load_stage_costs(path: Path) -> list[StageCost]:
    """The costs ``demo --record`` measured (JSON list of StageCost fields)."""
    if not path.is_file():
        raise AnalysisDataError(f"no stage costs at {path}: record them with `safecity demo --record DIR`")
    try:
        return [StageCost(**row) for row in json.loads(path.read_text(encoding="utf-8"))]
    except (json.JSONDecodeError, TypeError) as exc:
        raise AnalysisDataError(f"{path} is not a list of stage costs: {exc}") from exc


def write_stage_costs(path: Path, costs: Sequence[StageCost]) -> None:
    """Write costs as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([vars(c) for c in costs], indent=1) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class CameraLoad:
    """What one analysed frame of a camera kind costs, in CPU seconds, and how it is made up."""

    kind: str
    detect_s: float  # detectors, every analysed frame
    per_track_s: float  # embedding or OCR, amortised per frame
    overhead_s: float  # decode, letterbox, tracking, object store, scheduling

    @property
    def seconds_per_frame(self) -> float:
        """All of it."""
        return self.detect_s + self.per_track_s + self.overhead_s


def cameras_per_node(
    load: CameraLoad, analysis_fps: FloatArray, cores: float, utilisation: float
) -> FloatArray:
    """How many cameras of ``load`` a node of ``cores`` sustains at each analysis rate."""
    if cores <= 0 or not 0 < utilisation <= 1:
        raise ValueError(f"cores must be positive and utilisation in (0, 1], got {cores}, {utilisation}")
    budget = cores * utilisation
    return np.asarray(np.floor(budget / (np.asarray(analysis_fps) * load.seconds_per_frame)), np.float64)


def cost_of(costs: Sequence[StageCost], stage: str, batch: int | None = None) -> float:
    """Seconds per item of ``stage``: at ``batch``, or at the largest batch measured."""
    rows = [c for c in costs if c.stage == stage and (batch is None or c.batch == batch)]
    if not rows:
        raise AnalysisDataError(
            f"no measured cost for stage {stage!r}" + (f" at batch {batch}" if batch else "")
        )
    return max(rows, key=lambda c: c.batch).seconds_per_item


def camera_load(
    kind: str, costs: Sequence[StageCost], embeds_per_frame: float, reads_per_frame: float
) -> CameraLoad:
    """The per-frame cost of a camera of ``kind`` (``fr``, ``anpr``, ``fr+anpr``).

    ``embeds_per_frame`` and ``reads_per_frame`` are what a camera really did (faces embedded and plates
    read per analysed frame, from its counters): work is done once per track, not once per frame.
    """
    faces, plates = kind in ("fr", "fr+anpr"), kind in ("anpr", "fr+anpr")
    if not (faces or plates):
        raise ValueError(f"camera kind {kind!r} is not analysed")
    detect = (cost_of(costs, "face_detect") if faces else 0.0) + (
        cost_of(costs, "plate_detect") if plates else 0.0
    )
    per_track = (embeds_per_frame * cost_of(costs, "face_embed") if faces else 0.0) + (
        reads_per_frame * cost_of(costs, "plate_read") if plates else 0.0
    )
    return CameraLoad(kind, detect, per_track, cost_of(costs, "decode_letterbox"))


def interval_rates(stats: pd.DataFrame) -> pd.DataFrame:
    """Frames analysed, dropped and shed per second between consecutive snapshots, per camera."""
    parts = []
    for camera_id, group in stats.groupby("camera_id"):
        seconds = group["at"].diff().dt.total_seconds()
        rates = group[list(COUNTERS)].diff().div(seconds, axis=0)
        parts.append(rates.assign(at=group["at"], camera_id=camera_id).dropna())
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class CameraDemand:
    """What a camera asked for and got, from its configured rate and its counters."""

    camera_id: str
    kind: str
    requested_fps: float
    analysed_fps: float
    dropped_fps: float
    shed_fps: float
    embeds_per_frame: float  # faces embedded per analysed frame
    reads_per_frame: float  # plates read per analysed frame


def camera_demand(stats: pd.DataFrame, config: SafeCityConfig) -> list[CameraDemand]:
    """Per configured camera that has counters: requested against delivered frame rates, work per frame."""
    measured, latest = rates(stats), latest_counters(stats)
    demands = []
    for camera in config.cameras:
        if camera.id not in measured.index:
            continue
        row, last = measured.loc[camera.id], latest.loc[camera.id]
        frames = max(1, int(last["frames_analysed"]))
        demands.append(
            CameraDemand(
                camera_id=camera.id,
                kind=camera.kind,
                requested_fps=camera.analysis_fps,
                analysed_fps=float(row["frames_analysed_per_s"]),
                dropped_fps=float(row["frames_dropped_per_s"]),
                shed_fps=float(row["shed_total_per_s"]),
                embeds_per_frame=float(last["faces_embedded"]) / frames,
                reads_per_frame=float(last["plates_read"]) / frames,
            )
        )
    if not demands:
        raise AnalysisDataError("none of the config's cameras appear in the camera counters: wrong config?")
    return demands
