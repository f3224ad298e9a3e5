"""``safecity config check [FILE] [--schema]``: validate a config and show what it amounts to."""

from __future__ import annotations

import argparse
import json

import yaml

from cluster.config import SafeCityConfig
from cluster.runtime import Runtime


def check(args: argparse.Namespace, runtime: Runtime) -> int:
    """Print the effective config as YAML (an invalid one never gets here: loading it failed)."""
    if args.schema:
        print(json.dumps(SafeCityConfig.model_json_schema(), indent=2))
        return 0
    source = f"{args.config} is valid" if args.config is not None else "no config file: the defaults"
    print(f"# {source}; effective values, defaults filled in and paths resolved:")
    print(yaml.safe_dump(runtime.config.model_dump(mode="json"), sort_keys=False), end="")
    return 0
