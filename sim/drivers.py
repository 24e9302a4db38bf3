"""Run or load simulations of any kind through the results store (THEORY.md §3, §4; issue items 3, 6 and 9).

A job is ``(config, seed)`` with a config of any kind of ``sim.kinds`` (``SimConfig``, ``ZGConfig``).
``run_or_load`` serves one job from the store or runs it and stores the record; ``run_many`` does so for
a list of jobs, checks every job before anything runs (``plan_jobs``: at most ``MAX_RUNS`` jobs, seeds a
store can hold, ``Kind.plan``: device, memory against the budget and the machine), reads the stored
records of the jobs up front (a damaged one is named before any compute), writes each finished run at once
(a sweep killed half-way resumes where it stopped) and, under ``torchrun``, spreads the jobs over the ranks
(``sim.distributed``). Both return records, the dicts the kinds' run functions return.

Failures (issue 9). A run that *diverges* — ``sim.divergence.Diverged``, a record holding a NaN or an
infinity (``sim.store.NonFiniteRecord``), a linear-algebra routine that failed on its numbers
(``DIVERGENCES``) — is not stored; with ``on_diverged`` the other jobs still run. Any other exception from
inside a run is a bug, not bad input: it is raised as :class:`RunFailed`. ``failure(exc)`` is the one place
that turns an exception into a command line's one line and exit status, and ``run_command`` wraps every
command line of ``sim`` and ``verify`` in it:

* ``EXIT_BAD_INPUT`` = 2: a ``ValueError`` (a config, a file, a limit, the results store — refused before
  any compute);
* ``EXIT_INTERNAL`` = 3: anything unexpected (a bug; never mistaken for bad input or a verdict);
* ``EXIT_DIVERGED`` = 4: a run diverged (the other runs of the command were still run and stored);
* ``EXIT_IO`` = 74: an I/O error (a full disk under the store, stdout to a full device);
* ``EXIT_INTERRUPTED`` = 130: Ctrl-C or ``SIGTERM`` (finished runs are in the store).

The statuses and the policy common to every command line (``theory``'s too) are :mod:`theory.exits`; this
module adds the failures of runs (:func:`classify`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from sim.distributed import DistContext, all_gather_objects, broadcast_object
from sim.divergence import LINALG_ERRORS, Diverged
from sim.estimates import check_seconds, note_estimate
from sim.kinds import Kind, kind_of
from sim.store import MAX_SEED, NonFiniteRecord, Store, StoreError, check_record
from theory import exits
from theory.exits import EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_IO, EXIT_OK, exit_help
from theory.validate import Interval, check_scalar

Record = dict[str, Any]
Job = tuple[Any, int]
OnRecord = Callable[[Record, bool], None]
OnDiverged = Callable[[int, str], None]
PARALLEL = ("runs", "data")
# jobs of one command (``--seeds``, a sweep's cases × grid × seeds), checked before any list is built
MAX_RUNS = 100_000
SEED = Interval(int, 0, MAX_SEED)
DIVERGENCES = (Diverged, NonFiniteRecord, *LINALG_ERRORS)  # a run that diverged: not stored, EXIT_DIVERGED

EXIT_HELP = exit_help(f"{EXIT_DIVERGED} a run diverged (the others are stored)")
INTERNAL = "internal error (a bug, not bad input; please report it): "


class RunFailed(RuntimeError):
    """A run raised an unexpected exception (a bug, not bad input); the message names the run."""

    def __init__(self, job: str, exc: BaseException) -> None:
        super().__init__(f"run {job} failed: {one_line(exc)}")


class RunsDiverged(RuntimeError):
    """Some runs of a command diverged (``(job, message)`` each); the others ran and are stored."""

    def __init__(self, failures: Sequence[tuple[str, str]], total: int) -> None:
        self.failures = tuple(failures)
        job, message = self.failures[0]
        if total == 1:
            text = f"run {job}: {message}"
        else:
            text = (f"{len(self.failures)} of {total} runs diverged (first: {job}: {message}); the other "
                    f"{total - len(self.failures)} runs are in the store")
        super().__init__(text)


def one_line(exc: BaseException) -> str:
    """``exc``'s message on one line, prefixed by its type unless it is one of the named failures."""
    text = " ".join(str(exc).split())
    if isinstance(exc, (Diverged, NonFiniteRecord, RunFailed, RunsDiverged, StoreError)):
        return text
    named = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if isinstance(exc, DIVERGENCES):  # a decomposition that met non-finite or degenerate numbers
        return f"the run diverged: a linear-algebra routine failed on its numbers ({named})"
    return named


