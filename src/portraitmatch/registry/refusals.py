"""Why the registry refuses a request. Every refusal is an ``InputError``: the caller can fix it.

    InputError
    ├── DocumentInvalidError        the ID document data is wrong (``code`` says which check failed)
    │   └── DocumentExpiredError    the document is past its expiry date
    ├── MobileNumberInvalidError    not a Chinese mobile number
    ├── NotFoundError               no such session, number, outlet, operator or key (as far as the
    │                               caller may know: another outlet's records are "not found" too)
    ├── SessionExpiredError         the session's challenge or its use window has run out
    ├── ConflictError               the request does not fit the current state
    │   ├── SessionStateError       capture already started, session not passed, already used
    │   ├── NumberUnavailableError  the number is assigned, cooling down or suspended
    │   └── DocumentLimitError      the document already holds the maximum of live numbers
    ├── ForbiddenError              the caller's role or outlet may not do this
    │   └── SessionMismatchError    the session verified another document, outlet or purpose
    └── LockedOutError              too many failed attempts; ``retry_after_s`` says how long to wait

The web adapter maps each class to one HTTP status; the ``code`` is the stable machine-readable part.
"""

from __future__ import annotations

from portraitmatch.errors import InputError


class DocumentInvalidError(InputError):
    code = "DOCUMENT_INVALID"


class DocumentExpiredError(DocumentInvalidError):
    code = "DOCUMENT_EXPIRED"


class MobileNumberInvalidError(InputError):
    code = "MOBILE_NUMBER_INVALID"


class NotFoundError(InputError):
    code = "NOT_FOUND"


class SessionExpiredError(InputError):
    code = "SESSION_EXPIRED"


class ConflictError(InputError):
    code = "CONFLICT"


class SessionStateError(ConflictError):
    code = "SESSION_STATE"


class NumberUnavailableError(ConflictError):
    code = "NUMBER_UNAVAILABLE"


class DocumentLimitError(ConflictError):
    code = "DOCUMENT_NUMBER_LIMIT"


class ForbiddenError(InputError):
    code = "FORBIDDEN"


class SessionMismatchError(ForbiddenError):
    code = "SESSION_MISMATCH"


class LockedOutError(InputError):
    code = "LOCKED_OUT"

    def __init__(self, message: str, *, retry_after_s: float, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s
