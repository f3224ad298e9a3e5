"""City scale on one machine: ``safecity bench scale`` (1,000 streamed cameras for 5 minutes by default).

One process serves every camera as MJPEG over HTTP (:mod:`cluster.bench.camera_fleet`); the real
pipeline (camera shards, Serve models, matcher, dispatcher, a webhook receiver) analyses them on a
local Ray cluster with every camera asking more than the models can give, so the models are saturated
and the numbers say how the pipeline shares them out. It ends with one JSON line (README, Scale).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import secrets
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
import ray

from actors.camera.shard import CameraSpec
from actors.camera.stats import CameraStats
from cluster.bench.analysis_gaps import AnalysisGaps
from cluster.bench.camera_fleet import FLEET_SIZE, running_fleet
from cluster.bench.serve_routers import cluster_routers
from cluster.bench.slowest_rate import counted_between, slowest_rate
from cluster.config import SafeCityConfig, load_config
from cluster.config.cameras import CameraConfig
from cluster.config.dispatch import DispatchConfig, EndpointConfig
from cluster.config.models import ModelsConfig
from cluster.demo_lists import enrol_demo_lists
from cluster.pipeline import RunningPipeline, start_pipeline
from cluster.receiver import AlertReceiver
from cluster.samples import SAMPLE_CONFIG
from serve.canvas import Canvas
from serve.models.store import ModelStore
from serve.perception import build_face_analyzer

SECRET_ENV = "SAFECITY_BENCH_WEBHOOK_SECRET"
_HOLDING_FLEET_FRAMES = Canvas.holding(*FLEET_SIZE)  # 320x192: the fleet's frames unscaled (README, Scale)
FLEET_CANVAS = (_HOLDING_FLEET_FRAMES.width_px, _HOLDING_FLEET_FRAMES.height_px)
POLL_S = 5.0


@dataclass
class ScaleResult:
    """The JSON line's fields (README, Scale)."""

    cameras: int
    camera_actors: int
    processes: int = 0
    rss_mb_at_1min: float = 0.0
    rss_mb_end: float = 0.0
    shard_rss_mb_total: float = 0.0
    pss_mb_end: float = 0.0  # proportional: shared object-store pages split between processes
    shard_pss_mb_total: float = 0.0
    frames_requested_per_s: float = 0.0
    frames_analysed_per_s: float = 0.0
    frames_analysed_min_per_camera: float = 0.0  # per minute, after the first
    frames_analysed_median_per_camera: float = 0.0  # per minute, after the first
    cameras_not_analysed_in_a_minute: int = 0  # fewer than one analysed frame a minute on average
    analysis_gap_max_s: float = 0.0  # the longest any camera went without an analysed frame
    analysis_gap_p99_s: float = 0.0
    cameras_with_a_gap_over_60s: int = 0  # not analysed at least once a minute: starved
    gaps_over_60s_by_minute: list[int] = field(default_factory=list)  # by the minute of the window they ended
    analysis_gap_max_s_by_shard: list[float] = field(default_factory=list)  # where the long gaps were
    frames_analysed_per_s_by_shard: list[float] = field(default_factory=list)  # how the models were shared
    frames_analysed_per_s_by_minute: list[float] = field(default_factory=list)  # how steady the rate was
    # Over any 60 s of the window (polls 5 s apart): did shards dip on their own, or all together?
    frames_analysed_per_s_slowest_minute: float | None = None  # None: the window was under a minute
    frames_analysed_per_s_slowest_minute_by_shard: list[float | None] = field(default_factory=list)
    # The 10 longest gaps: frames the camera's shard analysed meanwhile, over its cameras. About 1: the
    # camera waited one round of its shard; more: it was passed over. None: the gap began before the window.
    longest_gaps_shard_rounds: list[float | None] = field(default_factory=list)
    share_board_shards: int = 0  # shards that told the model share board their lateness lately
    frame_age_p95_s: float = 0.0
    dropped: int = 0
    shed: int = 0
    shed_detect: int = 0  # frames the detectors dropped as stale (not analysed)
    shed_embed: int = 0  # face chips the embedder dropped (a face not checked)
    shed_read: int = 0  # plate chips the reader dropped (read again on a later frame of the track)
    faces_offered: int = 0  # faces detected and tracked (whole run): what the detector finds
    faces_embedded: int = 0
    plates_offered: int = 0
    plates_read: int = 0
    errors: int = 0
    reconnects: int = 0
    cameras_streaming: int = 0
    matcher_queue_max: int = 0
    outbox_pending_max: int = 0
    alerts_delivered: int = 0
    serve_controller_cpu_pct: float = 0.0
    serve_routers: int = 0  # Serve handles in use, one router each: a shard's, one per model it calls
    serve_router_processes: int = 0  # processes holding them: the shards (README, Scale)
    limits: list[str] = field(default_factory=list)


