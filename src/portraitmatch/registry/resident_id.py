"""Chinese resident identity numbers (GB 11643-1999): 18 characters, the last a mod 11-2 check.

Layout: 6-digit administrative division code, 8-digit birth date (YYYYMMDD), 3-digit sequence
(odd for men, even for women) and one check character, ``0``-``9`` or ``X`` for ten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from portraitmatch.registry.refusals import DocumentInvalidError

# Weights are 2^(17-i) mod 11 for positions i = 0..16 (ISO 7064 MOD 11-2).
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)

# First two digits: provinces, autonomous regions and municipalities (GB/T 2260), 71 Taiwan,
# 81/82 Hong Kong and Macao residents, 83 Taiwan residents' residence permits.
_PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)
_EARLIEST_BIRTH = date(1900, 1, 1)


@dataclass(frozen=True, slots=True)
class ResidentIdNumber:
    number: str  # normalised: 18 characters, upper-case X
    region_code: str
    birth_date: date
    is_male: bool


def check_character(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def parse_resident_id(text: str, *, today: date) -> ResidentIdNumber:
    """Validate and normalise a resident identity number; raise ``DocumentInvalidError`` naming the fault."""
    number = text.strip().replace(" ", "").upper()
    if len(number) != 18:
        raise DocumentInvalidError(
            f"A resident identity number has 18 characters; this one has {len(number)}.",
            code="ID_NUMBER_LENGTH",
        )
    if (
        not number[:17].isascii()
        or not number[:17].isdigit()
        or not (number[17].isdigit() or number[17] == "X")
    ):
        raise DocumentInvalidError(
            "A resident identity number is 17 digits followed by a digit or X.", code="ID_NUMBER_CHARACTERS"
        )
    if int(number[:2]) not in _PROVINCE_CODES:
        raise DocumentInvalidError(
            f"The number starts with {number[:2]}, which is not a province code.", code="ID_NUMBER_REGION"
        )
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise DocumentInvalidError(
            f"Characters 7-14 ({number[6:14]}) are not a valid birth date.", code="ID_NUMBER_BIRTH_DATE"
        ) from None
    if birth < _EARLIEST_BIRTH or birth > today:
        raise DocumentInvalidError(
            f"The birth date {birth.isoformat()} in the number is impossible.", code="ID_NUMBER_BIRTH_DATE"
        )
    expected = check_character(number[:17])
    if number[17] != expected:
        raise DocumentInvalidError(
            "The check character does not match: the number was mistyped.", code="ID_NUMBER_CHECKSUM"
        )
    return ResidentIdNumber(
        number=number, region_code=number[:6], birth_date=birth, is_male=int(number[16]) % 2 == 1
    )
