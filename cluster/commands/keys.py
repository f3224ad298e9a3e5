"""``safecity keys ...``: API keys for the operator service."""

from __future__ import annotations

import argparse
import json

from cluster.api.keys import KeyStore, parse_role
from cluster.runtime import Runtime


def _store(runtime: Runtime) -> KeyStore:
    return KeyStore(runtime.data_dir, runtime.audit)


def keys_create(args: argparse.Namespace, runtime: Runtime) -> int:
    """Make a key and print it once."""
    key, token = _store(runtime).create(args.name, parse_role(args.role), runtime.actor)
    print(f"created key {key.name} (role {key.role}); it is shown only now, keep it safe:")
    print(token)
    return 0


def keys_list(args: argparse.Namespace, runtime: Runtime) -> int:
    """Print every key's name and role (never the keys)."""
    keys = _store(runtime).list()
    for key in keys:
        if args.json:
            print(
                json.dumps(
                    {
                        "name": key.name,
                        "role": str(key.role),
                        "created_by": key.created_by,
                        "created_at": key.created_at,
                    }
                )
            )
        else:
            print(f"{key.name:<24} {key.role:<10} created {key.created_at} by {key.created_by}")
    if not args.json:
        print(f"{len(keys)} key(s)")
    return 0


def keys_revoke(args: argparse.Namespace, runtime: Runtime) -> int:
    """Revoke a key."""
    key = _store(runtime).revoke(args.name, runtime.actor)
    print(f"revoked {key.name} (role {key.role})")
    return 0
