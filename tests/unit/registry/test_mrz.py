from __future__ import annotations

from datetime import date

import pytest

from portraitmatch.registry.mrz import check_digit, parse_td3
from portraitmatch.registry.refusals import DocumentInvalidError
from tests.unit.registry.samples import td3

# The specimen passport of ICAO Doc 9303 part 4 (Utopia, Anna Maria Eriksson).
SPECIMEN = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"


def test_specimen_check_digits() -> None:
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    assert check_digit("ZE184226B<<<<<") == "1"


def test_specimen_parses() -> None:
    mrz = parse_td3(SPECIMEN, today=date(2010, 1, 1))
    assert mrz.issuing_state == "UTO"
    assert mrz.number == "L898902C3"
    assert mrz.surname == "ERIKSSON"
    assert mrz.given_names == "ANNA MARIA"
    assert mrz.birth_date == date(1974, 8, 12)
    assert mrz.expires_on == date(2012, 4, 15)
    assert mrz.sex == "F"


def test_lines_may_be_given_without_a_newline() -> None:
    assert parse_td3(SPECIMEN.replace("\n", ""), today=date(2010, 1, 1)).number == "L898902C3"


@pytest.mark.parametrize(
    ("position", "replacement"),
    [
        (44 + 3, "9"),  # document number
        (44 + 14, "5"),  # birth date
        (44 + 23, "5"),  # expiry date
        (44 + 30, "X"),  # personal number
        (44 + 43, "1"),  # composite digit itself
    ],
)
def test_tampering_breaks_a_check_digit(position: int, replacement: str) -> None:
    compact = SPECIMEN.replace("\n", "")
    tampered = compact[:position] + replacement + compact[position + 1 :]
    with pytest.raises(DocumentInvalidError) as err:
        parse_td3(tampered, today=date(2010, 1, 1))
    assert err.value.code == "MRZ_CHECK_DIGIT"


@pytest.mark.parametrize(
    "text",
    ["", "P<UTO", SPECIMEN.lower().replace("p<", "x<"), SPECIMEN.replace("P<UTO", "I<UTO"), SPECIMEN + "<<"],
)
def test_malformed_zones_are_refused(text: str) -> None:
    with pytest.raises(DocumentInvalidError) as err:
        parse_td3(text, today=date(2010, 1, 1))
    assert err.value.code in {"MRZ_FORMAT", "MRZ_CHECK_DIGIT"}


def test_birth_century_is_the_latest_not_in_the_future() -> None:
    mrz = parse_td3(td3(birth=date(2005, 1, 1), expiry=date(2030, 1, 1)), today=date(2026, 1, 1))
    assert mrz.birth_date == date(2005, 1, 1)
    assert mrz.expires_on == date(2030, 1, 1)
    mrz = parse_td3(td3(birth=date(1950, 6, 1)), today=date(2026, 1, 1))
    assert mrz.birth_date == date(1950, 6, 1)
    assert mrz.name == "ZHANG SAN"


def test_an_empty_personal_number_may_carry_zero_or_filler_as_its_check() -> None:
    zone = td3().replace("\n", "")
    assert zone[44 + 42] == "<"
    assert parse_td3(zone, today=date(2026, 1, 1)).number == "E12345678"
