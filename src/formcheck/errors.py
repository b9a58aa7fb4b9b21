"""formcheck's own error types.

Every error a user can cause (bad file, unknown exercise, invalid option) is a ``FormcheckError``:
the command line prints its message as one line and exits non-zero, never a traceback.
"""

from __future__ import annotations

from typing import Any


class FormcheckError(Exception):
    """Base class for errors that are reported to the user as one actionable line."""

    exit_code: int = 2


class InputError(FormcheckError):
    """The user's input (file, id, argument) cannot be used."""


class VideoError(InputError):
    """A video cannot be opened or decoded."""


class ModelError(FormcheckError):
    """A pose model is missing or unusable."""


class FieldError(FormcheckError, ValueError):
    """A named field has a value outside what is expected.

    The message names the field, the expected value and the actual value.
    """

    def __init__(self, field: str, expected: str, actual: Any, *, where: str | None = None) -> None:
        self.field = field
        self.expected = expected
        self.actual = actual
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}{field}: expected {expected}, got {actual!r}")


class OptionsError(FieldError):
    """An options dataclass was constructed with an invalid value."""


class SpecError(FieldError):
    """An exercise spec file is invalid (names the file, field, expected and actual value)."""

    def __init__(self, file: str, field: str, expected: str, actual: Any) -> None:
        self.file = file
        super().__init__(field, expected, actual, where=file)
