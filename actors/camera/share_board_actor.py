"""The model share board as a Ray actor, and the shards' client of it."""

from __future__ import annotations

import asyncio
from typing import Any

import ray

from actors.actor_address import ActorAddress
from actors.camera.model_share import REPORT_INTERVAL_S, ShareBoard


@ray.remote(num_cpus=0, max_restarts=-1)
class ShareBoardActor:
    """One per job; holds nothing that a restart must keep (the shards report again within a second)."""

    def __init__(self) -> None:
        self._board = ShareBoard()

    def report(self, shard: str, lateness_s: float) -> float:
        """Record a shard's lateness; the fleet's median lateness."""
        return self._board.report(shard, lateness_s)

    def shards(self) -> int:
        """How many shards reported lately."""
        return self._board.shards()


class ShareBoardHandle:
    """:class:`actors.camera.shard.ShareBoardClient` over the board actor, for the shard named ``shard``."""

    def __init__(self, address: ActorAddress, shard: str) -> None:
        self._address = address
        self._shard = shard
        self._actor: Any = None

    async def report(self, lateness_s: float) -> float | None:
        if self._actor is None:  # looked up late: the shard may start before the board, or outlive it
            self._actor = await asyncio.to_thread(self._address.handle)
        fleet: float = await asyncio.wait_for(
            self._actor.report.remote(self._shard, lateness_s), timeout=2 * REPORT_INTERVAL_S
        )
        return fleet
