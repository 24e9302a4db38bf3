"""Run or load simulations of any kind through the results store (THEORY.md §3, §4).

A run is a :class:`RunSpec` ``(config, seed)`` with a config of any kind of ``sim.kinds`` (``SimConfig``,
``ZGConfig``); the functions below call a list of them *jobs*. ``run_or_load`` serves one run from the store
or runs it and stores the record; ``run_many`` does so for a list of jobs, checks every job before anything
runs (``plan_jobs``: at most ``MAX_RUNS`` jobs, seeds a store can hold, ``Kind.plan``: device, memory against
the budget and the machine), reads the stored records of the jobs up front (a damaged one is named before any
compute), writes each finished run at once (a sweep killed half-way resumes where it stopped) and, under
``torchrun``, spreads the jobs over the ranks (``sim.distributed``): one strategy per ``parallel`` —
``"runs"`` shards the jobs over the ranks (:func:`_sharded`), ``"data"`` runs each job on all ranks
(:func:`_data_parallel`). Both return records (``sim.kinds.AnyRecord``), what the kinds' run functions return.

Failures. A run that *diverges* (``sim.exits.DIVERGENCES``) is not stored; with ``on_diverged`` the other jobs
still run. Any other exception from inside a run is a bug, not bad input: it is raised as
``sim.exits.RunFailed``. The exit statuses and one-line messages of the command lines are :mod:`sim.exits`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from sim.distributed import DistContext, all_gather_objects, broadcast_object
from sim.estimates import MAX_SECONDS, NOTE_SECONDS, check_seconds, eta_weight, note_estimate
from sim.exits import DIVERGENCES, RunFailed, RunsDiverged, one_line
from sim.kinds import AnyRecord, Kind, kind_of
from sim.store import DEFAULT_PATH, MAX_SEED, NonFiniteRecord, Store, StoreError, check_record
from theory.validate import Interval, Options, check_scalar

OnRecord = Callable[[AnyRecord, bool], None]
OnDiverged = Callable[[int, str], None]


class Parallel(StrEnum):
    """How the ranks of a distributed run share the jobs: each job on one rank, or each job on all ranks."""

    RUNS = "runs"
    DATA = "data"


PARALLEL = tuple(Parallel)
# jobs of one command (``--seeds``, a sweep's cases × grid × seeds), checked before any list is built
MAX_RUNS = 100_000
SEED = Interval(int, 0, MAX_SEED)


class RunSpec(NamedTuple):
    """One run: a config of any kind (``sim.kinds``) and its seed."""

    config: Any
    seed: int


def check_run_count(count: int, what: str = "this command") -> int:
    """``count`` if it is at most ``MAX_RUNS``; ``ValueError`` in one line naming the limit otherwise."""
    if count > MAX_RUNS:
        raise ValueError(f"{what} asks for {count:,} runs, more than MAX_RUNS = {MAX_RUNS:,}; split it into "
                         "several commands")
    return count


def seed_jobs(cfg: Any, seed0: int, seeds: int) -> list[RunSpec]:
    """The jobs ``(cfg, seed0)``, …, ``(cfg, seed0 + seeds − 1)`` (``--seed0``, ``--seeds``), their number
    (≤ ``MAX_RUNS``) and seeds (≤ ``MAX_SEED``) checked before the list is built."""
    if seeds < 1 or seed0 < 0:
        raise ValueError(f"--seeds must be ≥ 1 and --seed0 ≥ 0; got --seeds {seeds} --seed0 {seed0}")
    check_run_count(seeds, "--seeds")
    check_scalar(seed0 + seeds - 1, "the last seed (--seed0 + --seeds − 1)", SEED)
    return [RunSpec(cfg, seed0 + s) for s in range(seeds)]


def job_name(cfg: Any, seed: int) -> str:
    """A job in words, e.g. ``"giant_step d=64 seed 3"``."""
    return f"{cfg.kind} d={cfg.d} seed {seed}"


def plan_jobs(jobs: Sequence[RunSpec], max_seconds: float | None = None) -> list[tuple[Kind, Any]]:
    """``(kind, plan)`` of every job; raises ``ValueError`` (one line) before anything runs — also for a run
    whose estimated time (``plan.seconds``) is more than ``max_seconds`` (``None``: no limit)."""
    check_run_count(len(jobs))
    plans: dict[Any, tuple[Kind, Any]] = {}
    out = []
    for cfg, seed in jobs:
        check_scalar(seed, "seed", SEED)
        if cfg not in plans:
            k = kind_of(cfg)
            plans[cfg] = (k, k.plan(cfg))
            check_seconds(job_name(cfg, seed), plans[cfg][1], max_seconds)  # sim.estimates
        out.append(plans[cfg])
    return out


def run_or_load(cfg: Any, seed: int, store: Store, force: bool = False, progress: bool = False) -> AnyRecord:
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
    AnyRecord
        The record (``sim.giant_step.record`` or ``sim.zhou_ge.record`` describe its fields). A run that
        diverges raises (``DIVERGENCES``) and stores nothing.
    """
    return run_many([RunSpec(cfg, seed)], store, force=force, progress=False, run_progress=progress)[0]


