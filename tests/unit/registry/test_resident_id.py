from __future__ import annotations

from datetime import date

import pytest

from portraitmatch.registry.refusals import DocumentInvalidError
from portraitmatch.registry.resident_id import check_character, parse_resident_id

TODAY = date(2026, 11, 22)


def test_standard_example_number_is_valid_and_normalised() -> None:
    # The worked example of GB 11643-1999 (Beijing Chaoyang, born 1949-12-31, check character X).
    parsed = parse_resident_id(" 11010519491231002x ", today=TODAY)
    assert parsed.number == "11010519491231002X"
    assert parsed.region_code == "110105"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.is_male is False  # sequence 002 is even


def test_check_character_follows_mod_11_2() -> None:
    assert check_character("11010519491231002") == "X"
    assert check_character("44052418800101001") == "4"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("1101051949123100", "ID_NUMBER_LENGTH"),
        ("110105194912310021X", "ID_NUMBER_LENGTH"),
        ("11010519491231002A", "ID_NUMBER_CHARACTERS"),
        ("1101051949123100X2", "ID_NUMBER_CHARACTERS"),
        ("１１０１０５１９４９１２３１００２X", "ID_NUMBER_CHARACTERS"),  # full-width digits
        ("99010519491231002X", "ID_NUMBER_REGION"),
        ("110105194902300021", "ID_NUMBER_BIRTH_DATE"),  # 30 February
        ("110105203001010011", "ID_NUMBER_BIRTH_DATE"),  # born in the future
        ("110105189912310011", "ID_NUMBER_BIRTH_DATE"),  # before 1900
        ("110105194912310021", "ID_NUMBER_CHECKSUM"),
    ],
)
def test_each_fault_has_its_own_code(number: str, code: str) -> None:
    with pytest.raises(DocumentInvalidError) as err:
        parse_resident_id(number, today=TODAY)
    assert err.value.code == code
    assert err.value.message


def test_a_single_mistyped_digit_is_caught() -> None:
    good = "11010519491231002X"
    for i in range(17):
        for d in "0123456789":
            if d == good[i]:
                continue
            typo = good[:i] + d + good[i + 1 :]
            try:
                parse_resident_id(typo, today=TODAY)
            except DocumentInvalidError:
                continue
            pytest.fail(f"typo {typo} passed")