def _cluster_processes() -> list[psutil.Process]:
    """This driver and everything it started (Ray's daemons and workers are its descendants)."""
    me = psutil.Process()
    return [me, *me.children(recursive=True)]


def _memory_mb(processes: list[psutil.Process], name_part: str = "", *, proportional: bool = False) -> float:
    """Resident memory of the processes (whose command line has ``name_part``), in MB.

    RSS counts the pages of Ray's shared object store each process touched, so the sum overstates;
    ``proportional`` gives PSS, which splits shared pages between the processes that share them.
    """
    total = 0
    for process in processes:
        try:
            if name_part and name_part not in " ".join(process.cmdline()):
                continue
            total += process.memory_full_info().pss if proportional else process.memory_info().rss
        except psutil.Error:
            continue
    return total / 1e6


def city_config(
    base: SafeCityConfig, args: argparse.Namespace, port: int, work: Path, url: str
) -> SafeCityConfig:
    """The bench city: even cameras face recognition, odd ones number plates, in ten zones."""
    share = base.pipeline.share_models_by_lateness if args.share_board is None else args.share_board
    cameras = [
        CameraConfig(
            id=f"cam-{i:04d}",
            name=f"Camera {i}",
            url=f"http://127.0.0.1:{port}/cam/{i}",
            kind="fr" if i % 2 == 0 else "anpr",
            analysis_fps=args.fps,
            zone=f"zone-{i % 10}",
        )
        for i in range(args.cameras)
    ]
    return base.model_copy(
        update={
            "data_dir": work / "data",
            "cameras": cameras,
            "dispatch": DispatchConfig(
                endpoints=[EndpointConfig(name="bench", url=url, secret_env=SECRET_ENV)]
            ),
            "pipeline": base.pipeline.model_copy(
                update={
                    "cameras_per_actor": args.per_actor,
                    "actor_num_cpus": 0.01,
                    "share_models_by_lateness": share,
                }
            ),
            "models": base.models.model_copy(update={"detector_canvas_px": args.canvas}),
        }
    )


def run(args: argparse.Namespace) -> ScaleResult:
    """Serve the fleet, run the pipeline on it, measure."""
    base = load_config(args.config)
    work = Path(tempfile.mkdtemp(prefix="safecity-scale-"))
    store = ModelStore(base.models.cache_dir, base.models.overrides(), show_progress=False)
    faces = build_face_analyzer(store, "cpu", base.face_settings())
    enrol_demo_lists(work / "data", faces, "bench", base.faces.enrolment_policy())
    os.environ[SECRET_ENV] = secrets.token_hex(24)
    receiver = AlertReceiver(os.environ[SECRET_ENV].encode()).start()
    try:
        with running_fleet(args.cameras, args.fps, start_timeout_s=30.0) as port:
            config = city_config(base, args, port, work, receiver.url)
            ray.init(include_dashboard=False, log_to_driver=False)
            try:
                pipeline = start_pipeline(config)
                result = ScaleResult(args.cameras, len(pipeline.shards))
                measure(pipeline, result, args)
                pipeline.stop(drain_timeout_s=20)
            finally:
                ray.shutdown()
        result.alerts_delivered = len(receiver.received)
        return result
    finally:
        receiver.stop()


@dataclass(frozen=True)
class _Poll:
    """Frames analysed by each shard at one poll of the measured window."""

    at: float  # unix time, the clock of the frames' capture times
    mono: float  # monotonic time, for rates
    by_shard: list[int]


def _rates_by_minute(polls: list[_Poll]) -> list[float]:
    """Frames/s between polls a minute apart, from the window's first poll to its last (a last stretch
    shorter than 30 s says little and is left out)."""
    marks = [polls[0]]
    for poll in polls[1:]:
        if poll.mono - marks[-1].mono >= 60:
            marks.append(poll)
    if marks[-1] is not polls[-1]:
        marks.append(polls[-1])
    return [
        round((sum(end.by_shard) - sum(start.by_shard)) / (end.mono - start.mono), 2)
        for start, end in itertools.pairwise(marks)
        if end.mono - start.mono >= 30
    ]


def _rounded(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 2)


def _analysed_by_shard(rows: list[CameraStats], shard_of: dict[str, int], shards: int) -> list[int]:
    totals = [0] * shards
    for row in rows:
        if row.camera_id in shard_of:
            totals[shard_of[row.camera_id]] += row.frames_analysed
    return totals


