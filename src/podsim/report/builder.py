"""Assemble the report: run each section builder, write HTML and/or Markdown into a folder.

A section whose backing model cannot be imported (not in this version) becomes a short
"not available in this version" note; a section that fails for another reason becomes a note
naming the error, so one broken section never stops the report.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from podsim.errors import PodsimError, SpecError
from podsim.report import render
from podsim.report.section import Note, ReportContext, Section, unavailable

# (key, module, title, what the section needs: named when it is missing)
SECTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("systems", "podsim.report.systems", "Systems", "the system summary"),
    ("claims", "podsim.report.claims", "Vendor claims check", "the claims checker"),
    ("roadmap", "podsim.report.roadmap", "Ascend roadmap", "the chip catalog"),
    ("training", "podsim.report.training", "Training", "the training model"),
    ("serving", "podsim.report.serving", "Serving", "the serving model"),
    ("plans", "podsim.report.plans", "Best plans (planner)", "the planner"),
    ("facility", "podsim.report.facility", "Facility and goodput", "the facility model"),
    ("validation", "podsim.report.validation", "Validation accuracy", "the validation runner"),
)
SECTION_KEYS = tuple(k for k, *_ in SECTIONS)
FORMATS = ("html", "md", "both")
TITLE = "podsim report: AI supernodes and superclusters"


@dataclass
class ReportResult:
    out_dir: Path
    sections: list[Section]
    html_path: Path | None = None
    md_path: Path | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def paths(self) -> list[Path]:
        return [p for p in (self.html_path, self.md_path) if p is not None]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("podsim")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return "unknown"


def build_section(key: str, ctx: ReportContext) -> Section:
    """One section; never raises for a missing model or a failing one."""
    spec = next((s for s in SECTIONS if s[0] == key), None)
    if spec is None:
        raise SpecError(
            "unknown report section", field="section", value=key, allowed=", ".join(SECTION_KEYS)
        )
    _, module, title, what = spec
    try:
        mod = importlib.import_module(module)
        import matplotlib

        from podsim.report.plots import RC

        # the same plot settings for every run, restored afterwards (no global state leaks)
        with matplotlib.rc_context(RC):
            section = mod.build(ctx)
    except ImportError as exc:
        missing = getattr(exc, "name", None)
        detail = f"module {missing} not found" if missing else str(exc)
        return unavailable(key, title, what[0].upper() + what[1:], detail)
    except PodsimError as exc:
        return Section(key, title, summary=f"could not be computed: {exc}", status="error").add(
            Note(f"This section could not be computed: {exc}")
        )
    except Exception as exc:  # noqa: BLE001 - a bug in one section must not stop the report
        msg = f"{type(exc).__name__}: {exc}"
        return Section(key, title, summary=f"failed ({msg})", status="error").add(
            Note(f"This section failed while building ({msg}); please report it.")
        )
    section.key = key
    return section


def check_args(fmt: str, sections: list[str] | tuple[str, ...] | None) -> list[str]:
    """The section keys to build; SpecError for an unknown format or section."""
    if fmt not in FORMATS:
        raise SpecError(
            "unknown report format", field="--format", value=fmt, allowed=", ".join(FORMATS)
        )
    keys = list(sections) if sections else list(SECTION_KEYS)
    for k in keys:
        if k not in SECTION_KEYS:
            raise SpecError(
                "unknown report section",
                field="--section",
                value=k,
                allowed=", ".join(SECTION_KEYS),
            )
    return keys


def report_dir(out_dir: str | Path) -> Path:
    """The report folder, checked before any section is built: an empty path (which would be
    the current directory) or an existing file is an error naming ``--out``."""
    if not str(out_dir).strip():
        raise SpecError(
            "empty report folder",
            field="--out",
            value=str(out_dir),
            allowed="a folder path (use . for the current directory)",
        )
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SpecError(
            "the report folder is a file",
            field="--out",
            value=str(out),
            allowed="a folder (created if missing)",
        )
    return out


def build_report(
    out_dir: str | Path,
    *,
    fmt: str = "both",
    quick: bool = False,
    sections: list[str] | tuple[str, ...] | None = None,
    progress: Callable[[str, Section | None], None] | None = None,
    today: _dt.date | None = None,
) -> ReportResult:
    """Build the sections and write ``report.html`` / ``report.md`` (figures in ``figures/``).

    ``progress(key, section)`` is called before each section (section None) and after it.
    """
    keys = check_args(fmt, sections)
    out = report_dir(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError(
            f"cannot create the report folder ({exc.strerror or type(exc).__name__})",
            field="--out",
            value=str(out),
            allowed="a writable folder (created if missing)",
        ) from None
    ctx = ReportContext(out_dir=out, quick=quick)
    t0 = time.perf_counter()
    built: list[Section] = []
    timings: dict[str, float] = {}
    for k in keys:
        if progress is not None:
            progress(k, None)
        ts = time.perf_counter()
        s = build_section(k, ctx)
        timings[k] = time.perf_counter() - ts
        built.append(s)
        if progress is not None:
            progress(k, s)
    day = (today or _dt.date.today()).isoformat()
    preface = [
        f"Generated by podsim {_version()} on {day}"
        + (" (quick mode: smaller plan searches)" if quick else "")
        + ". Every figure is computed from the built-in catalog (per-chip and per-link figures "
        "with sources) by podsim's models; vendor totals are recomputed, not copied.",
    ]
    result = ReportResult(out_dir=out, sections=built, timings=timings)
    try:
        if fmt in ("md", "both"):
            result.md_path = out / "report.md"
            result.md_path.write_text(render.markdown(TITLE, preface, built), encoding="utf-8")
        if fmt in ("html", "both"):
            result.html_path = out / "report.html"
            result.html_path.write_text(
                render.page_html(TITLE, preface, built, out, embed=True), encoding="utf-8"
            )
    except OSError as exc:
        raise SpecError(
            f"cannot write the report ({exc.strerror or type(exc).__name__})",
            file=exc.filename and str(exc.filename),
            field="--out",
            value=str(out),
            allowed="a writable folder",
        ) from None
    result.seconds = time.perf_counter() - t0
    return result
