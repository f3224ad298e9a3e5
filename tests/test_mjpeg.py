"""MJPEG over HTTP without decoding: the multipart parser, lazy JPEG frames, and real streams."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from actors.backoff import Backoff
from actors.camera import jpeg as jpeg_module
from actors.camera.capture import open_source
from actors.camera.jpeg import Jpeg
from actors.camera.latest_frame import Frame, LatestFrameReader
from actors.camera.multipart import MultipartError, MultipartReader
from serve.errors import ImageDecodeError, SourceConnectionError
from serve.imaging import Image, decode_image, encode_jpeg
from tests.mjpeg_server import MjpegServer
from tests.settings import stream_settings
from tests.streams import closest, free_port, numbered_frames, write_h264_video
from tests.waiting import poll_until

FAST_RETRY = Backoff(initial_s=0.05, maximum_s=0.2, multiplier=2.0, jitter=0.5)
CORRUPT = b"\xff\xd8\xff\xe0 this is not a JPEG"


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts JPEG decodes of MJPEG frames (a spy around the decoder ``Jpeg`` calls)."""
    calls: list[int] = []

    def spy(data: bytes, *, name: str = "image") -> Image:
        calls.append(len(data))
        return decode_image(data, name=name)

    monkeypatch.setattr(jpeg_module, "decode_image", spy)
    return calls


def dribble(data: bytes, step: int = 1) -> Callable[[int], bytes]:
    """A ``read1`` giving ``data`` ``step`` bytes at a time, then the end."""
    chunks = iter([data[i : i + step] for i in range(0, len(data), step)])
    return lambda size: next(chunks, b"")


# --- the multipart parser ---------------------------------------------------------------------------


def test_parts_with_content_length_keep_bytes_that_look_like_a_boundary() -> None:
    body = b"\xff\xd8 a\r\n--frame\r\n inside \xff\xd9"
    stream = b"preamble\r\n--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n" % (
        len(body),
        body,
    )
    reader = MultipartReader(dribble(stream * 2 + b"--frame--\r\n", step=3), "frame")
    first, second = reader.next_part(), reader.next_part()
    assert first.body == body and second.body == body
    assert first.headers == {"content-type": "image/jpeg", "content-length": str(len(body))}
    with pytest.raises(EOFError, match="closing boundary"):
        reader.next_part()


@pytest.mark.parametrize(
    ("declared", "line"), [("frame", b"--frame"), ("--frame", b"--frame"), (None, b"--frame")]
)
def test_parts_without_length_end_at_the_next_boundary_however_it_is_declared(
    declared: str | None, line: bytes
) -> None:
    bodies = [b"\xff\xd8 one \n\r\n \xff\xd9", b"\xff\xd8 two \xff\xd9"]
    stream = b"".join(line + b"\r\nContent-Type: image/jpeg\r\n\r\n" + body + b"\r\n" for body in bodies)
    reader = MultipartReader(dribble(stream + line + b"\r\n"), declared)
    assert [reader.next_part().body for _ in bodies] == bodies
    with pytest.raises(EOFError, match="connection closed"):
        reader.next_part()


def test_a_stream_without_boundaries_is_refused() -> None:
    reader = MultipartReader(dribble(b"x" * 100 + b"\n", step=50), "frame")
    with pytest.raises(EOFError):
        reader.next_part()
    flood = MultipartReader(lambda size: b"y" * size, "frame")  # no newline, ever
    with pytest.raises(MultipartError, match="header line longer"):
        flood.next_part()


# --- lazy JPEG frames -------------------------------------------------------------------------------


