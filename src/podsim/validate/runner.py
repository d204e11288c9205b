"""Run validation cases (format: shared/validation/FORMAT.md) and summarise the errors."""

from __future__ import annotations

import copy
import fnmatch
import importlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from podsim.errors import PodsimError, SpecError
from podsim.io import read_mapping_file
from podsim.spec.base import READ_AS_PUBLISHED
from podsim.spec.case import ValidationCase
from podsim.spec.errors import spec_error

BUILTIN_CASES = (
    Path(__file__).resolve().parents[1] / "catalog" / "data" / "validation" / "cases.yaml"
)
# published runs gathered after the calibration was fitted, in the same format; the fits read
# only BUILTIN_CASES, so these measure the model on data it was not tuned on
OUT_OF_SAMPLE_DIR = BUILTIN_CASES.parent / "out_of_sample"


def out_of_sample_files() -> list[Path]:
    """The built-in out-of-sample case files, in name order."""
    return sorted(OUT_OF_SAMPLE_DIR.glob("*.yaml"))


@dataclass
class CaseResult:
    id: str
    kind: str
    metric: str
    measured: float | None
    predicted: float | None
    status: str  # ok | skipped | invalid
    reason: str | None = None
    trust: str | None = None
    chip: str | None = None  # the case's chip id (None for a case that could not be read)
    # a predicted case's caveat (e.g. the memory model disagrees with the run)
    note: str | None = None

    def as_dict(self) -> dict:
        """The result's fields and its error, as ``validate --json`` and DataFrames show them."""
        return {**asdict(self), "error": self.error}

    @property
    def error(self) -> float | None:
        if self.predicted is None or self.measured is None:
            return None
        return (self.predicted - self.measured) / self.measured


def load_cases(path: str | Path) -> list[tuple[str, ValidationCase | PodsimError]]:
    """Parse every case; a malformed case becomes its error (reported, never dropped)."""
    return load_files([path])


def load_files(paths: list[str | Path]) -> list[tuple[str, ValidationCase | PodsimError]]:
    """Every case of every file, in order. A case whose id was already used (in the same file
    or an earlier one) is reported as invalid: summaries would count it twice."""
    if isinstance(paths, str | Path):  # one file, not the characters of its name
        paths = [paths]
    if not isinstance(paths, list | tuple) or not all(isinstance(p, str | Path) for p in paths):
        raise SpecError(
            "validation files are given as a list of paths",
            field="files",
            value=repr(paths),
            allowed="a path or a list of paths (str or pathlib.Path)",
        )
    out: list[tuple[str, ValidationCase | PodsimError]] = []
    first: dict[str, str] = {}
    seen: dict[Path, str] = {}
    for path in paths:
        same = seen.get(Path(path).resolve())
        if same is not None:
            raise SpecError(
                "the same case file is given twice",
                field="files",
                value=str(path),
                allowed=f"each file once (already given as {same})",
            )
        seen[Path(path).resolve()] = str(path)
        doc = read_mapping_file(path, what="validation file")
        if not isinstance(doc, list):
            raise SpecError("a validation file must be a YAML list of cases", file=str(path))
        if not doc:
            raise SpecError(
                "a validation file holds no cases",
                file=str(path),
                allowed="a YAML list of at least one case (FORMAT.md)",
            )
        for i, raw in enumerate(doc):
            cid = str(raw.get("id", f"#{i}")) if isinstance(raw, dict) else f"#{i}"
            where = f"{path} case {cid}"
            if cid in first:
                out.append(
                    (
                        cid,
                        SpecError(
                            "duplicate case id",
                            file=where,
                            field="id",
                            value=cid,
                            allowed=f"an id not used before (first used in {first[cid]})",
                        ),
                    )
                )
                continue
            first[cid] = str(path)
            try:
                out.append((cid, parse_case(raw)))
            except ValidationError as exc:
                out.append((cid, spec_error(exc, file=where, what="case")))
    return out


# a case is a published record: ids and choices in any case, null optional fields absent
PUBLISHED = {READ_AS_PUBLISHED: True}


