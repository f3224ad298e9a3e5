"""``pipeline:`` how camera actors shard cameras, bound work in flight, reconnect and track."""

from __future__ import annotations

from pydantic import Field, model_validator

from cluster.config.base import Section


class PipelineConfig(Section):
    """Camera actors, tracking and alert de-duplication."""

    cameras_per_actor: int = Field(
        25, ge=1, le=500, description="Cameras one actor (one process) owns; 1,000 cameras -> 40 actors."
    )
    actor_num_cpus: float = Field(0.25, gt=0, description="CPUs Ray reserves for each camera actor.")
    max_in_flight_per_camera: int = Field(
        2, ge=1, le=16, description="Frames of one camera at the models at once; newer frames are dropped."
    )
    max_frame_age_s: float = Field(
        2.0,
        gt=0,
        le=60,
        description="A frame, face embedding or plate read older than this when a model gets to it is "
        "dropped (shed) and counted, not processed: under overload the newest frames win.",
    )
    open_timeout_s: float = Field(10, gt=0, description="Longest wait to open a stream before it is retried.")
    read_timeout_s: float = Field(10, gt=0, description="Longest wait for one frame read from a stream.")
    stall_timeout_s: float = Field(15, gt=0, description="No new frame for this long -> reconnect.")
    reconnect_initial_s: float = Field(1, gt=0, description="First wait before a broken stream reconnects.")
    reconnect_max_s: float = Field(
        60, gt=0, description="Longest wait between reconnects (the wait doubles, with jitter)."
    )
    track_max_age_s: float = Field(3, gt=0, description="A track not seen for this long has ended.")
    face_embeddings_per_track: int = Field(3, ge=1, le=20, description="Best crops of a face track embedded.")
    plate_min_reads: int = Field(
        2, ge=1, le=20, description="Frames whose reads agree before a plate track is decided."
    )
    plate_max_reads: int = Field(
        4,
        ge=1,
        le=20,
        description="Most OCR reads of one plate track; a decided or matched track is never read again.",
    )
    cooldown_s: float = Field(
        120,
        ge=0,
        description="After an alert, the same subject or plate on the same camera is not re-alerted.",
    )
    watchlist_reload_s: float = Field(5, gt=0, description="How often the matcher checks for list changes.")
    share_models_by_lateness: bool = Field(
        True,
        description="Shards compare how late their most overdue cameras are (a small board actor) and the "
        "later ones take a larger share of the models; off: each shard's congestion window on its own.",
    )
    camera_sync_s: float = Field(
        2, gt=0, description="How often the job applies camera changes made through the API to the shards."
    )

    @model_validator(mode="after")
    def _reads_ordered(self) -> PipelineConfig:
        if self.plate_max_reads < self.plate_min_reads:
            raise ValueError(
                f"plate_max_reads ({self.plate_max_reads}) must be at least plate_min_reads "
                f"({self.plate_min_reads})"
            )
        return self
