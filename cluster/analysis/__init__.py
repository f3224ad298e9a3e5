"""Analysis for the people who tune SafeCity: the notebooks in ``notebooks/`` import this package.

Pure functions over what SafeCity writes (the Parquet alert log, the outbox's delivery receipts, the
officers' reviews, the job's camera counters, face score sets): loaders that name what is missing, and
the maths of threshold calibration and sizing. No Ray; pandas for tables, typed dataclasses for results.
"""

from __future__ import annotations

from cluster.analysis.errors import AnalysisDataError

__all__ = ["AnalysisDataError"]
