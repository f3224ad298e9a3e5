"""The whole configuration file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from cluster.config.api import ApiConfig
from cluster.config.base import Section, duplicates
from cluster.config.cameras import CameraConfig
from cluster.config.dispatch import DispatchConfig
from cluster.config.faces import FacesConfig
from cluster.config.models import ModelsConfig
from cluster.config.pipeline import PipelineConfig
from cluster.config.placement import PlacementConfig
from cluster.config.plates import PlatesConfig
from cluster.config.retention import RetentionConfig
from cluster.config.serving import ServingConfig

if TYPE_CHECKING:  # the runtime settings' modules import OpenCV: loaded when settings are built
    from actors.camera.shard import ShardSettings
    from serve.perception import FaceSettings, PlateSettings

DEFAULT_DATA_DIR = Path("safecity-data")


class SafeCityConfig(Section):
    """Everything an operator configures; every section has working defaults."""

    data_dir: Path = Field(
        DEFAULT_DATA_DIR,
        description="Watchlist, hotlist, audit log and alert logs (relative to the config file).",
    )
    models: ModelsConfig = Field(default_factory=ModelsConfig, description="Model weights and device.")
    faces: FacesConfig = Field(
        default_factory=FacesConfig, description="Face detection, quality gates, match threshold."
    )
    plates: PlatesConfig = Field(default_factory=PlatesConfig, description="Plate detection and reading.")
    cameras: list[CameraConfig] = Field(default_factory=list, description="The cameras to analyse.")
    pipeline: PipelineConfig = Field(
        default_factory=PipelineConfig, description="Camera actors, flow control, tracking, cooldown."
    )
    serving: ServingConfig = Field(
        default_factory=ServingConfig, description="Batching and resources of each model deployment."
    )
    dispatch: DispatchConfig = Field(
        default_factory=DispatchConfig, description="Signed webhook delivery of alerts."
    )
    placement: PlacementConfig = Field(
        default_factory=PlacementConfig, description="Which node keeps the state; the Ray namespace."
    )
    api: ApiConfig = Field(
        default_factory=ApiConfig, description="The operator REST API and console (safecity serve)."
    )
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig,
        description="How long alerts, their evidence and reviews are kept; how often older ones are purged.",
    )

    def face_settings(self) -> FaceSettings:
        """What the face models are built with: the ``faces`` section on the ``models`` canvas."""
        return self.faces.settings(self.models.detector_canvas(), self.models.detector_int8)

    def plate_settings(self) -> PlateSettings:
        """What the plate models are built with: the ``plates`` section on the ``models`` canvas."""
        return self.plates.settings(self.models.detector_canvas(), self.models.detector_int8)

    def shard_settings(self) -> ShardSettings:
        """What each camera of a shard runs with: the only place its settings are built."""
        from actors.backoff import Backoff
        from actors.camera.latest_frame import StreamSettings
        from actors.camera.shard import ShardSettings

        pipeline = self.pipeline
        return ShardSettings(
            max_in_flight=pipeline.max_in_flight_per_camera,
            target_detect_age_s=pipeline.max_frame_age_s / 2,
            detector_canvas=self.models.detector_canvas(),
            track_max_age_s=pipeline.track_max_age_s,
            face_embeddings_per_track=pipeline.face_embeddings_per_track,
            face_full_size_px=self.faces.policy().quality_scale.full_size_px,
            plate_min_reads=pipeline.plate_min_reads,
            plate_max_reads=pipeline.plate_max_reads,
            plate_formats=self.plates.plate_formats(),
            plate_max_corrections=self.plates.max_corrections,
            evidence_jpeg_quality=self.dispatch.evidence_jpeg_quality,
            stream=StreamSettings(
                open_timeout_s=pipeline.open_timeout_s,
                read_timeout_s=pipeline.read_timeout_s,
                stall_timeout_s=pipeline.stall_timeout_s,
                reconnect=Backoff(pipeline.reconnect_initial_s, pipeline.reconnect_max_s),
            ),
        )

    @field_validator("cameras")
    @classmethod
    def _unique_camera_ids(cls, cameras: list[CameraConfig]) -> list[CameraConfig]:
        repeated = duplicates([c.id for c in cameras])
        if repeated:
            raise ValueError(f"camera ids must be unique: {repeated}")
        return cameras
