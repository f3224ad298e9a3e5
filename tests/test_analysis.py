"""The analysis package the notebooks import: loaders, error rates, thresholds, sizing, config write-back."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from actors.audit import AuditLog
from actors.dispatch.alert_log import AlertLog
from actors.false_match import threshold_for_fpir
from actors.reviews import REVIEW_SCHEMA, Decision, ReviewLog
from cluster.analysis.alerts import (
    activity,
    camera_sites,
    counts,
    face_reviews_by_similarity,
    latency_by_kind,
    load_alerts,
    load_deliveries,
    load_reviews,
    plate_hits,
    precision_by_camera,
    with_latency,
)
from cluster.analysis.calibration import (
    NormalTail,
    best_of_fitted,
    best_of_isotropic,
    fit_normal_tail,
    fitted_fpir,
    fitted_threshold,
    fpir_closed_form,
    isotropic_fpir,
    recommend_thresholds,
    simulate_fpir,
)
from cluster.analysis.datadir import DATA_DIR_ENV, open_data_dir
from cluster.analysis.errors import AnalysisDataError
from cluster.analysis.scores import (
    Comparison,
    ScoreSet,
    det_curve,
    fnir,
    fpir,
    read_score_set,
    write_score_set,
)
from cluster.analysis.stats import (
    StageCost,
    camera_load,
    cameras_per_node,
    load_camera_stats,
    load_stage_costs,
    rates,
    write_stage_costs,
)
from cluster.analysis.threshold_config import AUDIT_ACTION, with_threshold, write_match_threshold
from cluster.config import load_config
from cluster.config.loader import parse_config
from serve.errors import ConfigError

T0 = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def alert_json(
    camera: str,
    kind: str,
    captured: datetime,
    *,
    zone: str = "south",
    exact: bool | None = None,
    similarity: float = 0.6,
) -> dict[str, Any]:
    """A webhook body as the matcher makes it (only the fields the log reads)."""
    doc: dict[str, Any] = {
        "alert_id": f"{camera}-{kind}-{captured.timestamp()}",
        "kind": kind,
        "status": "unverified",
        "camera": {
            "id": camera,
            "name": camera.title(),
            "kind": "fr+anpr",
            "zone": zone,
            "location": {"lat": 24.86, "lon": 67.0},
        },
        "captured_at": captured.isoformat(),
        "emitted_at": (captured + timedelta(milliseconds=200)).isoformat(),
        "track_id": 1,
        "similarity": similarity if kind == "face" else None,
        "threshold": 0.5 if kind == "face" else None,
    }
    if kind == "face":
        doc["subject"] = {"id": "subject-a", "label": "Subject A", "category": "demo"}
    else:
        doc["plate"] = {
            "text": "MLB803",
            "hotlist_plate": "MLB803",
            "reason": "demo",
            "match": "exact" if exact else "fuzzy",
        }
    return doc


@pytest.fixture
def alert_dir(tmp_path: Path) -> Path:
    """An alert log of five alerts on two cameras, over two hours."""
    docs = [
        alert_json("gate", "face", T0),
        alert_json("gate", "face", T0 + timedelta(minutes=5)),
        alert_json("road", "plate", T0 + timedelta(minutes=10), zone="north", exact=True),
        alert_json("road", "plate", T0 + timedelta(hours=1), zone="north", exact=False),
        alert_json("road", "plate", T0 + timedelta(hours=1, minutes=1), zone="north", exact=True),
    ]
    log = AlertLog(tmp_path / "alerts")
    log.append_json(docs[:2], "part-a")
    log.append_json(docs[2:], "part-b")
    return tmp_path / "alerts"


def test_alerts_are_counted_by_camera_zone_hour_and_plate_match(alert_dir: Path) -> None:
    alerts = load_alerts(alert_dir)
    assert len(alerts) == 5 and "evidence_jpeg" not in alerts.columns
    by_camera = counts(alerts, "camera_id")
    assert by_camera.loc["road", "plate"] == 3 and by_camera.loc["gate", "face"] == 2
    assert by_camera.index[0] == "road"  # busiest first
    assert counts(alerts, "zone").loc["north", "total"] == 3
    assert list(counts(alerts, "hour").sort_index()["total"]) == [3, 2]
    hits = plate_hits(alerts)
    assert (hits.loc["road", "exact"], hits.loc["road", "fuzzy"]) == (2, 1)


def test_activity_bins_follow_the_span_of_the_log(alert_dir: Path) -> None:
    alerts = load_alerts(alert_dir)
    per_hour, unit = activity(alerts)
    assert unit == "minute" and per_hour.to_numpy().sum() == 5  # 61 minutes of log
    first_three = alerts.iloc[:3]
    per_bin, unit = activity(first_three)
    assert unit == "10 seconds" and list(per_bin.sum(axis=1)) == [1, 1, 1]


def test_missing_or_empty_alert_log_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(AnalysisDataError, match=r"no alert log at .*nowhere"):
        load_alerts(tmp_path / "nowhere")
    (tmp_path / "alerts").mkdir()
    with pytest.raises(AnalysisDataError, match="holds no alerts yet"):
        load_alerts(tmp_path / "alerts")
    assert load_alerts(tmp_path / "alerts", allow_empty=True).empty


def make_outbox(path: Path, receipts: dict[str, float | None]) -> None:
    """An outbox file with the deliveries table as the dispatcher keeps it."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE deliveries (alert_id TEXT, endpoint TEXT, attempts INTEGER, next_attempt_at REAL, "
            "last_error TEXT, delivered_at REAL, receipt TEXT)"
        )
        db.executemany(
            "INSERT INTO deliveries VALUES (?, 'dispatch', 1, 0, NULL, ?, NULL)", list(receipts.items())
        )


