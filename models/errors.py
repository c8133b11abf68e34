"""The project's one exception hierarchy.

A problem with no solution is not an error: a solver reports it as a schedule with status
``"infeasible"`` (see :data:`xpuplan.models.schedule.STATUSES`).

Every error a user can cause carries where it happened (file, field) and the value at fault, so the
command line can print it on one line and exit with code 2.
"""

from __future__ import annotations

from typing import Any


class XpuplanError(Exception):
    """Base class of every error xpuplan raises on purpose."""


class InvalidInput(XpuplanError, ValueError):
    """Input data that breaks a rule of the formats: names the file, the field and the value.

    Parameters
    ----------
    message
        What is wrong, e.g. ``"must be an integer >= 1"``.
    field
        A path into the document, e.g. ``"kernels[3].modes[0].duration"``.
    value
        The offending value; shown with ``repr`` unless it is the sentinel ``_NO_VALUE``.
    file
        The file the data came from, when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        file: str | None = None,
        show_value: bool = True,
    ) -> None:
        self.message = message
        self.field = field
        self.value = value
        self.file = file
        self.show_value = show_value
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.field:
            parts.append(self.field)
        where = ": ".join(parts)
        text = f"{where}: {self.message}" if where else self.message
        if self.show_value and self.field is not None:
            text += f" (got {_short_repr(self.value)})"
        # One line, whatever a file's keys or a library's message hold.
        return text.replace("\r", "\\r").replace("\n", "\\n")

    def in_file(self, file: str) -> InvalidInput:
        """The same error, attributed to ``file``."""
        return InvalidInput(
            self.message,
            field=self.field,
            value=self.value,
            file=file,
            show_value=self.show_value,
        )

    def under(self, prefix: str) -> InvalidInput:
        """The same error with its field nested under ``prefix`` (e.g. a scenario's task)."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return InvalidInput(
            self.message, field=field, value=self.value, file=self.file, show_value=self.show_value
        )


class Unsupported(XpuplanError):
    """A solver (or policy) cannot model part of an instance: it refuses rather than drop it."""


class InternalError(Exception):
    """A bug in xpuplan, never the user's input: e.g. a solver's schedule that the independent
    checker (:func:`xpuplan.models.check_schedule`) rejects.

    Deliberately not an :class:`XpuplanError`: the command line reports it on one line on stderr
    with its own exit code (3, see :mod:`xpuplan.planner.cli`), never as bad input (exit 2).
    """


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
