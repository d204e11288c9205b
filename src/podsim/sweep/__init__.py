"""Sweeps: many planner searches (models x systems x workloads) into a resumable results store.

:func:`run_sweep` evaluates a :class:`SweepSpec`; the rows land in Parquet files with a DuckDB
view (:mod:`podsim.sweep.store`); :func:`load_results` reads them back as a DataFrame.
"""

from podsim.sweep.run import SweepRun, run_sweep
from podsim.sweep.spec import SweepSpec, load_sweep, parse_sweep
from podsim.sweep.store import ResultStore, load_results, query

__all__ = [
    "ResultStore",
    "SweepRun",
    "SweepSpec",
    "load_results",
    "load_sweep",
    "parse_sweep",
    "query",
    "run_sweep",
]