def classify(exc: BaseException, diverged_status: int = EXIT_DIVERGED) -> tuple[int, str] | None:
    """The status and line of the failures of runs (``theory.exits.failure`` does the rest): an interrupt,
    a divergence (``diverged_status``), a run that failed (a bug, named with its run)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted; finished runs are in the store"
    if isinstance(exc, (RunsDiverged, *DIVERGENCES)):
        return diverged_status, one_line(exc)
    if isinstance(exc, RunFailed):
        return EXIT_INTERNAL, INTERNAL + one_line(exc)
    return None


def failure(exc: BaseException) -> tuple[int, str]:
    """The exit status and the one line (after the program's name) of a command line stopped by ``exc``."""
    return exits.failure(exc, classify)


def run_command(prog: str, command: Callable[[], int], diverged_status: int = EXIT_DIVERGED) -> int:
    """``command()``'s exit status; a failure is written as one line ``"{prog}: …"`` on stderr and gets its
    status from ``failure`` (``diverged_status`` for a divergence). A closed stdout (``… | head``) is quiet;
    an interrupt in any phase is one line and ``EXIT_INTERRUPTED`` (``theory.exits.run_command``)."""
    return exits.run_command(prog, command, lambda exc: classify(exc, diverged_status))


def check_run_count(count: int, what: str = "this command") -> int:
    """``count`` if it is at most ``MAX_RUNS``; ``ValueError`` in one line naming the limit otherwise."""
    if count > MAX_RUNS:
        raise ValueError(f"{what} asks for {count:,} runs, more than MAX_RUNS = {MAX_RUNS:,}; split it into "
                         "several commands")
    return count


def seed_jobs(cfg: Any, seed0: int, seeds: int) -> list[Job]:
    """The jobs ``(cfg, seed0)``, …, ``(cfg, seed0 + seeds − 1)`` (``--seed0``, ``--seeds``), their number
    (≤ ``MAX_RUNS``) and seeds (≤ ``MAX_SEED``) checked before the list is built."""
    if seeds < 1 or seed0 < 0:
        raise ValueError(f"--seeds must be ≥ 1 and --seed0 ≥ 0; got --seeds {seeds} --seed0 {seed0}")
    check_run_count(seeds, "--seeds")
    check_scalar(seed0 + seeds - 1, "the last seed (--seed0 + --seeds − 1)", SEED)
    return [(cfg, seed0 + s) for s in range(seeds)]


def job_name(cfg: Any, seed: int) -> str:
    """A job in words, e.g. ``"giant_step d=64 seed 3"``."""
    return f"{cfg.kind} d={cfg.d} seed {seed}"


def plan_jobs(jobs: Sequence[Job], max_seconds: float | None = None) -> list[tuple[Kind, Any]]:
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
        The record (``sim.giant_step.run`` or ``sim.zhou_ge.run`` describe its fields). A run that
        diverges raises (``DIVERGENCES``) and stores nothing.
    """
    return run_many([(cfg, seed)], store, force=force, progress=False, run_progress=progress)[0]


def _run(k: Kind, cfg: Any, seed: int, plan: Any, progress: bool, **kw: Any) -> Record:
    """One run, its record checked finite; an exception other than a divergence becomes :class:`RunFailed`."""
    try:
        return check_record(k.run(cfg, int(seed), progress=progress, plan=plan, **kw))
    except DIVERGENCES:
        raise
    except Exception as exc:  # noqa: BLE001 - named with its run, as a bug rather than bad input
        raise RunFailed(job_name(cfg, seed), exc) from exc


def stored(jobs: Sequence[Job], store: Store, checked: list[tuple[Kind, Any]] | None = None) -> list[bool]:
    """Which jobs the store has; every such record is read now, so a damaged one is named (``StoreError``)
    before anything is computed. ``checked``: the jobs' ``plan_jobs``, if already made."""
    checked = checked if checked is not None else plan_jobs(jobs)
    return [store.get(cfg, seed, device_type=plan.device_type) is not None
            for (cfg, seed), (_, plan) in zip(jobs, checked)]


def run_many(jobs: Sequence[Job], store: Store | None, force: bool = False, progress: bool = True,
             on_record: OnRecord | None = None, dist: DistContext | None = None, parallel: str = "runs",
             run_progress: bool | None = None, on_diverged: OnDiverged | None = None,
             max_seconds: float | None = None) -> list[Record | None]:
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
    list of dict or None
        The records in job order (on rank 0; another rank returns the records it computed with
        ``parallel="runs"``, all of them with ``"data"``); ``None`` for a run that diverged.
    """
    if parallel not in PARALLEL:
        raise ValueError(f"parallel must be 'runs' or 'data'; got {parallel!r}")
    from sim.progress import RunProgress, estimated_cost, interactive

    checked = plan_jobs(jobs, max_seconds)
    inner = (progress if run_progress is None else run_progress) and interactive()  # no per-run bars in a log
    if dist is not None and dist.world_size > 1:
        return _run_many_distributed(jobs, checked, store, force, inner, on_record, dist, parallel, on_diverged)
    if store is None:
        raise ValueError("run_many needs a store")
    have = [False] * len(jobs) if force else stored(jobs, store, checked)
    if progress or run_progress:
        note_estimate([plan for _, plan in checked], [not h for h in have])
    out: list[Record | None] = []
    cost = {cfg: estimated_cost(cfg) for cfg, _ in jobs}
    bar = RunProgress([cost[cfg] for cfg, _ in jobs], have, [job_name(*job) for job in jobs], enabled=progress)
    try:
        for i, ((cfg, seed), (k, plan)) in enumerate(zip(jobs, checked)):
            start = time.perf_counter()
            rec = store.get(cfg, seed, device_type=plan.device_type) if have[i] else None
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


def run_jobs(jobs: Sequence[Job], store: Store | None, **kwargs: Any) -> list[Record | None]:
    """``run_many`` for a command line: a run that diverges does not stop the others, and once they are all
    done and stored :class:`RunsDiverged` names the ones that diverged."""
    failures: list[tuple[str, str]] = []
    out = run_many(jobs, store, on_diverged=lambda i, msg: failures.append((job_name(*jobs[i]), msg)), **kwargs)
    if failures:
        raise RunsDiverged(failures, len(jobs))
    return out


def _root_todo(jobs: Sequence[Job], checked: list[tuple[Kind, Any]], store: Store | None, force: bool,
               on_record: OnRecord | None, results: dict[int, Record]) -> tuple[list[int] | None, str | None]:
    """Rank 0's list of jobs to run (the others served from the store into ``results``), or the store's error."""
    if store is None:
        return None, "rank 0 needs a store"
    try:
        for i, ((cfg, seed), (_, plan)) in enumerate(zip(jobs, checked)):
            rec = None if force else store.get(cfg, seed, device_type=plan.device_type)
            if rec is not None:
                results[i] = rec
                if on_record is not None:
                    on_record(rec, True)
    except (StoreError, NonFiniteRecord) as exc:
        return None, one_line(exc)
    return [i for i in range(len(jobs)) if i not in results], None


def _run_many_distributed(jobs: Sequence[Job], checked: list[tuple[Kind, Any]], store: Store | None, force: bool,
                          progress: bool, on_record: OnRecord | None, dist: DistContext, parallel: str,
                          on_diverged: OnDiverged | None) -> list[Record | None]:
    """``run_many`` over the ranks of ``dist`` (see there); every rank raises the same errors."""
    root = dist.is_root
    if parallel == "data":
        serial = sorted({k.name for k, _ in checked if not k.data_parallel})
        if serial:
            raise ValueError(f"kind {serial[0]} does not run data-parallel; use --parallel runs")
    results: dict[int, Record | None] = {}
    todo, error = broadcast_object(_root_todo(jobs, checked, store, force, on_record, results) if root else None)
    if error is not None:
        raise StoreError(error)
    show = progress and root

    def diverged(i: int, message: str) -> None:
        results[i] = None
        if on_diverged is None:
            raise RunsDiverged([(job_name(*jobs[i]), message)], len(jobs))
        if root:
            on_diverged(i, message)

    if parallel == "data":
        for i in todo:
            (cfg, seed), (k, plan) = jobs[i], checked[i]
            try:
                rec = _run(k, cfg, seed, plan, show, dist=dist)
            except DIVERGENCES as exc:
                diverged(i, one_line(exc))
                continue
            results[i] = rec
            if root:
                assert store is not None
                store.put(rec)
                if on_record is not None:
                    on_record(rec, False)
        return [results[i] for i in sorted(results)] if not root else [results.get(i) for i in range(len(jobs))]
    w = dist.world_size
    for first in range(0, len(todo), w):  # rounds: rank r runs todo[first + r], then rank 0 stores the round
        mine = first + dist.rank
        outcome: tuple[int, Record | None, str | None, str | None] | None = None
        if mine < len(todo):
            i = todo[mine]
            (cfg, seed), (k, plan) = jobs[i], checked[i]
            try:
                outcome = (i, _run(k, cfg, seed, plan, show), None, None)
            except DIVERGENCES as exc:
                outcome = (i, None, one_line(exc), None)
            except Exception as exc:  # noqa: BLE001 - reported by every rank below, after the others stored
                outcome = (i, None, None, one_line(exc))
        errors, divergences = [], []
        for item in all_gather_objects(outcome):
            if item is None:
                continue
            i, rec, divergence, err = item
            if err is not None:
                errors.append(err)
            elif divergence is not None:
                divergences.append((i, divergence))
            elif root:
                assert store is not None and rec is not None
                store.put(rec)
                if on_record is not None:
                    on_record(rec, False)
                results[i] = rec
            elif i == (todo[mine] if mine < len(todo) else None):
                results[i] = rec
        if errors:
            raise RuntimeError("; ".join(errors))
        for i, message in divergences:
            diverged(i, message)
    if root:
        return [results.get(i) for i in range(len(jobs))]
    return [results[i] for i in sorted(results)]


__all__ = ["DIVERGENCES", "EXIT_BAD_INPUT", "EXIT_DIVERGED", "EXIT_HELP", "EXIT_INTERNAL", "EXIT_INTERRUPTED",
           "EXIT_IO", "EXIT_OK", "MAX_RUNS", "PARALLEL", "RunFailed", "RunsDiverged", "check_run_count", "classify",
           "failure", "job_name", "one_line", "plan_jobs", "run_command", "run_jobs", "run_many", "run_or_load",
           "seed_jobs", "stored"]
