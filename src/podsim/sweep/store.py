"""The results store of a sweep: one Parquet file per point, a DuckDB view over them.

``DIR/points/<key>.parquet`` holds the rows of one point (:mod:`podsim.sweep.evaluate`). A file
appears only when its point is complete -- it is written under a temporary name and renamed,
which is atomic on POSIX file systems -- so a sweep that is interrupted (Ctrl-C, a lost node)
keeps every point it finished, and the next run computes only the rest. ``DIR/results.duckdb``
is a DuckDB database whose view ``results`` reads every point file, for SQL over the sweep::

    duckdb DIR/results.duckdb "select model, system, tokens_per_s_per_chip from results"

or from Python, :func:`load_results` (a pandas DataFrame) and :func:`query`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from podsim.errors import SpecError

POINTS = "points"
DATABASE = "results.duckdb"
TMP_PREFIX = ".tmp-"


class ResultStore:
    """A sweep's results directory (created on first use)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise SpecError(
                "the results location is a file, not a directory", field="out", value=str(self.root)
            )
        self.points = self.root / POINTS

    def done(self) -> set[str]:
        """Keys of the points already stored (complete files only)."""
        if not self.points.is_dir():
            return set()
        return {p.stem for p in self.points.glob("*.parquet") if not p.name.startswith(TMP_PREFIX)}

    def clear_partial(self) -> int:
        """Remove files a previous, interrupted run left half-written; returns how many."""
        if not self.points.is_dir():
            return 0
        stale = list(self.points.glob(f"{TMP_PREFIX}*"))
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)

    def write(self, key: str, rows: list[dict]) -> Path:
        """Store one point's rows atomically."""
        self.points.mkdir(parents=True, exist_ok=True)
        final = self.points / f"{key}.parquet"
        tmp = self.points / f"{TMP_PREFIX}{key}.parquet"
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
        """Rows of the stored points (all, or those of ``keys``), in key order."""
        files = sorted(
            p
            for p in (self.points.glob("*.parquet") if self.points.is_dir() else [])
            if not p.name.startswith(TMP_PREFIX) and (keys is None or p.stem in keys)
        )
        if not files:
            return pd.DataFrame()
        return pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)

    def refresh_database(self) -> Path:
        """(Re)create ``results.duckdb`` with a view ``results`` over every point file."""
        import duckdb

        db = self.root / DATABASE
        con = duckdb.connect(str(db))
        try:
            con.execute(self.view_sql())
        finally:
            con.close()
        return db

    def view_sql(self) -> str:
        """SQL creating the view ``results`` over every point file (absolute path)."""
        glob = str((self.points / "*.parquet").resolve()).replace("'", "''")
        return (
            "CREATE OR REPLACE VIEW results AS SELECT * FROM "
            f"read_parquet('{glob}', union_by_name = true)"
        )


def load_results(root: str | Path) -> pd.DataFrame:
    """Every stored row of the sweep in ``root`` as a DataFrame."""
    store = ResultStore(root)
    if not store.points.is_dir():
        raise SpecError(
            "no sweep results here",
            field="out",
            value=str(root),
            allowed="a directory written by `podsim sweep`",
        )
    return store.load()


def query(root: str | Path, sql: str) -> pd.DataFrame:
    """Run SQL over the sweep in ``root`` (its rows are the table ``results``) with DuckDB."""
    import duckdb

    store = ResultStore(root)
    if not store.done():
        raise SpecError(
            "no sweep results here",
            field="out",
            value=str(root),
            allowed="a directory written by `podsim sweep`",
        )
    con = duckdb.connect()
    try:
        con.execute(store.view_sql())
        return con.execute(sql).df()
    finally:
        con.close()
