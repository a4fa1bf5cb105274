"""The exception tree. Exceptions mean bad input or broken setup; a failed check is a Decision.

PortraitMatchError
├── InputError                 bad input from the caller → CLI exit 2, HTTP 4xx
│   ├── UnreadableMediaError   not an image/video we can decode (corrupt, truncated, wrong type)
│   ├── MediaTooLargeError     bytes or pixel count above the configured limit
│   ├── NoFaceError            no usable face where one is required
│   ├── MultipleFacesError     several faces where exactly one is required
│   ├── UnusablePortraitError  a face was found but its quality is too poor to match
│   └── InvalidChallengeError  unknown action, empty challenge, repeated action
├── ConfigurationError         settings or calibration file invalid
└── ModelError                 a model file is missing or its checksum does not match
"""

from __future__ import annotations


class PortraitMatchError(Exception):
    """Root of every error this package raises on purpose."""

    code: str = "PORTRAITMATCH_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InputError(PortraitMatchError):
    code = "BAD_INPUT"


class UnreadableMediaError(InputError):
    code = "UNREADABLE_MEDIA"


class MediaTooLargeError(InputError):
    code = "MEDIA_TOO_LARGE"


class NoFaceError(InputError):
    code = "NO_FACE"


class MultipleFacesError(InputError):
    code = "MULTIPLE_FACES"


class UnusablePortraitError(InputError):
    code = "PORTRAIT_UNUSABLE"


class InvalidChallengeError(InputError):
    code = "INVALID_CHALLENGE"


class ConfigurationError(PortraitMatchError):
    code = "CONFIGURATION_ERROR"


class ModelError(PortraitMatchError):
    code = "MODEL_ERROR"