def test_latency_runs_from_capture_to_receipt_and_skips_undelivered(alert_dir: Path, tmp_path: Path) -> None:
    alerts = load_alerts(alert_dir)
    ids = list(alerts["alert_id"])
    captured = [t.timestamp() for t in alerts["captured_at"]]
    make_outbox(
        tmp_path / "outbox.sqlite3",
        {ids[0]: captured[0] + 0.3, ids[1]: captured[1] + 0.5, ids[2]: captured[2] + 1.5, ids[3]: None},
    )
    latency = with_latency(alerts, load_deliveries(tmp_path / "outbox.sqlite3"))
    assert len(latency) == 3
    summary = {s.kind: s for s in latency_by_kind(latency)}
    assert summary["face"].alerts == 2 and summary["face"].max_s == pytest.approx(0.5, abs=0.002)
    assert summary["plate"].p50_s == pytest.approx(1.5, abs=0.002)
    with pytest.raises(AnalysisDataError, match="no outbox"):
        load_deliveries(tmp_path / "missing.sqlite3")


def test_reviews_written_by_the_review_log_give_precision_per_camera_and_kind(
    alert_dir: Path, tmp_path: Path, audit: AuditLog
) -> None:
    log = ReviewLog(tmp_path, audit)
    data = open_data_dir(tmp_path)
    assert data.reviews == log.path  # the notebooks look where the API writes
    assert load_reviews(data.reviews).empty  # no alert reviewed yet
    alerts = load_alerts(alert_dir)
    ids = list(alerts["alert_id"])  # gate: two faces; road: three plates
    log.add(ids[0], "confirmed", "seen at the gate", "PC 1", "desk (operator)", keep=True)
    log.add(ids[1], "rejected", "different person", "PC 2", "desk (operator)")
    log.add(ids[2], "confirmed", "plate checked", "PC 1", "desk (operator)")
    log.add("purged-alert", "rejected", "not in this alert log", "PC 3", "desk (operator)")
    reviews = load_reviews(data.reviews)
    assert len(reviews) == 4 and list(reviews.columns) == REVIEW_SCHEMA.names
    precision = precision_by_camera(alerts, reviews)
    gate = precision.loc[("gate", "face")]
    assert (gate["alerts"], gate["reviewed"], gate["confirmed"], gate["precision"]) == (2, 2, 1, 0.5)
    road = precision.loc[("road", "plate")]
    assert (road["reviewed"], road["unreviewed"], road["precision"]) == (1, 2, 1.0)
    assert precision["reviewed"].sum() == 3  # the review of an alert outside the log is left out


def test_a_malformed_review_log_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "reviews.parquet"
    row = {"alert_id": "a", "decision": "maybe", "reason": "", "officer": "PC 1", "reviewed_by": "desk"}
    pq.write_table(
        pa.Table.from_pylist([row | {"reviewed_at": T0, "keep": False}], schema=REVIEW_SCHEMA), path
    )
    with pytest.raises(AnalysisDataError, match=r"decisions \['maybe'\]"):
        load_reviews(path)
    pq.write_table(pa.table({"alert_id": ["a"], "verdict": ["confirmed"]}), path)  # the format once guessed
    with pytest.raises(AnalysisDataError, match=r"review log is malformed: .* lacks columns"):
        load_reviews(path)
    path.write_bytes(b"not parquet")
    with pytest.raises(AnalysisDataError, match=re.escape(f"malformed: cannot read {path}")):
        load_reviews(path)


