"""SafeCity's series on Ray's Prometheus endpoint (``ray.util.metrics``), fed from the typed counters.

The actors already keep their counters (:class:`CameraStats`, :class:`MatcherStats`,
:class:`DispatchStats`); an exporter task in each actor turns them into metrics every
:data:`EXPORT_INTERVAL_S`, so the hot paths stay free of metric calls. Ray prefixes every name with
``ray_`` and adds ``_total`` to counters on the endpoint (``ray_safecity_camera_frames_analysed_total``).
Model batch sizes and latency come from Ray Serve's own series (``ray_serve_actual_batch_size``,
``ray_serve_batch_execution_time_ms``, ``ray_serve_deployment_processing_latency_ms``). Reviews are
rare and stored by the API, which counts each one as it stores it (:class:`ReviewMetrics`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ray.util.metrics import Counter, Gauge, Histogram

from actors.camera.stats import CameraStats
from actors.dispatch.dispatcher import DispatchStats
from serve.alerts import CameraRef

log = logging.getLogger(__name__)

EXPORT_INTERVAL_S = 2.0
CAMERA_TAGS = ("camera", "zone", "kind")
REVIEW_TAGS = ("decision", "kind", "camera", "zone")  # kind: the alert's (face, plate)


@dataclass
class Deltas:
    """Increments of monotonic totals: what a counter must add since the last look.

    A total that went down belongs to a restarted process, whose counting began again at zero: all
    of it is new.
    """

    _last: dict[Hashable, float] = field(default_factory=dict)

    def step(self, key: Hashable, total: float) -> float:
        """The increment of ``key``'s total since it was last seen."""
        last = self._last.get(key, 0.0)
        self._last[key] = total
        return total if total < last else total - last


class CameraMetrics:
    """Per-camera frames, drops, sheds, reconnects, errors and frame age, tagged camera, zone, kind."""

    def __init__(self, cameras: Iterable[CameraRef]) -> None:
        self._tags: dict[str, dict[str, str]] = {}
        self._deltas = Deltas()
        self._counters = {
            name: Counter(f"safecity_camera_{name}", description=text, tag_keys=CAMERA_TAGS)
            for name, text in (
                ("frames_read", "Frames decoded from the camera."),
                ("frames_analysed", "Frames that went through detection and tracking."),
                ("frames_dropped", "Frames not analysed: the camera's in-flight limit was full, or late."),
                ("reconnects", "Times the stream was opened again after a failure."),
                ("analysis_errors", "Frames whose analysis failed (model or frame error)."),
                ("matcher_retries", "Observations handed to the matcher again after it failed."),
            )
        }
        self._shed = Counter(
            "safecity_camera_shed",
            description="Model requests dropped because they were older than pipeline.max_frame_age_s.",
            tag_keys=(*CAMERA_TAGS, "stage"),
        )
        self._frame_age = Gauge(
            "safecity_camera_frame_age_seconds",
            description="Age of the newest frame the camera delivered.",
            tag_keys=CAMERA_TAGS,
        )
        self._analysed_age = Gauge(
            "safecity_camera_analysed_frame_age_seconds",
            description="Age of the last analysed frame when its detections came back.",
            tag_keys=CAMERA_TAGS,
        )
        self._since_analysed = Gauge(
            "safecity_camera_seconds_since_analysed",
            description="Seconds since the capture of the last analysed frame (over 60: not once a minute).",
            tag_keys=CAMERA_TAGS,
        )
        self._up = Gauge(
            "safecity_camera_up", description="1 while the camera streams, else 0.", tag_keys=CAMERA_TAGS
        )

        self.set_cameras(cameras)

    def set_cameras(self, cameras: Iterable[CameraRef]) -> None:
        """The shard's cameras changed: a camera it no longer has is down (its gauges would stay)."""
        tags = {c.camera_id: {"camera": c.camera_id, "zone": c.zone, "kind": c.kind} for c in cameras}
        for camera_id, gone in self._tags.items():
            if camera_id not in tags:
                self._up.set(0.0, gone)
        self._tags = tags

    def record(self, rows: Sequence[CameraStats]) -> None:
        """Bring the series up to ``rows``."""
        now = time.time()  # the clock of the frames' capture times
        for row in rows:
            tags = self._tags.get(row.camera_id, {"camera": row.camera_id, "zone": "", "kind": ""})
            totals = {
                "frames_read": row.frames_read,
                "frames_analysed": row.frames_analysed,
                "frames_dropped": row.frames_dropped,
                "reconnects": row.reconnects,
                "analysis_errors": row.analysis_errors,
                "matcher_retries": row.matcher_retries,
            }
            for name, total in totals.items():
                self._inc(self._counters[name], (row.camera_id, name), total, tags)
            for stage, total in (
                ("detect", row.shed.detect),
                ("embed", row.shed.embed),
                ("read", row.shed.read),
            ):
                self._inc(self._shed, (row.camera_id, "shed", stage), total, {**tags, "stage": stage})
            if row.last_frame_age_s is not None:
                self._frame_age.set(row.last_frame_age_s, tags)
            if row.analysed_frame_age_s is not None:
                self._analysed_age.set(row.analysed_frame_age_s, tags)
            if row.last_analysed_at is not None:
                self._since_analysed.set(max(0.0, now - row.last_analysed_at), tags)
            self._up.set(1.0 if row.state == "streaming" else 0.0, tags)

    def _inc(self, counter: Counter, key: Hashable, total: float, tags: dict[str, str]) -> None:
        _add(self._deltas, counter, key, total, tags)


