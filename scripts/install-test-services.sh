#!/usr/bin/env bash
# Debian packages the test suite needs beyond Python: GStreamer's RTSP server (a real RTSP camera on
# loopback) with its Python bindings, and an H.264 encoder. Idempotent; quick when already installed.
set -euo pipefail
packages=(gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base
          gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-tools)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-services: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-test-services: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