def measure(pipeline: RunningPipeline, result: ScaleResult, args: argparse.Namespace) -> None:
    """Poll the pipeline for ``args.minutes``; the first minute is the warm-up of the counts."""
    controller = next((p for p in _cluster_processes() if "ServeController" in " ".join(p.cmdline())), None)
    if controller is not None:
        controller.cpu_percent(None)
    started = time.monotonic()
    at_1min: list[CameraStats] | None = None
    gaps: AnalysisGaps | None = None
    last_analysed: dict[str, int] = {}
    ages: list[float] = []
    rows: list[CameraStats] = []
    polled_at, polled_mono = time.time(), started
    polls: list[_Poll] = []  # frames analysed by shard at each poll of the measured window
    shards: list[list[CameraSpec]] = []  # each shard's cameras, read when the window starts
    shard_of: dict[str, int] = {}
    while time.monotonic() - started < args.minutes * 60:
        time.sleep(POLL_S)
        rows = pipeline.camera_stats()
        polled_at, polled_mono = time.time(), time.monotonic()
        for row in rows:
            if (
                row.frames_analysed != last_analysed.get(row.camera_id)
                and row.analysed_frame_age_s is not None
            ):
                ages.append(row.analysed_frame_age_s)
            last_analysed[row.camera_id] = row.frames_analysed
        matcher = ray.get(pipeline.matcher.stats.remote())
        outbox = ray.get(pipeline.dispatcher.stats.remote()).outbox
        if gaps is not None:
            gaps.observe(rows)
            polls.append(_Poll(polled_at, polled_mono, _analysed_by_shard(rows, shard_of, len(shards))))
        result.matcher_queue_max = max(result.matcher_queue_max, matcher.face_searches.waiting)
        result.outbox_pending_max = max(result.outbox_pending_max, outbox.pending)
        if at_1min is None and time.monotonic() - started >= 60:
            at_1min = rows
            result.rss_mb_at_1min = round(_memory_mb(_cluster_processes()))
            window_started = polled_mono
            gaps = AnalysisGaps(rows, polled_at)
            shards = ray.get([shard.cameras.remote() for shard in pipeline.shards])
            shard_of = {spec.ref.camera_id: i for i, cameras in enumerate(shards) for spec in cameras}
            polls.append(_Poll(polled_at, polled_mono, _analysed_by_shard(rows, shard_of, len(shards))))
    if at_1min is None or gaps is None:
        raise SystemExit("bench scale: --minutes must be more than 1 (the first minute is the warm-up)")
    window_min = (polled_mono - window_started) / 60
    processes = _cluster_processes()
    result.processes = len(processes)
    result.rss_mb_end = round(_memory_mb(processes))
    result.shard_rss_mb_total = round(_memory_mb(processes, "CameraShardActor"))
    result.pss_mb_end = round(_memory_mb(processes, proportional=True))
    result.shard_pss_mb_total = round(_memory_mb(processes, "CameraShardActor", proportional=True))
    if controller is not None:
        result.serve_controller_cpu_pct = round(controller.cpu_percent(None), 1)
    held = cluster_routers()
    result.serve_routers, result.serve_router_processes = len(held), len({r.actor_id for r in held})
    before = {row.camera_id: row.frames_analysed for row in at_1min}
    per_minute = [(row.frames_analysed - before.get(row.camera_id, 0)) / window_min for row in rows]
    result.frames_analysed_min_per_camera = round(min(per_minute), 2)
    result.frames_analysed_median_per_camera = round(statistics.median(per_minute), 2)
    result.cameras_not_analysed_in_a_minute = sum(1 for n in per_minute if n < 1)
    by_camera = gaps.longest(polled_at)
    longest = sorted(by_camera.values())
    result.analysis_gap_max_s_by_shard = [
        round(max((by_camera.get(spec.ref.camera_id, 0.0) for spec in cameras), default=0.0), 1)
        for cameras in shards
    ]
    rate = {row.camera_id: rate for row, rate in zip(rows, per_minute, strict=True)}
    result.frames_analysed_per_s_by_shard = [
        round(sum(rate.get(spec.ref.camera_id, 0.0) for spec in cameras) / 60, 2) for cameras in shards
    ]
    if pipeline.share_board is not None:
        result.share_board_shards = ray.get(pipeline.share_board.shards.remote())
    result.analysis_gap_max_s = round(longest[-1], 1)
    result.analysis_gap_p99_s = round(longest[min(len(longest) - 1, int(0.99 * len(longest)))], 1)
    result.cameras_with_a_gap_over_60s = sum(1 for gap in longest if gap > gaps.long_s)
    result.gaps_over_60s_by_minute = gaps.long_gaps_by_minute(polled_at)
    result.frames_requested_per_s = round(args.cameras * args.fps, 1)
    result.frames_analysed_per_s = round(sum(per_minute) / 60, 2)
    result.frames_analysed_per_s_by_minute = _rates_by_minute(polls)
    fleet_marks = [(poll.at, float(sum(poll.by_shard))) for poll in polls]
    shard_marks = [[(poll.at, float(poll.by_shard[i])) for poll in polls] for i in range(len(shards))]
    result.frames_analysed_per_s_slowest_minute = _rounded(slowest_rate(fleet_marks, 60.0))
    result.frames_analysed_per_s_slowest_minute_by_shard = [
        _rounded(slowest_rate(marks, 60.0)) for marks in shard_marks
    ]
    spans = gaps.spans(polled_at)
    for camera_id in sorted(spans, key=lambda c: spans[c][0] - spans[c][1])[:10]:
        i = shard_of[camera_id]
        counted = counted_between(shard_marks[i], *spans[camera_id])
        rounds = None if counted is None else counted / len(shards[i])
        result.longest_gaps_shard_rounds.append(_rounded(rounds))
    result.frame_age_p95_s = round(float(statistics.quantiles(ages, n=20)[-1]), 2) if len(ages) >= 20 else 0.0
    result.dropped = sum(row.frames_dropped for row in rows)
    result.shed_detect = sum(row.shed.detect for row in rows)
    result.shed_embed = sum(row.shed.embed for row in rows)
    result.shed_read = sum(row.shed.read for row in rows)
    result.shed = result.shed_detect + result.shed_embed + result.shed_read
    result.faces_offered = sum(row.faces_offered for row in rows)
    result.faces_embedded = sum(row.faces_embedded for row in rows)
    result.plates_offered = sum(row.plates_offered for row in rows)
    result.plates_read = sum(row.plates_read for row in rows)
    result.errors = sum(row.analysis_errors for row in rows)
    result.reconnects = sum(row.reconnects for row in rows)
    result.cameras_streaming = sum(1 for row in rows if row.state == "streaming")
    result.limits = limits(result)


