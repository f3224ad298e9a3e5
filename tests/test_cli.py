"""End to end: the real ``safecity`` command line in a subprocess, as an operator runs it.

Every model-loading subprocess costs seconds, so one module-scoped data directory is enrolled once
(subject-a, two hotlisted plates) and analysed twice (sample images; a short video), and several tests
read those results. Tests that change lists work on their own copy of that data directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml

from cluster.samples import FACES, PLATE_SCENE, REPO_ROOT, SAMPLE_CONFIG
from serve.imaging import read_image
from serve.models.registry import ModelRole

ACTOR = "officer-cli-test"
SUBJECT_ID = "subject-a"
SUBJECT_LABEL = "Subject A"
HOTLIST = {"MLB803": "test: reported stolen", "NO23456": "test: wanted in enquiry"}
PERSON_A = FACES / "person_a_2.jpg"
IMPOSTOR = FACES / "impostor_1.jpg"
IMAGES = (PERSON_A, IMPOSTOR, PLATE_SCENE)
# Frames of the test video: 0-1 person A, 2-3 impostor, 4-5 person A; --every 2 samples 0, 2 and 4.
VIDEO_FRAMES = (PERSON_A, PERSON_A, IMPOSTOR, IMPOSTOR, PERSON_A, PERSON_A)
VIDEO_SIZE = (640, 800)  # width, height
MIN_SIMILARITY = 0.5

FRAME_KEYS = {"source", "frame", "faces", "plates"}
FACE_KEYS = {"xyxy", "score", "quality", "match"}
FACE_MATCH_KEYS = {"subject_id", "label", "similarity"}
PLATE_KEYS = {"xyxy", "text", "confidence", "format_ok", "match"}
PLATE_OPTIONAL_KEYS = {"raw_text"}
PLATE_MATCH_KEYS = {"plate", "reason", "exact"}


# --- running the CLI -------------------------------------------------------------------------------


def safecity(*args: object) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cluster.cli ARGS`` from the repository root, offline."""
    return subprocess.run(
        [sys.executable, "-m", "cluster.cli", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        env={**os.environ, "YOLO_OFFLINE": "1"},
        cwd=REPO_ROOT,
        timeout=180,
        check=False,
    )


def succeeds(*args: object) -> str:
    """Run the CLI, require exit 0, return stdout."""
    result = safecity(*args)
    assert result.returncode == 0, f"safecity {args} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


def refused(*args: object) -> str:
    """Run the CLI, require a non-zero exit with one ``safecity: error:`` line on stderr; return it."""
    result = safecity(*args)
    assert result.returncode != 0, f"safecity {args} should have failed:\n{result.stdout}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got:\n{result.stderr}"
    assert lines[0].startswith("safecity: error: "), lines[0]
    return lines[0]


def json_lines(stdout: str) -> list[dict[str, Any]]:
    """Every stdout line as a JSON object (a line that is not one fails the test)."""
    records = [json.loads(line) for line in stdout.splitlines()]
    assert all(isinstance(record, dict) for record in records)
    return records


def audit_entries(data_dir: Path) -> list[dict[str, Any]]:
    """``safecity audit show``: the entries, after checking its closing line."""
    lines = succeeds("audit", "show", "--data-dir", data_dir).splitlines()
    assert lines[-1] == f"{len(lines) - 1} entries, hash chain intact"
    return [json.loads(line) for line in lines[:-1]]


def state_of(data_dir: Path) -> dict[str, bytes | list[str]]:
    """The bytes of the watchlist and the audit log, and the stored photos: what a refusal must not touch."""
    state: dict[str, bytes | list[str]] = {
        name: (data_dir / name).read_bytes()
        for name in ("watchlist.parquet", "audit.jsonl", "audit.jsonl.head")
    }
    state["photos"] = sorted(p.name for p in (data_dir / "watchlist-photos").iterdir())
    return state


# --- media ---------------------------------------------------------------------------------------


def write_video(directory: Path) -> Path:
    """A six-frame video of the sample portraits (mp4v, or MJPG in .avi where mp4v is unavailable)."""
    frames = [cv2.resize(read_image(path), VIDEO_SIZE) for path in VIDEO_FRAMES]
    for name, codec in (("people.mp4", "mp4v"), ("people.avi", "MJPG")):
        path = directory / name
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*codec), 5.0, VIDEO_SIZE)
        if writer.isOpened():
            for frame in frames:
                writer.write(frame)
            writer.release()
            if path.exists() and path.stat().st_size > 0:
                return path
        writer.release()
    raise AssertionError("OpenCV can write neither mp4v nor MJPG video")


