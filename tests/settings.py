"""Runtime settings for tests, built from the config the way the live pipeline builds them.

The runtime classes have no defaults of their own: a test starts from the config's and changes only
what it is about.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from cluster.config import SafeCityConfig

if TYPE_CHECKING:  # the config imports their modules when it builds them
    from actors.camera.latest_frame import StreamSettings
    from actors.camera.shard import ShardSettings
    from serve.perception import FaceSettings, PlateSettings

DEFAULTS = SafeCityConfig()


def shard_settings(**changes: Any) -> ShardSettings:
    """The default config's shard settings with ``changes``."""
    return replace(DEFAULTS.shard_settings(), **changes)


def stream_settings(**changes: Any) -> StreamSettings:
    """The default config's stream settings with ``changes``."""
    return replace(DEFAULTS.shard_settings().stream, **changes)


def face_settings(**changes: Any) -> FaceSettings:
    """The default config's face settings with ``changes``."""
    return replace(DEFAULTS.face_settings(), **changes)


def plate_settings(**changes: Any) -> PlateSettings:
    """The default config's plate settings with ``changes``."""
    return replace(DEFAULTS.plate_settings(), **changes)