def test_a_jpeg_decodes_once_however_many_threads_ask(decodes: list[int]) -> None:
    image = numbered_frames(1)[0]
    frame = Frame(Jpeg(encode_jpeg(image, 95)), 0.0, 1)
    assert not frame.decoded and decodes == []
    barrier = threading.Barrier(8)
    seen: list[Image] = []

    def look() -> None:
        barrier.wait()
        seen.append(frame.image)

    threads = [threading.Thread(target=look) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(seen) == 8 and all(s is seen[0] for s in seen) and len(decodes) == 1
    assert frame.decoded and closest(seen[0], [image])[1] < 3


def test_a_corrupt_jpeg_raises_a_clear_error_each_time_decoding_once(decodes: list[int]) -> None:
    frame = Frame(Jpeg(CORRUPT), 0.0, 1)
    for _ in range(2):
        with pytest.raises(ImageDecodeError, match=f"MJPEG frame of {len(CORRUPT)} bytes: not a decodable"):
            _ = frame.image
    assert len(decodes) == 1 and frame.decoded


def test_a_decoded_frame_is_what_it_was_given() -> None:
    image = numbered_frames(1)[0]
    frame = Frame(image, 0.0, 1)
    assert frame.decoded and frame.image is image


# --- real MJPEG streams -----------------------------------------------------------------------------


@pytest.mark.parametrize("content_length", [True, False])
def test_frames_arrive_undecoded_and_only_the_taken_one_decodes(
    content_length: bool, decodes: list[int], readers: list[LatestFrameReader]
) -> None:
    frames = numbered_frames(12)
    with MjpegServer(frames, fps=25, content_length=content_length) as server:
        reader = LatestFrameReader(server.url, stream_settings(open_timeout_s=5, read_timeout_s=5))
        readers.append(reader.start())
        poll_until(lambda: reader.stats().frames_read >= 10, 15, "10 MJPEG frames", interval=0.01)
        assert decodes == []  # ten frames read, none looked at: none decoded
        taken = reader.latest()
        assert taken is not None and isinstance(taken.pixels, Jpeg) and not taken.decoded
        index, diff = closest(taken.image, frames)
        assert taken.image.shape == (240, 320, 3) and diff < 8
        assert index == (taken.seq - 1) % 12  # the served frames, in order, none skipped
        assert len(decodes) == 1
        poll_until(lambda: reader.stats().frames_read >= taken.seq + 5, 15, "more frames", interval=0.01)
        assert len(decodes) == 1  # the frames after it were not decoded either
        stats = reader.stats()
        assert stats.state == "streaming" and stats.errors == 0 and server.connections == 1


def test_a_corrupt_part_fails_only_that_frame(readers: list[LatestFrameReader]) -> None:
    frames = numbered_frames(3)
    with MjpegServer([frames[0], CORRUPT, frames[2]], fps=20) as server:
        reader = LatestFrameReader(server.url, stream_settings(open_timeout_s=5, read_timeout_s=5))
        readers.append(reader.start())

        def corrupt_frame() -> Frame | None:
            frame = reader.latest()
            ok = frame is not None and isinstance(frame.pixels, Jpeg) and frame.pixels.data == CORRUPT
            return frame if ok else None

        bad = poll_until(corrupt_frame, 15, "the corrupt part", interval=0.005)
        with pytest.raises(ImageDecodeError, match="not a decodable image"):
            _ = bad.image
        poll_until(lambda: reader.stats().frames_read >= bad.seq + 4, 15, "frames after it", interval=0.01)
        latest = reader.latest()
        assert latest is not None and latest.seq > bad.seq
        if latest.seq % 3 != 2:  # not the corrupt one again: it decodes to its frame
            assert closest(latest.image, frames)[0] == (latest.seq - 1) % 3
        stats = reader.stats()
        assert stats.state == "streaming" and (stats.errors, stats.reconnects) == (0, 0)


def test_a_stalled_stream_is_reconnected(readers: list[LatestFrameReader]) -> None:
    with MjpegServer(numbered_frames(5), fps=25) as server:
        reader = LatestFrameReader(
            server.url,
            stream_settings(reconnect=FAST_RETRY, stall_timeout_s=0.5, open_timeout_s=1, read_timeout_s=10),
        )
        readers.append(reader.start())
        poll_until(lambda: reader.stats().frames_read >= 5, 15, "first MJPEG frames", interval=0.01)
        server.pause()
        poll_until(lambda: reader.stats().errors >= 1, 5, "the stall noticed", interval=0.01)
        stalled = reader.stats()
        assert stalled.last_error == f"{server.url}: no frame within 0.5 s (dropped or stalled)"
        server.resume()
        poll_until(lambda: reader.stats().reconnects >= 1, 15, "a reconnect", interval=0.01)
        poll_until(
            lambda: reader.stats().frames_read >= stalled.frames_read + 5, 15, "frames again", interval=0.01
        )
        latest = reader.latest()
        assert latest is not None and isinstance(latest.pixels, Jpeg) and server.connections >= 2


def test_stop_ends_a_blocked_read_at_once(readers: list[LatestFrameReader]) -> None:
    with MjpegServer(numbered_frames(5), fps=25) as server:
        reader = LatestFrameReader(
            server.url, stream_settings(stall_timeout_s=10, open_timeout_s=5, read_timeout_s=10)
        )
        readers.append(reader.start())
        poll_until(lambda: reader.stats().frames_read >= 3, 15, "first MJPEG frames", interval=0.01)
        server.pause()  # the read now waits for a frame that does not come
        started = time.monotonic()
        assert reader.stop(timeout_s=5)
        assert time.monotonic() - started < 1.0  # not the 10 s read timeout
        assert reader.stats().errors == 0  # stopping is not a camera fault


def test_basic_auth_comes_from_the_url_and_a_wrong_password_is_not_shown(
    readers: list[LatestFrameReader],
) -> None:
    with MjpegServer(numbered_frames(3), fps=25, credentials=("officer", "hunter@2")) as server:
        base = f"127.0.0.1:{server.port}/"
        for url, why in [
            (f"http://officer:swordfish@{base}", "wrong user name or password"),
            (f"http://{base}", "the camera needs credentials in the url"),
        ]:
            with pytest.raises(SourceConnectionError) as failure:
                open_source(url, open_timeout_s=2, read_timeout_s=2)
            shown = url.replace("swordfish", "***")
            assert str(failure.value) == f"{shown}: cannot open stream: HTTP 401 Unauthorized ({why})"
        reader = LatestFrameReader(f"http://officer:hunter%402@{base}", stream_settings())
        readers.append(reader.start())
        poll_until(lambda: reader.stats().frames_read >= 3, 15, "frames with the password", interval=0.01)
        assert reader.stats().errors == 0 and server.connections == 1


def test_a_digest_challenge_is_left_to_ffmpeg() -> None:
    digest = 'Digest realm="camera", nonce="abc", qop="auth"'
    with MjpegServer(numbered_frames(1), credentials=("officer", "pw"), challenge=digest) as server:
        url = f"http://officer:swordfish@127.0.0.1:{server.port}/"
        with pytest.raises(SourceConnectionError) as failure:
            open_source(url, open_timeout_s=2, read_timeout_s=2)
        message = str(failure.value)
        assert message.startswith(f"http://officer:***@127.0.0.1:{server.port}/: cannot open stream: ")
        digest_left = "(the server answered an HTTP 401 asking for Digest authentication, not MJPEG)"
        assert message.endswith(digest_left)
        assert "swordfish" not in message and server.requests >= 2  # ours, then FFmpeg's


def test_http_errors_and_unreachable_cameras_are_named() -> None:
    not_found = r"/nope: cannot open stream: HTTP 404 Not Found$"
    with MjpegServer(numbered_frames(1)) as server, pytest.raises(SourceConnectionError, match=not_found):
        open_source(f"{server.url}nope", open_timeout_s=2, read_timeout_s=2)
    url = f"http://viewer:pw@127.0.0.1:{free_port()}/"
    with pytest.raises(SourceConnectionError, match="connection refused") as failure:
        open_source(url, open_timeout_s=2, read_timeout_s=2)
    assert "viewer:***@" in str(failure.value) and ":pw@" not in str(failure.value)


@pytest.mark.slow
def test_http_video_that_is_not_mjpeg_goes_through_ffmpeg(
    tmp_path: Path, readers: list[LatestFrameReader]
) -> None:
    frames = numbered_frames(40)
    clip = write_h264_video(tmp_path / "cam.ts", frames, fps=20).read_bytes()
    files = {"/cam.ts": ("video/mp2t", clip), "/page": ("text/html", b"<html>camera admin</html>")}
    with MjpegServer(numbered_frames(1), files=files) as server:
        reader = LatestFrameReader(f"{server.url}cam.ts", stream_settings(open_timeout_s=5, read_timeout_s=5))
        readers.append(reader.start())
        poll_until(lambda: reader.stats().frames_read >= 5, 15, "frames through FFmpeg", interval=0.01)
        latest = reader.latest()
        assert latest is not None and isinstance(latest.pixels, np.ndarray)  # decoded as before
        assert closest(latest.image, frames)[1] < 8 and server.connections == 0
        with pytest.raises(SourceConnectionError, match=r"Content-Type text/html, not MJPEG\)$"):
            open_source(f"{server.url}page", open_timeout_s=2, read_timeout_s=2)
