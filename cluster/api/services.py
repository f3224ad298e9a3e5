"""What the API's routes work with: the stores of one data directory, the keys, the face models."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request

from actors.dispatch.alert_log import AlertLog
from actors.metrics import ReviewMetrics
from actors.reviews import ReviewLog
from cluster.api.alerts import AlertReader
from cluster.api.cameras import StatsSource, ray_camera_stats
from cluster.api.keys import KeyStore
from cluster.api.throttle import FailureThrottle
from cluster.camera_store import CameraStore
from cluster.config import SafeCityConfig
from cluster.runtime import Runtime

if TYPE_CHECKING:
    from actors.audit import AuditLog
    from actors.hotlist import HotlistStore
    from actors.watchlist import WatchlistStore
    from serve.face_analyzer import FaceAnalyzer
    from serve.face_policy import EnrolmentPolicy


@dataclass
class ApiServices:
    """The stores (the same classes the CLI uses), keys, sign-in throttle and the face models.

    ``faces`` builds the face models; it is called once, on the first enrolment, so a service that
    never enrols never loads them.
    """

    runtime: Runtime
    keys: KeyStore
    reviews: ReviewLog
    alerts: AlertReader
    throttle: FailureThrottle
    faces: Callable[[], FaceAnalyzer]
    camera_stats: StatsSource
    cameras: CameraStore
    # Enrolments one at a time: they are rare, run the face models, and rewrite the same file.
    enrol_lock: threading.Lock = field(default_factory=threading.Lock)
    review_metrics: ReviewMetrics = field(default_factory=ReviewMetrics)

    @classmethod
    def build(
        cls,
        config: SafeCityConfig,
        faces: Callable[[], FaceAnalyzer] | None = None,
        camera_stats: StatsSource | None = None,
    ) -> ApiServices:
        """Services over ``config``'s data directory.

        ``faces`` defaults to the config's face models, ``camera_stats`` to the counters of the camera
        shards running in the config's Ray namespace.
        """
        runtime = Runtime(config=config, actor="api", show_progress=False)
        data_dir = runtime.data_dir
        reviews = ReviewLog(data_dir, runtime.audit)
        api = config.api
        return cls(
            runtime=runtime,
            keys=KeyStore(data_dir, runtime.audit),
            reviews=reviews,
            alerts=AlertReader(AlertLog(data_dir / "alerts"), reviews, runtime.watchlist.photo_dir),
            throttle=FailureThrottle(api.auth_max_failures, api.auth_failure_window_s),
            faces=faces if faces is not None else (lambda: runtime.faces),
            camera_stats=camera_stats or ray_camera_stats(config.placement.namespace),
            cameras=CameraStore(data_dir, runtime.audit, config.cameras),
        )

    @property
    def config(self) -> SafeCityConfig:
        """The service's config."""
        return self.runtime.config

    @property
    def audit(self) -> AuditLog:
        """The audit log."""
        return self.runtime.audit

    @property
    def watchlist(self) -> WatchlistStore:
        """The watchlist store."""
        return self.runtime.watchlist

    @property
    def hotlist(self) -> HotlistStore:
        """The hotlist store."""
        return self.runtime.hotlist

    def enrolment_policy(self) -> EnrolmentPolicy:
        """Quality an enrolment photo must reach (the config's, as for the CLI)."""
        return self.runtime.enrolment_policy()


def services_of(request: Request) -> ApiServices:
    """The services of the app serving ``request`` (a FastAPI dependency)."""
    services = request.app.state.services
    assert isinstance(services, ApiServices)
    return services
