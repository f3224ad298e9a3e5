"""Face score sets and 1:N identification error rates (ISO/IEC 19795-1 terms).

A score set holds one row per (probe, watchlist subject) comparison: the probe's best cosine
similarity to that subject's enrolment photos and whether the probe shows that subject (mated).
A *search* is one probe against the whole watchlist:

- FNIR(t): share of mated searches whose mated subject scores below ``t`` (a wanted person missed);
- FPIR(t): share of non-mated searches (the probe's person is not enrolled) whose best score reaches
  ``t`` (someone not wanted alerted on).

Both move with the watchlist size N; the pair rate p(t) (share of non-mated pairs at or above ``t``)
extrapolates FPIR to any N as ``1 - (1 - p)^N`` (independent impostors).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from actors.storage import read_table
from cluster.analysis.errors import AnalysisDataError
from serve.errors import StoreError

FloatArray = npt.NDArray[np.float64]

SCORE_SET_SCHEMA = pa.schema(
    [
        pa.field("probe_id", pa.string(), nullable=False),  # one search: a photo and its degradation
        pa.field("photo", pa.string(), nullable=False),
        pa.field("degradation", pa.string(), nullable=False),
        pa.field("subject_id", pa.string(), nullable=False),
        pa.field("mated", pa.bool_(), nullable=False),
        pa.field("similarity", pa.float64(), nullable=False),
    ]
)


@dataclass(frozen=True)
class Comparison:
    """One probe compared with one watchlist subject."""

    probe_id: str
    photo: str
    degradation: str
    subject_id: str
    mated: bool
    similarity: float


@dataclass(frozen=True)
class ScoreSet:
    """Scores of one calibration run, as arrays ready for the rate functions."""

    comparisons: tuple[Comparison, ...]

    @property
    def mated_pairs(self) -> FloatArray:
        """Similarity of every mated comparison (genuine distribution)."""
        return np.array([c.similarity for c in self.comparisons if c.mated], np.float64)

    @property
    def nonmated_pairs(self) -> FloatArray:
        """Similarity of every non-mated comparison (impostor distribution)."""
        return np.array([c.similarity for c in self.comparisons if not c.mated], np.float64)

    def mated_searches(self) -> FloatArray:
        """Per probe that shows an enrolled subject: its mated subject's score (one per probe)."""
        mated: dict[str, float] = {}
        for c in self.comparisons:
            if c.mated:
                mated[c.probe_id] = max(mated.get(c.probe_id, -1.0), c.similarity)
        return np.array(sorted(mated.values()), np.float64)

    def nonmated_searches(self) -> FloatArray:
        """Per probe of someone not enrolled: the best score over the whole watchlist."""
        mated_probes = {c.probe_id for c in self.comparisons if c.mated}
        best: dict[str, float] = {}
        for c in self.comparisons:
            if c.probe_id not in mated_probes:
                best[c.probe_id] = max(best.get(c.probe_id, -1.0), c.similarity)
        return np.array(sorted(best.values()), np.float64)


def write_score_set(path: Path, comparisons: Sequence[Comparison]) -> None:
    """Write comparisons as Parquet (``SCORE_SET_SCHEMA``)."""
    rows = [vars(c) for c in comparisons]
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=SCORE_SET_SCHEMA), path)


def read_score_set(path: Path) -> ScoreSet:
    """A score set file; an error naming the file if it is missing, malformed or lacks either kind."""
    if not path.is_file():
        raise AnalysisDataError(
            f"no face score set at {path}: make one with `safecity demo --record DIR` "
            "or cluster.analysis.probes.score_photos on your own photos"
        )
    try:
        table = read_table(path, SCORE_SET_SCHEMA)
    except StoreError as exc:  # unreadable, or without the score set's columns
        raise AnalysisDataError(str(exc)) from exc
    scores = ScoreSet(tuple(Comparison(**row) for row in table.to_pylist()))
    if len(scores.mated_pairs) == 0 or len(scores.nonmated_searches()) == 0:
        raise AnalysisDataError(
            f"{path} needs both mated probes (enrolled people) and non-mated probes (people not "
            f"enrolled); it has {len(scores.mated_pairs)} mated and "
            f"{len(scores.nonmated_searches())} non-mated searches"
        )
    return scores


def share_at_or_above(scores: FloatArray, thresholds: FloatArray) -> FloatArray:
    """For each threshold, the share of ``scores`` >= it."""
    ordered = np.sort(scores)
    below = np.searchsorted(ordered, thresholds, side="left")
    return np.asarray(1.0 - below / max(1, len(ordered)), np.float64)


def fpir(nonmated_best: FloatArray, thresholds: FloatArray) -> FloatArray:
    """False positive identification rate: non-mated searches whose best score reaches the threshold."""
    return share_at_or_above(nonmated_best, thresholds)


def fnir(mated: FloatArray, thresholds: FloatArray) -> FloatArray:
    """False negative identification rate: mated searches whose mated score stays below the threshold."""
    return 1.0 - share_at_or_above(mated, thresholds)


@dataclass(frozen=True)
class DetCurve:
    """Detection error trade-off: FPIR against FNIR as the threshold moves."""

    thresholds: FloatArray
    fpir: FloatArray
    fnir: FloatArray


def det_curve(scores: ScoreSet, thresholds: FloatArray | None = None) -> DetCurve:
    """FPIR and FNIR at every distinct score (or at ``thresholds``)."""
    mated, nonmated = scores.mated_searches(), scores.nonmated_searches()
    if thresholds is None:
        thresholds = np.unique(np.concatenate([mated, nonmated, [-1.0, 1.0]]))
    return DetCurve(thresholds, fpir(nonmated, thresholds), fnir(mated, thresholds))


def to_frame(scores: ScoreSet) -> pd.DataFrame:
    """The comparisons as a table (one row each)."""
    return pd.DataFrame([vars(c) for c in scores.comparisons])
