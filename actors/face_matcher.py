"""1:N face matching against a watchlist snapshot: best subject at or above its threshold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from actors.gallery import SCANN_MIN_SIZE, GalleryIndex, build_index
from actors.watchlist import WatchlistSnapshot
from serve.types import Face, SubjectMatch

# Neighbours looked at per query; several photos of one subject can fill the top ranks.
_TOP_K = 10


@dataclass(frozen=True)
class Candidate:
    """A subject ranked for a face search, whether or not it reaches its threshold."""

    subject_id: str
    label: str
    category: str
    similarity: float  # its best photo's
    threshold: float
    photo_id: str

    @property
    def reaches_threshold(self) -> bool:
        """Whether live matching would alert on this subject."""
        return self.similarity >= self.threshold


class WatchlistMatcher:
    """Matches face embeddings to watchlist subjects.

    A subject's score is its best photo's cosine similarity; a face matches the best-scoring subject
    whose score reaches that subject's own threshold, or ``default_threshold``.
    """

    def __init__(self, snapshot: WatchlistSnapshot, index: GalleryIndex, default_threshold: float) -> None:
        if not 0.0 < default_threshold < 1.0:
            raise ValueError(f"match threshold must be between 0 and 1, got {default_threshold}")
        self.snapshot = snapshot
        self.index = index
        self.default_threshold = default_threshold

    @classmethod
    def build(
        cls, snapshot: WatchlistSnapshot, default_threshold: float, *, scann_min_size: int = SCANN_MIN_SIZE
    ) -> WatchlistMatcher:
        """Index the snapshot (exact search for small watchlists, ScaNN for large ones)."""
        return cls(
            snapshot, build_index(snapshot.embeddings, scann_min_size=scann_min_size), default_threshold
        )

    def match(self, embeddings: NDArray[np.float32]) -> list[SubjectMatch | None]:
        """The match for each embedding (n, dim), or ``None`` where no subject reaches its threshold."""
        if len(embeddings) == 0:
            return []
        if self.index.size == 0:
            return [None] * len(embeddings)
        result = self.index.search(np.asarray(embeddings, dtype=np.float32), min(_TOP_K, self.index.size))
        return [
            self._best(indices, similarities)
            for indices, similarities in zip(result.indices, result.similarities, strict=True)
        ]

    def match_faces(self, faces: Sequence[Face]) -> list[SubjectMatch | None]:
        """The match for each embedded face."""
        if not faces:
            return []
        return self.match(np.stack([face.embedding for face in faces]))

    def candidates(self, embedding: NDArray[np.float32], k: int) -> list[Candidate]:
        """The ``k`` subjects most similar to one face (each by its best photo), most similar first.

        For a search by an operator: subjects below their thresholds are included and marked.
        """
        if self.index.size == 0 or k < 1:
            return []
        rows = min(self.index.size, max(_TOP_K, 4 * k))  # several photos of one subject share the top
        result = self.index.search(np.asarray(embedding, dtype=np.float32).reshape(1, -1), rows)
        best: dict[str, Candidate] = {}
        for row, similarity in zip(result.indices[0].tolist(), result.similarities[0].tolist(), strict=True):
            if row < 0:
                break
            subject = self.snapshot.subjects[self.snapshot.row_subject[row]]
            if subject.subject_id in best and best[subject.subject_id].similarity >= similarity:
                continue
            threshold = subject.threshold if subject.threshold is not None else self.default_threshold
            best[subject.subject_id] = Candidate(
                subject.subject_id,
                subject.label,
                subject.category,
                float(similarity),
                threshold,
                self.snapshot.row_photo[row],
            )
        return sorted(best.values(), key=lambda c: c.similarity, reverse=True)[:k]

    def _best(self, indices: NDArray[np.int64], similarities: NDArray[np.float32]) -> SubjectMatch | None:
        best: SubjectMatch | None = None
        for row, similarity in zip(indices.tolist(), similarities.tolist(), strict=True):
            if row < 0:
                break
            subject = self.snapshot.subjects[self.snapshot.row_subject[row]]
            threshold = subject.threshold if subject.threshold is not None else self.default_threshold
            if similarity >= threshold and (best is None or similarity > best.similarity):
                best = SubjectMatch(
                    subject_id=subject.subject_id,
                    label=subject.label,
                    category=subject.category,
                    similarity=float(similarity),
                    threshold=threshold,
                    photo_id=self.snapshot.row_photo[row],
                )
        return best