def parse_case(raw: object) -> ValidationCase:
    """One case of a validation file. Fields that FORMAT.md does not define (a newer or
    annotated copy of the format) are set aside and named in the case's result note rather than
    making a measured run unreadable; every other mistake (a missing field, a bad value, an
    unknown chip) is a ValidationError as before."""
    try:
        return ValidationCase.model_validate(raw, context=PUBLISHED)
    except ValidationError as exc:
        errors = exc.errors()
        if not isinstance(raw, dict) or any(e.get("type") != "extra_forbidden" for e in errors):
            raise
        paths = [tuple(e["loc"]) for e in errors]
        trimmed = copy.deepcopy(raw)
        for loc in paths:
            node = trimmed
            for key in loc[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                raise  # not a mapping field: report the case as it is
            node.pop(loc[-1], None)
    case = ValidationCase.model_validate(trimmed, context=PUBLISHED)
    case._ignored = tuple(".".join(str(k) for k in loc) for loc in paths)
    return case


def select_cases(
    loaded: list[tuple[str, ValidationCase | PodsimError]], patterns: list[str]
) -> list[tuple[str, ValidationCase | PodsimError]]:
    """The loaded cases whose id matches any of ``patterns`` anywhere in it (plain text or a
    shell-style glob such as ``mixtral*server``); none matching is an error that names them."""
    if not patterns:
        return loaded
    for p in patterns:
        if not p.strip():
            raise SpecError(
                "an empty pattern matches every case",
                field="case",
                value=p,
                allowed="a glob or a part of a case id",
            )
    chosen = [
        (cid, c) for cid, c in loaded if any(fnmatch.fnmatchcase(cid, f"*{p}*") for p in patterns)
    ]
    if not chosen:
        some = ", ".join(cid for cid, _ in loaded[:3])
        raise SpecError(
            "no case id matches",
            field="case",
            value=" ".join(patterns),
            allowed=f"a glob or a part of one of the {len(loaded)} case ids (e.g. {some})",
        )
    return chosen


def _predictor(kind: str, what: str = "predict"):
    """The model's ``predict_<kind>_case`` (or ``explain_<kind>_case``); None if not built."""
    mod = {"training": "podsim.training.predict", "serving": "podsim.serving.predict"}[kind]
    try:
        return getattr(importlib.import_module(mod), f"{what}_{kind}_case")
    except (ModuleNotFoundError, AttributeError):
        return None


def explain_case(case: ValidationCase) -> dict:
    """What the model computes for a case beyond the one predicted number (training: the step
    time breakdown and memory per chip; serving: the batch, latencies, the iteration's time
    breakdown and memory per chip), or ``{"error": reason}`` for a case it cannot evaluate."""
    explain = _predictor(case.kind, "explain")
    if explain is None:
        return {"error": f"the {case.kind} model is not available in this version"}
    try:
        return explain(case)
    except PodsimError as exc:
        return {"error": str(exc)}


def _chip_id(name: str) -> str:
    """The catalog's spelling of a case's chip (``H100-SXM`` -> ``h100-sxm``), so per-chip
    summaries group one chip once; an unknown chip keeps the case's (its prediction is skipped
    with the reason)."""
    from podsim import catalog

    try:
        return catalog.chip(name).id
    except PodsimError:
        return name


def run_case(case: ValidationCase) -> CaseResult:
    base = dict(
        id=case.id,
        kind=case.kind,
        metric=case.measured.metric,
        measured=case.measured.value,
        trust=case.trust,
        chip=_chip_id(case.system.chip),
    )
    pred = _predictor(case.kind)
    if pred is None:
        return CaseResult(
            **base,
            predicted=None,
            status="skipped",
            reason=f"the {case.kind} model is not available in this version",
        )
    note = None
    try:
        value = pred(case)
        if isinstance(value, tuple):  # (value, note)
            value, note = value
    except PodsimError as exc:
        return CaseResult(**base, predicted=None, status="skipped", reason=str(exc))
    if value is None or not np.isfinite(value) or value <= 0:
        return CaseResult(
            **base,
            predicted=None,
            status="skipped",
            reason="the model gave no finite prediction for this case",
        )
    if case.ignored_fields:
        ignored = f"ignored fields FORMAT.md does not define: {', '.join(case.ignored_fields)}"
        note = ignored if note is None else f"{note}; {ignored}"
    return CaseResult(**base, predicted=float(value), status="ok", note=note)


def run_file(path: str | Path, progress=None) -> list[CaseResult]:
    return run_files([path], progress=progress)


def run_files(paths: list[str | Path], progress=None) -> list[CaseResult]:
    """Predict every case of ``paths``; malformed or duplicate cases are results with status
    ``invalid`` and the reason."""
    return run_loaded(load_files(paths), progress=progress)


def run_loaded(
    loaded: list[tuple[str, ValidationCase | PodsimError]], progress=None
) -> list[CaseResult]:
    """Predict parsed cases (:func:`load_files`), in order."""
    results: list[CaseResult] = []
    for cid, case in loaded:
        if isinstance(case, PodsimError):
            results.append(
                CaseResult(
                    id=cid,
                    kind="?",
                    metric="?",
                    measured=None,
                    predicted=None,
                    status="invalid",
                    reason=str(case),
                )
            )
        else:
            results.append(run_case(case))
        if progress is not None:
            progress()
    return results


def results_frame(results: list[CaseResult]):
    """The results as a pandas DataFrame, one row per case (error = predicted / measured - 1)."""
    import pandas as pd

    return pd.DataFrame([r.as_dict() for r in results])


def summarise(results: list[CaseResult]) -> dict:
    """Median and max |error| overall and per kind; counts of evaluated / skipped / invalid."""

    def stats(rs: list[CaseResult]) -> dict:
        errs = np.array([abs(r.error) for r in rs if r.error is not None])
        return {
            "cases": len(rs),
            "evaluated": int(errs.size),
            "skipped": sum(r.status == "skipped" for r in rs),
            "invalid": sum(r.status == "invalid" for r in rs),
            "median_abs_error": float(np.median(errs)) if errs.size else None,
            "mean_abs_error": float(np.mean(errs)) if errs.size else None,
            "max_abs_error": float(np.max(errs)) if errs.size else None,
            "within_10pct": int(np.sum(errs <= 0.10)),
        }

    out = {"overall": stats(results)}
    for kind in sorted({r.kind for r in results}):
        out[kind] = stats([r for r in results if r.kind == kind])
    return out


def summarise_by_chip(results: list[CaseResult]) -> dict:
    """The same statistics per kind and chip ("training h100-sxm", ...), for readable cases."""
    groups: dict[str, list[CaseResult]] = {}
    for r in results:
        if r.chip is not None:
            groups.setdefault(f"{r.kind} {r.chip}", []).append(r)
    return {k: summarise(groups[k])["overall"] for k in sorted(groups)}
