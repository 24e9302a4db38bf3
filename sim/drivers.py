"""Run or load simulations of any kind through the results store (THEORY.md §3, §4; issue items 3 and 6).

A job is ``(config, seed)`` with a config of any kind of ``sim.kinds`` (``SimConfig``, ``ZGConfig``).
``run_or_load`` serves one job from the store or runs it and stores the record; ``run_many`` does so for
a list of jobs, checks every config before anything runs (``Kind.make_plan``: device, memory), writes
each finished run at once (a sweep killed half-way resumes where it stopped) and, under ``torchrun``,
spreads the jobs over the ranks (``sim.distributed``). Both return records, the dicts the kinds' run
functions return.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sim.distributed import DistContext, all_gather_objects, broadcast_object
from sim.keys import check_seed
from sim.kinds import Kind, kind_of
from sim.store import Store

Record = dict[str, Any]
Job = tuple[Any, int]
OnRecord = Callable[[Record, bool], None]
PARALLEL = ("runs", "data")


def run_or_load(cfg: Any, seed: int, store: Store, force: bool = False, progress: bool = False) -> Record:
    """The stored record of ``(cfg, seed)`` if there is one (and not ``force``), else run it and store it.

    Parameters
    ----------
    cfg : SimConfig or ZGConfig
        The experiment (its kind is ``cfg.kind``).
    seed : int
        The run's seed (≥ 0).
    store : Store
        Where records are looked up and written.
    force : bool
        Run even if the store has the record (and replace it).
    progress : bool
        A progress bar on stderr while it runs.

    Returns
    -------
    dict
        The record (``sim.giant_step.run`` or ``sim.zhou_ge.run`` describe its fields).
    """
    return run_many([(cfg, seed)], store, force=force, progress=False, run_progress=progress)[0]


def _checked(jobs: Sequence[Job]) -> list[tuple[Kind, Any]]:
    """``(kind, plan)`` of every job; raises ``ValueError`` (one line) before anything runs."""
    out = []
    for cfg, seed in jobs:
        k = kind_of(cfg)
        check_seed(seed)
        out.append((k, k.make_plan(cfg)))
    return out


def run_many(jobs: Sequence[Job], store: Store | None, force: bool = False, progress: bool = True,
             on_record: OnRecord | None = None, dist: DistContext | None = None, parallel: str = "runs",
             run_progress: bool | None = None) -> list[Record]:
    """Run (or load) every ``(config, seed)`` job, each written to ``store`` as soon as it finishes.

    Parameters
    ----------
    jobs : sequence of (config, seed)
        Configs of any kind, with their seeds; all are checked (kind, seed, device, memory) before
        anything runs.
    store : Store or None
        The results store (``None`` only on ranks other than 0 of a distributed run).
    force : bool
        Run every job even if the store has it.
    progress : bool
        Progress bars: one over the jobs and, unless ``run_progress`` says otherwise, one inside each run.
    on_record : callable, optional
        ``on_record(record, cached)`` after each job, in job order within each round.
    dist : DistContext, optional
        Under ``torchrun`` (more than one rank; every rank calls ``run_many`` with the same jobs):
        ``parallel="runs"`` shards the jobs not yet stored across the ranks (``sim.distributed.shard_jobs``,
        each run single-process) and ``parallel="data"`` runs each job data-parallel on all ranks (kinds
        with ``data_parallel`` only). Rank 0 alone reads and writes ``store`` and calls ``on_record``.
    parallel : {"runs", "data"}
        See ``dist``.
    run_progress : bool, optional
        The progress bar inside each run (default: ``progress``).

    Returns
    -------
    list of dict
        The records in job order (on rank 0; another rank returns the records it computed with
        ``parallel="runs"``, all of them with ``"data"``).
    """
    if parallel not in PARALLEL:
        raise ValueError(f"parallel must be 'runs' or 'data'; got {parallel!r}")
    checked = _checked(jobs)
    inner = progress if run_progress is None else run_progress
    if dist is not None and dist.world_size > 1:
        return _run_many_distributed(jobs, checked, store, force, inner, on_record, dist, parallel)
    if store is None:
        raise ValueError("run_many needs a store")
    out: list[Record] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), unit="run", delay=2.0, dynamic_ncols=True, desc="runs")
    try:
        for (cfg, seed), (k, plan) in zip(jobs, checked):
            rec = None if force else store.get(cfg, seed, device_type=plan.device_type)
            cached = rec is not None
            if rec is None:
                rec = k.run(cfg, int(seed), progress=inner, plan=plan)
                store.put(rec)
            out.append(rec)
            if on_record is not None:
                on_record(rec, cached)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return out


def _run_many_distributed(jobs: Sequence[Job], checked: list[tuple[Kind, Any]], store: Store | None, force: bool,
                          progress: bool, on_record: OnRecord | None, dist: DistContext,
                          parallel: str) -> list[Record]:
    """``run_many`` over the ranks of ``dist`` (see there)."""
    root = dist.is_root
    if root and store is None:
        raise ValueError("rank 0 needs a store")
    if parallel == "data":
        serial = sorted({k.name for k, _ in checked if not k.data_parallel})
        if serial:
            raise ValueError(f"kind {serial[0]} does not run data-parallel; use --parallel runs")
    results: dict[int, Record] = {}
    if root and not force:
        assert store is not None
        for i, ((cfg, seed), (_, plan)) in enumerate(zip(jobs, checked)):
            rec = store.get(cfg, seed, device_type=plan.device_type)
            if rec is not None:
                results[i] = rec
                if on_record is not None:
                    on_record(rec, True)
    todo: list[int] = broadcast_object([i for i in range(len(jobs)) if i not in results] if root else None)
    show = progress and root
    if parallel == "data":
        for i in todo:
            (cfg, seed), (k, plan) = jobs[i], checked[i]
            rec = k.run(cfg, int(seed), progress=show, plan=plan, dist=dist)
            results[i] = rec
            if root:
                assert store is not None
                store.put(rec)
                if on_record is not None:
                    on_record(rec, False)
        return [results[i] for i in sorted(results)] if not root else [results[i] for i in range(len(jobs))]
    w = dist.world_size
    for first in range(0, len(todo), w):  # rounds: rank r runs todo[first + r], then rank 0 stores the round
        mine = first + dist.rank
        outcome: tuple[int, Record | None, str | None] | None = None
        if mine < len(todo):
            i = todo[mine]
            (cfg, seed), (k, plan) = jobs[i], checked[i]
            try:
                outcome = (i, k.run(cfg, int(seed), progress=show, plan=plan), None)
            except Exception as exc:  # noqa: BLE001 - reported by every rank below, after the others stored
                outcome = (i, None, f"{type(exc).__name__}: {' '.join(str(exc).split())}")
        gathered = all_gather_objects(outcome)
        errors = []
        for item in gathered:
            if item is None:
                continue
            i, rec, err = item
            if err is not None:
                cfg, seed = jobs[i]
                errors.append(f"job {i} ({cfg.kind}, d={cfg.d}, seed={seed}): {err}")
                continue
            assert rec is not None
            if root:
                assert store is not None
                store.put(rec)
                if on_record is not None:
                    on_record(rec, False)
                results[i] = rec
            elif i == (todo[mine] if mine < len(todo) else None):
                results[i] = rec
        if errors:
            raise RuntimeError("; ".join(errors))
    if root:
        return [results[i] for i in range(len(jobs))]
    return [results[i] for i in sorted(results)]


__all__ = ["PARALLEL", "run_many", "run_or_load"]