def test_reviewed_face_alerts_by_similarity_band(tmp_path: Path, audit: AuditLog) -> None:
    similarities = [0.52, 0.54, 0.60, 0.63, 0.66, 0.81]
    docs = [
        alert_json("gate", "face", T0 + timedelta(minutes=i), similarity=s)
        for i, s in enumerate(similarities)
    ]
    docs.append(alert_json("road", "plate", T0, exact=True))
    AlertLog(tmp_path / "alerts").append_json(docs, "part-a")
    alerts = load_alerts(tmp_path / "alerts")
    log = ReviewLog(tmp_path, audit)
    empty = face_reviews_by_similarity(alerts, load_reviews(log.path))
    assert empty.empty and "confirmed_share" in empty.columns
    by_similarity = dict(zip(alerts["similarity"], alerts["alert_id"], strict=True))
    decisions: dict[float, Decision] = {
        0.52: "rejected",
        0.54: "rejected",
        0.60: "confirmed",
        0.63: "rejected",
        0.81: "confirmed",
    }
    for similarity, decision in decisions.items():
        log.add(by_similarity[similarity], decision, "", "PC 1", "desk")
    log.add(alerts.loc[alerts["kind"] == "plate", "alert_id"].iloc[0], "confirmed", "", "PC 1", "desk")
    bands = face_reviews_by_similarity(alerts, load_reviews(log.path))
    assert list(bands.index) == [0.5, 0.6, 0.8]  # 0.60 is in its own band; 0.66 is unreviewed
    assert list(bands["reviewed"]) == [2, 2, 1] and list(bands["confirmed_share"]) == [0.0, 0.5, 1.0]
    assert list(bands["confirmed_at_or_above"]) == [2, 2, 1]
    assert list(bands["rejected_at_or_above"]) == [3, 1, 0]
    with pytest.raises(ValueError, match="width must be positive"):
        face_reviews_by_similarity(alerts, load_reviews(log.path), width=0)


def test_camera_sites_include_quiet_configured_cameras(alert_dir: Path) -> None:
    config = parse_config(
        {
            "cameras": [
                {"id": "gate", "name": "Gate", "url": "a.mp4", "location": {"lat": 24.9, "lon": 67.1}},
                {"id": "quiet", "name": "Quiet", "url": "b.mp4", "location": {"lat": 24.8, "lon": 67.2}},
                {"id": "nowhere", "name": "No location", "url": "c.mp4"},
            ]
        }
    )
    sites = camera_sites(load_alerts(alert_dir), config).set_index("camera_id")
    assert sites.loc["gate", "lat"] == 24.9  # the config's location wins
    assert sites.loc["quiet", "alerts"] == 0
    assert sites.loc["road", "alerts"] == 3  # known from the alert log only
    assert "nowhere" not in sites.index


def scores(mated: list[float], nonmated: dict[str, list[float]]) -> ScoreSet:
    """A score set: one mated probe per value, and non-mated probes with a score per subject."""
    rows = [Comparison(f"m{i}", "p.jpg", "original", "s1", True, v) for i, v in enumerate(mated)]
    for probe, values in nonmated.items():
        rows += [Comparison(probe, "q.jpg", "original", f"s{j}", False, v) for j, v in enumerate(values)]
    return ScoreSet(tuple(rows))


def test_fpir_uses_each_searchs_best_score_and_fnir_the_mated_score() -> None:
    score_set = scores([0.7, 0.55, 0.4], {"x": [0.1, 0.45], "y": [0.2, 0.3], "z": [0.6, -0.1]})
    assert sorted(score_set.nonmated_searches()) == [0.3, 0.45, 0.6]
    thresholds = np.array([0.3, 0.5, 0.65])
    assert list(fpir(score_set.nonmated_searches(), thresholds)) == pytest.approx([1.0, 1 / 3, 0.0])
    assert list(fnir(score_set.mated_searches(), thresholds)) == pytest.approx([0.0, 1 / 3, 2 / 3])
    det = det_curve(score_set)
    assert np.all(np.diff(det.fpir) <= 0) and np.all(np.diff(det.fnir) >= 0)  # a trade-off


def test_score_set_round_trip_and_errors(tmp_path: Path) -> None:
    score_set = scores([0.7], {"x": [0.1, 0.2]})
    write_score_set(tmp_path / "s.parquet", score_set.comparisons)
    assert read_score_set(tmp_path / "s.parquet") == score_set
    with pytest.raises(AnalysisDataError, match="no face score set"):
        read_score_set(tmp_path / "missing.parquet")
    write_score_set(tmp_path / "only-mated.parquet", scores([0.7], {}).comparisons)
    with pytest.raises(AnalysisDataError, match="0 non-mated searches"):
        read_score_set(tmp_path / "only-mated.parquet")


