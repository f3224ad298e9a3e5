"""``cameras:`` the city's cameras: where their video comes from and what is analysed on each."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from cluster.config.base import Section

CameraKind = Literal["fr", "anpr", "fr+anpr", "plain"]


class Location(Section):
    """Where a camera stands (WGS 84)."""

    lat: float = Field(ge=-90, le=90, description="Latitude in degrees, north positive.")
    lon: float = Field(ge=-180, le=180, description="Longitude in degrees, east positive.")


class CameraConfig(Section):
    """One camera."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="Stable id used in alerts.")
    name: str = Field(min_length=1, max_length=120, description="Human-readable name shown in alerts.")
    url: str = Field(min_length=1, description="rtsp://, http(s):// (MJPEG) or a video file path.")
    kind: CameraKind = Field(
        "fr+anpr", description="fr (faces), anpr (plates), fr+anpr, or plain (not analysed)."
    )
    analysis_fps: float = Field(2.0, gt=0, le=30, description="Frames per second sent to the models.")
    location: Location | None = Field(None, description="Where the camera stands, sent with its alerts.")
    zone: str = Field("", description="Free-text area (district, beat) sent with its alerts.")
    loop: bool = Field(False, description="Loop a video file (demo and test cameras).")
    enabled: bool = Field(True, description="A disabled camera is kept in the file but not streamed.")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if "://" in url and not url.startswith(("rtsp://", "rtsps://", "http://", "https://", "file://")):
            raise ValueError("url must be rtsp://, http(s)://, file:// or a file path")
        return url

    @property
    def wants_faces(self) -> bool:
        """Whether faces are analysed on this camera."""
        return self.kind in ("fr", "fr+anpr")

    @property
    def wants_plates(self) -> bool:
        """Whether plates are analysed on this camera."""
        return self.kind in ("anpr", "fr+anpr")
