"""Plate text: normalisation, known plate formats and correction of the usual OCR confusions.

Pure functions, no I/O. Formats are regular expressions matched (``fullmatch``) against normalised
text: upper-case A-Z and 0-9 only, no separators.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

# Pairs OCR mixes up on plates, each a digit and the letter it resembles.
CONFUSION_PAIRS: tuple[tuple[str, str], ...] = (
    ("0", "O"),
    ("1", "I"),
    ("5", "S"),
    ("8", "B"),
    ("2", "Z"),
    ("6", "G"),
)

# Each confusable character mapped to its partner (both directions).
CONFUSABLE: Mapping[str, str] = {a: b for pair in CONFUSION_PAIRS for a, b in (pair, pair[::-1])}

# Each confusable character mapped to one representative of its pair (the digit).
_CANONICAL_TABLE = str.maketrans({letter: digit for digit, letter in CONFUSION_PAIRS})
_NOT_PLATE_CHAR = re.compile(r"[^A-Z0-9]")

# Bound on the confusable positions correction considers, so the search stays small for any regex.
MAX_CONFUSABLE_POSITIONS = 12


def normalise_plate(text: str) -> str:
    """Upper-case ``text`` and keep only A-Z and 0-9."""
    return _NOT_PLATE_CHAR.sub("", text.upper())


def canonical_plate(text: str) -> str:
    """Normalise ``text`` and map each confusable character to its pair's representative.

    Two texts that differ only by confusion swaps have the same canonical form.
    """
    return normalise_plate(text).translate(_CANONICAL_TABLE)


@dataclass(frozen=True)
class PlateFormat:
    """A named plate format: ``pattern`` must fullmatch the normalised plate text."""

    name: str
    pattern: str
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError(f"plate format with pattern {self.pattern!r} needs a non-empty name")
        try:
            compiled = re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"plate format {self.name!r}: invalid regex {self.pattern!r}: {exc}") from exc
        object.__setattr__(self, "regex", compiled)

    def fits(self, text: str) -> bool:
        """Whether normalised ``text`` is a plate of this format."""
        return self.regex.fullmatch(text) is not None


# Pakistani formats; "AB-123" is left out: it is rare, and a read that lost one digit of the common
# "AB-1234" would fit it and be reported as valid.
DEFAULT_PLATE_FORMATS: tuple[PlateFormat, ...] = (
    PlateFormat("pk-abc-123", "[A-Z]{3}[0-9]{3}"),
    PlateFormat("pk-ab-1234", "[A-Z]{2}[0-9]{4}"),
    PlateFormat("pk-abc-1234", "[A-Z]{3}[0-9]{4}"),
)


@dataclass(frozen=True)
class PlateText:
    """Corrected plate text.

    ``raw_text`` is the normalised input; ``format_name`` is the format ``text`` fits, or ``None``;
    ``swaps`` counts the changes made, a dropped end character counting as one.
    """

    text: str
    raw_text: str
    format_name: str | None
    swaps: int


def correct_plate(text: str, formats: Sequence[PlateFormat], max_swaps: int = 2) -> PlateText:
    """Fit normalised ``text`` to one of ``formats`` with the fewest OCR-confusion swaps.

    Text that already fits is returned unchanged. Otherwise up to ``max_swaps`` confusable characters
    are swapped (letter <-> digit); the fewest swaps win, ties going to the earlier format, then the
    leftmost swaps. Failing that, one spurious character at either end (a border or bolt read as a
    character) is dropped, which costs one from the same ``max_swaps`` budget. If nothing fits, the
    normalised text is returned with ``format_name`` ``None``.
    """
    if max_swaps < 0:
        raise ValueError(f"max_swaps must be >= 0, got {max_swaps}")
    raw = normalise_plate(text)
    for fmt in formats:
        if fmt.fits(raw):
            return PlateText(raw, raw, fmt.name, 0)

    for swaps in range(1, max_swaps + 1):
        for fmt in formats:
            for candidate in _swap_candidates(raw, swaps):
                if fmt.fits(candidate):
                    return PlateText(candidate, raw, fmt.name, swaps)

    if len(raw) > 1:
        trimmed = (raw[1:], raw[:-1])
        for cost in range(1, max_swaps + 1):
            for fmt in formats:
                for base in trimmed:
                    for candidate in _swap_candidates(base, cost - 1):
                        if fmt.fits(candidate):
                            return PlateText(candidate, raw, fmt.name, cost)

    return PlateText(raw, raw, None, 0)


def _swap_candidates(text: str, swaps: int) -> Iterator[str]:
    """Texts with exactly ``swaps`` confusable characters swapped, leftmost swaps first."""
    positions = [i for i, char in enumerate(text) if char in CONFUSABLE][:MAX_CONFUSABLE_POSITIONS]
    for chosen in itertools.combinations(positions, swaps):
        chars = list(text)
        for i in chosen:
            chars[i] = CONFUSABLE[chars[i]]
        yield "".join(chars)