def test_closed_form_fpir_matches_simulation_for_both_models() -> None:
    rng = np.random.default_rng(0)
    tail = NormalTail(0.07, 0.09, 100)
    thresholds = np.array([0.35, 0.4, 0.45])
    for size in (100, 10_000):
        simulated = simulate_fpir(best_of_fitted(tail, size, rng), thresholds, 2000)
        closed = [fitted_fpir(tail, t, size) for t in thresholds]
        assert simulated == pytest.approx(closed, abs=0.035)
    simulated = simulate_fpir(best_of_isotropic(10_000, rng), np.array([0.36, 0.40]), 400)
    assert simulated == pytest.approx([isotropic_fpir(0.36, 10_000), isotropic_fpir(0.40, 10_000)], abs=0.07)


def test_fpir_grows_with_the_watchlist_and_thresholds_follow() -> None:
    assert fpir_closed_form(1e-6, 1_000) == pytest.approx(1e-3, rel=1e-3)
    assert fpir_closed_form(1e-6, 1_000_000) == pytest.approx(1 - np.exp(-1), rel=1e-3)
    tail = fit_normal_tail(np.random.default_rng(1).normal(0.1, 0.1, 500))
    assert tail.mean == pytest.approx(0.1, abs=0.02) and tail.std == pytest.approx(0.1, abs=0.02)
    threshold = fitted_threshold(tail, 0.01, 10_000)
    assert fitted_fpir(tail, threshold, 10_000) == pytest.approx(0.01, rel=1e-4)
    choices = recommend_thresholds(tail, np.array([0.5, 0.6, 0.7, 0.8]), 0.01)
    assert [c.watchlist_size for c in choices] == [1_000, 10_000, 100_000, 1_000_000]
    assert all(a.recommended < b.recommended for a, b in itertools.pairwise(choices))
    for c in choices:
        assert c.recommended == max(c.isotropic_threshold, c.fitted_threshold)
        assert c.isotropic_threshold == pytest.approx(threshold_for_fpir(0.01, c.watchlist_size))
    assert choices[-1].fnir >= choices[0].fnir


def test_upper_bound_of_the_fit_is_stricter_and_narrows_with_more_pairs() -> None:
    few, many = NormalTail(0.05, 0.08, 50), NormalTail(0.05, 0.08, 5000)
    assert few.upper_bound().std > many.upper_bound().std > 0.08
    assert few.upper_bound().mean > many.upper_bound().mean > 0.05
    assert fitted_threshold(few.upper_bound(), 0.001, 100_000) > fitted_threshold(few, 0.001, 100_000)
    with pytest.raises(ValueError, match="confidence"):
        few.upper_bound(1.0)


def test_normal_tail_needs_enough_spread_scores() -> None:
    with pytest.raises(AnalysisDataError, match="at least 10"):
        fit_normal_tail(np.zeros(3))
    with pytest.raises(AnalysisDataError, match="all equal"):
        fit_normal_tail(np.zeros(20))


def write_stats(path: Path, snapshots: list[tuple[float, int, int, int]]) -> None:
    """Job report lines for camera "cam" (at, read, analysed, shed.detect), with noise lines between."""
    lines = ["safecity: analysing 1 camera(s); Ctrl-C or SIGTERM stops"]
    for at, read, analysed, shed in snapshots:
        camera = {
            "camera_id": "cam",
            "frames_read": read,
            "frames_analysed": analysed,
            "frames_dropped": 1,
            "shed": {"detect": shed, "embed": 1, "read": 0},
        }
        lines.append(json.dumps({"at": at, "camera": camera}))
        lines.append(json.dumps({"at": at, "dispatch": {"alerts": 0}}))
    path.write_text("\n".join(lines) + "\n")


def test_camera_stats_are_read_from_job_logs_and_turned_into_rates(tmp_path: Path) -> None:
    write_stats(tmp_path / "s.jsonl", [(1000.0, 100, 20, 0), (1010.0, 200, 40, 5)])
    stats = load_camera_stats(tmp_path / "s.jsonl")
    assert len(stats) == 2 and list(stats["shed_total"]) == [1, 6]
    row = rates(stats).loc["cam"]
    assert (row["frames_read_per_s"], row["frames_analysed_per_s"], row["shed_total_per_s"]) == (
        10.0,
        2.0,
        0.5,
    )
    (tmp_path / "none.jsonl").write_text("just a log line\n")
    with pytest.raises(AnalysisDataError, match="no camera counter lines"):
        load_camera_stats(tmp_path / "none.jsonl")
    with pytest.raises(AnalysisDataError, match="save the job's output"):
        load_camera_stats(tmp_path / "missing.jsonl")


