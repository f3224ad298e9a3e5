"""Plate text: normalisation, known plate formats, picking the plate out of a read, OCR-confusion fixes.

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


DEFAULT_PLATE_FORMATS: tuple[PlateFormat, ...] = (
    PlateFormat("pk-abc-1234", "[A-Z]{3}[0-9]{4}"),
    PlateFormat("pk-abc-123", "[A-Z]{3}[0-9]{3}"),
    PlateFormat("pk-ab-1234", "[A-Z]{2}[0-9]{4}"),
    PlateFormat("pk-ab-123", "[A-Z]{2}[0-9]{3}"),
)
"""Pakistan's common private, commercial and motorcycle plates: ABC-1234, ABC-123, AB-1234, AB-123.

AB-123 (older and motorcycle series) is included, although a read that lost one character of an
ABC-123 or AB-1234 plate fits it and looks valid. :func:`select_plate` limits that risk: at equal
cost the longest fit wins (so a full read is never cut down to AB-123), and AB-123 is listed last.
What it cannot catch, a read that simply missed a character, the vote over a track's frames does:
the other frames read the full plate.
"""


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


PROVINCE_WORDS: tuple[str, ...] = (
    "SINDH",
    "PUNJAB",
    "ISLAMABAD",
    "BALOCHISTAN",
    "BALUCHISTAN",
    "KHYBER",
    "PAKHTUNKHWA",
    "GILGIT",
    "BALTISTAN",
    "AZAD",
    "JAMMU",
    "KASHMIR",
    "PAKISTAN",
)
"""Words printed on Pakistani plates beside the registration: province and region names (and
PAKISTAN). A read token within one OCR error of one (two from nine letters; none for AZAD) is always
dropped: a registration's letter group has at most three letters, so it is never taken for one."""

PROVINCE_ABBREVIATIONS: tuple[str, ...] = ("ICT", "KPK", "KP", "GB", "AJK")
"""Short region marks (ICT, KPK, KP, GB, AJK). They could also be a registration's letters (a "GB"
series plate exists), so a token equal to one is dropped only when the rest of the read fits a format
better."""


def select_plate(text: str, formats: Sequence[PlateFormat], max_corrections: int = 2) -> PlateText:
    """The plate number in an OCR read of a whole plate (all its lines, in reading order).

    A plate carries more than its number: a province name in a header line ("SINDH", "ICT
    ISLAMABAD"), border marks read as characters, separators. The read is split into tokens at
    spaces and separators; province words are dropped (fuzzily: "5INDH", "PUNJA8"); short region
    marks (ICT, KPK, GB...) may be; then whole tokens may be dropped from either end and the rest is
    fitted with :func:`correct_plate`. Each dropped junk character and each correction costs one,
    within ``max_corrections``. The cheapest fit wins; at equal cost the longest, then the earlier
    format. If nothing fits, the read less its province words is returned with ``format_name`` None.
    """
    if max_corrections < 0:
        raise ValueError(f"max_corrections must be >= 0, got {max_corrections}")
    raw = normalise_plate(text)
    tokens = [t for t in (normalise_plate(part) for part in _SEPARATORS.split(text.upper())) if t]
    kept = [t for t in tokens if not _is_province_word(t)]
    best: tuple[int, int, int, PlateText] | None = None
    for choice in _optional_marks(kept):
        for dropped, core in _end_trims(choice, max_corrections):
            for base in _without_glued_words(core):
                for index, fmt in enumerate(formats):
                    fit = correct_plate(base, [fmt], max_corrections - dropped)
                    if fit.format_name is None:
                        continue
                    key = (dropped + fit.swaps, -len(fit.text), index)
                    if best is None or key < best[:3]:
                        best = (*key, PlateText(fit.text, raw, fit.format_name, dropped + fit.swaps))
    if best is not None:
        return best[3]
    rest = "".join(kept)
    return PlateText(rest, raw, None, 0)


_SEPARATORS = re.compile(r"[^A-Z0-9]+")


def _is_province_word(token: str) -> bool:
    """Whether ``token`` is a province word, allowing for OCR errors (see :data:`PROVINCE_WORDS`)."""
    if len(token) < 4:
        return False
    canonical = token.translate(_CANONICAL_TABLE)
    for word in PROVINCE_WORDS:
        allowed = _allowed_errors(word)
        if (
            abs(len(word) - len(token)) <= allowed
            and _edits(canonical, word.translate(_CANONICAL_TABLE)) <= allowed
        ):
            return True
    return False


def _allowed_errors(word: str) -> int:
    return 0 if len(word) < 5 else 1 if len(word) < 9 else 2


def _optional_marks(tokens: list[str]) -> Iterator[list[str]]:
    """``tokens`` as read, then without its short region marks (ICT, KPK, GB...)."""
    yield tokens
    without = [t for t in tokens if t not in PROVINCE_ABBREVIATIONS]
    if len(without) < len(tokens):
        yield without


def _end_trims(tokens: list[str], budget: int) -> Iterator[tuple[int, str]]:
    """(characters dropped, joined rest) for each way to drop whole tokens from the ends within ``budget``."""
    for start in range(len(tokens)):
        for end in range(len(tokens), start, -1):
            dropped = sum(len(t) for t in tokens[:start]) + sum(len(t) for t in tokens[end:])
            if dropped <= budget:
                yield dropped, "".join(tokens[start:end])


def _without_glued_words(text: str) -> Iterator[str]:
    """``text``, then ``text`` less a province word run into its start or end ("SINDHABC123")."""
    yield text
    canonical = text.translate(_CANONICAL_TABLE)
    for word in PROVINCE_WORDS:
        target = word.translate(_CANONICAL_TABLE)
        allowed = min(1, _allowed_errors(word))
        if len(text) > len(word):
            if _edits(canonical[: len(word)], target) <= allowed:
                yield text[len(word) :]
            if _edits(canonical[-len(word) :], target) <= allowed:
                yield text[: -len(word)]


def _edits(a: str, b: str) -> int:
    """Levenshtein distance between ``a`` and ``b``."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def _swap_candidates(text: str, swaps: int) -> Iterator[str]:
    """Texts with exactly ``swaps`` confusable characters swapped, leftmost swaps first."""
    positions = [i for i, char in enumerate(text) if char in CONFUSABLE][:MAX_CONFUSABLE_POSITIONS]
    for chosen in itertools.combinations(positions, swaps):
        chars = list(text)
        for i in chosen:
            chars[i] = CONFUSABLE[chars[i]]
        yield "".join(chars)
