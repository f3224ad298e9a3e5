"""Concurrent searches gathered into one call: while a batch runs on a thread, the next one gathers.

There is no timer to wait on: a lone query is searched at once, and under load every query that
arrived while the previous batch ran goes into the next, so batches grow with the load (a ScaNN or
exact search of 64 queries costs little more than one; README, "Watchlist search").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Query = TypeVar("Query")
Result = TypeVar("Result")


@dataclass(frozen=True)
class BatcherStats:
    """How many queries were searched in how many batches, the largest batch, and how many wait now."""

    queries: int
    batches: int
    largest_batch: int
    waiting: int


class SearchBatcher(Generic[Query, Result]):
    """Awaitable single searches over a batch search function (one result per query, in order)."""

    def __init__(self, search: Callable[[Sequence[Query]], Sequence[Result]], max_batch: int = 256) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self._search = search
        self._max_batch = max_batch
        self._pending: list[tuple[Query, asyncio.Future[Result]]] = []
        self._worker: asyncio.Task[None] | None = None
        self._queries = self._batches = self._largest = 0

    async def search(self, query: Query) -> Result:
        """The result for ``query``, searched together with whatever else is waiting."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((query, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._drain())
        return await future

    def stats(self) -> BatcherStats:
        """Counters since the batcher was made."""
        return BatcherStats(self._queries, self._batches, self._largest, len(self._pending))

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            self._queries += len(batch)
            self._batches += 1
            self._largest = max(self._largest, len(batch))
            try:
                results = await asyncio.to_thread(self._search, [query for query, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"a batch search gave {len(results)} results for {len(batch)} queries")
            except Exception as exc:  # every waiter of the failed batch gets the error, the next goes on
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():  # its caller may have been cancelled meanwhile
                    future.set_result(result)
