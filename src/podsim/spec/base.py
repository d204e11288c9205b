"""The base of every input spec: rules that hold for every field of every file a user writes."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


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
    booleans, and pydantic would otherwise take ``layers: true`` as 1)."""

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