def _run(k: Kind, cfg: Any, seed: int, plan: Any, progress: bool, **kw: Any) -> AnyRecord:
    """One run, its record checked finite; an exception other than a divergence becomes :class:`RunFailed`."""
    try:
        return check_record(k.run(cfg, int(seed), progress=progress, plan=plan, **kw))
    except DIVERGENCES:
        raise
    except Exception as exc:  # noqa: BLE001 - named with its run, as a bug rather than bad input
        raise RunFailed(job_name(cfg, seed), exc) from exc


def _load(store: Store, k: Kind, cfg: Any, seed: int, plan: Any) -> AnyRecord | None:
    """The stored record of ``(cfg, seed)`` on the plan's device type as its kind's record (``Kind.from_json``),
    or ``None``."""
    data = store.get(cfg, seed, device_type=plan.device_type)
    return None if data is None else k.from_json(data)


def stored(jobs: Sequence[RunSpec], store: Store, checked: list[tuple[Kind, Any]] | None = None) -> list[bool]:
    """Which jobs the store has; every such record is read now, so a damaged one is named (``StoreError``)
    before anything is computed. ``checked``: the jobs' ``plan_jobs``, if already made."""
    checked = checked if checked is not None else plan_jobs(jobs)
    return [_load(store, k, cfg, seed, plan) is not None for (cfg, seed), (k, plan) in zip(jobs, checked)]


def run_many(jobs: Sequence[RunSpec], store: Store | None, force: bool = False, progress: bool = True,
             on_record: OnRecord | None = None, dist: DistContext | None = None, parallel: Parallel = Parallel.RUNS,
             run_progress: bool | None = None, on_diverged: OnDiverged | None = None,
             max_seconds: float | None = None) -> list[AnyRecord | None]:
    """Run (or load) every ``(config, seed)`` job, each written to ``store`` as soon as it finishes.

    Parameters
    ----------
    jobs : sequence of (config, seed)
        Configs of any kind, with their seeds; all are checked (``plan_jobs``) and the store's records of
        them read before anything runs.
    store : Store or None
        The results store (``None`` only on ranks other than 0 of a distributed run).
    force : bool
        Run every job even if the store has it.
    progress : bool
        Progress: over the jobs, weighted by each run's estimated cost (``sim.progress``), and, unless
        ``run_progress`` says otherwise, a bar inside each run; when stderr is not a terminal, one plain line
        per finished run instead and no bars.
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
    on_diverged : callable, optional
        ``on_diverged(job index, one-line message)`` for a run that diverges (``DIVERGENCES``); its slot of
        the result is ``None`` and the other jobs still run. Without it the divergence is raised.
    max_seconds : float, optional
        Refuse (``ValueError``, before anything runs) a job whose estimated time is longer (``plan_jobs``);
        with ``progress`` or ``run_progress``, the estimated time of the runs to compute is written on stderr
        when it is more than ``sim.estimates.NOTE_SECONDS``.

    Returns
    -------
    list of AnyRecord or None
        The records in job order (on rank 0; another rank returns the records it computed with
        ``parallel="runs"``, all of them with ``"data"``); ``None`` for a run that diverged.
    """
    parallel = check_scalar(parallel, "parallel", Options(PARALLEL))
    from sim.progress import RunProgress, interactive

    checked = plan_jobs(jobs, max_seconds)
    inner = (progress if run_progress is None else run_progress) and interactive()  # no per-run bars in a log
    if dist is not None and dist.world_size > 1:
        return _run_many_distributed(jobs, checked, store, force, inner, on_record, dist, parallel, on_diverged)
    if store is None:
        raise ValueError("run_many needs a store")
    have = [False] * len(jobs) if force else stored(jobs, store, checked)
    if progress or run_progress:
        note_estimate([plan for _, plan in checked], [not h for h in have])
    out: list[AnyRecord | None] = []
    bar = RunProgress([eta_weight(plan.seconds) for _, plan in checked], have, [job_name(*job) for job in jobs], enabled=progress)
    try:
        for i, ((cfg, seed), (k, plan)) in enumerate(zip(jobs, checked)):
            start = time.perf_counter()
            rec = _load(store, k, cfg, seed, plan) if have[i] else None
            cached = rec is not None
            if rec is None:
                try:
                    rec = _run(k, cfg, seed, plan, inner)
                except DIVERGENCES as exc:
                    if on_diverged is None:
                        raise
                    on_diverged(i, one_line(exc))
                else:
                    store.put(rec)
            out.append(rec)
            if rec is not None and on_record is not None:
                on_record(rec, cached)
            bar.update(i, cached, time.perf_counter() - start)
    finally:
        bar.close()
    return out


