"""The base of every input spec: rules that hold for every field of every file a user writes."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


def _literal_choices(annotation: Any) -> tuple[str, ...]:
    """The text values of a ``Literal[...]`` annotation (also inside ``X | None``)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return tuple(a for a in typing.get_args(annotation) if isinstance(a, str))
    if origin in (typing.Union, types.UnionType):
        return tuple(c for a in typing.get_args(annotation) for c in _literal_choices(a))
    return ()


# validation-context key: read a spec as a published record (see Spec)
READ_AS_PUBLISHED = "read_as_published"


def _as_published(info: ValidationInfo) -> bool:
    return bool(isinstance(info.context, dict) and info.context.get(READ_AS_PUBLISHED))


def _admits_none(annotation: Any) -> bool:
    if annotation is None or annotation is type(None) or annotation is Any:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_admits_none(a) for a in typing.get_args(annotation))
    return False


def _admits_bool(annotation: Any) -> bool:
    if annotation is bool or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_admits_bool(a) for a in typing.get_args(annotation))
    return False


class Spec(BaseModel):
    """Unknown fields are errors, values are frozen, NaN and infinity are not numbers a spec may
    hold, and a boolean is never read as a number (YAML reads yes/no/on/off/true/false as
    booleans, and pydantic would otherwise take ``layers: true`` as 1).

    Read with the validation context ``{READ_AS_PUBLISHED: True}`` (a validation case: a run
    written down by someone else, :func:`podsim.validate.runner.parse_case`), ``null`` for an
    optional field is its default and a fixed choice may be written in any case. Elsewhere
    (CLI options, Python calls) those stay errors: there the caller goes on with the values it
    passed, so the spec must not read them differently."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name is not None:
            field = cls.model_fields.get(info.field_name)
            if field is not None and not _admits_bool(field.annotation):
                raise ValueError(
                    f"expected a number or text, not the boolean {str(value).lower()}"
                    " (YAML reads true/false, yes/no and on/off as booleans)"
                )
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _null_is_absent(cls, value: Any, info: ValidationInfo) -> Any:
        """``null`` for an optional field that cannot hold None (``mtp_layers: null``, a
        config.json habit) means the field is absent: its default."""
        if value is not None or info.field_name is None or not _as_published(info):
            return value
        field = cls.model_fields.get(info.field_name)
        if field is None or field.is_required() or _admits_none(field.annotation):
            return value
        return field.get_default(call_default_factory=True)

    @field_validator("*", mode="before")
    @classmethod
    def _choice_case(cls, value: Any, info: ValidationInfo) -> Any:
        """A fixed choice written in another case (``FP8``, ``Full``, ``High``) is that choice:
        the allowed values are lowercase words, so the case difference names exactly one."""
        if not isinstance(value, str) or info.field_name is None or not _as_published(info):
            return value
        field = cls.model_fields.get(info.field_name)
        choices = _literal_choices(field.annotation) if field is not None else ()
        if choices and value not in choices:
            same = [c for c in choices if c.lower() == value.lower()]
            if len(same) == 1:
                return same[0]
        return value
