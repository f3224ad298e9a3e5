"""Letterboxing for camera actors: frames go to the detectors on their fixed canvas, never in full.

The geometry lives in :mod:`serve.letterbox`, next to the detectors that share it (``serve`` may not
import ``actors``); this module is where the camera layer takes it from.
"""

from __future__ import annotations

from serve.canvas import DEFAULT_CANVAS, PAD_VALUE, Canvas
from serve.letterbox import LetterboxTransform, letterbox

__all__ = ["DEFAULT_CANVAS", "PAD_VALUE", "Canvas", "LetterboxTransform", "letterbox"]
