"""The Serve applications of the perception models: one name per role, for who deploys and who calls.

Apart from :mod:`serve.deployments` so callers (camera actors) name an application without importing
the models.
"""

from __future__ import annotations

from enum import StrEnum


class ModelApp(StrEnum):
    """A model application; its value is the deployment's name."""

    DETECTORS = "detectors"
    FACE_EMBEDDER = "face_embedder"
    PLATE_READER = "plate_reader"

    def app_name(self, prefix: str) -> str:
        """The Serve application's name under the configured prefix (``safecity-face-embedder``)."""
        return f"{prefix}-{self.value.replace('_', '-')}"
