"""Turn a user's system reference into a System: a catalog id, a YAML path, or ``id:N``.

``gb200-nvl72-cluster:9216`` is that system scaled to 9,216 chips; ``atlas-950-superpod:1024``
shrinks a SuperPoD to 1,024 cards. The count may be written with thousands separators
(``9,216`` or ``9_216``). A reference without ``:N`` takes ``chips`` (e.g. ``--chips``) if given.
"""

from __future__ import annotations

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


def resolve(text: str, chips: int | None = None) -> System:
    """The System a reference names; an explicit ``:N`` wins over ``chips``."""
    ref = parse_system_ref(text)
    n = ref.chips if ref.chips is not None else chips
    return resolve_system(ref.name, n)


# the name other commands import (podsim train, serve, ...)
resolve_system_arg = resolve


def resolve_many(texts: list[str], chips: int | None = None) -> list[tuple[str, System]]:
    """(label, System) for each reference, labels as the user wrote them (``id`` or ``id:N``)."""
    out: list[tuple[str, System]] = []
    for t in texts:
        ref = parse_system_ref(t)
        n = ref.chips if ref.chips is not None else chips
        label = ref.label if ref.chips is not None else (f"{ref.name}:{n}" if n else ref.name)
        out.append((label, resolve_system(ref.name, n)))
    return out
