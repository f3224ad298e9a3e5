"""The alert log, delivery receipts and officers' reviews as pandas tables.

The alert log is what the dispatcher wrote (``actors.dispatch.alert_log``): one row per alert as sent.
Frame-to-webhook latency is the outbox receipt time (the 2xx came back) minus the frame's capture
time. Reviews are what officers record through the API (``POST /api/v1/alerts/{id}/review``) or the
console: :func:`load_reviews` reads ``<data_dir>/reviews.parquet`` with ``actors.reviews``' own reader,
so precision comes from confirmed and rejected decisions, and an unreviewed alert counts as neither.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from actors.dispatch.alert_log import AlertLog
from actors.reviews import DECISIONS, read_reviews
from cluster.analysis.errors import AnalysisDataError
from cluster.config import SafeCityConfig
from serve.errors import StoreError


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


def load_reviews(path: Path) -> pd.DataFrame:
    """The officers' reviews (``<data_dir>/reviews.parquet``, one row per reviewed alert), read as
    ``actors.reviews`` writes them; empty while no alert has been reviewed, an error if malformed."""
    try:
        frame = read_reviews(path).to_pandas()
    except StoreError as exc:
        raise AnalysisDataError(f"the review log is malformed: {exc}") from exc
    unknown = set(frame["decision"]) - set(DECISIONS)
    if unknown:
        raise AnalysisDataError(
            f"the review log {path} has decisions {sorted(unknown)}; expected {DECISIONS}"
        )
    return frame


def _decisions(reviews: pd.DataFrame) -> pd.DataFrame:
    """``alert_id`` and ``decision``: one per alert (the API refuses a second; should a file hold more,
    the newest counts)."""
    newest = reviews.sort_values("reviewed_at").drop_duplicates("alert_id", keep="last")
    return newest[["alert_id", "decision"]]


def precision_by_camera(alerts: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """Per camera and kind: alerts, reviewed, confirmed, unreviewed and precision (confirmed / reviewed,
    NaN where none was reviewed). Reviews of alerts not in ``alerts`` are left out."""
    joined = alerts.merge(_decisions(reviews), on="alert_id", how="left")
    joined["confirmed"] = joined["decision"] == "confirmed"
    grouped = joined.groupby(["camera_id", "kind"])
    table = pd.DataFrame(
        {
            "alerts": grouped.size(),
            "reviewed": grouped["decision"].count(),
            "confirmed": grouped["confirmed"].sum().astype(int),
        }
    )
    table["unreviewed"] = table["alerts"] - table["reviewed"]
    table["precision"] = table["confirmed"] / table["reviewed"].where(table["reviewed"] > 0)
    return table


def face_reviews_by_similarity(
    alerts: pd.DataFrame, reviews: pd.DataFrame, width: float = 0.05
) -> pd.DataFrame:
    """Reviewed face alerts per similarity band (index: the band's lower edge, ``width`` wide): reviewed,
    confirmed, rejected, the confirmed share, and what a threshold at the band's lower edge would still
    raise (``confirmed_at_or_above``, ``rejected_at_or_above``). Empty if no face alert was reviewed.

    Officers review only alerts that reached the threshold then in force: this says what a stricter
    threshold would cost and spare, nothing about faces below it (misses).
    """
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    faces = alerts[alerts["kind"] == "face"].merge(_decisions(reviews), on="alert_id", how="inner")
    confirmed = (faces["decision"] == "confirmed").astype(int)
    table = (
        pd.DataFrame(
            {
                "band_from": (np.floor(faces["similarity"] / width + 1e-9) * width).round(6),
                "confirmed": confirmed,
                "rejected": 1 - confirmed,
            }
        )
        .groupby("band_from")
        .sum()
        .sort_index()
    )
    table.insert(0, "reviewed", table["confirmed"] + table["rejected"])
    table["confirmed_share"] = table["confirmed"] / table["reviewed"]
    at_or_above = table[["confirmed", "rejected"]].iloc[::-1].cumsum().iloc[::-1]
    table["confirmed_at_or_above"] = at_or_above["confirmed"]
    table["rejected_at_or_above"] = at_or_above["rejected"]
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
