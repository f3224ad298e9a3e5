"""Plate text normalisation, formats and OCR-confusion correction."""

from __future__ import annotations

import pytest

from serve.plate_text import (
    CONFUSION_PAIRS,
    DEFAULT_PLATE_FORMATS,
    PROVINCE_ABBREVIATIONS,
    PROVINCE_WORDS,
    PlateFormat,
    PlateText,
    canonical_plate,
    correct_plate,
    normalise_plate,
    select_plate,
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


def _selected(text: str, max_corrections: int = 2) -> tuple[str, str | None]:
    result = select_plate(text, DEFAULT_PLATE_FORMATS, max_corrections)
    return result.text, result.format_name


def test_default_formats_are_the_four_pakistani_formats_longest_first() -> None:
    assert [(f.name, f.pattern) for f in DEFAULT_PLATE_FORMATS] == [
        ("pk-abc-1234", "[A-Z]{3}[0-9]{4}"),
        ("pk-abc-123", "[A-Z]{3}[0-9]{3}"),
        ("pk-ab-1234", "[A-Z]{2}[0-9]{4}"),
        ("pk-ab-123", "[A-Z]{2}[0-9]{3}"),
    ]


@pytest.mark.parametrize(
    ("read", "plate"),
    [
        ("SINDH ABC 123", "ABC123"),
        ("PUNJAB LEA-1234", "LEA1234"),
        ("ICT ISLAMABAD AB 1234", "AB1234"),
        ("ISLAMABAD AB-123", "AB123"),
        ("BALOCHISTAN QTA 456", "QTA456"),
        ("BALUCHISTAN QTA 456", "QTA456"),
        ("KHYBER PAKHTUNKHWA PSH 7788", "PSH7788"),
        ("GILGIT BALTISTAN GLT 12", None),
        ("AZAD JAMMU KASHMIR MR 4321", "MR4321"),
        ("ABC 123 SINDH", "ABC123"),  # header printed under the number
        ("LEA 1234 PAKISTAN", "LEA1234"),
    ],
)
def test_province_words_are_dropped(read: str, plate: str | None) -> None:
    text, name = _selected(read)
    assert (text if name else None) == plate


@pytest.mark.parametrize(
    ("read", "plate"),
    [
        ("5INDH ABC 123", "ABC123"),  # one OCR confusion
        ("SIND ABC 123", "ABC123"),  # one letter lost
        ("PUNJA8 LE 1234", "LE1234"),
        ("ISLAXABAD AB 1234", "AB1234"),
        ("BAL0CHISTN QTA 456", "QTA456"),  # two errors in a long word
        ("KHYBR PAKHTUNKWA PSH 7788", "PSH7788"),
    ],
)
def test_province_words_are_recognised_through_ocr_errors(read: str, plate: str) -> None:
    assert _selected(read) == (plate, _selected(plate)[1])


def test_province_word_run_into_the_number_is_dropped() -> None:
    assert _selected("SINDHABC123") == ("ABC123", "pk-abc-123")
    assert _selected("LEA1234PUNJAB") == ("LEA1234", "pk-abc-1234")


def test_short_region_marks_are_dropped_only_when_the_rest_fits() -> None:
    assert _selected("KPK AB 123") == ("AB123", "pk-ab-123")
    assert _selected("ICT ABC 1234") == ("ABC1234", "pk-abc-1234")
    assert _selected("AJK MR 4321") == ("MR4321", "pk-ab-1234")
    assert _selected("GB ABC 123") == ("ABC123", "pk-abc-123")
    # "GB" is also a registration series: kept when the plate needs it.
    assert _selected("GB 9388") == ("GB9388", "pk-ab-1234")
    assert set(PROVINCE_ABBREVIATIONS) >= {"ICT", "KPK", "GB", "AJK"}


def test_a_plate_read_never_matches_a_province_word() -> None:
    # Registration letters are two or three: never a province word, even fuzzily.
    assert all(len(word) >= 4 for word in PROVINCE_WORDS)
    assert _selected("SIN 123") == ("SIN123", "pk-abc-123")
    assert _selected("PUN 1234") == ("PUN1234", "pk-abc-1234")
    assert _selected("AZA 123") == ("AZA123", "pk-abc-123")  # AZAD is matched exactly only
    assert _selected("AZAD MR 4321") == ("MR4321", "pk-ab-1234")


@pytest.mark.parametrize(
    ("read", "plate", "cost"),
    [
        ("ABC-123", "ABC123", 0),
        ("ABC . 123 |", "ABC123", 0),  # separators and border marks that are not characters
        ("I ABC 1234", "ABC1234", 1),  # border read as a stray leading token
        ("ABC 1234 I", "ABC1234", 1),
        ("LABC1234", "ABC1234", 1),  # stray character run into the number
        ("SINDH AB 1234 I", "AB1234", 1),
        ("LL ABC 123", "ABC123", 2),
        ("SINDH I ABC 123", "ABC123", 1),
        ("MLB 8O3", "MLB803", 1),  # the confusion correction still applies
        ("SINDH MLB 8O3", "MLB803", 1),
    ],
)
def test_border_junk_and_separators_are_dropped(read: str, plate: str, cost: int) -> None:
    result = select_plate(read, DEFAULT_PLATE_FORMATS)
    assert (result.text, result.swaps) == (plate, cost)
    assert result.format_name is not None


def test_junk_beyond_the_budget_is_not_dropped() -> None:
    assert _selected("LL ABC 1234 II") == ("LLABC1234II", None)
    assert _selected("I ABC 1234", max_corrections=0) == ("IABC1234", None)
    assert _selected("MLB 8O3 I", max_corrections=1)[1] is None


def test_ab_123_and_ab_1234_are_told_apart_by_length() -> None:
    assert _selected("AB 1234") == ("AB1234", "pk-ab-1234")
    assert _selected("AB 123") == ("AB123", "pk-ab-123")
    assert _selected("ABC 1234") == ("ABC1234", "pk-abc-1234")  # not cut to ABC-123 or BC-1234
    assert _selected("ABC 123") == ("ABC123", "pk-abc-123")


def test_at_equal_cost_the_longer_fit_wins() -> None:
    # "1AB 123": swap 1 -> I (ABC-123) or drop the 1 (AB-123), one change each; the longer fit wins,
    # so a read is never cut down to the short AB-123 when a full-length reading exists.
    assert _selected("1AB 123") == ("IAB123", "pk-abc-123")
    assert _selected("AB1234 5") == ("ABI2345", "pk-abc-1234")


def test_selection_keeps_the_whole_normalised_read_as_raw_text() -> None:
    assert select_plate("SINDH abc-123", DEFAULT_PLATE_FORMATS) == PlateText(
        "ABC123", "SINDHABC123", "pk-abc-123", 0
    )


def test_selection_without_a_fit_returns_the_read_less_province_words() -> None:
    assert select_plate("SINDH HELLO WORLD", DEFAULT_PLATE_FORMATS) == PlateText(
        "HELLOWORLD", "SINDHHELLOWORLD", None, 0
    )
    assert select_plate("PUNJAB", DEFAULT_PLATE_FORMATS) == PlateText("", "PUNJAB", None, 0)
    assert select_plate("", DEFAULT_PLATE_FORMATS) == PlateText("", "", None, 0)
    assert select_plate("ABC 123", []) == PlateText("ABC123", "ABC123", None, 0)


def test_selection_follows_configured_formats() -> None:
    sample = (PlateFormat("ab-12345", "[A-Z]{2}[0-9]{5}"),)
    assert select_plate("NO 23456", sample).text == "NO23456"
    assert select_plate("SINDH NO 23456", sample).text == "NO23456"


def test_negative_correction_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="max_corrections"):
        select_plate("ABC123", DEFAULT_PLATE_FORMATS, max_corrections=-1)
