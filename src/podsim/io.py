"""Read YAML / JSON input files with one-line errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from podsim.errors import SpecError


def read_mapping_file(path: str | Path, *, what: str = "file") -> Any:
    """Load YAML (or JSON, a subset of YAML) and return the parsed document."""
    p = Path(path)
    if not p.exists():
        raise SpecError(f"{what} not found", file=str(p))
    if p.is_dir():
        raise SpecError(f"{what} is a directory, expected a YAML or JSON file", file=str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read {what}: {exc.__class__.__name__}", file=str(p)) from None
    try:
        if p.suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
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