def run_jobs(jobs: Sequence[RunSpec], store: Store | None, **kwargs: Any) -> list[AnyRecord | None]:
    """``run_many`` for a command line: a run that diverges does not stop the others, and once they are all
    done and stored :class:`RunsDiverged` names the ones that diverged."""
    failures: list[tuple[str, str]] = []
    out = run_many(jobs, store, on_diverged=lambda i, msg: failures.append((job_name(*jobs[i]), msg)), **kwargs)
    if failures:
        raise RunsDiverged(failures, len(jobs))
    return out


def _root_todo(jobs: Sequence[RunSpec], checked: list[tuple[Kind, Any]], store: Store | None, force: bool,
               on_record: OnRecord | None, results: dict[int, AnyRecord]) -> tuple[list[int] | None, str | None]:
    """Rank 0's list of jobs to run (the others served from the store into ``results``), or the store's error."""
    if store is None:
        return None, "rank 0 needs a store"
    try:
        for i, ((cfg, seed), (k, plan)) in enumerate(zip(jobs, checked)):
            rec = None if force else _load(store, k, cfg, seed, plan)
            if rec is not None:
                results[i] = rec
                if on_record is not None:
                    on_record(rec, True)
    except (StoreError, NonFiniteRecord) as exc:
        return None, one_line(exc)
    return [i for i in range(len(jobs)) if i not in results], None


class RankResult(NamedTuple):
    """What one rank of a sharded round sends the others: the job's index and its record, or the one line of
    its divergence (``diverged``) or of an unexpected failure (``error``)."""

    index: int
    record: AnyRecord | None = None
    diverged: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class _Ranks:
    """What every rank of a distributed ``run_many`` shares: the jobs and their plans, rank 0's store and
    callbacks, and whether this rank shows the per-run bar."""

    jobs: Sequence[RunSpec]
    checked: list[tuple[Kind, Any]]
    store: Store | None
    on_record: OnRecord | None
    on_diverged: OnDiverged | None
    dist: DistContext
    show: bool

    def run(self, i: int, **kw: Any) -> AnyRecord:
        """Job ``i`` (``_run``)."""
        (cfg, seed), (k, plan) = self.jobs[i], self.checked[i]
        return _run(k, cfg, seed, plan, self.show, **kw)

    def finished(self, i: int, rec: AnyRecord, results: dict[int, AnyRecord | None]) -> None:
        """Job ``i`` ran: its record kept, and on rank 0 stored and passed to ``on_record``."""
        results[i] = rec
        if self.dist.is_root:
            assert self.store is not None
            self.store.put(rec)
            if self.on_record is not None:
                self.on_record(rec, False)

    def diverged(self, i: int, message: str, results: dict[int, AnyRecord | None]) -> None:
        """Job ``i`` diverged: ``None`` in its slot and rank 0 tells ``on_diverged``; without it every rank
        raises :class:`RunsDiverged`."""
        results[i] = None
        if self.on_diverged is None:
            raise RunsDiverged([(job_name(*self.jobs[i]), message)], len(self.jobs))
        if self.dist.is_root:
            self.on_diverged(i, message)


