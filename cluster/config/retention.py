"""``retention:`` how long alerts, their evidence and reviews are kept, and how often old ones go."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from cluster.config.base import Section

if TYPE_CHECKING:  # the purge reads Parquet: pyarrow is loaded when the settings are built
    from actors.retention import RetentionSettings


class RetentionConfig(Section):
    """The retention purge (run by the dispatcher on the state node, or by `safecity purge`)."""

    alert_days: int = Field(
        30,
        gt=0,
        description="Alerts captured more than this many days ago are purged with their evidence, "
        "outbox rows and reviews, except those an officer confirmed and marked to keep.",
    )
    purge_every_s: float = Field(
        3600.0,
        ge=60,
        description="How often the dispatcher runs the purge, seconds (the first run comes soon after "
        "it starts).",
    )

    def settings(self) -> RetentionSettings:
        """What the purge runs with."""
        from actors.retention import RetentionSettings

        return RetentionSettings(alert_days=self.alert_days, purge_every_s=self.purge_every_s)
