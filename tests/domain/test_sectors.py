"""GB/T 4754-2017 sector codes: normalizing, naming and the hierarchy."""

from __future__ import annotations

import csv
import io
from collections import Counter
from importlib.resources import files

import pytest

from notifier.domain.sectors import (
    catalogue,
    catalogued_sector,
    is_under,
    normalize_sector,
    sector_name,
)
from notifier.errors import InputError


def shipped_table() -> list[dict[str, str]]:
    text = (files("notifier") / "data" / "gbt4754-2017.csv").read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_package_ships_twenty_sections_and_ninety_seven_divisions_each_under_a_section():
    rows = shipped_table()
    sections = [row["code"] for row in rows if row["level"] == "section"]
    divisions = [row for row in rows if row["level"] == "division"]
    assert sections == [chr(code) for code in range(ord("A"), ord("T") + 1)]
    assert len(divisions) == 97
    assert all(row["parent"] in sections for row in divisions)


def test_every_shipped_division_in_bare_digits_gets_its_own_section_letter():
    for row in shipped_table():
        if row["level"] == "division":
            assert normalize_sector(row["code"]) == row["parent"] + row["code"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("C", "C"),
        ("c", "C"),
        ("C36", "C36"),
        (" c36 ", "C36"),
        ("C367", "C367"),
        ("C3670", "C3670"),
        ("A01", "A01"),
        ("T97", "T97"),
    ],
)
def test_lettered_codes_are_trimmed_and_upper_cased(code, expected):
    assert normalize_sector(code) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [("36", "C36"), ("367", "C367"), ("3670", "C3670"), ("01", "A01"), (" 65 ", "I65")],
)
def test_bare_digits_get_the_section_of_their_division(code, expected):
    assert normalize_sector(code) == expected


def test_full_width_characters_typed_with_a_chinese_input_method_are_accepted():
    assert normalize_sector("Ｃ３６") == "C36"


@pytest.mark.parametrize("code", ["Z", "Z36", "U"])
def test_an_unknown_section_is_refused_with_the_reason(code):
    with pytest.raises(InputError, match="unknown section") as caught:
        normalize_sector(code)
    assert caught.value.field == "sectors"


@pytest.mark.parametrize("code", ["99", "C99", "00", "9901"])
def test_an_unknown_division_is_refused_with_the_reason(code):
    with pytest.raises(InputError, match="unknown division '(99|00)'") as caught:
        normalize_sector(code)
    assert caught.value.field == "sectors"


@pytest.mark.parametrize("code", ["A36", "A367", "B3670", "I01"])
def test_a_division_under_the_wrong_section_is_refused_naming_the_right_section(code):
    with pytest.raises(InputError, match="belongs to section") as caught:
        normalize_sector(code)
    assert caught.value.field == "sectors"


@pytest.mark.parametrize("code", ["C3699", "3699", "C368", "A0199"])
def test_a_group_or_class_not_in_the_catalogue_is_refused_naming_the_field(code):
    with pytest.raises(InputError, match="GB/T 4754-2017") as caught:
        catalogued_sector(code)
    assert caught.value.field == "sectors"


@pytest.mark.parametrize(("code", "expected"), [("c3670", "C3670"), ("36", "C36"), ("C", "C")])
def test_a_catalogued_code_is_accepted_in_its_canonical_form(code, expected):
    assert catalogued_sector(code) == expected


def test_the_shipped_catalogue_has_every_level_with_chinese_names():
    levels = Counter(row["level"] for row in shipped_table())
    assert levels == {"section": 20, "division": 97, "group": 473, "class": 1381}
    for row in shipped_table():
        assert row["name_zh"]
        assert normalize_sector(row["code"]) in {s.code for s in catalogue()}


def test_the_wrong_section_message_names_both_sections():
    with pytest.raises(InputError, match="division 36 belongs to section C, not A"):
        normalize_sector("A36")


@pytest.mark.parametrize("code", ["3", "C3", "C36701", "36701"])
def test_a_code_with_a_wrong_number_of_digits_is_refused(code):
    with pytest.raises(InputError, match="digit") as caught:
        normalize_sector(code)
    assert caught.value.field == "sectors"


@pytest.mark.parametrize("code", ["C3x", "3-6", "36C", "C 36", "CC36", "汽车"])
def test_a_code_with_other_characters_than_a_letter_and_digits_is_refused(code):
    with pytest.raises(InputError, match="section letter followed by digits"):
        normalize_sector(code)


@pytest.mark.parametrize("code", ["", "   "])
def test_an_empty_code_is_refused(code):
    with pytest.raises(InputError, match="empty"):
        normalize_sector(code)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("C", "制造业"),
        ("C36", "汽车制造业"),
        ("36", "汽车制造业"),
        ("C367", "汽车零部件及配件制造"),
        ("C3670", "汽车零部件及配件制造"),
        ("C3741", "飞机制造"),
        ("I65", "软件和信息技术服务业"),
    ],
)
def test_sector_name_gives_the_chinese_name_of_each_level(code, name):
    assert sector_name(code) == name


@pytest.mark.parametrize("code", ["Z", "99", "A36", "C3", ""])
def test_sector_name_of_an_invalid_code_is_none(code):
    assert sector_name(code) is None


@pytest.mark.parametrize(
    ("code", "prefix"),
    [
        ("C3670", "C36"),
        ("C3670", "C367"),
        ("C3670", "C"),
        ("C36", "C36"),
        ("3670", "C36"),
        ("c3670", "36"),
    ],
)
def test_a_code_is_under_its_section_division_group_and_itself(code, prefix):
    assert is_under(code, prefix)


@pytest.mark.parametrize(
    ("code", "prefix"),
    [("C37", "C36"), ("C36", "C367"), ("C", "C36"), ("A01", "C"), ("C3670", "C368")],
)
def test_a_code_is_not_under_a_sibling_a_deeper_code_or_another_section(code, prefix):
    assert not is_under(code, prefix)


def test_is_under_refuses_an_invalid_prefix():
    with pytest.raises(InputError):
        is_under("C36", "C3")
