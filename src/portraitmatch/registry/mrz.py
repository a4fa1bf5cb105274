"""Passport machine-readable zones (ICAO Doc 9303 part 4, TD3: two lines of 44 characters).

Line 1: ``P`` + type, issuing state, ``SURNAME<<GIVEN<NAMES``. Line 2: document number + check,
nationality, birth date YYMMDD + check, sex, expiry YYMMDD + check, optional data + check, and a
composite check over number, birth, expiry and optional data. Check digits weight 7, 3, 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from portraitmatch.registry.refusals import DocumentInvalidError

_LINE = re.compile(r"^[A-Z0-9<]{44}$")
_WEIGHTS = (7, 3, 1)


@dataclass(frozen=True, slots=True)
class PassportMrz:
    issuing_state: str
    surname: str
    given_names: str
    number: str
    nationality: str
    birth_date: date
    sex: str  # M, F or X
    expires_on: date

    @property
    def name(self) -> str:
        return f"{self.surname} {self.given_names}".strip()


def _value(ch: str) -> int:
    if ch.isdigit():
        return int(ch)
    if ch == "<":
        return 0
    return ord(ch) - ord("A") + 10


def check_digit(field: str) -> str:
    """The ICAO 9303 check digit of a field."""
    return str(sum(_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field)) % 10)


def _check(field: str, digit: str, what: str) -> None:
    if digit != check_digit(field):
        raise DocumentInvalidError(
            f"The MRZ check digit for the {what} does not match.", code="MRZ_CHECK_DIGIT"
        )


def _yymmdd(text: str, what: str) -> tuple[int, int, int]:
    if not text.isdigit():
        raise DocumentInvalidError(f"The MRZ {what} is not a date.", code="MRZ_DATE")
    return int(text[:2]), int(text[2:4]), int(text[4:6])


def _date(year: int, month: int, day: int, what: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DocumentInvalidError(f"The MRZ {what} is not a valid date.", code="MRZ_DATE") from None


def parse_td3(text: str, *, today: date) -> PassportMrz:
    """Parse and verify a passport MRZ (both lines, separated by a newline or written one after the other)."""
    compact = "".join(text.split()).upper()
    if len(compact) != 88:
        raise DocumentInvalidError(
            f"A passport MRZ is two lines of 44 characters; got {len(compact)} characters.", code="MRZ_FORMAT"
        )
    line1, line2 = compact[:44], compact[44:]
    if not (_LINE.match(line1) and _LINE.match(line2)):
        raise DocumentInvalidError("The MRZ may hold only A-Z, 0-9 and '<'.", code="MRZ_FORMAT")
    if line1[0] != "P":
        raise DocumentInvalidError("This MRZ is not a passport's (it must start with P).", code="MRZ_FORMAT")

    number_field, nationality = line2[0:9], line2[10:13]
    _check(number_field, line2[9], "document number")
    _check(line2[13:19], line2[19], "birth date")
    _check(line2[21:27], line2[27], "expiry date")
    optional = line2[28:42]
    # An empty optional field may carry '<' as its check digit (Doc 9303 part 4, 4.2.2.2).
    if not (set(optional) == {"<"} and line2[42] == "<"):
        _check(optional, line2[42], "personal number")
    _check(line2[0:10] + line2[13:20] + line2[21:43], line2[43], "whole zone (composite)")

    number = number_field.replace("<", "")
    if not number:
        raise DocumentInvalidError("The MRZ has no document number.", code="MRZ_FORMAT")
    sex = line2[20]
    if sex not in "MFX<":
        raise DocumentInvalidError("The MRZ sex field must be M, F or '<'.", code="MRZ_FORMAT")

    by, bm, bd = _yymmdd(line2[13:19], "birth date")
    # A birth date is in the past: the latest century that does not put it in the future.
    birth_year = 2000 + by if 2000 + by <= today.year else 1900 + by
    birth = _date(birth_year, bm, bd, "birth date")
    if birth > today:
        birth = _date(birth_year - 100, bm, bd, "birth date")
    ey, em, ed = _yymmdd(line2[21:27], "expiry date")
    # Passports are valid for at most ten years, so an expiry lies within 50 years of today.
    expiry_year = 2000 + ey if 2000 + ey < today.year + 50 else 1900 + ey
    expires_on = _date(expiry_year, em, ed, "expiry date")

    surname, _, given = line1[5:].partition("<<")
    return PassportMrz(
        issuing_state=line1[2:5].replace("<", ""),
        surname=surname.replace("<", " ").strip(),
        given_names=given.replace("<", " ").strip(),
        number=number,
        nationality=nationality.replace("<", ""),
        birth_date=birth,
        sex=sex.replace("<", "X"),
        expires_on=expires_on,
    )
