"""``safecity demo --record``: a real run of the demo city becomes a data directory the notebooks read."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.analysis.alerts import load_alerts, load_deliveries, with_latency
from cluster.analysis.datadir import open_data_dir
from cluster.analysis.scores import read_score_set
from cluster.analysis.stats import camera_demand, load_camera_stats, load_stage_costs
from cluster.cli import main
from cluster.config import load_config
from cluster.record import record_demo


def test_record_refuses_a_folder_that_is_not_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keep.txt").write_text("someone's file")
    assert main(["--actor", "tester", "demo", "--record", str(tmp_path), "--seconds", "1"]) == 1
    assert f"{tmp_path} is not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.models
def test_a_short_recording_holds_everything_the_notebooks_read(tmp_path: Path) -> None:
    data = open_data_dir(record_demo(tmp_path / "rec", seconds=12, actor="tester", snapshot_every_s=3).root)
    config = load_config(data.config)
    assert len(config.cameras) == 6 and all(c.location is not None for c in config.cameras)
    alerts = load_alerts(data.alerts)
    assert {"face", "plate"} <= set(alerts["kind"])  # subjects A and B walk past, MLB803 drives past
    latency = with_latency(alerts, load_deliveries(data.outbox))
    assert len(latency) == len(alerts) and (latency["latency_s"] > 0).all()
    assert not data.outbox.with_name("outbox.sqlite3-wal").exists()  # folded into the file
    stats = load_camera_stats(data.camera_stats)
    assert stats["at"].nunique() >= 3
    demand = {d.camera_id: d for d in camera_demand(stats, config)}
    assert set(demand) == {c.id for c in config.cameras} and all(d.analysed_fps > 0 for d in demand.values())
    stages = {c.stage for c in load_stage_costs(data.stage_costs)}
    assert stages == {"decode_letterbox", "face_detect", "plate_detect", "face_embed", "plate_read"}
    scores = read_score_set(data.face_scores)
    assert scores.mated_searches().min() > scores.nonmated_searches().max()  # the bundled faces separate
    assert scores.mated_pairs.max() < 0.95  # an enrolment photo is never scored against its own subject
    assert {c.photo for c in scores.comparisons if not c.mated} >= {"person_a_1.jpg", "impostor_1.jpg"}
