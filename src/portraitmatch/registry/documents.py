"""ID documents as the registry accepts them: validated, normalised, unexpired.

A document is identified by ``lookup_subject``: the string that is keyed-hashed for look-ups (the
per-ID limit, "numbers under my ID", failure limits). It names the type and, for passports, the
issuing state, because passport numbers are unique only within one issuing state.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from portraitmatch.registry.mrz import parse_td3
from portraitmatch.registry.refusals import DocumentExpiredError, DocumentInvalidError
from portraitmatch.registry.resident_id import parse_resident_id

MAX_NAME_CHARS = 64
# Separators inside names: space, middle dots used in transliterated minority names, hyphen, apostrophe.
_NAME_SEPARATORS = frozenset(" ·•‧・'-.")
# Resident ID cards of people aged 46 or more when issued are valid without an end date ("长期").
LONG_TERM_MIN_AGE_YEARS = 46


class DocumentType(StrEnum):
    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"


@dataclass(frozen=True, slots=True)
class IdDocument:
    type: DocumentType
    number: str
    holder_name: str
    birth_date: date
    expires_on: date | None  # None: a long-term resident ID card
    issuing_state: str = "CHN"

    @property
    def lookup_subject(self) -> str:
        if self.type is DocumentType.PASSPORT:
            return f"passport:{self.issuing_state}:{self.number}"
        return f"resident_id:{self.number}"


def normalise_name(text: str) -> str:
    """Validate a holder's name: letters (any script) and a few separators, at most 64 characters."""
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if not name:
        raise DocumentInvalidError("The holder's name is empty.", code="HOLDER_NAME_INVALID")
    if len(name) > MAX_NAME_CHARS:
        raise DocumentInvalidError(
            f"The holder's name is longer than {MAX_NAME_CHARS} characters.", code="HOLDER_NAME_INVALID"
        )
    bad = [c for c in name if not (unicodedata.category(c).startswith(("L", "M")) or c in _NAME_SEPARATORS)]
    if bad:
        raise DocumentInvalidError(
            f"The holder's name contains characters that are not letters: {''.join(dict.fromkeys(bad))!r}.",
            code="HOLDER_NAME_INVALID",
        )
    return name


def _name_words(text: str) -> list[str]:
    # Word order differs between documents and habits (surname first or last): compare as sorted words.
    return sorted("".join(c if "A" <= c <= "Z" else " " for c in text.upper()).split())


def _years_between(earlier: date, later: date) -> int:
    return later.year - earlier.year - ((later.month, later.day) < (earlier.month, earlier.day))


def _refuse_expired(expires_on: date, today: date) -> None:
    if expires_on < today:
        raise DocumentExpiredError(f"The document expired on {expires_on.isoformat()}.")


def validate_document(
    *,
    document_type: DocumentType,
    holder_name: str,
    today: date,
    number: str | None = None,
    expires_on: date | None = None,
    is_long_term: bool = False,
    mrz: str | None = None,
) -> IdDocument:
    """Check an ID document as typed by a clerk and return it normalised.

    Resident IDs need ``number`` and either ``expires_on`` or ``is_long_term``. Passports need the
    ``mrz``: number, dates and issuing state come from it and its check digits; a ``number`` or
    ``expires_on`` given as well must agree with it, and a Latin-script name must match its name.
    """
    name = normalise_name(holder_name)
    if document_type is DocumentType.RESIDENT_ID:
        if not number:
            raise DocumentInvalidError("A resident identity number is required.", code="ID_NUMBER_LENGTH")
        if mrz:
            raise DocumentInvalidError("A resident ID card has no passport MRZ.", code="MRZ_NOT_APPLICABLE")
        parsed = parse_resident_id(number, today=today)
        if is_long_term:
            if expires_on is not None:
                raise DocumentInvalidError(
                    "Give either an expiry date or long-term validity, not both.", code="EXPIRY_AMBIGUOUS"
                )
            if _years_between(parsed.birth_date, today) < LONG_TERM_MIN_AGE_YEARS:
                raise DocumentInvalidError(
                    f"Long-term ID cards are issued only to holders aged {LONG_TERM_MIN_AGE_YEARS} or more.",
                    code="LONG_TERM_IMPOSSIBLE",
                )
        elif expires_on is None:
            raise DocumentInvalidError(
                "The card's expiry date is required (or long-term validity).", code="EXPIRY_REQUIRED"
            )
        else:
            _refuse_expired(expires_on, today)
        return IdDocument(DocumentType.RESIDENT_ID, parsed.number, name, parsed.birth_date, expires_on)

    if is_long_term:
        raise DocumentInvalidError("Passports always have an expiry date.", code="LONG_TERM_IMPOSSIBLE")
    if not mrz:
        raise DocumentInvalidError("A passport needs its machine-readable zone (MRZ).", code="MRZ_REQUIRED")
    zone = parse_td3(mrz, today=today)
    if number is not None and number.strip().upper().replace(" ", "") != zone.number:
        raise DocumentInvalidError("The passport number does not match the MRZ.", code="MRZ_NUMBER_MISMATCH")
    if expires_on is not None and expires_on != zone.expires_on:
        raise DocumentInvalidError("The expiry date does not match the MRZ.", code="MRZ_EXPIRY_MISMATCH")
    if name.isascii() and _name_words(name) != _name_words(zone.name):
        # Names in other scripts (Chinese characters) cannot be compared with the MRZ transliteration.
        raise DocumentInvalidError(
            f"The holder's name does not match the MRZ name {zone.name!r}.", code="MRZ_NAME_MISMATCH"
        )
    _refuse_expired(zone.expires_on, today)
    return IdDocument(
        DocumentType.PASSPORT,
        zone.number,
        name,
        zone.birth_date,
        zone.expires_on,
        zone.issuing_state or "CHN",
    )


def normalise_document_number(document_type: DocumentType, number: str, *, today: date) -> str:
    """The normalised number of a document named again later (to match it with a session's document)."""
    if document_type is DocumentType.RESIDENT_ID:
        return parse_resident_id(number, today=today).number
    compact = "".join(number.split()).upper()
    if not (1 <= len(compact) <= 9 and compact.isascii() and compact.isalnum()):
        raise DocumentInvalidError("A passport number is 1 to 9 letters and digits.", code="PASSPORT_NUMBER")
    return compact