def two_people_photo(directory: Path) -> Path:
    """Person A and person B side by side, at the same height."""
    height = 600
    halves = []
    for name in ("person_a_2.jpg", "person_b_2.jpg"):
        image = read_image(FACES / name)
        width = round(image.shape[1] * height / image.shape[0])
        halves.append(cv2.resize(image, (width, height)))
    path = directory / "two_people.jpg"
    assert cv2.imwrite(str(path), np.hstack(halves))
    return path


# --- the shared, enrolled data directory ---------------------------------------------------------


@dataclass(frozen=True)
class World:
    """A data directory with subject-a and two plates, and what ``analyze --json`` printed against it."""

    data_dir: Path
    video: Path
    images: list[dict[str, Any]]  # analyze --json over IMAGES
    frames: list[dict[str, Any]]  # analyze --json --every 2 over the video


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("cli")
    data_dir = root / "data"
    # Global options after the sub-command here, before it below: both must work.
    succeeds(
        "watchlist",
        "enrol",
        SUBJECT_ID,
        "--label",
        SUBJECT_LABEL,
        FACES / "person_a_1.jpg",
        "--data-dir",
        data_dir,
        "--actor",
        ACTOR,
    )
    for plate, reason in HOTLIST.items():
        succeeds("--data-dir", data_dir, "--actor", ACTOR, "hotlist", "add", plate, "--reason", reason)
    images = succeeds(
        "--config", SAMPLE_CONFIG, "--data-dir", data_dir, "--actor", ACTOR, "analyze", "--json", *IMAGES
    )
    video = write_video(root)
    frames = succeeds("--data-dir", data_dir, "--actor", ACTOR, "analyze", "--json", "--every", "2", video)
    return World(data_dir, video, json_lines(images), json_lines(frames))


@pytest.fixture
def world_copy(world: World, tmp_path: Path) -> Path:
    """A private copy of the shared data directory, for a test that changes it."""
    return Path(shutil.copytree(world.data_dir, tmp_path / "data"))


def check_documented_schema(record: dict[str, Any]) -> None:
    """One ``analyze --json`` line has exactly the documented keys and types."""
    assert set(record) == FRAME_KEYS
    assert isinstance(record["source"], str)
    assert type(record["frame"]) is int
    for face in record["faces"]:
        assert set(face) == FACE_KEYS
        assert len(face["xyxy"]) == 4 and all(type(v) is float for v in face["xyxy"])
        assert type(face["score"]) is float and type(face["quality"]) is float
        if face["match"] is not None:
            assert set(face["match"]) == FACE_MATCH_KEYS
            assert isinstance(face["match"]["subject_id"], str) and isinstance(face["match"]["label"], str)
            assert type(face["match"]["similarity"]) is float
    for plate in record["plates"]:
        assert PLATE_KEYS <= set(plate) <= PLATE_KEYS | PLATE_OPTIONAL_KEYS
        assert len(plate["xyxy"]) == 4 and all(type(v) is float for v in plate["xyxy"])
        assert isinstance(plate["text"], str)
        assert type(plate["confidence"]) is float and type(plate["format_ok"]) is bool
        if plate["match"] is not None:
            assert set(plate["match"]) == PLATE_MATCH_KEYS
            assert isinstance(plate["match"]["plate"], str) and isinstance(plate["match"]["reason"], str)
            assert type(plate["match"]["exact"]) is bool


