"""A named actor's address: what one actor is given to find another, instead of its handle.

A handle passed to an actor's constructor is kept in Ray's object store, and a restart of that actor
fails if the copy is lost; a name and a namespace are plain values, looked up again on every start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ray


@dataclass(frozen=True)
class ActorAddress:
    """The name and namespace of a named actor."""

    name: str
    namespace: str

    def handle(self) -> Any:
        """The actor's handle (raises ``ValueError`` if no actor has this name)."""
        return ray.get_actor(self.name, namespace=self.namespace)
