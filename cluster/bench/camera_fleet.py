"""Many cheap real cameras from one process: MJPEG over HTTP at ``http://127.0.0.1:PORT/cam/N``.

For ``safecity bench scale``: each camera loops a few small JPEG frames of the demo city (faces
walking past for even cameras, plates driving past for odd ones) at a real-time pace, so the
pipeline opens, reads and decodes a real stream per camera. One asyncio loop serves them all.

Run: ``python -m cluster.bench.camera_fleet --cameras 1000 --fps 1 --port 8554``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence

import cv2
import numpy as np

from cluster.demo_city import drive_past, walk_past
from cluster.samples import FACES, PLATES
from serve.imaging import Image

BOUNDARY = b"safecityframe"
FLEET_SIZE = (320, 180)  # width, height of the frames served unless told otherwise


def demo_frames(size: tuple[int, int], count: int = 24) -> tuple[list[bytes], list[bytes]]:
    """JPEG frames of the demo city at ``size`` (width, height): (faces walking, plates driving)."""

    def encoded(frames: Sequence[Image]) -> list[bytes]:
        step = max(1, len(frames) // count)
        picked = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames[::step][:count]]
        return [
            bytes(cv2.imencode(".jpg", np.asarray(f, np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 80])[1])
            for f in picked
        ]

    return encoded(walk_past([FACES / "person_a_2.jpg"])), encoded(drive_past(PLATES / "cgi_two_cars.jpg"))


class CameraFleet:
    """Serves ``/cam/N`` for N below ``cameras``; counts connections and frames sent."""

    def __init__(self, cameras: int, fps: float, faces: list[bytes], plates: list[bytes]) -> None:
        self.cameras, self.interval_s = cameras, 1.0 / fps
        self.loops = (faces, plates)
        self.connections = 0
        self.frames_sent = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One HTTP client: the stream of the camera its path names, until it goes away."""
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            path = request.split(b" ", 2)[1].decode()
            number = int(path.removeprefix("/cam/")) if path.startswith("/cam/") else -1
            if not 0 <= number < self.cameras:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary="
                + BOUNDARY
                + b"\r\nCache-Control: no-cache\r\n\r\n"
            )
            self.connections += 1
            frames = self.loops[number % 2]
            index, due = number, time.monotonic()
            while True:
                jpeg = frames[index % len(frames)]
                head = b"--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % (
                    BOUNDARY,
                    len(jpeg),
                )
                writer.write(head + jpeg + b"\r\n")
                await writer.drain()
                self.frames_sent += 1
                index += 1
                due += self.interval_s
                await asyncio.sleep(max(0.0, due - time.monotonic()))
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def serve(cameras: int, fps: float, port: int, size: tuple[int, int]) -> None:
    """Serve the fleet until cancelled."""
    faces, plates = demo_frames(size)
    fleet = CameraFleet(cameras, fps, faces, plates)
    server = await asyncio.start_server(fleet.handle, "127.0.0.1", port, backlog=4096)
    print(
        f"camera fleet: {cameras} cameras at http://127.0.0.1:{port}/cam/N, {fps:g} fps, {size[0]}x{size[1]}"
    )
    async with server:
        await server.serve_forever()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running_fleet(
    cameras: int, fps: float, size: tuple[int, int] = FLEET_SIZE, start_timeout_s: float = 60.0
) -> Iterator[int]:
    """The fleet in a subprocess (its CPU is not the caller's), listening on the port it yields."""
    port = _free_port()
    command = [sys.executable, "-m", "cluster.bench.camera_fleet", f"--cameras={cameras}", f"--fps={fps}"]
    command += [f"--port={port}", f"--width={size[0]}", f"--height={size[1]}"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None:
                raise RuntimeError(f"the camera fleet exited ({process.returncode}) before listening")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the camera fleet was not listening after {start_timeout_s:g} s")
            time.sleep(0.2)  # polling the port with a deadline
        yield port
    finally:
        process.terminate()
        process.wait(10)


def main(argv: list[str] | None = None) -> int:
    """Run the fleet in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m cluster.bench.camera_fleet")
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--width", type=int, default=FLEET_SIZE[0])
    parser.add_argument("--height", type=int, default=FLEET_SIZE[1])
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.cameras, args.fps, args.port, (args.width, args.height)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