class MatcherMetrics:
    """Decisions by outcome, alerts by kind, face searches and their batches, list sizes."""

    def __init__(self) -> None:
        self._deltas = Deltas()
        self._decisions = Counter(
            "safecity_matcher_decisions",
            description="Observations decided: alert, no-match, cooldown or track-done.",
            tag_keys=("outcome",),
        )
        self._alerts = Counter(
            "safecity_matcher_alerts", description="Alerts handed to the dispatcher.", tag_keys=("kind",)
        )
        self._searches = Counter("safecity_matcher_face_searches", description="Watchlist searches.")
        self._batches = Counter(
            "safecity_matcher_face_search_batches", description="Index queries the searches were made in."
        )
        self._photos = Gauge("safecity_watchlist_photos", description="Enrolment photos in the index.")
        self._plates = Gauge("safecity_hotlist_plates", description="Plates on the hotlist.")

    def record(
        self,
        decisions: Mapping[str, int],
        alerts_by_kind: Mapping[str, int],
        searches: int,
        batches: int,
        photos: int,
        plates: int,
    ) -> None:
        """Bring the series up to these totals."""
        for outcome, total in decisions.items():
            self._inc(self._decisions, ("decision", outcome), total, {"outcome": outcome})
        for kind, total in alerts_by_kind.items():
            self._inc(self._alerts, ("alert", kind), total, {"kind": kind})
        self._inc(self._searches, "searches", searches, {})
        self._inc(self._batches, "batches", batches, {})
        self._photos.set(photos)
        self._plates.set(plates)

    def _inc(self, counter: Counter, key: Hashable, total: float, tags: dict[str, str]) -> None:
        _add(self._deltas, counter, key, total, tags)


def _add(deltas: Deltas, counter: Counter, key: Hashable, total: float, tags: dict[str, str]) -> None:
    increment = deltas.step(key, total)
    if increment > 0:
        counter.inc(increment, tags)


class DispatchMetrics:
    """What the outbox holds (gauges: the outbox outlives the process) and webhook round trips."""

    def __init__(self) -> None:
        self._outbox = {
            name: Gauge(f"safecity_outbox_{name}", description=text)
            for name, text in (
                ("alerts", "Alerts stored in the outbox, ever."),
                ("pending", "Deliveries (alert, endpoint) not yet acknowledged."),
                ("delivered", "Deliveries acknowledged, ever."),
                ("failed_attempts", "Webhook attempts that failed, ever."),
                ("unlogged", "Stored alerts not yet in the Parquet alert log."),
            )
        }
        self._round_trip = Histogram(
            "safecity_dispatch_round_trip_seconds",
            description="Webhook POST to its 2xx answer.",
            boundaries=[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
            tag_keys=("endpoint",),
        )

    def record(self, stats: DispatchStats) -> None:
        """Bring the series up to ``stats``."""
        counts = stats.outbox
        for name, value in (
            ("alerts", counts.alerts),
            ("pending", counts.pending),
            ("delivered", counts.delivered),
            ("failed_attempts", counts.failed_attempts),
            ("unlogged", counts.unlogged),
        ):
            self._outbox[name].set(value)

    def delivered(self, endpoint: str, elapsed_s: float) -> None:
        """One acknowledged POST and how long it took."""
        self._round_trip.observe(elapsed_s, {"endpoint": endpoint})


class ReviewMetrics:
    """Officers' reviews by decision (confirmed, rejected), alert kind, camera and zone."""

    def __init__(self) -> None:
        self._reviews = Counter(
            "safecity_reviews",
            description="Alerts an officer reviewed, by decision: confirmed or rejected.",
            tag_keys=REVIEW_TAGS,
        )

    def reviewed(self, decision: str, kind: str, camera: str, zone: str | None) -> None:
        """Count one stored review of an alert of ``kind`` from ``camera`` in ``zone``."""
        tags = {"decision": decision, "kind": kind, "camera": camera, "zone": zone or ""}
        try:
            self._reviews.inc(1, tags)
        except Exception:  # the review is stored: a metric must not turn its reply into an error
            log.exception("metrics: counting a review failed")


async def export_forever(record: Callable[[], None], interval_s: float = EXPORT_INTERVAL_S) -> None:
    """Call ``record`` every ``interval_s`` until cancelled; a failure is logged, not fatal."""
    while True:
        try:
            record()
        except Exception:  # metrics must never stop the actor that feeds them
            log.exception("metrics: export failed")
        await asyncio.sleep(interval_s)
