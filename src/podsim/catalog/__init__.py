"""The built-in catalog: chips, systems, models, calibration, claims. Package data, not code.

Figures in catalog files cite a source: a URL/paper, or a key of ``data/sources/*.yaml``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from podsim.errors import CatalogError, PodsimError, SpecError
from podsim.io import read_mapping_file, require_mapping
from podsim.spec.chip import ChipSpec
from podsim.spec.errors import spec_error
from podsim.spec.model import ModelSpec
from podsim.spec.system import SystemSpec

DATA = Path(__file__).parent / "data"


@cache
def sources() -> dict[str, str]:
    """Named sources: key -> URL or paper citation, merged from ``data/sources/*.yaml``."""
    out: dict[str, str] = {}
    for path in sorted((DATA / "sources").glob("*.yaml")):
        doc = require_mapping(read_mapping_file(path), file=str(path), what="sources file")
        for key, val in doc.items():
            if key in out and out[key] != val:
                raise SpecError(
                    f"source key '{key}' defined twice with different text", file=str(path)
                )
            out[key] = str(val)
    return out


def _resolve_sources(node: Any) -> Any:
    """Replace a figure's ``source: key`` by the citation the key names (unknown keys stay)."""
    if isinstance(node, dict):
        out = {k: _resolve_sources(v) for k, v in node.items()}
        src = out.get("source")
        if isinstance(src, str) and src in sources():
            out["source"] = sources()[src]
        return out
    if isinstance(node, list):
        return [_resolve_sources(v) for v in node]
    return node


def _parse(cls: type, doc: Any, *, file: str, what: str):
    doc = require_mapping(doc, file=file, what=what)
    try:
        return cls.model_validate(_resolve_sources(doc))
    except ValidationError as exc:
        raise spec_error(exc, file=file, what=what) from None


def load_chip_file(path: str | Path) -> ChipSpec:
    spec = _parse(ChipSpec, read_mapping_file(path, what="chip file"), file=str(path), what="chip")
    # the platform is read only when a validation case runs on the chip: name a missing one
    # now, not as an unknown system there (its file is not loaded here: it names this chip)
    plat = spec.platform
    if (
        plat is not None
        and not (DATA / "systems" / f"{plat}.yaml").exists()
        and not (plat.endswith((".yaml", ".yml", ".json")) and Path(plat).is_file())
    ):
        raise CatalogError(
            f"unknown platform system '{plat}'",
            file=str(path),
            field="platform",
            allowed="a catalog system id (" + ", ".join(system_ids()) + ") or a system file",
        )
    return spec


def load_system_file(path: str | Path) -> SystemSpec:
    spec = _parse(
        SystemSpec, read_mapping_file(path, what="system file"), file=str(path), what="system"
    )
    try:
        chip(spec.chip)
    except PodsimError as exc:
        raise exc.with_file(str(path)) from None
    return spec


def load_model_file(path: str | Path) -> ModelSpec:
    """A model YAML in podsim's format, or a Hugging Face ``config.json``."""
    p = Path(path)
    doc = read_mapping_file(p, what="model file")
    if (
        p.suffix == ".json"
        or (isinstance(doc, dict) and "num_hidden_layers" in doc)
        or (isinstance(doc, dict) and "model_type" in doc)
    ):
        from podsim.workload.hf_config import model_from_hf_config

        return model_from_hf_config(
            require_mapping(doc, file=str(p), what="config.json"), file=str(p)
        )
    return _parse(ModelSpec, doc, file=str(p), what="model")


def _ids(sub: str) -> list[str]:
    return sorted(f.stem for f in (DATA / sub).glob("*.yaml"))


def chip_ids() -> list[str]:
    return _ids("chips")


def system_ids() -> list[str]:
    return _ids("systems")


def model_ids() -> list[str]:
    return _ids("models")


def _unknown(kind: str, name: str, known: list[str]) -> CatalogError:
    if Path(name).is_file():  # a spec file whose name does not say it is one
        return CatalogError(
            f"'{name}' is a file, but {kind} files are read by their extension",
            field=kind,
            allowed=f"a {kind} file named *.yaml, *.yml or *.json, or a catalog id",
        )
    return CatalogError(f"unknown {kind} id '{name}'", field=kind, allowed=", ".join(known))


def clear_cache() -> None:
    """Forget the files read so far (chips, systems, models), so they are read afresh."""
    for fn in (_chip, _system, _model):
        fn.cache_clear()


def _text(kind: str, name: object) -> str:
    """A catalog id or file path as text (a ``pathlib.Path`` is read as its path)."""
    if isinstance(name, Path):
        return str(name)
    if not isinstance(name, str) or not name.strip():
        raise CatalogError(
            f"a {kind} is named by a catalog id or a file path",
            field=kind,
            value=name,
            allowed=f"a {kind} id such as {_ids(kind + 's')[0]!r}, or a YAML path",
        )
    return name


def chip(name: str | Path) -> ChipSpec:
    """A catalog chip by id, or a chip YAML file by path."""
    return _chip(_text("chip", name))


def system(name: str | Path) -> SystemSpec:
    """A catalog system by id, or a system YAML file by path."""
    return _system(_text("system", name))


def model(name: str | Path) -> ModelSpec:
    """A catalog model by id, or a model YAML / Hugging Face config.json by path."""
    return _model(_text("model", name))


def _entry(sub: str, name: str) -> Path:
    """The catalog file of id ``name`` in ``sub``; ids are lowercase, so ``H100-SXM`` finds
    ``h100-sxm`` (a case-only difference names one entry, never a guess between two)."""
    path = DATA / sub / f"{name}.yaml"
    if not path.exists() and name.lower() in _ids(sub):
        path = DATA / sub / f"{name.lower()}.yaml"
    return path


@cache
def _chip(name: str) -> ChipSpec:
    if name.endswith((".yaml", ".yml", ".json")):
        return load_chip_file(name)
    path = _entry("chips", name)
    if not path.exists():
        raise _unknown("chip", name, chip_ids())
    return load_chip_file(path)


@cache
def _system(name: str) -> SystemSpec:
    if name.endswith((".yaml", ".yml", ".json")):
        return load_system_file(name)
    path = _entry("systems", name)
    if not path.exists():
        raise _unknown("system", name, system_ids())
    return load_system_file(path)


@cache
def _model(name: str) -> ModelSpec:
    if name.endswith((".yaml", ".yml", ".json")):
        return load_model_file(name)
    path = _entry("models", name)
    if not path.exists():
        raise _unknown("model", name, model_ids())
    return load_model_file(path)


def data_file(name: str) -> Any:
    """Parsed content of a top-level catalog data file (calibration.yaml, claims.yaml, ...)."""
    path = DATA / name
    if not path.exists():
        raise SpecError("catalog data file missing", file=str(path))
    return read_mapping_file(path)
