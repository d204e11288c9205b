"""Turn pydantic validation errors into one-line PodsimErrors naming file, field and value."""

from __future__ import annotations

from pydantic import ValidationError

from podsim.errors import SpecError


class FieldError(ValueError):
    """A rule across fields broken inside a spec (a model validator): names the field it blames
    (relative to the spec that raised it), the value and what is allowed, so that the one-line
    error says them as a single field's error does."""

    def __init__(
        self, message: str, *, field: str, value: object = None, allowed: str | None = None
    ) -> None:
        self.message = message
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(message)


def spec_error(exc: ValidationError, *, file: str | None = None, what: str = "spec") -> SpecError:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()) if not str(p).startswith("function-"))
    msg = err.get("msg", "invalid")
    msg = msg.removeprefix("Value error, ")
    kind = err.get("type", "")
    value = err.get("input")
    if kind == "missing":
        return SpecError(f"{what} is missing a required field", file=file, field=loc)
    if kind == "extra_forbidden":
        return SpecError(f"unknown field in {what}", file=file, field=loc)
    ctx = err.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, FieldError):
        field = f"{loc}.{cause.field}" if loc else cause.field
        return SpecError(
            cause.message, file=file, field=field, value=cause.value, allowed=cause.allowed
        )
    if isinstance(value, dict | list):
        value = None
    allowed = None
    if "expected" in ctx:
        allowed = str(ctx["expected"])
        if kind in ("literal_error", "enum"):  # "Input should be X or Y": say it once
            msg = "not one of the allowed values"
    return SpecError(msg, file=file, field=loc or None, value=value, allowed=allowed)