def limits(result: ScaleResult) -> list[str]:
    """What the numbers say limits the run."""
    found = []
    if result.frames_analysed_per_s < 0.9 * result.frames_requested_per_s:
        found.append(
            f"capacity: {result.frames_analysed_per_s} of {result.frames_requested_per_s} frames/s asked "
            "were analysed (the cores are shared by reading every camera and the models; the rest waited "
            "at their cameras, newest frame kept)"
        )
    if result.cameras_with_a_gap_over_60s:
        found.append(
            f"{result.cameras_with_a_gap_over_60s} cameras went more than 60 s without an analysed frame "
            f"(longest {result.analysis_gap_max_s} s)"
        )
    if result.frame_age_p95_s > 2:
        found.append(f"frame age p95 {result.frame_age_p95_s} s: requests queue before the models")
    if result.serve_router_processes > result.camera_actors:
        found.append(
            f"{result.serve_router_processes} processes hold Serve handles for {result.camera_actors} "
            "shards: each runs a router that polls the Serve controller"
        )
    if result.rss_mb_end > 1.1 * result.rss_mb_at_1min:
        found.append(f"memory grew {result.rss_mb_at_1min} -> {result.rss_mb_end} MB")
    return found


def _canvas(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    try:
        size = (int(width), int(height))
        ModelsConfig(detector_canvas_px=size)
    except ValueError:
        expected = "expected WxH, each a multiple of 32 (e.g. 320x192)"
        raise argparse.ArgumentTypeError(f"{text!r}: {expected}") from None
    return size


def main(argv: list[str] | None = None) -> int:
    """Run and print one JSON line."""
    parser = argparse.ArgumentParser(prog="safecity bench scale")
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--fps", type=float, default=1.0, help="each camera's stream and analysis rate")
    parser.add_argument("--per-actor", type=int, default=200, help="cameras per shard process")
    parser.add_argument("--config", type=Path, default=SAMPLE_CONFIG)
    parser.add_argument(
        "--canvas",
        type=_canvas,
        default=FLEET_CANVAS,
        metavar="WxH",
        help="the detectors' canvas, models.detector_canvas_px (default 320x192: the fleet's 320x180 "
        "frames unscaled; 640x384 is the config's default)",
    )
    parser.add_argument(
        "--share-board",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="pipeline.share_models_by_lateness (default: the config's, on); --no-share-board to compare",
    )
    args = parser.parse_args(argv)
    result = run(args)
    for limit in result.limits:
        print(f"limit: {limit}")
    print(json.dumps(asdict(result)))
    return 0
