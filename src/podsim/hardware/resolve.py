"""Turn a user's system reference into a System: a catalog id, a YAML path, or ``id:N``.

``gb200-nvl72-cluster:9216`` is that system scaled to 9,216 chips; ``atlas-950-superpod:1024``
shrinks a SuperPoD to 1,024 cards. The count may be written with thousands separators
(``9,216`` or ``9_216``). A reference without ``:N`` takes ``chips`` (e.g. ``--chips``) if given;
for one system, both with different counts is an error.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from podsim.errors import SpecError
from podsim.hardware.system import System, resolve_system

_COUNT_RE = re.compile(r"^(?P<name>.+):(?P<count>[0-9][0-9,_]*)$")


@dataclass(frozen=True)
class SystemRef:
    """A parsed reference: catalog id or file path, and an explicit chip count if one was given."""

    name: str
    chips: int | None = None

    @property
    def label(self) -> str:
        return f"{self.name}:{self.chips}" if self.chips is not None else self.name


def parse_system_ref(text: str) -> SystemRef:
    """Split ``id:N`` into (id, N); a plain id or path has no count."""
    if isinstance(text, os.PathLike):
        text = os.fspath(text)
    if not isinstance(text, str):
        raise SpecError(
            "a system reference is text",
            field="system",
            value=text,
            allowed="a catalog id, a YAML path or id:N (e.g. gb200-nvl72-cluster:9216)",
        )
    raw = text.strip()
    if not raw:
        raise SpecError(
            "empty system reference", field="system", allowed="a catalog id, a YAML path or id:N"
        )
    m = _COUNT_RE.match(raw)
    if m:
        count = int(m.group("count").replace(",", "").replace("_", ""))
        if count < 1:
            raise SpecError(
                "chip count must be at least 1",
                field="system",
                value=raw,
                allowed="id:N with N >= 1",
            )
        return SystemRef(m.group("name"), count)
    name, sep, tail = raw.rpartition(":")
    # 'id:abc' is a mistyped count; a path that merely contains ':' is left alone
    if sep and name and "/" not in tail and "." not in tail:
        raise SpecError(
            f"chip count '{tail}' is not a whole number",
            field="system",
            value=raw,
            allowed="a catalog id, a YAML path, or id:N (e.g. gb200-nvl72-cluster:9216)",
        )
    return SystemRef(raw)


def _count(ref: SystemRef, chips: int | None) -> int | None:
    """The chip count of a reference and a separate ``chips`` (``--chips``): either one, or
    both when they agree; two different counts are an error, never one silently dropped."""
    if ref.chips is not None and chips is not None and chips != ref.chips:
        raise SpecError(
            f"two chip counts: {ref.label} and --chips {chips}",
            field="chips",
            value=chips,
            allowed=f"one of them, or the same count ({ref.chips}) in both",
        )
    return ref.chips if ref.chips is not None else chips


def resolve(text: str, chips: int | None = None) -> System:
    """The System a reference names, at ``:N`` or ``chips`` chips (both: they must agree)."""
    ref = parse_system_ref(text)
    return resolve_system(ref.name, _count(ref, chips))


# the name other commands import (podsim train, serve, ...)
resolve_system_arg = resolve


def resolve_many(texts: list[str], chips: int | None = None) -> list[tuple[str, System]]:
    """(label, System) for each reference, labels as the user wrote them (``id`` or ``id:N``);
    ``chips`` sizes the references without ``:N`` (``compare a:72 b --chips 384``)."""
    out: list[tuple[str, System]] = []
    for t in texts:
        ref = parse_system_ref(t)
        n = ref.chips if ref.chips is not None else chips  # --chips: the default for the rest
        label = ref.label if ref.chips is not None else (f"{ref.name}:{n}" if n else ref.name)
        out.append((label, resolve_system(ref.name, n)))
    return out
