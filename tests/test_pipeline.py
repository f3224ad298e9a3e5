"""The live pipeline on a real local Ray cluster with real Serve, a real RTSP camera and real webhooks.

One scenario runs once for the module (Ray and Serve take ~20 s to start on 2 cores); the tests below
each check one promise against what it recorded.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import ray

from actors.camera.stats import CameraStats
from cluster.config import load_config
from cluster.config.cameras import CameraConfig
from cluster.config.dispatch import DispatchConfig, EndpointConfig
from cluster.config.faces import FacesConfig
from cluster.demo_city import build_demo_city, walk_past
from cluster.demo_lists import enrol_demo_lists
from cluster.pipeline import RunningPipeline, start_pipeline
from cluster.receiver import AlertReceiver
from cluster.samples import FACES, SAMPLE_CONFIG
from serve.face_analyzer import FaceAnalyzer
from tests.prometheus import Prometheus
from tests.streams import RtspServer, free_port, write_jpeg_frames
from tests.waiting import poll_until

pytestmark = [pytest.mark.slow, pytest.mark.ray, pytest.mark.models]
SECRET_ENV = "SAFECITY_TEST_WEBHOOK_SECRET"


@dataclass
class Scenario:
    data_dir: Path
    receiver: AlertReceiver
    pending_while_down: int = 0
    drained: bool = False
    camera_stats: dict[str, CameraStats] = field(default_factory=dict)
    rtsp_reconnects_before_cut: int = 0
    rtsp_after_reconnect: CameraStats | None = None
    scraped_first: dict[str, float] = field(default_factory=dict)  # Prometheus, early in the run
    scraped_last: dict[str, float] = field(default_factory=dict)  # Prometheus, at the end
    shards: int = 0
    shards_on_the_share_board: int = 0

    def alerts_from(self, camera_id: str) -> list[dict[str, Any]]:
        return [a for a in self.receiver.received if a["camera"]["id"] == camera_id]


def stats_by_camera(pipeline: RunningPipeline) -> dict[str, CameraStats]:
    return {row.camera_id: row for row in pipeline.camera_stats()}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory, face_analyzer: FaceAnalyzer) -> Iterator[Scenario]:
    work = tmp_path_factory.mktemp("pipeline")
    data_dir = work / "data"
    enrol_demo_lists(data_dir, face_analyzer, "test-operator", FacesConfig().enrolment_policy())
    os.environ[SECRET_ENV] = secrets.token_hex(24)
    receiver = AlertReceiver(os.environ[SECRET_ENV].encode()).start()
    receiver.stop()  # dispatch is down when the pipeline starts; its port stays known

    demo = {c.camera_id: c for c in build_demo_city(work / "media")}
    rtsp = RtspServer(
        write_jpeg_frames(work / "rtsp", walk_past([FACES / "person_b_2.jpg"], 4.0, 1.0)), fps=10
    )
    rtsp.start()
    cameras = [
        CameraConfig(
            id="file-fr", name="File camera", url=str(demo["fr-gate-1"].video), kind="fr", analysis_fps=3
        ),
        # Looped: on a loaded CPU, OCR may finish fewer frames than one 8 s pass offers; the cooldown
        # keeps later passes from alerting again.
        CameraConfig(
            id="file-anpr",
            name="ANPR",
            url=str(demo["anpr-road-1"].video),
            kind="anpr",
            analysis_fps=2,
            loop=True,
        ),
        CameraConfig(
            id="file-strangers",
            name="Strangers",
            url=str(demo["fr-market-2"].video),
            kind="fr",
            analysis_fps=3,
        ),
        CameraConfig(id="rtsp-fr", name="RTSP camera", url=rtsp.url, kind="fr", analysis_fps=3),
    ]
    base = load_config(SAMPLE_CONFIG)
    config = base.model_copy(
        update={
            "data_dir": data_dir,
            "cameras": cameras,
            "dispatch": DispatchConfig(
                endpoints=[EndpointConfig(name="test", url=receiver.url, secret_env=SECRET_ENV)],
                retry_initial_s=0.2,
                retry_max_s=1.0,
            ),
            "pipeline": base.pipeline.model_copy(
                update={
                    "reconnect_initial_s": 0.2,
                    "reconnect_max_s": 1.0,
                    "read_timeout_s": 3,
                    "open_timeout_s": 3,
                }
            ),
        }
    )
    metrics_port = free_port()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _metrics_export_port=metrics_port)
    prometheus = Prometheus(work / "prometheus", [f"127.0.0.1:{metrics_port}"]).start()
    result = Scenario(data_dir, receiver)
    try:
        pipeline = start_pipeline(config)
        poll_until(
            lambda: bool(scrape(prometheus).get("rtsp-fr analysed")),
            timeout=90,
            what="Prometheus to scrape the RTSP camera's analysed frames from Ray's endpoint",
        )
        result.scraped_first = scrape(prometheus)
        files = ("file-fr", "file-strangers")
        poll_until(
            lambda: (
                all(stats_by_camera(pipeline)[c].state == "ended" for c in files)
                and stats_by_camera(pipeline)["file-anpr"].frames_analysed >= 4
                and stats_by_camera(pipeline)["rtsp-fr"].frames_analysed >= 30
            ),
            timeout=180,
            what="the file cameras to end and the others to show a full pass",
        )
        poll_until(
            lambda: ray.get(pipeline.dispatcher.stats.remote()).outbox.alerts >= 3,
            timeout=120,
            what="three alerts in the outbox",
            details=lambda: (
                f"cameras {pipeline.camera_stats()}; matcher {ray.get(pipeline.matcher.stats.remote())}"
            ),
        )
        result.pending_while_down = ray.get(pipeline.dispatcher.stats.remote()).outbox.pending

        stored = ray.get(pipeline.dispatcher.stats.remote()).outbox.alerts
        ray.kill(pipeline.dispatcher, no_restart=False)  # the dispatcher process dies; Ray restarts it
        receiver.start()  # dispatch comes back
        # Nothing calls the restarted dispatcher: it resumes delivering by itself.
        poll_until(lambda: len(receiver.received) >= stored, 60, "the restarted dispatcher to deliver")
        result.drained = bool(ray.get(pipeline.dispatcher.drain.remote(60)))

        result.rtsp_reconnects_before_cut = stats_by_camera(pipeline)["rtsp-fr"].reconnects
        rtsp.stop()  # cut the RTSP stream
        poll_until(
            lambda: stats_by_camera(pipeline)["rtsp-fr"].state != "streaming", 30, "the cut to be noticed"
        )
        rtsp.start()
        read_at_restart = stats_by_camera(pipeline)["rtsp-fr"].frames_read
        poll_until(
            lambda: stats_by_camera(pipeline)["rtsp-fr"].frames_read > read_at_restart + 10,
            timeout=60,
            what="the RTSP camera to stream again",
        )
        result.rtsp_after_reconnect = stats_by_camera(pipeline)["rtsp-fr"]
        result.camera_stats = stats_by_camera(pipeline)
        result.shards = len(pipeline.shards)
        result.shards_on_the_share_board = ray.get(pipeline.share_board.shards.remote())
        first_analysed = result.scraped_first["rtsp-fr analysed"]

        def moved() -> bool:
            result.scraped_last = scrape(prometheus)  # one scrape a poll; the last one is kept
            last = result.scraped_last
            analysed, delivered = last.get("rtsp-fr analysed", 0.0), last.get("outbox delivered", 0.0)
            return analysed > first_analysed and delivered >= 3

        poll_until(
            moved, timeout=60, what="the scraped series to move", details=lambda: str(result.scraped_last)
        )
        pipeline.stop(drain_timeout_s=30)
        yield result
    finally:
        prometheus.stop()
        ray.shutdown()
        rtsp.stop()
        receiver.stop()


def scrape(prometheus: Prometheus) -> dict[str, float]:
    """SafeCity's series as Prometheus stored them, summed over the processes that reported them."""
    queries = {
        "rtsp-fr analysed": 'sum(ray_safecity_camera_frames_analysed_total{camera="rtsp-fr"})',
        "rtsp-fr read": 'sum(ray_safecity_camera_frames_read_total{camera="rtsp-fr", kind="fr"})',
        "rtsp-fr since analysed": 'max(ray_safecity_camera_seconds_since_analysed{camera="rtsp-fr"})',
        "face alerts": 'sum(ray_safecity_matcher_alerts_total{kind="face"})',
        "no-match decisions": 'sum(ray_safecity_matcher_decisions_total{outcome="no-match"})',
        "watchlist photos": "max(ray_safecity_watchlist_photos)",
        "outbox delivered": "max(ray_safecity_outbox_delivered)",
        "round trips": "sum(ray_safecity_dispatch_round_trip_seconds_count)",
        "detector batches": 'sum(ray_serve_batches_processed_total{deployment="detectors"})',
    }
    found = {}
    for name, expression in queries.items():
        rows = prometheus.query(expression)
        if rows:
            found[name] = rows[0][1]
    return found


