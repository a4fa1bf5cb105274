"""ID numbers at rest: a keyed hash to find a record, a sealed value to read it back.

The hash is HMAC-SHA256 under the installation's index key (a :class:`~.data_keys.DataKey` of purpose
``ID_INDEX`` kept wrapped like every other key). Without that key the hash cannot be brute-forced
from the small space of valid ID numbers, which a plain SHA-256 could.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from portraitmatch.privacy.data_keys import DataKey, Purpose

_DOC_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def normalise_id_number(number: str) -> str:
    """Drop whitespace and case so that the same number always hashes the same."""
    return "".join(number.split()).upper()


def index_id_number(index_key: DataKey, *, document_type: str, number: str) -> str:
    """The look-up hash (64 hex characters) of one ID number of one document type."""
    if index_key.ref.purpose != Purpose.ID_INDEX:
        raise ValueError("ID numbers are hashed with the ID_INDEX key only")
    if not _DOC_TYPE.match(document_type):
        raise ValueError(f"document_type must match {_DOC_TYPE.pattern}")
    normal = normalise_id_number(number)
    if not normal:
        raise ValueError("empty ID number")
    message = f"pm-idx-v1|{document_type}|{normal}".encode()
    return hmac.new(index_key.secret, message, hashlib.sha256).hexdigest()
