"""The one error the analysis loaders raise: what is missing or malformed, and where."""

from __future__ import annotations

from serve.errors import SafeCityError


class AnalysisDataError(SafeCityError, ValueError):
    """A data directory, log or score set cannot be analysed; the message names the path and the problem."""