def test_prometheus_scrapes_safecity_series_that_move(scenario: Scenario) -> None:
    first, last = scenario.scraped_first, scenario.scraped_last
    assert last["rtsp-fr analysed"] > first["rtsp-fr analysed"] > 0
    assert last["rtsp-fr read"] >= last["rtsp-fr analysed"]
    assert 0 <= last["rtsp-fr since analysed"] < 30  # analysed 3 times a second; exported every 2 s
    assert last["face alerts"] >= 2 and last["no-match decisions"] >= 1
    assert last["watchlist photos"] >= 2
    assert last["outbox delivered"] >= 3 and last["round trips"] >= 3
    assert last["detector batches"] > 0  # Ray Serve's own batch series, used by the dashboard


def test_every_shard_tells_the_model_share_board_how_late_it_is(scenario: Scenario) -> None:
    assert scenario.shards_on_the_share_board == scenario.shards >= 1


def test_alerts_wait_in_the_outbox_while_dispatch_is_down(scenario: Scenario) -> None:
    assert scenario.pending_while_down >= 3


def test_every_alert_arrives_once_signed_after_dispatch_and_dispatcher_restart(scenario: Scenario) -> None:
    assert scenario.drained
    ids = [a["alert_id"] for a in scenario.receiver.received]
    assert len(ids) == len(set(ids)) >= 3
    assert scenario.receiver.rejected == 0  # every request carried a valid signature
    assert all(
        a["status"] == "unverified" and a["evidence"]["crop_jpeg_base64"] for a in scenario.receiver.received
    )


