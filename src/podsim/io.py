"""Read YAML / JSON input files with one-line errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from podsim.errors import SpecError

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int, first_line: int) -> None:
        super().__init__(key)
        self.key = key
        self.line = line
        self.first_line = first_line


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error (PyYAML
    keeps the last one silently). Merge keys (``<<: *anchor``) still merge, and a key given
    explicitly still overrides a merged one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the base constructor reports it
                    continue
                line = key_node.start_mark.line + 1
                if first is not None:
                    raise _DuplicateKey(key, line, first)
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _json_object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key, 0, 0)
        out[key] = value
    return out


def load_yaml_text(text: str) -> Any:
    """Parse YAML safely, rejecting duplicate mapping keys (raises ``yaml.YAMLError`` on bad
    syntax; :func:`read_mapping_file` turns both into a :class:`SpecError` naming the file)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def read_mapping_file(path: str | Path, *, what: str = "file") -> Any:
    """Load YAML (or JSON, a subset of YAML) and return the parsed document."""
    p = Path(path)
    if not p.exists():
        raise SpecError(f"{what} not found", file=str(p))
    if p.is_dir():
        raise SpecError(f"{what} is a directory, expected a YAML or JSON file", file=str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise SpecError(
            f"cannot read {what}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at line"
            f" {line})",
            file=str(p),
            allowed="a UTF-8 encoded YAML or JSON file",
        ) from None
    except OSError as exc:
        raise SpecError(
            f"cannot read {what}: {exc.strerror or exc.__class__.__name__}", file=str(p)
        ) from None
    try:
        if p.suffix == ".json":
            return json.loads(text, object_pairs_hook=_json_object_without_duplicates)
        return load_yaml_text(text)
    except _DuplicateKey as exc:
        where = f" at line {exc.line} (first at line {exc.first_line})" if exc.line else ""
        raise SpecError(
            f"duplicate key {exc.key!r}{where}; each key may appear once in a mapping",
            file=str(p),
        ) from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"not valid JSON: {exc.msg} at line {exc.lineno}", file=str(p)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise SpecError(f"not valid YAML: {problem}{where}", file=str(p)) from None


def require_mapping(doc: Any, *, file: str, what: str) -> dict:
    if not isinstance(doc, dict):
        kind = type(doc).__name__ if doc is not None else "empty document"
        raise SpecError(f"a {what} must be a YAML mapping, got {kind}", file=file)
    return doc
