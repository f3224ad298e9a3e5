"""SafeCity's configuration: one YAML file, validated strictly, one module per section."""

from cluster.config.loader import load_config
from cluster.config.root import SafeCityConfig

__all__ = ["SafeCityConfig", "load_config"]
