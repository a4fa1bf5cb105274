"""Chinese mobile numbers: 11 digits, ``1`` then ``3``-``9`` (the mobile number segments)."""

from __future__ import annotations

import re

from portraitmatch.registry.refusals import MobileNumberInvalidError

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_COUNTRY_PREFIXES = ("+86", "0086")


def parse_mobile_number(text: str) -> str:
    """Normalise a mobile number to its 11 digits; spaces, hyphens and a +86 / 0086 prefix are allowed."""
    compact = re.sub(r"[\s-]", "", text)
    for prefix in _COUNTRY_PREFIXES:
        if compact.startswith(prefix):
            compact = compact[len(prefix) :]
            break
    if compact and not (compact.isascii() and compact.isdigit()):
        raise MobileNumberInvalidError(
            "A mobile number may contain only digits.", code="MOBILE_NUMBER_CHARACTERS"
        )
    if len(compact) != 11:
        raise MobileNumberInvalidError(
            f"A mobile number has 11 digits; this one has {len(compact)}.", code="MOBILE_NUMBER_LENGTH"
        )
    if not _MOBILE.match(compact):
        raise MobileNumberInvalidError("A mobile number starts with 13 to 19.", code="MOBILE_NUMBER_PREFIX")
    return compact
