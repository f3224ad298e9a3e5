"""``safecity purge``: the retention purge, once, where no dispatcher runs it (``safecity serve`` alone)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from cluster.runtime import Runtime
from serve.errors import SafeCityError


def purge_now(args: argparse.Namespace, runtime: Runtime) -> int:
    """Purge what is older than ``retention.alert_days`` (or, with ``--dry-run``, say what would go)."""
    from actors.dispatch.outbox import Outbox, OutboxInUseError
    from actors.retention import purge

    config = runtime.config
    cutoff = config.retention.settings().cutoff(datetime.now(UTC))
    path = runtime.data_dir / "outbox.sqlite3"
    try:
        # No outbox file: no dispatcher ever ran here, and there is nothing in one to purge.
        outbox = Outbox(path, [e.name for e in config.dispatch.endpoints]) if path.exists() else None
    except OutboxInUseError:
        raise SafeCityError(
            f"a running dispatcher holds {path} and purges on its own every retention.purge_every_s "
            f"({config.retention.purge_every_s:g} s); nothing was purged"
        ) from None
    try:
        report = purge(
            runtime.data_dir, cutoff, runtime.audit, outbox=outbox, actor=runtime.actor, dry_run=args.dry_run
        )
    finally:
        if outbox is not None:
            outbox.close()
    print(f"{'would purge' if args.dry_run else 'purged'} {report.summary()}")
    return 0
