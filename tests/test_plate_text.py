"""Plate text normalisation, formats and OCR-confusion correction."""

from __future__ import annotations

import pytest

from serve.plate_text import (
    CONFUSION_PAIRS,
    DEFAULT_PLATE_FORMATS,
    PlateFormat,
    PlateText,
    canonical_plate,
    correct_plate,
    normalise_plate,
)

ABC_123 = (PlateFormat("abc-123", "[A-Z]{3}[0-9]{3}"),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(" mlb-803 ", "MLB803"), ("ab.12(3)", "AB123"), ("LEA 1234\n", "LEA1234"), ("-- ", ""), ("äb_1", "B1")],
)
def test_normalise_keeps_only_upper_letters_and_digits(text: str, expected: str) -> None:
    assert normalise_plate(text) == expected


def test_confusion_pairs_are_digit_letter_and_disjoint() -> None:
    chars = [c for pair in CONFUSION_PAIRS for c in pair]
    assert len(chars) == len(set(chars)) == 12
    assert all(d.isdigit() and letter.isalpha() for d, letter in CONFUSION_PAIRS)


def test_canonical_plate_equates_confusion_swaps_only() -> None:
    assert canonical_plate("MLB8O3") == canonical_plate("mlb-803") == "ML8803"
    assert canonical_plate("MLB803") != canonical_plate("MLB804")


@pytest.mark.parametrize(("digit", "letter"), CONFUSION_PAIRS)
def test_digit_read_in_letter_position_becomes_letter(digit: str, letter: str) -> None:
    result = correct_plate(f"{digit}KM347", ABC_123)
    assert result == PlateText(f"{letter}KM347", f"{digit}KM347", "abc-123", 1)


@pytest.mark.parametrize(("digit", "letter"), CONFUSION_PAIRS)
def test_letter_read_in_digit_position_becomes_digit(digit: str, letter: str) -> None:
    result = correct_plate(f"KMX34{letter}", ABC_123)
    assert result == PlateText(f"KMX34{digit}", f"KMX34{letter}", "abc-123", 1)


def test_examples_from_the_field() -> None:
    assert correct_plate("MLB8O3", ABC_123) == PlateText("MLB803", "MLB8O3", "abc-123", 1)
    assert correct_plate("5AB-123", DEFAULT_PLATE_FORMATS).text == "SAB123"
    assert correct_plate("m1b 8o3", ABC_123) == PlateText("MIB803", "M1B8O3", "abc-123", 2)


def test_fitting_text_is_unchanged_even_with_confusable_characters() -> None:
    assert correct_plate("BB-1234", DEFAULT_PLATE_FORMATS) == PlateText("BB1234", "BB1234", "pk-ab-1234", 0)
    assert correct_plate("LEA 1234", DEFAULT_PLATE_FORMATS) == PlateText(
        "LEA1234", "LEA1234", "pk-abc-1234", 0
    )


def test_swaps_beyond_the_budget_are_not_made() -> None:
    assert correct_plate("M1B8O3", ABC_123, max_swaps=1) == PlateText("M1B8O3", "M1B8O3", None, 0)
    assert correct_plate("8I5O2Z", ABC_123) == PlateText("8I5O2Z", "8I5O2Z", None, 0)
    assert correct_plate("MLB8O3", ABC_123, max_swaps=0).format_name is None


def test_fewest_swaps_beat_format_order() -> None:
    # "A81234" is one swap from AB-1234 but two (8->B, 1->I) from ABC-123, which is listed first.
    assert correct_plate("A81234", DEFAULT_PLATE_FORMATS) == PlateText("AB1234", "A81234", "pk-ab-1234", 1)


def test_equal_swaps_go_to_the_first_format_then_the_leftmost_swap() -> None:
    letters, digits = PlateFormat("letters", "[A-Z]{2}"), PlateFormat("digits", "[0-9]{2}")
    assert correct_plate("O1", [letters, digits]).text == "OI"
    assert correct_plate("O1", [digits, letters]).text == "01"
    mixed = PlateFormat("mixed", "[A-Z][0-9]|[0-9][A-Z]")
    assert correct_plate("OI", [mixed]) == PlateText("0I", "OI", "mixed", 1)


def test_spurious_trailing_one_is_dropped() -> None:
    fmt = PlateFormat("ab-12345", "[A-Z]{2}[0-9]{5}")
    assert correct_plate("NO234561", [fmt]) == PlateText("NO23456", "NO234561", "ab-12345", 1)
    assert correct_plate("LEA-1234 1", DEFAULT_PLATE_FORMATS).text == "LEA1234"


def test_spurious_leading_i_is_dropped() -> None:
    assert correct_plate("IABC123", DEFAULT_PLATE_FORMATS) == PlateText("ABC123", "IABC123", "pk-abc-123", 1)


def test_drop_shares_the_swap_budget() -> None:
    fmt = PlateFormat("ab-12345", "[A-Z]{2}[0-9]{5}")
    assert correct_plate("NO23S561", [fmt]) == PlateText("NO23556", "NO23S561", "ab-12345", 2)
    assert correct_plate("NO23S561", [fmt], max_swaps=1).format_name is None


def test_nothing_fits_returns_normalised_text_without_format() -> None:
    assert correct_plate("hello world", DEFAULT_PLATE_FORMATS) == PlateText(
        "HELLOWORLD", "HELLOWORLD", None, 0
    )
    assert correct_plate("", DEFAULT_PLATE_FORMATS) == PlateText("", "", None, 0)
    assert correct_plate("ABC123", []) == PlateText("ABC123", "ABC123", None, 0)


def test_invalid_regex_is_refused_naming_the_format() -> None:
    with pytest.raises(ValueError, match="broken-format"):
        PlateFormat("broken-format", "[A-Z")


def test_negative_swap_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="max_swaps"):
        correct_plate("ABC123", ABC_123, max_swaps=-1)
