"""Turn pydantic validation errors into one-line PodsimErrors naming file, field and value."""

from __future__ import annotations

from pydantic import ValidationError

from podsim.errors import SpecError


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
    if isinstance(value, dict | list):
        value = None
    allowed = None
    ctx = err.get("ctx") or {}
    if "expected" in ctx:
        allowed = str(ctx["expected"])
        if kind in ("literal_error", "enum"):  # "Input should be X or Y": say it once
            msg = "not one of the allowed values"
    return SpecError(msg, file=file, field=loc or None, value=value, allowed=allowed)
