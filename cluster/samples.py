"""The bundled sample media (assets/), the example configs, and the neutral demo lists built from them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# An installed wheel carries assets/ and examples/ here (setup.py); a checkout has them at its root.
BUNDLED = Path(__file__).resolve().parent / "bundled"
_ROOT = BUNDLED if BUNDLED.is_dir() else REPO_ROOT
ASSETS = _ROOT / "assets"
FACES = ASSETS / "faces"
PLATES = ASSETS / "plates"
EXAMPLES = _ROOT / "examples"
SAMPLE_CONFIG = EXAMPLES / "sample-city.yaml"


@dataclass(frozen=True)
class DemoSubject:
    """A watchlist subject of the demo: enrolled from one photo, seen in another."""

    subject_id: str
    label: str
    enrol_photo: Path
    probe_photo: Path


DEMO_SUBJECTS = (
    DemoSubject("subject-a", "Subject A", FACES / "person_a_1.jpg", FACES / "person_a_2.jpg"),
    DemoSubject("subject-b", "Subject B", FACES / "person_b_1.jpg", FACES / "person_b_2.jpg"),
)
DEMO_PLATES = {"MLB803": "demo: reported stolen", "NO23456": "demo: wanted in enquiry"}
UNLISTED_FACES = (FACES / "impostor_1.jpg", FACES / "impostor_2.jpg")
PLATE_SCENE = PLATES / "cgi_two_cars.jpg"