def test_sizing_from_stage_costs(tmp_path: Path) -> None:
    costs = [
        StageCost("decode_letterbox", 1, 0.004, "frames"),
        StageCost("face_detect", 1, 0.030, "frames"),
        StageCost("face_detect", 8, 0.025, "frames"),
        StageCost("plate_detect", 8, 0.025, "frames"),
        StageCost("face_embed", 8, 0.020, "faces"),
        StageCost("plate_read", 2, 0.030, "plates"),
    ]
    write_stage_costs(tmp_path / "c.json", costs)
    assert load_stage_costs(tmp_path / "c.json") == costs
    fr = camera_load("fr", costs, embeds_per_frame=0.1, reads_per_frame=5.0)
    assert fr.seconds_per_frame == pytest.approx(0.025 + 0.002 + 0.004)  # largest batch; no OCR on fr
    both = camera_load("fr+anpr", costs, embeds_per_frame=0.1, reads_per_frame=0.1)
    assert both.seconds_per_frame == pytest.approx(0.025 + 0.025 + 0.002 + 0.003 + 0.004)
    per_node = cameras_per_node(fr, np.array([1.0, 2.0, 10.0]), cores=16, utilisation=0.75)
    assert list(per_node) == [np.floor(12 / 0.031), np.floor(6 / 0.031), np.floor(1.2 / 0.031)]
    with pytest.raises(ValueError, match="not analysed"):
        camera_load("plain", costs, 0, 0)
    with pytest.raises(AnalysisDataError, match="no measured cost for stage 'face_embed'"):
        camera_load("fr", costs[:3], 0.1, 0)


SAMPLE = """# Sample city
data_dir: data      # relative

faces:
  match_threshold: 0.5          # 1:N cosine threshold
  min_quality: 0.35

plates:
  max_corrections: 2
"""


def test_with_threshold_keeps_comments_and_adds_missing_keys() -> None:
    edited = with_threshold(SAMPLE, 0.5734)
    assert "  match_threshold: 0.5734          # 1:N cosine threshold" in edited
    assert edited.replace("0.5734", "0.5") == SAMPLE
    no_key = with_threshold("faces:\n  min_quality: 0.4\nplates: {}\n", 0.6)
    assert parse_config(yaml.safe_load(no_key)).faces.match_threshold == 0.6
    assert with_threshold("data_dir: d\n", 0.55).endswith("faces:\n  match_threshold: 0.55\n")
    with pytest.raises(ConfigError, match="flow mapping"):
        with_threshold("faces: {min_quality: 0.3}\n", 0.6)


def test_write_match_threshold_replaces_the_file_and_audits(tmp_path: Path) -> None:
    config_path = tmp_path / "city.yaml"
    config_path.write_text(SAMPLE)
    change = write_match_threshold(config_path, 0.56, actor="analyst", evidence={"watchlist_size": 10_000})
    assert (change.old, change.new) == (0.5, 0.56)
    assert load_config(config_path).faces.match_threshold == 0.56
    audit = AuditLog(tmp_path / "data" / "audit.jsonl")  # the config's data_dir
    assert audit.verify() == 1
    [entry] = list(audit.entries())
    assert (entry.actor, entry.action) == ("analyst", AUDIT_ACTION)
    assert dict(entry.details) == {"old": 0.5, "new": 0.56, "watchlist_size": 10_000}


def test_write_match_threshold_refuses_invalid_values_and_leaves_the_file(tmp_path: Path) -> None:
    config_path = tmp_path / "city.yaml"
    config_path.write_text(SAMPLE)
    with pytest.raises(ConfigError, match=r"faces\.match_threshold"):
        write_match_threshold(config_path, 1.2, actor="analyst", evidence={})
    with pytest.raises(ConfigError, match="actor"):
        write_match_threshold(config_path, 0.6, actor=" ", evidence={})
    assert config_path.read_text() == SAMPLE
    assert not (tmp_path / "data" / "audit.jsonl").exists()


def test_open_data_dir_prefers_argument_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert open_data_dir().root == tmp_path.resolve()
    assert open_data_dir(tmp_path / ".").alerts == tmp_path.resolve() / "alerts"
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "gone"))
    with pytest.raises(
        AnalysisDataError, match=re.escape(f"{tmp_path / 'gone'} (from ${DATA_DIR_ENV}) does not exist")
    ):
        open_data_dir()
