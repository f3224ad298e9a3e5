"""Loading the YAML config: defaults, the sample file, and errors that name the field."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel

from cluster.config import SafeCityConfig, load_config
from cluster.config.faces import DEFAULT_MATCH_THRESHOLD, FacesConfig
from cluster.config.loader import parse_config
from serve.canvas import Canvas
from serve.errors import ConfigError
from serve.models.registry import ModelRole
from serve.models.store import ModelSource
from serve.plate_text import DEFAULT_PLATE_FORMATS

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "sample-city.yaml"
SHA = "ab" * 32


def write(tmp_path: Path, text: str, name: str = "safecity.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert message.startswith(str(path)), "errors name the file"
    return message


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.data_dir == tmp_path / "safecity-data"
    assert config.faces == FacesConfig()
    assert config.faces.match_threshold == DEFAULT_MATCH_THRESHOLD
    assert config.models.device == "auto"
    assert config.models.auto_pull is True
    assert config.models.overrides() == {}
    assert [(f.name, f.pattern) for f in config.plates.formats] == [
        (f.name, f.pattern) for f in DEFAULT_PLATE_FORMATS
    ]
    assert config.model_dump(exclude={"data_dir"}) == SafeCityConfig().model_dump(exclude={"data_dir"})


def test_sample_city_loads() -> None:
    config = load_config(SAMPLE)
    assert config.data_dir.resolve() == (REPO / "safecity-data").resolve()
    assert config.faces.match_threshold == 0.5
    assert config.faces.min_quality == 0.35
    assert config.models.device == "auto"
    names = [f.name for f in config.plates.formats]
    assert names == ["pk-abc-1234", "pk-abc-123", "pk-ab-1234", "pk-ab-123", "sample-ab-12345"]
    assert config.plate_settings().formats[4].fits("AB12345")


def test_model_overrides_become_sources(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "models:\n"
            "  device: cuda:1\n"
            f"  face_embedder: {{path: /opt/models/sface.onnx, sha256: {SHA}}}\n"
            "  plate_detector: {url: 'https://models.example/plates.pt'}\n",
        )
    )
    assert config.models.device == "cuda:1"
    assert config.models.overrides() == {
        ModelRole.FACE_EMBEDDER: ModelSource(path=Path("/opt/models/sface.onnx"), sha256=SHA),
        ModelRole.PLATE_DETECTOR: ModelSource(url="https://models.example/plates.pt"),
    }


def test_unknown_key_is_named(tmp_path: Path) -> None:
    message = config_error(tmp_path, "faces:\n  match_treshold: 0.6\n")
    assert "faces.match_treshold" in message
    assert "unknown field" in message


def test_out_of_range_threshold_is_named(tmp_path: Path) -> None:
    message = config_error(tmp_path, "faces:\n  match_threshold: 1.5\n")
    assert "faces.match_threshold" in message
    assert "less than 1" in message


def test_bad_plate_regex_is_named_with_index(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        "plates:\n"
        "  formats:\n"
        "    - {name: ok, pattern: '[A-Z]{3}[0-9]{3}'}\n"
        "    - {name: broken, pattern: '[A-Z'}\n",
    )
    assert "plates.formats[1].pattern" in message
    assert "invalid regex" in message
    assert "plates.formats[0]" not in message


@pytest.mark.parametrize(
    "entry",
    ["{path: /opt/m.onnx, url: 'https://x.example/m.onnx'}", "{sha256: " + SHA + "}"],
    ids=["both", "neither"],
)
def test_model_file_needs_exactly_one_source(tmp_path: Path, entry: str) -> None:
    message = config_error(tmp_path, f"models:\n  face_embedder: {entry}\n")
    assert "models.face_embedder" in message
    assert "exactly one of path or url" in message


def test_model_url_scheme_is_checked(tmp_path: Path) -> None:
    message = config_error(tmp_path, "models:\n  face_detector: {url: 'ftp://x.example/m.onnx'}\n")
    assert "models.face_detector" in message
    assert "http" in message


def test_bad_sha256_is_named(tmp_path: Path) -> None:
    message = config_error(tmp_path, "models:\n  face_embedder: {path: /opt/m.onnx, sha256: XYZ}\n")
    assert "models.face_embedder.sha256" in message


def test_bad_device_is_named(tmp_path: Path) -> None:
    message = config_error(tmp_path, "models:\n  device: gpu\n")
    assert "models.device" in message


def test_every_problem_gets_its_own_line(tmp_path: Path) -> None:
    message = config_error(tmp_path, "faces:\n  match_threshold: 1.5\nmodels:\n  device: gpu\n")
    lines = message.splitlines()
    assert len(lines) == 2
    assert any("faces.match_threshold" in line for line in lines)
    assert any("models.device" in line for line in lines)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    message = config_error(tmp_path, "faces:\n  match_threshold: 0.5\n min_quality: 0.3\n")
    assert "line 3" in message
    assert "not valid YAML" in message


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(path) in str(raised.value)
    assert "not found" in str(raised.value)


def test_top_level_list_is_refused(tmp_path: Path) -> None:
    message = config_error(tmp_path, "- faces\n- plates\n")
    assert "top level must be a mapping" in message
    assert "list" in message


def test_parse_config_accepts_none_and_refuses_scalars() -> None:
    assert parse_config(None) == SafeCityConfig()
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        parse_config("faces", source="inline")


def test_relative_data_dir_resolves_against_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "etc" / "safecity"
    folder.mkdir(parents=True)
    config = load_config(write(folder, "data_dir: ../data\n"))
    assert config.data_dir.resolve() == (tmp_path / "etc" / "data").resolve()


def test_absolute_data_dir_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    config = load_config(write(tmp_path, f"data_dir: {target}\n"))
    assert config.data_dir == target


def test_plate_ocr_backend_and_whole_crop_reach_the_plate_settings(tmp_path: Path) -> None:
    default = load_config(write(tmp_path, "")).plate_settings()
    assert (default.ocr_backend, default.ocr_whole_crop) == ("easyocr", False)
    chosen = load_config(write(tmp_path, "plates:\n  ocr_backend: rapidocr\n  ocr_whole_crop: true\n"))
    assert (chosen.plate_settings().ocr_backend, chosen.plate_settings().ocr_whole_crop) == ("rapidocr", True)
    assert "plates.ocr_backend" in config_error(tmp_path, "plates:\n  ocr_backend: tesseract\n")


def test_rapidocr_recogniser_can_be_overridden(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "models:\n  rapidocr_recognizer: {path: /opt/models/rec.onnx}\n"))
    assert config.models.overrides() == {
        ModelRole.RAPIDOCR_RECOGNIZER: ModelSource(path=Path("/opt/models/rec.onnx"))
    }


def test_detector_canvas_defaults_to_16_9_and_reaches_both_detectors(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.models.detector_canvas() == Canvas(640, 384)
    custom = load_config(write(tmp_path, "models:\n  detector_canvas_px: [640, 480]\n"))
    assert custom.face_settings().detector_canvas == Canvas(640, 480)
    assert custom.plate_settings().detector_canvas == Canvas(640, 480)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("[640, 360]", "multiples of 32 from 160 to 1920, got [640, 360]"),
        ("[128, 128]", "multiples of 32 from 160 to 1920, got [128, 128]"),
        ("[640]", "detector_canvas_px"),
        ("640", "detector_canvas_px"),
    ],
)
def test_detector_canvas_errors_name_the_field(tmp_path: Path, value: str, problem: str) -> None:
    message = config_error(tmp_path, f"models:\n  detector_canvas_px: {value}\n")
    assert "models.detector_canvas_px" in message
    assert problem in message


@pytest.mark.parametrize("section", ["faces", "plates"])
def test_the_old_detector_size_fields_are_gone(tmp_path: Path, section: str) -> None:
    message = config_error(tmp_path, f"{section}:\n  detector_image_size_px: 640\n")
    assert f"{section}.detector_image_size_px: unknown field" in message


def test_config_is_immutable(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    with pytest.raises(ValueError, match="frozen"):
        config.faces.match_threshold = 0.9  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("faces:\n  match_treshold: 0.6\n", "faces.match_treshold"),
        ("faces:\n  match_threshold: 1.5\nmodels:\n  device: gpu\n", "models.device"),
    ],
    ids=["typo", "two-problems"],
)
def test_cli_reports_config_error_on_one_line(tmp_path: Path, text: str, field: str) -> None:
    bad = write(tmp_path, text)
    result = subprocess.run(
        [sys.executable, "-m", "cluster.cli", "--config", str(bad), "watchlist", "list"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("safecity: error:")
    assert field in lines[0]
    assert str(bad) in lines[0]
    assert not (tmp_path / "safecity-data").exists(), "nothing is created when the config is refused"


def test_camera_errors_name_the_camera_field(tmp_path: Path) -> None:
    text = """
