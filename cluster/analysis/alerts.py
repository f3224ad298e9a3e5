"""The alert log, delivery receipts and officers' reviews as pandas tables.

The alert log is what the dispatcher wrote (``actors.dispatch.alert_log``): one row per alert as sent.
Frame-to-webhook latency is the outbox receipt time (the 2xx came back) minus the frame's capture
time. Reviews do not exist in SafeCity yet; :func:`load_reviews` reads the Parquet log the review API
will write (``alert_id``, ``verdict`` of ``confirmed`` or ``rejected``) and returns ``None`` while there
is none, so precision is reported as unknown rather than guessed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from actors.dispatch.alert_log import AlertLog
from cluster.analysis.errors import AnalysisDataError
from cluster.config import SafeCityConfig

REVIEW_VERDICTS = ("confirmed", "rejected")


def load_alerts(directory: Path, *, allow_empty: bool = False) -> pd.DataFrame:
    """Every logged alert, without the evidence bytes; an error if the log is missing or empty."""
    if not directory.is_dir():
        raise AnalysisDataError(
            f"no alert log at {directory}: the dispatcher writes it under <data_dir>/alerts once "
            "an alert has been sent; check the data directory"
        )
    try:
        table = AlertLog(directory).read().drop_columns(["evidence_jpeg", "models"])
    except (OSError, pa.ArrowException) as exc:
        raise AnalysisDataError(f"the alert log {directory} cannot be read: {exc}") from exc
    if table.num_rows == 0 and not allow_empty:
        raise AnalysisDataError(f"the alert log {directory} holds no alerts yet")
    frame = table.to_pandas()
    frame["hour"] = frame["captured_at"].dt.floor("h")
    return frame.sort_values("captured_at", ignore_index=True)


def load_deliveries(outbox: Path) -> pd.DataFrame:
    """Per alert and endpoint: attempts and the receipt time (UTC), read-only from the outbox."""
    if not outbox.is_file():
        raise AnalysisDataError(f"no outbox at {outbox}: delivery times come from the dispatcher's outbox")
    try:
        with sqlite3.connect(f"file:{outbox}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT alert_id, endpoint, attempts, delivered_at FROM deliveries").fetchall()
    except sqlite3.Error as exc:
        raise AnalysisDataError(f"the outbox {outbox} cannot be read: {exc}") from exc
    frame = pd.DataFrame(rows, columns=["alert_id", "endpoint", "attempts", "delivered_at"])
    frame["delivered_at"] = pd.to_datetime(frame["delivered_at"], unit="s", utc=True)
    return frame


def with_latency(alerts: pd.DataFrame, deliveries: pd.DataFrame) -> pd.DataFrame:
    """One row per (alert, endpoint) delivered: ``latency_s`` from frame capture to receipt."""
    delivered = deliveries.dropna(subset=["delivered_at"])
    joined = alerts.merge(delivered, on="alert_id", how="inner")
    joined["latency_s"] = (joined["delivered_at"] - joined["captured_at"]).dt.total_seconds()
    return joined


@dataclass(frozen=True)
class LatencySummary:
    """Frame-to-webhook latency of one alert kind."""

    kind: str
    alerts: int
    p50_s: float
    p95_s: float
    max_s: float


def latency_by_kind(latency: pd.DataFrame) -> list[LatencySummary]:
    """Count, median, 95th percentile and worst latency per alert kind."""
    return [
        LatencySummary(
            kind=str(kind),
            alerts=len(group),
            p50_s=float(group["latency_s"].quantile(0.5)),
            p95_s=float(group["latency_s"].quantile(0.95)),
            max_s=float(group["latency_s"].max()),
        )
        for kind, group in latency.groupby("kind")
    ]


def counts(alerts: pd.DataFrame, by: str) -> pd.DataFrame:
    """Alerts per ``by`` (``camera_id``, ``zone``, ``hour``...) and kind, kinds as columns."""
    table = alerts.groupby([by, "kind"]).size().unstack("kind", fill_value=0)
    return table.assign(total=table.sum(axis=1)).sort_values("total", ascending=False)


def plate_hits(alerts: pd.DataFrame) -> pd.DataFrame:
    """Plate alerts per camera, exact against fuzzy hotlist hits."""
    plates = alerts[alerts["kind"] == "plate"]
    match = plates["plate_exact"].map({True: "exact", False: "fuzzy"})
    return plates.assign(match=match).groupby(["camera_id", "match"]).size().unstack("match", fill_value=0)


def load_reviews(directory: Path) -> pd.DataFrame | None:
    """The review log, or ``None`` while none exists; an error if it exists but is malformed."""
    if not directory.exists():
        return None
    try:
        frame = ds.dataset(directory, format="parquet").to_table().to_pandas()
    except (OSError, pa.ArrowException) as exc:
        raise AnalysisDataError(f"the review log {directory} cannot be read: {exc}") from exc
    missing = {"alert_id", "verdict"} - set(frame.columns)
    if missing:
        raise AnalysisDataError(f"the review log {directory} lacks columns {sorted(missing)}")
    unknown = set(frame["verdict"]) - set(REVIEW_VERDICTS)
    if unknown:
        raise AnalysisDataError(
            f"the review log {directory} has verdicts {sorted(unknown)}; expected {REVIEW_VERDICTS}"
        )
    return frame


def precision_by_camera(alerts: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """Per camera and kind: reviewed, confirmed, precision (confirmed / reviewed), unreviewed alerts.

    The newest verdict of an alert counts (an officer may correct a review).
    """
    latest = reviews.sort_values("reviewed_at") if "reviewed_at" in reviews else reviews
    verdicts = latest.drop_duplicates("alert_id", keep="last")[["alert_id", "verdict"]]
    joined = alerts.merge(verdicts, on="alert_id", how="left")
    grouped = joined.groupby(["camera_id", "kind"])
    table = pd.DataFrame(
        {
            "alerts": grouped.size(),
            "reviewed": grouped["verdict"].count(),
            "confirmed": grouped["verdict"].apply(lambda v: int((v == "confirmed").sum())),
        }
    )
    table["unreviewed"] = table["alerts"] - table["reviewed"]
    table["precision"] = table["confirmed"] / table["reviewed"].where(table["reviewed"] > 0)
    return table


def camera_sites(alerts: pd.DataFrame, config: SafeCityConfig | None = None) -> pd.DataFrame:
    """Cameras with a location and their alert count: from the config (all cameras, also quiet ones)
    and from the alert log (cameras that alerted); cameras without a location are left out."""
    rows = []
    if config is not None:
        for camera in config.cameras:
            if camera.location is not None:
                rows.append((camera.id, camera.name, camera.zone, camera.location.lat, camera.location.lon))
    known = {row[0] for row in rows}
    logged = alerts.dropna(subset=["lat", "lon"]).drop_duplicates("camera_id")
    for row in logged.itertuples():
        if row.camera_id not in known:
            rows.append((row.camera_id, row.camera_name, row.zone, row.lat, row.lon))
    sites = pd.DataFrame(rows, columns=["camera_id", "name", "zone", "lat", "lon"])
    per_camera = alerts.groupby("camera_id").size().rename("alerts")
    sites = sites.merge(per_camera, left_on="camera_id", right_index=True, how="left")
    return sites.fillna({"alerts": 0}).astype({"alerts": int})


_BINS = (  # (log span above which, pandas frequency, label): the coarsest bin that still shows a shape
    (pd.Timedelta(days=2), "D", "day"),
    (pd.Timedelta(hours=2), "h", "hour"),
    (pd.Timedelta(minutes=10), "min", "minute"),
    (pd.Timedelta(0), "10s", "10 seconds"),
)


def activity(alerts: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Alerts per time bin and kind, and the bin's name: days, hours, minutes or 10 s by the log's span."""
    span = alerts["captured_at"].max() - alerts["captured_at"].min()
    freq, label = next(
        (freq, label) for above, freq, label in _BINS if span > above or above == pd.Timedelta(0)
    )
    binned = alerts.assign(bin=alerts["captured_at"].dt.floor(freq))
    return binned.groupby(["bin", "kind"]).size().unstack("kind", fill_value=0), label
