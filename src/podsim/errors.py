"""One exception family for podsim. Every message names where, which field, the value and what is allowed."""

from __future__ import annotations

import re


def _mentions(text: str, value: str) -> bool:
    """Whether ``text`` already shows ``value`` as a whole token ('10 million' does not show 0)."""
    return re.search(rf"(?<![\w.]){re.escape(value)}(?![\w.])", text) is not None


class PodsimError(Exception):
    """Base of every error podsim reports to a user (CLI exit code 2, one line, no traceback)."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        field: str | None = None,
        value: object = None,
        allowed: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(self.render())

    def render(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(str(self.file))
        if self.field:
            parts.append(f"field '{self.field}'")
        head = ": ".join(parts)
        body = self.message
        if self.value is not None and not _mentions(body, repr(self.value)):
            body += f" (got {self.value!r})"
        if self.allowed:
            body += f"; allowed: {self.allowed}"
        return f"{head}: {body}" if head else body

    def with_file(self, file: str) -> PodsimError:
        """Return the same error, attributed to a file (keeps the subclass)."""
        if not self.file:
            self.file = file
            self.args = (self.render(),)
        return self


class UnitError(PodsimError):
    """A quantity string could not be parsed, or has the wrong dimension."""


class SpecError(PodsimError):
    """An input spec (chip, system, model, job, case) is missing a field or has an invalid value."""


class CatalogError(PodsimError):
    """An id is not in the built-in catalog."""


class PlanError(PodsimError):
    """A parallel plan is impossible: group sizes do not divide, or it does not fit in memory."""


class Interrupted(PodsimError):
    """The user stopped a long command (Ctrl-C); the message says what was kept."""
