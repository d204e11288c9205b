"""Run a sweep: evaluate the points the store lacks, in local processes or on Ray.

Points are independent, so they run in parallel: by default in local worker processes (one per
CPU this process may use, at most 8 and at most one per point), or as Ray tasks
(``backend="ray"``, the ``podsim[ray]`` extra) when one machine is not enough -- ``ray.init()``
joins the cluster that ``RAY_ADDRESS`` names, or starts a local one; the model and system files a
spec names must then be readable on every node. Each finished point is written to the store at
once, so an interrupted sweep loses at most the points in flight.
"""

from __future__ import annotations

import numbers
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from podsim.errors import SpecError
from podsim.spec.checks import check_type
from podsim.sweep.evaluate import evaluate_point
from podsim.sweep.points import Point, expand
from podsim.sweep.spec import SweepSpec
from podsim.sweep.store import ResultStore

BACKENDS = ("local", "ray")


@dataclass
class SweepRun:
    """What a run did, and the rows of the spec's points (reused and new)."""

    points: int
    reused: int
    computed: int
    no_plan: int
    pruned: int
    seconds: float
    workers: int
    backend: str
    out: str
    database: str | None
    database_problem: str | None
    results: pd.DataFrame = field(repr=False)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "results"}


def local_workers(pending: int) -> int:
    """One process per CPU this process may use, at most 8 and at most one per point."""
    from podsim.planner.serve import MAX_LOCAL_WORKERS, available_cpus

    return max(1, min(available_cpus(), MAX_LOCAL_WORKERS, pending))


def run_sweep(
    spec: SweepSpec,
    out: str | os.PathLike,
    *,
    workers: int | None = None,
    backend: str = "local",
    fresh: bool = False,
    prune: bool = False,
    progress: Callable[[Point], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> SweepRun:
    """Evaluate every point of ``spec`` that ``out`` does not hold yet (all with ``fresh``,
    each stored answer replaced only when its new one is complete); ``prune`` removes stored
    points the spec does not ask. ``on_start(points)`` is called once the spec is expanded,
    ``progress(point)`` as each point finishes (reused points included)."""
    if backend not in BACKENDS:
        raise SpecError(
            "unknown backend", field="backend", value=backend, allowed=", ".join(BACKENDS)
        )
    check_type(spec, SweepSpec, "spec", "podsim.sweep.spec.load_sweep(path or built-in name)")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1
    ):
        raise SpecError("must be a whole number, at least 1", field="workers", value=workers)
    if workers is not None and backend == "ray":
        raise SpecError(
            "workers sets local processes; Ray runs the points on its cluster's CPUs",
            field="workers",
            value=workers,
            allowed="no --workers with --backend ray",
        )
    t0 = time.perf_counter()
    points = expand(spec, file=spec.source)
    if on_start is not None:
        on_start(len(points))
    keys = {p.key for p in points}
    store = ResultStore(out)
    store.prepare()
    store.clear_partial()
    pruned = 0
    if prune:
        stale = store.done() - keys
        store.remove(stale)
        pruned = len(stale)
    done = set() if fresh else store.done()
    pending = [p for p in points if p.key not in done]
    for p in points:
        if p.key in done and progress is not None:
            progress(p)
    n_workers = 0
    if pending:
        if backend == "ray":
            n_workers = _run_ray(pending, store, progress)
        else:
            n_workers = min(workers or local_workers(len(pending)), len(pending))
            _run_local(pending, store, n_workers, progress)
    results = store.load(keys)
    if len(results):  # the spec's order of points, best plan first
        order = {p.key: i for i, p in enumerate(points)}
        results = (
            results.assign(_point=results["key"].map(order))
            .sort_values(["_point", "rank"], kind="stable")
            .drop(columns="_point")
            .reset_index(drop=True)
        )
    database, problem = store.refresh_database()
    no_plan = int((results["status"] != "ok").sum()) if len(results) else 0
    return SweepRun(
        points=len(points),
        reused=len(points) - len(pending),
        computed=len(pending),
        no_plan=no_plan,
        pruned=pruned,
        seconds=time.perf_counter() - t0,
        workers=n_workers,
        backend=backend,
        out=str(out),
        database=database,
        database_problem=problem,
        results=results,
    )


def _finish(store: ResultStore, point: Point, rows: list[dict], progress) -> None:
    store.write(point.key, rows)
    if progress is not None:
        progress(point)


def _run_local(pending: list[Point], store: ResultStore, workers: int, progress) -> None:
    if workers <= 1:
        for p in pending:
            _finish(store, p, evaluate_point(p), progress)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    try:
        ctx = mp.get_context("fork")
    except ValueError:  # pragma: no cover - no fork on this platform
        ctx = mp.get_context()
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
        futures = {ex.submit(evaluate_point, p): p for p in pending}
        try:
            for fut in as_completed(futures):
                _finish(store, futures[fut], fut.result(), progress)
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def _run_ray(pending: list[Point], store: ResultStore, progress) -> int:
    try:
        import ray
    except ImportError:
        raise SpecError(
            "the Ray backend needs Ray",
            field="backend",
            value="ray",
            allowed="local, or install the extra: pip install 'podsim[ray]'",
        ) from None
    ray.init(ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
    task = ray.remote(evaluate_point)
    refs = {task.remote(p): p for p in pending}
    while refs:
        ready, _ = ray.wait(list(refs), num_returns=1)
        for r in ready:
            _finish(store, refs.pop(r), ray.get(r), progress)
    return int(ray.cluster_resources().get("CPU", 1))
