"""Exception tree. Every message names the input, what was expected, what came, and the fix."""

from __future__ import annotations


class LandwatchError(Exception):
    """Base class of all landwatch errors."""


class InputError(LandwatchError, ValueError):
    """An input has the wrong shape, values, years or codes."""


class UnitsError(InputError):
    """An input is in the wrong units or scale (e.g. NDVI x 10000)."""


class CRSMismatchError(InputError):
    """Grids differ in CRS, resolution or alignment."""


class InsufficientDataError(InputError):
    """Too few valid observations (years, pixels) for the method."""


class DataSourceError(LandwatchError, OSError):
    """A file or data source is missing or unreadable."""


class NotFoundError(LandwatchError, LookupError):
    """A requested object does not exist."""


class PermissionDenied(LandwatchError, PermissionError):
    """The caller lacks the role needed."""
