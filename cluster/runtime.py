"""What a CLI command works with: config, stores and (lazily) the models, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from cluster.config import SafeCityConfig
from serve.face_policy import EnrolmentPolicy

# Each command needs a few of these; importing them here would load ScaNN, pyarrow, OpenCV and the
# models' libraries for every command, `--help` included. Each property imports what it builds.
if TYPE_CHECKING:
    from actors.audit import AuditLog
    from actors.face_matcher import WatchlistMatcher
    from actors.hotlist import HotlistMatcher, HotlistStore
    from actors.watchlist import WatchlistStore
    from serve.face_analyzer import FaceAnalyzer
    from serve.models.store import ModelStore
    from serve.plate_analyzer import PlateAnalyzer


@dataclass
class Runtime:
    """Stores and models for one data directory and config."""

    config: SafeCityConfig
    actor: str
    show_progress: bool = True

    @property
    def data_dir(self) -> Path:
        """Where the watchlist, hotlist and audit log live."""
        return self.config.data_dir.expanduser()

    @cached_property
    def audit(self) -> AuditLog:
        """The audit log."""
        from actors.audit import AuditLog

        return AuditLog(self.data_dir / "audit.jsonl")

    @cached_property
    def watchlist(self) -> WatchlistStore:
        """The watchlist store."""
        from actors.watchlist import WatchlistStore

        return WatchlistStore(self.data_dir, self.audit)

    @cached_property
    def hotlist(self) -> HotlistStore:
        """The hotlist store."""
        from actors.hotlist import HotlistStore

        return HotlistStore(self.data_dir, self.audit)

    @cached_property
    def models(self) -> ModelStore:
        """The model cache, with the operator's overrides."""
        from serve.models.store import ModelStore

        return ModelStore(
            self.config.models.cache_dir,
            self.config.models.overrides(),
            auto_pull=self.config.models.auto_pull,
            int8_detectors=self.config.models.detector_int8,
            show_progress=self.show_progress,
        )

    @cached_property
    def faces(self) -> FaceAnalyzer:
        """Face models, loaded on first use."""
        from serve.perception import build_face_analyzer

        return build_face_analyzer(self.models, self.config.models.device, self.config.face_settings())

    @cached_property
    def plates(self) -> PlateAnalyzer:
        """Plate models, loaded on first use."""
        from serve.perception import build_plate_analyzer

        return build_plate_analyzer(self.models, self.config.models.device, self.config.plate_settings())

    def enrolment_policy(self) -> EnrolmentPolicy:
        """Quality an enrolment photo must reach."""
        return self.config.faces.enrolment_policy()

    def watchlist_matcher(self) -> WatchlistMatcher:
        """A matcher over the watchlist as it is now."""
        from actors.face_matcher import WatchlistMatcher

        faces = self.config.faces
        return WatchlistMatcher.build(
            self.watchlist.snapshot(), faces.match_threshold, scann_min_size=faces.scann_min_size
        )

    def hotlist_matcher(self) -> HotlistMatcher:
        """A matcher over the unexpired hotlist as it is now."""
        from actors.hotlist import HotlistMatcher

        return HotlistMatcher(self.hotlist.list(), datetime.now(UTC))