cameras:
  - {id: cam-1, name: Gate, url: rtsp://10.0.0.5/stream, kind: fr}
  - {id: cam-2, name: Road, url: ftp://x/y, kind: anpr, analysis_fps: 0}
  - {id: cam-1, name: Dup, url: video.mp4, kind: lpr}
dispatch:
  endpoints: [{name: cc, url: http://127.0.0.1:9/alerts, secret_env: lower_case}]
"""
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    message = str(error.value)
    for field_path in (
        "cameras[1].url",
        "cameras[1].analysis_fps",
        "cameras[2].kind",
        "dispatch.endpoints[0].secret_env",
    ):
        assert field_path in message, message


def test_duplicate_camera_ids_are_refused(tmp_path: Path) -> None:
    text = "cameras:\n  - {id: cam-1, name: A, url: a.mp4}\n  - {id: cam-1, name: B, url: b.mp4}\n"
    with pytest.raises(ConfigError, match=r"cameras: .*unique.*cam-1"):
        load_config(write(tmp_path, text))


def test_run_refuses_a_malformed_config_naming_the_field(tmp_path: Path) -> None:
    bad = write(tmp_path, "cameras:\n  - {id: cam-1, name: A, url: a.mp4, analysis_fps: fast}\n")
    result = subprocess.run(
        [sys.executable, "-m", "cluster.cli", "run", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "cameras[0].analysis_fps" in result.stderr and result.stderr.startswith("safecity: error:")


def endpoint_config(tmp_path: Path, endpoint: str) -> SafeCityConfig:
    return load_config(
        write(tmp_path, f"dispatch:\n  endpoints: [{{name: cc, url: http://h/a, {endpoint}}}]\n")
    )


def test_webhook_secret_comes_from_the_named_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [endpoint] = endpoint_config(tmp_path, "secret_env: CC_SECRET").dispatch.endpoints
    monkeypatch.setenv("CC_SECRET", "short")
    with pytest.raises(ConfigError, match=r"environment variable CC_SECRET must hold .* 16 characters"):
        endpoint.secret()
    monkeypatch.setenv("CC_SECRET", "s" * 32)
    assert endpoint.secret() == b"s" * 32


def test_webhook_secret_file_is_relative_to_the_config_and_must_be_private(tmp_path: Path) -> None:
    [endpoint] = endpoint_config(tmp_path, "secret_file: cc.secret").dispatch.endpoints
    secret_file = tmp_path / "cc.secret"
    assert endpoint.secret_file == secret_file
    with pytest.raises(ConfigError, match=r"secret file .*cc.secret cannot be read"):
        endpoint.secret()
    secret_file.write_text("f" * 24 + "\n")
    secret_file.chmod(0o644)
    with pytest.raises(ConfigError, match=r"may be read by others \(mode -rw-r--r--\); run: chmod 600"):
        endpoint.secret()
    secret_file.chmod(0o600)
    assert endpoint.secret() == b"f" * 24


@pytest.mark.parametrize("sources", ["secret_env: CC_SECRET, secret_file: cc.secret", "timeout_s: 5"])
def test_an_endpoint_needs_exactly_one_secret_source(tmp_path: Path, sources: str) -> None:
    with pytest.raises(
        ConfigError, match=r"dispatch.endpoints\[0\].*exactly one of secret_env and secret_file"
    ):
        endpoint_config(tmp_path, sources)


def test_the_old_per_detector_serving_sections_point_to_serving_detectors(tmp_path: Path) -> None:
    message = config_error(tmp_path, "serving:\n  face_detector: {num_replicas: 2}\n")
    assert "serving" in message and "write their batching and resources under serving.detectors" in message
    config = load_config(write(tmp_path, "serving:\n  detectors: {num_replicas: 2}\n"))
    assert config.serving.detectors.num_replicas == 2


def _sections(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """``model`` and every section reachable from its fields (``X | None``, ``list[X]``)."""
    yield model
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            annotation = stack.pop()
            stack.extend(get_args(annotation))
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                yield from _sections(annotation)


def test_every_config_field_has_a_description() -> None:
    sections = set(_sections(SafeCityConfig))
    assert len(sections) >= 14, sorted(s.__name__ for s in sections)  # the walk reaches nested sections
    missing = [
        f"{section.__name__}.{name}"
        for section in sections
        for name, field in section.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("text", "field", "hint"),
    [
        ("faces:\n  match_treshold: 0.6\n", "faces.match_treshold", "match_threshold"),
        ("modles: {}\n", "modles", "models"),
        (
            "cameras:\n  - {id: a, name: A, url: a.mp4, analisys_fps: 2}\n",
            "cameras[0].analisys_fps",
            "analysis_fps",
        ),
        (
            "serving:\n  detectors:\n    autoscaling: {max_replica: 3}\n",
            "serving.detectors.autoscaling.max_replica",
            "max_replicas",
        ),
        ("models:\n  face_embedder: {pth: x.onnx}\n", "models.face_embedder.pth", "path"),
    ],
)
def test_an_unknown_key_suggests_the_closest_known_one(
    tmp_path: Path, text: str, field: str, hint: str
) -> None:
    message = config_error(tmp_path, text)
    assert f"{field}: unknown field; did you mean '{hint}'?" in message


def test_an_unknown_key_far_from_every_known_one_gets_no_guess(tmp_path: Path) -> None:
    message = config_error(tmp_path, "pipeline:\n  zzzz: 1\n")
    assert "pipeline.zzzz: unknown field" in message and "did you mean" not in message


def test_retention_defaults_and_bounds(tmp_path: Path) -> None:
    settings = load_config(write(tmp_path, "")).retention.settings()
    assert (settings.alert_days, settings.purge_every_s) == (30, 3600.0)
    chosen = load_config(write(tmp_path, "retention:\n  alert_days: 90\n  purge_every_s: 600\n")).retention
    assert (chosen.alert_days, chosen.purge_every_s) == (90, 600.0)
    assert "retention.alert_days" in config_error(tmp_path, "retention:\n  alert_days: 0\n")
    assert "retention.alert_days" in config_error(tmp_path, "retention:\n  alert_days: 2.5\n")
    assert "retention.purge_every_s" in config_error(tmp_path, "retention:\n  purge_every_s: 1\n")
