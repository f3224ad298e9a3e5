"""The strict base every config section derives from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section: unknown keys are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def duplicates(values: list[str]) -> list[str]:
    """Values that occur more than once, sorted."""
    return sorted({value for value in values if values.count(value) > 1})
