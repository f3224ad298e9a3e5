"""The whole configuration file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from cluster.config.base import Section
from cluster.config.faces import FacesConfig
from cluster.config.models import ModelsConfig
from cluster.config.plates import PlatesConfig

DEFAULT_DATA_DIR = Path("safecity-data")


class SafeCityConfig(Section):
    """Everything an operator configures; every section has working defaults."""

    data_dir: Path = Field(
        DEFAULT_DATA_DIR,
        description="Watchlist, hotlist, audit log and alert logs (relative to the config file).",
    )
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    faces: FacesConfig = Field(default_factory=FacesConfig)
    plates: PlatesConfig = Field(default_factory=PlatesConfig)
