"""Well-formed test documents: resident ID numbers and passport MRZs with correct check digits.

The check digits come from the functions under test; those functions are pinned separately to the
published worked examples (GB 11643's 11010519491231002X, ICAO 9303's specimen passport).
"""

from __future__ import annotations

from datetime import date

from portraitmatch.registry.mrz import check_digit
from portraitmatch.registry.resident_id import check_character


def resident_id(region: str = "110105", birth: date = date(1990, 3, 7), sequence: int = 123) -> str:
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def td3(
    *,
    number: str = "E12345678",
    state: str = "CHN",
    surname: str = "ZHANG",
    given: str = "SAN",
    birth: date = date(1990, 3, 7),
    sex: str = "M",
    expiry: date = date(2031, 5, 1),
) -> str:
    line1 = f"P<{state}{surname}<<{given.replace(' ', '<')}".ljust(44, "<")
    num = number.ljust(9, "<")
    born = f"{birth:%y%m%d}"
    ends = f"{expiry:%y%m%d}"
    optional = "<" * 14
    body = f"{num}{check_digit(num)}{state}{born}{check_digit(born)}{sex}{ends}{check_digit(ends)}{optional}<"
    composite = check_digit(body[0:10] + body[13:20] + body[21:43])
    return line1 + "\n" + body + composite
