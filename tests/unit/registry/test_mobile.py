from __future__ import annotations

import pytest

from portraitmatch.registry.mobile import parse_mobile_number
from portraitmatch.registry.refusals import MobileNumberInvalidError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 13800138000", "13800138000"),
        ("008619912345678", "19912345678"),
    ],
)
def test_accepted_forms(text: str, expected: str) -> None:
    assert parse_mobile_number(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "MOBILE_NUMBER_LENGTH"),
        ("1380013800", "MOBILE_NUMBER_LENGTH"),
        ("138001380001", "MOBILE_NUMBER_LENGTH"),
        ("12800138000", "MOBILE_NUMBER_PREFIX"),
        ("23800138000", "MOBILE_NUMBER_PREFIX"),
        ("1380013800a", "MOBILE_NUMBER_CHARACTERS"),
        ("１３８００１３８０００", "MOBILE_NUMBER_CHARACTERS"),
    ],
)
def test_refused_forms(text: str, code: str) -> None:
    with pytest.raises(MobileNumberInvalidError) as err:
        parse_mobile_number(text)
    assert err.value.code == code
