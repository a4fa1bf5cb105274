"""The ID portrait's face template as bytes, so that any API process can verify a session.

Only the template is kept (one vector per model and the portrait's quality; no pixels), and it is
stored sealed (``storage.protection``) until the session is decided or expires.
"""

from __future__ import annotations

import json

from portraitmatch.matching.matcher import PortraitTemplate


def dump(portrait: PortraitTemplate) -> bytes:
    return json.dumps(portrait.to_dict(), separators=(",", ":")).encode()


def load(data: bytes) -> PortraitTemplate:
    return PortraitTemplate.from_dict(json.loads(data))


def notes(portrait: PortraitTemplate) -> tuple[str, ...]:
    return tuple(portrait.notes)
