"""A real RTSP server on loopback for the tests (GStreamer; run with Debian's /usr/bin/python3).

Usage:
  rtsp_serve.py PORT VIDEO              -> rtsp://127.0.0.1:PORT/cam, an H.264 video file (mp4, mkv) looped
  rtsp_serve.py PORT 'dir/%05d.jpg' FPS -> rtsp://127.0.0.1:PORT/cam, numbered JPEG frames looped (RTP/JPEG)

A video file is demuxed once into memory and its H.264 access units are sent again and again, paced at
the file's frame rate, with no decoding or re-encoding; every client gets its own stream from frame 0
(a key frame), so a reconnecting client decodes at once. Prints ``ready`` once it listens.
"""

from __future__ import annotations

import sys
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstApp, GstRtspServer  # noqa: E402

Gst.init(None)


class Clip:
    """The H.264 access units of a video file, in decode order, with their timing."""

    def __init__(self, path: str) -> None:
        pipeline = Gst.parse_launch(
            f'filesrc location="{path}" ! parsebin ! h264parse config-interval=-1 '
            "! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false"
        )
        sink = pipeline.get_by_name("sink")
        pipeline.set_state(Gst.State.PLAYING)
        self.units: list[tuple[bytes, int, int]] = []
        self.caps: Any = None
        while True:
            sample = GstApp.AppSink.pull_sample(sink)
            if sample is None:
                break
            buffer = sample.get_buffer()
            self.caps = self.caps or sample.get_caps()
            self.units.append((buffer.extract_dup(0, buffer.get_size()), buffer.pts, buffer.dts))
        pipeline.set_state(Gst.State.NULL)
        if not self.units:
            sys.exit(f"{path}: no H.264 video found (make the file with libx264)")
        ok, num, den = self.caps.get_structure(0).get_fraction("framerate")
        self.frame_ns = Gst.SECOND * den // num if ok and num > 0 else Gst.SECOND // 10
        self.loop_ns = self.frame_ns * len(self.units)


def serve_clip(clip: Clip, media_factory: Any) -> None:
    """Feed each new media's appsrc from ``clip`` in an endless loop."""

    def on_configure(_factory: Any, media: Any) -> None:
        source = media.get_element().get_by_name_recurse_up("src")
        source.set_property("caps", clip.caps)
        state = {"index": 0}

        def on_need_data(appsrc: Any, _length: int) -> None:
            index = state["index"]
            data, pts, dts = clip.units[index % len(clip.units)]
            offset = (index // len(clip.units)) * clip.loop_ns
            buffer = Gst.Buffer.new_wrapped(data)
            base = index * clip.frame_ns
            buffer.pts = pts + offset if pts != Gst.CLOCK_TIME_NONE else base
            buffer.dts = dts + offset if dts != Gst.CLOCK_TIME_NONE else base
            buffer.duration = clip.frame_ns
            state["index"] = index + 1
            appsrc.emit("push-buffer", buffer)

        source.connect("need-data", on_need_data)

    media_factory.connect("media-configure", on_configure)


def main() -> None:
    port, source = sys.argv[1], sys.argv[2]
    factory = GstRtspServer.RTSPMediaFactory()
    if "%" in source:
        fps = sys.argv[3]
        factory.set_launch(
            f"( multifilesrc location={source} loop=true caps=image/jpeg,framerate={fps}/1 "
            "! jpegdec ! jpegenc ! rtpjpegpay name=pay0 pt=26 )"
        )
        factory.set_shared(True)
    else:
        clip = Clip(source)
        # identity sync=true paces the buffers to the pipeline clock: real time, like a camera.
        factory.set_launch(
            "( appsrc name=src format=time ! identity sync=true "
            "! h264parse ! rtph264pay name=pay0 pt=96 config-interval=0 )"
        )
        factory.set_shared(False)
        serve_clip(clip, factory)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{port}")
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