def test_file_camera_gives_one_face_alert_per_pass(scenario: Scenario) -> None:
    [alert] = scenario.alerts_from("file-fr")
    assert alert["kind"] == "face" and alert["subject"]["id"] == "subject-a"
    assert alert["similarity"] >= alert["threshold"] == 0.5
    assert alert["evidence"]["enrolment_photo"].endswith(".jpg")
    assert scenario.camera_stats["file-fr"].faces_embedded < scenario.camera_stats["file-fr"].faces_offered


def test_rtsp_camera_alert_reaches_the_receiver(scenario: Scenario) -> None:
    alerts = scenario.alerts_from("rtsp-fr")
    assert [a["subject"]["id"] for a in alerts] == ["subject-b"]  # later passes fall within the cooldown


def test_anpr_camera_alerts_on_the_hotlisted_plate_only(scenario: Scenario) -> None:
    [alert] = scenario.alerts_from("file-anpr")
    assert (
        alert["kind"] == "plate" and alert["plate"]["text"] == "MLB803" and alert["plate"]["match"] == "exact"
    )


def test_no_alert_and_nothing_stored_for_people_on_no_list(scenario: Scenario) -> None:
    assert scenario.alerts_from("file-strangers") == []
    assert scenario.camera_stats["file-strangers"].faces_embedded >= 2  # they were seen and searched
    photos = sorted(p.name for p in (scenario.data_dir / "watchlist-photos").iterdir())
    assert len(photos) == 2  # the two enrolment photos, nothing from the cameras


def test_a_cut_stream_reconnects(scenario: Scenario) -> None:
    after = scenario.rtsp_after_reconnect
    assert after is not None
    assert after.reconnects > scenario.rtsp_reconnects_before_cut
    assert after.state == "streaming"
