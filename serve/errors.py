"""The small exception tree every SafeCity layer raises from.

Each error carries a message meant for an operator: it names what is wrong and, where there is one,
the fix. The CLI prints ``str(error)`` on one line and exits non-zero.
"""

from __future__ import annotations


class SafeCityError(Exception):
    """Base of every error SafeCity raises on purpose."""


class ConfigError(SafeCityError):
    """A configuration file or value is invalid; the message names the field."""


class ModelError(SafeCityError):
    """A model file for a role cannot be used."""


class ModelMissingError(ModelError):
    """The model file for a role is not present."""


class ModelCorruptError(ModelError):
    """The model file for a role does not match its pinned checksum or does not load."""


class ImageDecodeError(SafeCityError):
    """Bytes or a file could not be decoded as an image."""


class EnrolmentError(SafeCityError):
    """A photo was refused for enrolment; nothing was stored."""


class NoFaceError(EnrolmentError):
    """No face was found in an enrolment photo."""


class MultipleFacesError(EnrolmentError):
    """Several faces were found and the caller did not pick one."""


class PoorQualityError(EnrolmentError):
    """The face is too small or too blurred to enrol."""


class NotFoundError(SafeCityError):
    """A subject, plate or other record does not exist."""


class StoreError(SafeCityError):
    """A durable store (watchlist, hotlist, audit log) cannot be read or written."""


class StreamError(SafeCityError):
    """A camera stream failed."""


class SourceConnectionError(StreamError):
    """A camera source could not be opened or dropped its connection."""


class EndOfStreamError(StreamError):
    """A finite source (a video file) has no more frames."""
