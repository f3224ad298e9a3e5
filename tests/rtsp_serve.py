"""A real RTSP server on loopback for the tests (GStreamer; run with Debian's /usr/bin/python3).

Usage: rtsp_serve.py PORT 'frames/%05d.jpg' FPS  -> rtsp://127.0.0.1:PORT/cam, the JPEG frames looped.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
port, pattern, fps = sys.argv[1], sys.argv[2], sys.argv[3]
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    f"( multifilesrc location={pattern} loop=true caps=image/jpeg,framerate={fps}/1 "
    "! jpegdec ! jpegenc ! rtpjpegpay name=pay0 pt=26 )"
)
factory.set_shared(True)
server.get_mount_points().add_factory("/cam", factory)
if server.attach(None) == 0:
    sys.exit(f"cannot listen on 127.0.0.1:{port}")
print("ready", flush=True)
GLib.MainLoop().run()
