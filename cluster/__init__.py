"""SafeCity's top layer: config, CLI, job entrypoint, demo and benchmarks."""

__version__ = "0.1.0"
