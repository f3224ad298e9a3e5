"""Where the notebooks find their inputs: a SafeCity data directory plus what ``demo --record`` adds.

A deployment's ``data_dir`` already holds the alert log (``alerts/``), the outbox with delivery
receipts (``outbox.sqlite3``), the officers' reviews (``reviews.parquet``, once an alert is reviewed),
the watchlist and the audit log. The recording adds ``config.yaml`` (the cameras and thresholds it
ran with) and ``analysis/``: camera counter snapshots (the job's JSON report lines), measured
per-stage model costs and a face score set. For a real deployment, put
the job's log at ``analysis/camera-stats.jsonl`` and a score set (``safecity demo --record`` shows
how one is made) at ``analysis/face-scores.parquet``, or pass paths of your own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from actors.reviews import REVIEWS_FILE
from cluster.analysis.errors import AnalysisDataError
from cluster.samples import REPO_ROOT

BUNDLED_DATA_DIR = REPO_ROOT / "notebooks" / "data" / "demo-city"
DATA_DIR_ENV = "SAFECITY_DATA_DIR"


@dataclass(frozen=True)
class DataDir:
    """The files of one data directory the notebooks read (each may be absent; loaders say so)."""

    root: Path

    @property
    def alerts(self) -> Path:
        """The Parquet alert log (``date=YYYY-MM-DD/part-*.parquet``)."""
        return self.root / "alerts"

    @property
    def reviews(self) -> Path:
        """The officers' review log (``reviews.parquet``, one row per reviewed alert; absent before any)."""
        return self.root / REVIEWS_FILE

    @property
    def outbox(self) -> Path:
        """The dispatcher's outbox: alert bodies and per-endpoint delivery receipts."""
        return self.root / "outbox.sqlite3"

    @property
    def watchlist(self) -> Path:
        """The watchlist table (one row per enrolment photo, with its embedding)."""
        return self.root / "watchlist.parquet"

    @property
    def audit(self) -> Path:
        """The hash-chained audit log."""
        return self.root / "audit.jsonl"

    @property
    def config(self) -> Path:
        """The config the recording ran with (a deployment passes its own config path instead)."""
        return self.root / "config.yaml"

    @property
    def camera_stats(self) -> Path:
        """Camera counter snapshots: one JSON line per camera and snapshot, as the job reports them."""
        return self.root / "analysis" / "camera-stats.jsonl"

    @property
    def stage_costs(self) -> Path:
        """Measured model costs per stage and batch size (JSON)."""
        return self.root / "analysis" / "stage-costs.json"

    @property
    def face_scores(self) -> Path:
        """Face similarity score set (Parquet): probes against watchlist subjects, mated or not."""
        return self.root / "analysis" / "face-scores.parquet"


def open_data_dir(path: str | os.PathLike[str] | None = None) -> DataDir:
    """``path``, else ``$SAFECITY_DATA_DIR``, else the bundled recording; an error if it is not a folder."""
    chosen = path if path is not None else os.environ.get(DATA_DIR_ENV) or BUNDLED_DATA_DIR
    root = Path(chosen).expanduser()
    if not root.is_dir():
        where = f" (from ${DATA_DIR_ENV})" if path is None and os.environ.get(DATA_DIR_ENV) else ""
        raise AnalysisDataError(
            f"data directory {root}{where} does not exist or is not a folder: pass a SafeCity data_dir "
            "or a folder written by `safecity demo --record DIR`"
        )
    return DataDir(root.resolve())
