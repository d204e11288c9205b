"""The results store of a sweep: one Parquet file per point, a DuckDB view over them.

``DIR/points/<key>.parquet`` holds the rows of one point (:mod:`podsim.sweep.evaluate`). A file
appears only when its point is complete -- it is written under a temporary name private to the
writing process and renamed, which is atomic on POSIX file systems -- so a sweep that is
interrupted (Ctrl-C, a lost node) keeps every point it finished, and the next run computes only
the rest. A point file that cannot be read (damaged, truncated) counts as missing and is
recomputed. ``DIR/results.duckdb`` is a DuckDB database whose view ``results`` reads the point
files, for SQL over the sweep (``podsim sweep query``); from Python, :func:`load_results` (a
pandas DataFrame) and :func:`query`.

Every row records the question it answers (kind, settings, objective, ``top``) and
``podsim_fingerprint``, the version of the model and catalog that answered it: a store that
several specs or podsim versions wrote holds all their answers, told apart by those columns;
``podsim sweep run --prune`` keeps only the points of the spec it runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from podsim.errors import SpecError

POINTS = "points"
DATABASE = "results.duckdb"
TMP_PREFIX = ".tmp-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's live process
        return True
    return True


def _readable(path: Path) -> bool:
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except Exception:  # noqa: BLE001 - any damage makes the point missing
        return False
    return True


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


class ResultStore:
    """A sweep's results directory."""

    def __init__(self, root: str | Path) -> None:
        if not isinstance(root, str | os.PathLike):
            raise SpecError(
                "the results location is a directory path",
                field="out",
                value=root,
                allowed="a directory path (str or pathlib.Path)",
            )
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise SpecError(
                "the results location is a file, not a directory",
                field="out",
                value=str(self.root),
            )
        self.points = self.root / POINTS

    def prepare(self) -> None:
        """Create the directory, or say clearly why it cannot be used (before any work)."""
        try:
            self.points.mkdir(parents=True, exist_ok=True)
            probe = self.points / f"{TMP_PREFIX}{os.getpid()}-probe"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise SpecError(
                f"cannot write sweep results there ({exc.strerror or exc.__class__.__name__})",
                field="out",
                value=str(self.root),
                allowed="a writable directory (created if missing)",
            ) from None

    def files(self) -> list[Path]:
        """Complete point files, in key order."""
        if not self.points.is_dir():
            return []
        return sorted(p for p in self.points.glob("*.parquet") if not p.name.startswith(TMP_PREFIX))

    def done(self) -> set[str]:
        """Keys of the points already stored (complete, readable files only)."""
        return {p.stem for p in self.files() if _readable(p)}

    def clear_partial(self) -> int:
        """Remove what earlier runs left behind: temporary files of processes that are gone, and
        point files that cannot be read. Returns how many."""
        n = 0
        if not self.points.is_dir():
            return 0
        for p in self.points.glob(f"{TMP_PREFIX}*"):
            pid = p.name[len(TMP_PREFIX) :].split("-", 1)[0]
            if not pid.isdigit() or not _alive(int(pid)):
                p.unlink(missing_ok=True)
                n += 1
        for p in self.files():
            if not _readable(p):
                p.unlink(missing_ok=True)
                n += 1
        return n

    def write(self, key: str, rows: list[dict]) -> Path:
        """Store one point's rows atomically (replacing an older answer to the same key)."""
        self.points.mkdir(parents=True, exist_ok=True)
        final = self.points / f"{key}.parquet"
        tmp = self.points / f"{TMP_PREFIX}{os.getpid()}-{key}.parquet"
        frame = pd.DataFrame(rows)
        # mixed None/str axes (e.g. kv_precision) and None/float targets: one type per column
        for col in frame.columns:
            if frame[col].dtype == object:
                frame[col] = frame[col].map(lambda x: None if x is None else str(x))
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, final)
        return final

    def remove(self, keys: set[str]) -> None:
        for k in keys:
            (self.points / f"{k}.parquet").unlink(missing_ok=True)

    def load(self, keys: set[str] | None = None) -> pd.DataFrame:
        """Rows of the stored points (all, or those of ``keys``)."""
        files = [p for p in self.files() if keys is None or p.stem in keys]
        frames = []
        for p in files:
            try:
                frames.append(pd.read_parquet(p))
            except Exception:  # noqa: BLE001 - damaged since listed: counts as missing
                continue
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def view_sql(self) -> str:
        """SQL creating the view ``results`` over the point files (an explicit list: a
        directory name with glob characters is not a pattern)."""
        files = [p.resolve() for p in self.files() if _readable(p)]
        if not files:
            raise SpecError(
                "no sweep results here",
                field="out",
                value=str(self.root),
                allowed="a directory written by `podsim sweep run`",
            )
        return (
            "CREATE OR REPLACE VIEW results AS SELECT * FROM "
            f"read_parquet({_sql_list(files)}, union_by_name = true)"
        )

    def refresh_database(self) -> tuple[str | None, str | None]:
        """(Re)create ``results.duckdb`` with the view ``results``: (path, None), or (None, why
        not) -- the Parquet files are the store, the database is a convenience."""
        import duckdb

        db = self.root / DATABASE
        try:
            sql = self.view_sql()
            con = duckdb.connect(str(db))
            try:
                con.execute(sql)
            finally:
                con.close()
        except (duckdb.Error, SpecError) as exc:
            return None, str(exc).splitlines()[0]
        return str(db), None


def load_results(root: str | Path) -> pd.DataFrame:
    """Every stored row of the sweep in ``root`` as a DataFrame."""
    store = ResultStore(root)
    if not store.done():
        raise SpecError(
            "no sweep results here",
            field="out",
            value=str(root),
            allowed="a directory written by `podsim sweep run`",
        )
    return store.load()


def query(root: str | Path, sql: str) -> pd.DataFrame:
    """Run SQL over the sweep in ``root`` (its rows are the table ``results``) with DuckDB."""
    import duckdb

    if not isinstance(sql, str):
        raise SpecError(
            "the query is text",
            field="sql",
            value=sql,
            allowed="DuckDB SQL over the table 'results'",
        )
    if not sql.strip():
        raise SpecError("empty query", field="sql", allowed="DuckDB SQL over the table 'results'")
    store = ResultStore(root)
    view = store.view_sql()
    con = duckdb.connect()
    try:
        con.execute(view)
        try:
            res = con.execute(sql)
            frame = res.df() if res.description else pd.DataFrame()
        except duckdb.Error as exc:
            raise SpecError(
                f"the query failed: {str(exc).splitlines()[0]}",
                field="sql",
                value=sql,
                allowed="DuckDB SQL over the table 'results'",
            ) from None
        return frame
    finally:
        con.close()
