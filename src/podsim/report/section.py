"""Report building blocks: a section is a title, a one-line summary and a list of blocks.

Blocks are plain data (text, tables, notes, figures), rendered to Markdown and HTML by
:mod:`podsim.report.render`. Figures are PNG files written under the report folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Text:
    """A paragraph. `code` spans are kept; nothing else is interpreted."""

    text: str


@dataclass(frozen=True)
class Note:
    """A remark set apart from the text: assumptions, caveats, missing inputs."""

    text: str


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str | None = None
    # columns (by index) aligned left; the rest are right-aligned numbers
    left: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class Figure:
    """A PNG written under the report folder; ``path`` is relative to it (``figures/x.png``)."""

    path: str
    caption: str


Block = Text | Note | Table | Figure

STATUSES = ("ok", "unavailable", "error")


@dataclass
class Section:
    key: str
    title: str
    summary: str = ""
    blocks: list[Block] = field(default_factory=list)
    status: str = "ok"  # ok | unavailable (backing model missing) | error (it failed)

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]


@dataclass
class ReportContext:
    """What every section builder gets: the output folder, the size of the searches, a cache
    shared between sections (e.g. training results reused by the facility section)."""

    out_dir: Path
    quick: bool = False
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def figure_dir(self) -> Path:
        d = self.out_dir / "figures"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def figure_path(self, name: str) -> tuple[Path, str]:
        """(absolute path to write, path relative to the report folder)."""
        return self.figure_dir / name, f"figures/{name}"


def unavailable(key: str, title: str, what: str, detail: str | None = None) -> Section:
    """The section that stands in for one whose backing model is not in this version."""
    text = f"{what} is not available in this version of podsim"
    if detail:
        text += f" ({detail})"
    return Section(key, title, summary="not available in this version", status="unavailable").add(
        Note(text + "; this section will be filled in when it is.")
    )