def _run_many_distributed(jobs: Sequence[RunSpec], checked: list[tuple[Kind, Any]], store: Store | None,
                          force: bool, progress: bool, on_record: OnRecord | None, dist: DistContext,
                          parallel: Parallel, on_diverged: OnDiverged | None) -> list[AnyRecord | None]:
    """``run_many`` over the ranks of ``dist`` (see there): rank 0 serves what the store has, then the jobs
    left run by ``parallel``'s strategy; every rank raises the same errors."""
    if parallel is Parallel.DATA:
        serial = sorted({k.name for k, _ in checked if not k.data_parallel})
        if serial:
            raise ValueError(f"kind {serial[0]} does not run data-parallel; use --parallel runs")
    results: dict[int, AnyRecord | None] = {}
    todo, error = broadcast_object(_root_todo(jobs, checked, store, force, on_record, results)
                                   if dist.is_root else None)
    if error is not None:
        raise StoreError(error)
    ranks = _Ranks(jobs, checked, store, on_record, on_diverged, dist, progress and dist.is_root)
    (_data_parallel if parallel is Parallel.DATA else _sharded)(ranks, todo, results)
    if dist.is_root:
        return [results.get(i) for i in range(len(jobs))]
    return [results[i] for i in sorted(results)]


def _data_parallel(ranks: _Ranks, todo: Sequence[int], results: dict[int, AnyRecord | None]) -> None:
    """``parallel="data"``: every rank runs every job of ``todo``, each data-parallel over the ranks."""
    for i in todo:
        try:
            rec = ranks.run(i, dist=ranks.dist)
        except DIVERGENCES as exc:
            ranks.diverged(i, one_line(exc), results)
            continue
        ranks.finished(i, rec, results)


def _sharded(ranks: _Ranks, todo: Sequence[int], results: dict[int, AnyRecord | None]) -> None:
    """``parallel="runs"``: in rounds, rank ``r`` runs ``todo[first + r]`` on its own, then every rank hears
    every outcome (:class:`RankResult`) and rank 0 stores the round."""
    w = ranks.dist.world_size
    for first in range(0, len(todo), w):
        mine = todo[first + ranks.dist.rank] if first + ranks.dist.rank < len(todo) else None
        _collect(ranks, all_gather_objects(_run_shard(ranks, mine)), mine, results)


def _run_shard(ranks: _Ranks, i: int | None) -> RankResult | None:
    """This rank's job of a round (``None``: none left for it), its outcome caught to be sent to the others."""
    if i is None:
        return None
    try:
        return RankResult(i, record=ranks.run(i))
    except DIVERGENCES as exc:
        return RankResult(i, diverged=one_line(exc))
    except Exception as exc:  # noqa: BLE001 - reported by every rank in _collect, after the others stored
        return RankResult(i, error=one_line(exc))


def _collect(ranks: _Ranks, gathered: Sequence[RankResult | None], mine: int | None,
             results: dict[int, AnyRecord | None]) -> None:
    """One round's outcomes on every rank: the records kept (all on rank 0, which stores them; this rank's
    own elsewhere), then an unexpected failure raised on every rank, then the divergences reported."""
    sent = [r for r in gathered if r is not None]
    for r in sent:
        if r.error is None and r.diverged is None and (ranks.dist.is_root or r.index == mine):
            assert r.record is not None
            ranks.finished(r.index, r.record, results)
    errors = [r.error for r in sent if r.error is not None]
    if errors:
        raise RuntimeError("; ".join(errors))
    for r in sent:
        if r.diverged is not None:
            ranks.diverged(r.index, r.diverged, results)


def add_run_flags(parser: argparse.ArgumentParser, estimate: str) -> None:
    """The flags every run command shares: ``--json``, ``--force``, ``--store``, ``--no-progress`` and
    ``--max-seconds`` (checked against ``estimate``, the kind's time estimate, named in the help)."""
    parser.add_argument("--json", action="store_true", help="one JSON record per run and line on stdout")
    parser.add_argument("--force", action="store_true", help="recompute even if the store has the run")
    parser.add_argument("--store", default=None, help=f"SQLite results file (default {DEFAULT_PATH})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--max-seconds", type=float, default=MAX_SECONDS, metavar="S",
                        help=f"refuse, before any compute, a run estimated to take longer ({estimate}; default "
                             f"{MAX_SECONDS:g}: a day); the estimated time of the runs to compute is shown when "
                             f"more than {NOTE_SECONDS:g} s")


__all__ = ["MAX_RUNS", "add_run_flags", "PARALLEL", "Parallel", "RankResult", "RunSpec", "check_run_count", "job_name", "plan_jobs",
           "run_jobs", "run_many", "run_or_load", "seed_jobs", "stored"]