def subject_a_matches(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [f["match"] for f in record["faces"] if f["match"] and f["match"]["subject_id"] == SUBJECT_ID]


# --- analyze ---------------------------------------------------------------------------------------


@pytest.mark.models
def test_analyze_json_prints_one_documented_object_per_image(world: World) -> None:
    assert [(r["source"], r["frame"]) for r in world.images] == [(str(p), 0) for p in IMAGES]
    for record in world.images + world.frames:
        check_documented_schema(record)


@pytest.mark.models
def test_analyze_matches_the_enrolled_subject_and_not_an_impostor(world: World) -> None:
    person_a, impostor, _ = world.images
    [match] = subject_a_matches(person_a)
    assert match["label"] == SUBJECT_LABEL
    assert match["similarity"] >= MIN_SIMILARITY
    assert impostor["faces"], "no face found in the impostor photo"
    assert all(face["match"] is None for face in impostor["faces"])


@pytest.mark.models
def test_analyze_reads_hotlisted_plates_as_exact_matches(world: World) -> None:
    scene = world.images[2]
    assert scene["faces"] == []
    matched = {p["text"]: p["match"] for p in scene["plates"]}
    for plate, reason in HOTLIST.items():
        assert matched.get(plate) == {"plate": plate, "reason": reason, "exact": True}, scene["plates"]
        [read] = [p for p in scene["plates"] if p["text"] == plate]
        assert read["format_ok"] is True


@pytest.mark.models
def test_analyze_video_reports_every_nth_frame(world: World) -> None:
    assert [(r["source"], r["frame"]) for r in world.frames] == [(str(world.video), n) for n in (0, 2, 4)]
    for record in world.frames:
        shows_person_a = VIDEO_FRAMES[record["frame"]] == PERSON_A
        matches = subject_a_matches(record)
        if shows_person_a:
            assert len(matches) == 1 and matches[0]["similarity"] >= MIN_SIMILARITY, record
        else:
            assert record["faces"] and not matches, record


# --- audit, options --------------------------------------------------------------------------------


@pytest.mark.models
def test_audit_log_records_changes_and_each_search_with_the_actor(world: World) -> None:
    entries = audit_entries(world.data_dir)
    assert [(e["action"], e["target"]) for e in entries] == [
        ("watchlist.enrol", SUBJECT_ID),
        ("hotlist.add", "MLB803"),
        ("hotlist.add", "NO23456"),
        ("search.analyze", ",".join(str(p) for p in IMAGES)),
        ("search.analyze", str(world.video)),
    ]
    assert {e["actor"] for e in entries} == {ACTOR}
    assert entries[0]["details"]["label"] == SUBJECT_LABEL
    assert entries[3]["details"]["frames"] == len(IMAGES)
    assert entries[3]["details"]["plate_matches"] == len(HOTLIST)
    assert entries[4]["details"]["frames"] == 3


@pytest.mark.models
def test_global_options_work_after_the_sub_command(world: World) -> None:
    after = succeeds("watchlist", "list", "--data-dir", world.data_dir, "--json")
    before = succeeds("--data-dir", world.data_dir, "watchlist", "list", "--json")
    assert after == before
    [subject] = json_lines(after)
    assert subject["subject_id"] == SUBJECT_ID and subject["label"] == SUBJECT_LABEL
    assert subject["added_by"] == ACTOR  # --actor was given after "enrol"
    plates = json_lines(succeeds("hotlist", "list", "--json", "--data-dir", world.data_dir))
    assert sorted(p["plate"] for p in plates) == sorted(HOTLIST)


@pytest.mark.models
def test_models_list_json_shows_every_role_present_and_verified(tmp_path: Path) -> None:
    rows = json_lines(succeeds("models", "list", "--json", "--data-dir", tmp_path))
    assert sorted(row["role"] for row in rows) == sorted(ModelRole)
    assert len(rows) == 7
    assert all(row["present"] is True and row["verified"] is True for row in rows), rows


# --- bad input -------------------------------------------------------------------------------------


def test_analyze_refuses_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-photo.jpg"
    message = refused("analyze", "--json", "--data-dir", tmp_path / "data", FACES / "person_a_2.jpg", missing)
    assert str(missing) in message and "no such file" in message


@pytest.mark.models
def test_analyze_refuses_a_file_that_is_not_an_image(tmp_path: Path) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_text("this is a witness statement, not a photo\n")
    message = refused("analyze", "--json", "--data-dir", tmp_path / "data", fake)
    assert str(fake) in message and "not a decodable image" in message


@pytest.mark.models
def test_analyze_refuses_every_zero(tmp_path: Path) -> None:
    result = safecity("analyze", "--every", "0", "--data-dir", tmp_path / "data", FACES / "person_a_2.jpg")
    assert result.returncode != 0
    assert result.stdout == ""
    message = result.stderr.splitlines()[-1]
    assert "error" in message and "--every" in message and "0" in message, result.stderr


def test_watchlist_remove_refuses_an_unknown_subject(tmp_path: Path) -> None:
    message = refused("watchlist", "remove", "unknown-id", "--data-dir", tmp_path)
    assert "unknown-id" in message and "not on the watchlist" in message


def test_hotlist_remove_refuses_an_unknown_plate(tmp_path: Path) -> None:
    message = refused("hotlist", "remove", "ZZZ999", "--data-dir", tmp_path)
    assert "ZZZ999" in message and "not on the hotlist" in message


@pytest.mark.models
def test_refused_enrolments_store_nothing_and_face_picks_one_of_several(
    world_copy: Path, tmp_path: Path
) -> None:
    data_dir = world_copy
    enrol = ("watchlist", "enrol", "--data-dir", data_dir, "--actor", ACTOR, "subject-c")
    before = state_of(data_dir)

    statement = tmp_path / "statement.txt"
    statement.write_text("not a photo\n")
    message = refused(*enrol, "--label", "Subject C", statement)
    assert str(statement) in message and "not a decodable image" in message
    assert state_of(data_dir) == before

    message = refused(*enrol, "--label", "Subject C", PLATE_SCENE)
    assert str(PLATE_SCENE) in message and "no face" in message
    assert state_of(data_dir) == before

    group = two_people_photo(tmp_path)
    message = refused(*enrol, "--label", "Subject C", group)
    assert str(group) in message and "2 faces" in message and "--face" in message
    assert state_of(data_dir) == before

    assert "enrolled subject-c" in succeeds(*enrol, "--label", "Subject C", "--face", "1", group)
    subjects = {
        s["subject_id"]: s
        for s in json_lines(succeeds("watchlist", "list", "--json", "--data-dir", data_dir))
    }
    assert sorted(subjects) == [SUBJECT_ID, "subject-c"]
    assert len(subjects["subject-c"]["photos"]) == 1
    last = audit_entries(data_dir)[-1]
    assert (last["action"], last["target"], last["actor"]) == ("watchlist.enrol", "subject-c", ACTOR)


# --- the command line's shape: global options, config check, --version, light imports ------------

HEAVY_MODULES = ("scann", "pyarrow", "cv2", "torch", "ray", "onnxruntime")
IMPORT_PROBE = """
import sys
from cluster.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print("heavy:", *sorted(m for m in {heavy!r} if m in sys.modules))
raise SystemExit(code)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["watchlist", "--help"],
        ["purge", "--help"],
        ["config", "check", str(SAMPLE_CONFIG)],
    ],
)
def test_help_version_and_config_check_load_no_heavy_library(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE.format(heavy=HEAVY_MODULES), *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "heavy:"


def test_version_is_the_package_version() -> None:
    from cluster import __version__

    assert succeeds("--version").strip() == f"safecity {__version__}"


def test_config_check_prints_the_effective_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cluster.cli import main
    from cluster.config import load_config

    config = tmp_path / "city.yaml"
    config.write_text("faces:\n  match_threshold: 0.6\nmodels:\n  cache_dir: models\n")
    data_dir = tmp_path / "elsewhere"
    assert main(["config", "check", str(config), "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# {config} is valid;")
    shown = yaml.safe_load(out)
    expected = load_config(config).model_copy(update={"data_dir": data_dir}).model_dump(mode="json")
    assert shown == expected
    assert shown["faces"]["match_threshold"] == 0.6 and shown["faces"]["min_quality"] == 0.35  # a default
    assert shown["models"]["cache_dir"] == str(tmp_path / "models")  # relative to the file


def test_config_check_refuses_a_typo_on_one_line_with_a_hint(tmp_path: Path) -> None:
    bad = tmp_path / "city.yaml"
    bad.write_text("pipeline:\n  cooldown: 30\n")
    message = refused("--config", bad, "config", "check")
    assert message == f"safecity: error: {bad}: pipeline.cooldown: unknown field; did you mean 'cooldown_s'?"


def test_config_check_schema_is_json_schema_with_descriptions(capsys: pytest.CaptureFixture[str]) -> None:
    from cluster.cli import main

    assert main(["config", "check", "--schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert set(schema["properties"]) >= {"data_dir", "models", "faces", "plates", "cameras", "dispatch"}
    assert schema["additionalProperties"] is False
    faces = schema["$defs"]["FacesConfig"]["properties"]
    assert "1:N" in faces["match_threshold"]["description"]


def test_global_options_before_or_after_run_reach_the_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cluster import job
    from cluster.cli import main

    started: list[tuple[Path, str]] = []

    def run_job(config: Any, *, source: str, report_every_s: float, drain_timeout_s: float) -> int:
        started.append((config.data_dir, source))
        return 0

    monkeypatch.setattr(job, "run_job", run_job)
    config = tmp_path / "city.yaml"
    config.write_text("cameras:\n  - {id: gate, name: Gate, url: gate.mp4}\n")
    data_dir = tmp_path / "data"
    assert main(["--config", str(config), "--data-dir", str(data_dir), "run"]) == 0
    assert main(["run", "--config", str(config), "--data-dir", str(data_dir)]) == 0
    assert main(["--data-dir", str(data_dir), "run", "--config", str(config)]) == 0
    assert started == [(data_dir, str(config))] * 3


def test_run_without_a_config_says_so(tmp_path: Path) -> None:
    assert refused("run", "--data-dir", tmp_path) == (
        "safecity: error: run needs the cameras' config: safecity run --config FILE"
    )


def test_global_options_after_a_benchmark_name_are_taken_out_of_its_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cluster.bench import pipeline
    from cluster.cli import main

    calls: list[list[str]] = []

    def bench_main(argv: list[str]) -> int:
        calls.append(list(argv))
        return 0

    monkeypatch.setattr(pipeline, "main", bench_main)
    assert main(["bench", "pipeline", "--seconds", "5", "--config", str(SAMPLE_CONFIG), "--actor", "x"]) == 0
    assert main(["--config", str(SAMPLE_CONFIG), "bench", "pipeline", "--cameras", "2"]) == 0
    assert calls == [
        ["--config", str(SAMPLE_CONFIG), "--seconds", "5"],
        ["--config", str(SAMPLE_CONFIG), "--cameras", "2"],
    ]
    assert main(["bench", "pipeline", "--data-dir", str(tmp_path)]) == 1
    assert "bench pipeline reads and writes no data directory" in capsys.readouterr().err
    assert len(calls) == 2


def test_cuda_without_a_gpu_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "gpu.yaml"
    config.write_text("models:\n  device: cuda\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cluster.cli",
            "--config",
            config,
            "--data-dir",
            tmp_path,
            "analyze",
            PERSON_A,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": "", "YOLO_OFFLINE": "1"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        "safecity: error: models.device is 'cuda' but torch sees no CUDA GPU on this machine; "
        "set models.device to auto or cpu"
    ]


@pytest.mark.slow
def test_the_wheel_carries_the_sample_media_and_example_configs(tmp_path: Path) -> None:
    source = Path(
        shutil.copytree(
            REPO_ROOT,
            tmp_path / "src",
            ignore=shutil.ignore_patterns(
                ".*", "__pycache__", "build", "dist", "*.egg-info", "safecity-data"
            ),
        )
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            tmp_path,
            source,
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("safecity-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    bundled = {f"cluster/bundled/assets/faces/{p.name}" for p in FACES.iterdir()} | {
        f"cluster/bundled/examples/{p.name}" for p in SAMPLE_CONFIG.parent.iterdir()
    }
    assert bundled <= names
    assert {"cluster/cli.py", "serve/models/calibration/frame-000.jpg", "actors/camera/shard.py"} <= names
    assert any(n.endswith("entry_points.txt") for n in names)
