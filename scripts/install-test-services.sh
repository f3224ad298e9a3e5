#!/usr/bin/env bash
# Debian packages the tests need beyond Python: for the camera tests, GStreamer's RTSP server with its Python
# bindings, run by Debian's /usr/bin/python3 (tests/rtsp_serve.py: a real RTSP camera on loopback).
# Idempotent: checks with dpkg first, so a second run takes well under a second.
#   python3-gi, gir1.2-gstreamer-1.0              Gst from Python
#   gir1.2-gst-plugins-base-1.0                   GstApp (appsrc/appsink from Python)
#   gir1.2-gst-rtsp-server-1.0                    GstRtspServer (pulls libgstrtspserver-1.0-0)
#   gstreamer1.0-plugins-base                     appsrc, appsink, parsebin
#   gstreamer1.0-plugins-good                     qtdemux, matroskademux, rtph264pay, rtpjpegpay, jpeg, multifilesrc
#   gstreamer1.0-plugins-bad                      h264parse
#   gstreamer1.0-tools                            gst-inspect-1.0 (tests/streams.py checks for it)
#   prometheus                                    a real Prometheus scraping Ray's metrics endpoint (tests/prometheus.py)
#   chromium, chromium-driver                     the console test's headless browser (tests/test_console.py)
set -euo pipefail
packages=(python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-rtsp-server-1.0
          gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-tools
          prometheus chromium chromium-driver)
missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-services: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-test-services: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
/usr/bin/python3 - <<'EOF'
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstApp, GstRtspServer
Gst.init(None)
for element in ("appsrc", "parsebin", "qtdemux", "h264parse", "rtph264pay", "rtpjpegpay", "multifilesrc"):
    assert Gst.ElementFactory.find(element) is not None, f"GStreamer element {element} missing"
EOF
