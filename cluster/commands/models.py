"""``safecity models pull|list``."""

from __future__ import annotations

import argparse
import json

from cluster.runtime import Runtime
from serve.errors import SafeCityError
from serve.models.registry import ModelRole


def pull(args: argparse.Namespace, runtime: Runtime) -> int:
    """Fetch the pinned default weights into the cache."""
    unknown = [role for role in args.roles if role not in set(ModelRole)]
    if unknown:
        raise SafeCityError(f"unknown model role(s) {unknown}; roles are {', '.join(ModelRole)}")
    roles = [ModelRole(role) for role in args.roles] or None
    paths = runtime.models.pull(roles, force=args.force)
    for path in paths:
        print(f"ok  {path}")
    return 0


def list_models(args: argparse.Namespace, runtime: Runtime) -> int:
    """Show where each role resolves and whether its file is present and verified."""
    rows = runtime.models.status()
    if args.json:
        for row in rows:
            print(
                json.dumps(
                    {
                        "role": row.role.value,
                        "source": row.source,
                        "sha256": row.sha256,
                        "licence": row.licence,
                        "path": str(row.path),
                        "present": row.present,
                        "verified": row.verified,
                    }
                )
            )
        return 0
    print(f"{'role':<20} {'state':<9} {'licence':<18} {'sha256':<14} source")
    for row in rows:
        state = "verified" if row.verified else ("CORRUPT" if row.present else "missing")
        print(f"{row.role.value:<20} {state:<9} {row.licence:<18} {row.sha256[:12]:<14} {row.source}")
    print(f"cache: {runtime.models.cache_dir}")
    return 0
