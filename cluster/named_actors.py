"""Creating the job's named actors when an earlier run's actors of those names may still be going away."""

from __future__ import annotations

import time
from typing import Any

from serve.errors import SafeCityError

NAME_FREE_TIMEOUT_S = 60.0  # an earlier run's actors may still be going away (its driver just died)


def create_named(actor_class: Any, name: str, options: dict[str, Any], *args: Any) -> Any:
    """Create a named actor, waiting while an earlier run's actor of that name is going away."""
    deadline = time.monotonic() + NAME_FREE_TIMEOUT_S
    while True:
        try:
            return actor_class.options(name=name, **options).remote(*args)
        except ValueError as exc:  # Ray: "The name ... is already taken"
            if "already taken" not in str(exc) or time.monotonic() > deadline:
                raise SafeCityError(
                    f"actor {name} exists in namespace {options['namespace']}: is another SafeCity job "
                    "running on this cluster? Stop it first (ray job stop, or ray list actors)"
                ) from exc
            time.sleep(0.5)
