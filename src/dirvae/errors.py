"""User-facing errors.

Anything raised as a :class:`DirvaeError` is the user's to fix (a bad path, a
file of the wrong kind, a bad option).  The command line prints it as one line
and exits non-zero without a traceback; everything else is a bug and keeps its
traceback.
"""


class DirvaeError(Exception):
    """An error the user can fix; shown as one line, no traceback."""


class DataError(DirvaeError):
    """A data folder or file cannot be used (missing, empty, wrong kind)."""


class RunError(DirvaeError):
    """A run directory or its weights cannot be used."""
