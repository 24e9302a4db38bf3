"""Command line: ``python -m sim run …`` and ``python -m sim sweep sweep.yaml``, giant-step
runs (THEORY §3); ``python -m sim zg …`` runs the [ZG] experiment (§4), registered by ``sim.zhou_ge.cli``.
Each subcommand carries its handler (``handler``), so ``main`` dispatches without testing names.

Every ``SimConfig`` field is a flag of the same name (``--lr0``, ``--n-ridge``, ``--no-normalize``,
``--batch reuse``, ``--ridge-lambdas 1e-3 1e-2``, …); ``--config FILE`` (YAML/JSON) gives defaults that
the flags override. ``--protocol NAME`` (or ``protocol:`` in a file) applies a named protocol's field table
first (``sim.giant_step.protocols``) and runs every case of it that the fields given leave open
(``--protocol dklps-one-step`` runs κ = 2, 1.65, 1.3; adding ``--n-exp 1.65`` runs that one). Runs are served from the store (``--store``, default ``runs/results.sqlite``) unless
``--force``. ``--json`` prints one record per run, one JSON object per line, on stdout (the summary
table then goes to stderr).

Exit status (``sim.exits.failure``, one line on stderr for every failure, never a traceback):

* 0: every run finished (or was served from the store);
* 2: bad input, before any compute — a flag, a config or sweep file, a limit (``sim.drivers.MAX_RUNS``,
  ``sim.fields.MAX_CONFIG_BYTES``, memory against ``--max-memory`` and the machine), the results store;
* 3: an internal error (a bug, not bad input);
* 4: a run diverged (non-finite numbers): the other runs still ran and are stored, nothing non-finite is;
* 130: interrupted (finished runs are in the store).

Sweep file::

    base: {target: "x1 + x1*x2", p: 1024, steps: 2}   # any SimConfig fields
    grid: {d: [256, 512], n_exp: [1.0, 2.0]}         # the Cartesian product of these lists
    cases: [{preprocess: none}, {preprocess: exact}] # optional: each merged onto base, then the grid
    seeds: 4                                         # seeds 0..3, or a list such as [0, 5, 7]
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from collections.abc import Sequence
from typing import Any

from sim.drivers import SEED, RunSpec, add_run_flags, check_run_count, run_jobs, seed_jobs
from sim.exits import EXIT_HELP, run_command
from sim.fields import FlagParser, add_config_flags, config_overrides, read_mapping
from sim.giant_step.config import CONSTRAINTS, SimConfig
from sim.giant_step.protocols import expand
from sim.giant_step.record import RunRecord
from sim.store import DEFAULT_PATH, Store, StoreError, record_json
from sim.zhou_ge.cli import add_subparser as add_zhou_ge
from theory.validate import check_scalar

PROG = "python -m sim"
_LISTS = {"ridge_lambdas": ("λ", "--ridge-lambda")}
_HELP = {
    "target": "target g*(x1..xr), e.g. 'x1 + x1*x2' (THEORY §1)",
    "activation": "activation σ, e.g. relu, tanh, 'relu + He3/6', 'relu[2:]'",
    "d": "input dimension", "p": "number of neurons (even for the symmetric init)",
    "n_exp": "batch exponent: n = ceil(n_scale·d^n_exp) samples per step",
    "n_scale": "prefactor of n = ceil(n_scale·d^n_exp)", "n_round": "ceil or floor n_scale·d^n_exp (§3.2: floor)",
    "steps": "number of giant steps T",
    "lr0": "per-neuron step η̃ = lr0·d^((ℓ−1)/2) (lr_rule sqrt(n/p): lr0·√(n/p)); the loss sees η = η̃/s_p",
    "lr_rule": "how η̃ grows with the sizes: lr0·d^((ℓ−1)/2) (§3), lr0·√(n/p) (the notebook, §3.2) or lr0·n·s_p/d "
               "([DTAPZK], §3.5)",
    "ell": "ℓ: learning-rate exponent and preprocessing order (None: max(1, round(n_exp)))",
    "output_scale": "s_p in f = s_p Σ a_i σ(⟨w_i, z⟩): 1/p (the authors' code) or 1/sqrt(p)",
    "init": "symmetric (pairs ±a, f(W⁰) ≡ 0), gaussian, hypercube (§3) or orthogonal (§3.5)",
    "preprocess": "remove Hermite orders < ℓ from the labels: exact (from the target), estimate (batch mean and "
                  "least-squares fit), hermite (A = mean y, B = mean y z)",
    "noise": "label-noise variance Δ", "normalize": "normalise neurons after each step",
    "batch": "a fresh batch per step, or one batch reused (§3.5)",
    "label_transform": "steps see T(y) instead of y, e.g. 'tanh(y)' (§3.5; None: y)",
    "overlap_scale": "overlaps as cosines (normalized) or as ⟨w_i, e_j⟩ of the unnormalised neurons (raw, §3.5)",
    "n_ridge": "ridge samples (None: n); a holdout fraction of them picks λ", "n_test": "test samples",
    "ridge_lambdas": "ridge penalties λ (one eigendecomposition for all)",
    "ridge_scale": "penalty on the mean (mean) or on the sum (sum, §3.2) of squared residuals",
    "holdout": "held-out fraction of the ridge samples that picks λ",
    "readout": "ridge readout after every step, at the end, or never",
    "readout_data": "fit the readout on fresh samples or on the last step's batch (§3.2)",
    "readout_labels": "fit the readout to the raw or to the preprocessed labels",
    "test_estimate": "with batch-estimate preprocessing: the test set's low orders from the training batch "
                     "(train, honest) or from the test labels (test, the notebook)",
    "step_cosines": "record every neuron's step cosines with e_1..e_r (§3.2)",
    "engine": "dense (every coordinate), reduced (§3.3, cost independent of d) or auto (reduced when exact and "
              "cheaper)",
    "protocol": "a named protocol of the authors' experiments (§3.2), applied before the other flags (None: no "
                "protocol)",
    "device": "auto, cpu, cuda or cuda:N", "dtype": "compute dtype", "tf32": "allow TF32 matrix products on CUDA",
    "bf16": "bfloat16 inputs, float32 accumulation for the giant step's two matrix products",
    "max_memory": "memory budget, e.g. 2GB (None: the device's)",
    "block_size": "samples per seeded block (part of the key; None: 4096; on a GPU 65536 keeps the reduced engine "
                  "off its launch limit)",
}


def _add_common(parser: argparse.ArgumentParser, parallel: str) -> None:
    parser.add_argument("--parallel", choices=("data", "runs"), default=parallel,
                        help="under torchrun: each run data-parallel over all ranks (data) or the runs sharded "
                             f"across ranks (runs); default {parallel}")
    add_run_flags(parser, "sim.giant_step.plan.time_estimate")
    parser.add_argument("--csv", metavar="PATH", help="also write one row per run (config fields, test error per "
                        "step, singular values, timings, peak memory) as CSV to PATH (sim.giant_step.tables; "
                        "sim.giant_step.tables.to_dataframe gives a pandas DataFrame)")


def build_parser() -> argparse.ArgumentParser:
    parser = FlagParser(prog=PROG, description="Simulations of the giant-step protocol (THEORY.md §3: run, sweep) "
                        "and of [ZG] local convergence (§4: zg).", epilog=EXIT_HELP)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=FlagParser)
    run = sub.add_parser("run", help="run one config for several seeds", epilog=EXIT_HELP)
    run.add_argument("--config", help="YAML/JSON file with config fields (flags override it)")
    run.add_argument("--seeds", type=int, default=1, help="number of seeds (default 1)")
    run.add_argument("--seed0", type=int, default=0, help="first seed (default 0)")
    add_config_flags(run, SimConfig, CONSTRAINTS, _LISTS, _HELP)
    _add_common(run, "data")
    run.set_defaults(handler=_main_giant_step)
    sweep = sub.add_parser("sweep", help="run a sweep file (base, grid, cases, seeds)", epilog=EXIT_HELP)
    sweep.add_argument("file", help="sweep YAML/JSON")
    add_config_flags(sweep, SimConfig, CONSTRAINTS, _LISTS, _HELP)
    _add_common(sweep, "runs")
    sweep.set_defaults(handler=_main_giant_step)
    add_zhou_ge(sub)  # `python -m sim zg …`: [ZG] runs (THEORY §4)
    return parser


def _seed_list(value: object, where: str) -> list[int]:
    """A sweep's ``seeds``: a count ``N`` (seeds ``0..N−1``) or a list of seeds; counted against ``MAX_RUNS``
    before any list is built."""
    wrong = f"{where}: seeds must be a count or a list of non-negative integers; got {value!r}"
    if isinstance(value, bool):
        raise ValueError(wrong)
    if isinstance(value, int):
        if value < 1:
            raise ValueError(f"{where}: seeds must be at least 1; got {value}")
        check_run_count(value, f"{where}: seeds")
        return list(range(value))
    if isinstance(value, list) and value and all(isinstance(s, int) and not isinstance(s, bool) for s in value):
        check_run_count(len(value), f"{where}: seeds")
        return [check_scalar(s, f"{where}: each seed", SEED) for s in value]
    raise ValueError(wrong)


def sweep_jobs(spec: dict[str, Any], overrides: dict[str, Any] | None = None,
               where: str = "sweep") -> list[RunSpec]:
    """The ``(config, seed)`` jobs of a sweep mapping (keys ``base``, ``grid``, ``cases``, ``seeds``); the
    number of runs (cases × grid × seeds ≤ ``sim.drivers.MAX_RUNS``) is checked before any is built."""
    if not spec:
        raise ValueError(f"{where}: the sweep is empty; a sweep has base, grid, cases and seeds")
    unknown = set(spec) - {"base", "grid", "cases", "seeds"}
    if unknown:
        raise ValueError(f"{where}: unknown key {sorted(unknown, key=str)[0]!r}; a sweep has base, grid, cases "
                         "and seeds")
    base = spec.get("base") or {}
    grid = spec.get("grid") or {}
    cases = spec.get("cases") or [{}]
    if not isinstance(base, dict):
        raise ValueError(f"{where}: base must be a mapping of field names to values")
    if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
        raise ValueError(f"{where}: grid must map field names to non-empty lists of values")
    if not isinstance(cases, list) or not all(isinstance(c, dict) for c in cases):
        raise ValueError(f"{where}: cases must be a list of mappings of field names to values")
    seeds = _seed_list(spec.get("seeds", 1), where)
    check_run_count(len(cases) * math.prod(len(v) for v in grid.values()) * len(seeds), where)
    base = {**base, **(overrides or {})}
    jobs = []
    names = list(grid)
    for case in cases:
        for values in itertools.product(*(grid[k] for k in names)):
            for data in expand({**base, **case, **dict(zip(names, values))}):  # a named protocol's cases
                jobs += [RunSpec(SimConfig.from_dict(data), s) for s in seeds]
    return jobs


def _fmt(x: float | None, spec: str = ".4g") -> str:
    return "-" if x is None else format(x, spec)


def summary_table(rows: list[tuple[RunRecord, bool]]) -> str:
    """A plain-text table: one line per run."""
    head = ["seed", "target", "d", "p", "n", "T", "test error t=0…T", "σ(M) final", "steps s", "peak MiB", "from"]
    lines = []
    for rec, cached in rows:
        c = rec.config
        errs = " ".join(_fmt(e.test_error, ".3g") for e in rec.per_step if e.test_error is not None)
        sv = " ".join(_fmt(s, ".3f") for s in rec.singular_values[:3])
        lines.append([str(rec.seed), c["target"], str(c["d"]), str(c["p"]), str(rec.n), str(c["steps"]),
                      errs or "-", sv, _fmt(rec.timings["steps"], ".2f"),
                      _fmt(rec.peak_memory_bytes / 2**20, ".1f"), "store" if cached else "run"])
    widths = [max(len(h), *(len(r[i]) for r in lines)) if lines else len(h) for i, h in enumerate(head)]
    fmt = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths))  # noqa: E731
    return "\n".join([fmt(head), fmt(["-" * w for w in widths]), *map(fmt, lines)])


def jobs(argv: Sequence[str]) -> list[RunSpec]:
    """The ``(config, seed)`` jobs a ``run`` or ``sweep`` command line asks for, read and validated as the
    command does, without running anything (``ValueError`` in one line for bad input)."""
    ns = build_parser().parse_args(argv)
    if ns.command not in ("run", "sweep"):
        raise ValueError(f"jobs() reads run and sweep command lines; got {ns.command!r}")
    return _jobs(ns)


def _jobs(ns: argparse.Namespace) -> list[RunSpec]:
    if ns.command == "run":
        data = read_mapping(ns.config) if ns.config else {}
        data.update(config_overrides(ns, SimConfig))
        cases = expand(data)  # a named protocol runs every case the fields given leave open (e.g. its κ)
        check_run_count(len(cases) * ns.seeds, "--seeds")
        return [job for case in cases for job in seed_jobs(SimConfig.from_dict(case), ns.seed0, ns.seeds)]
    spec = read_mapping(ns.file)
    return sweep_jobs(spec, config_overrides(ns, SimConfig), where=ns.file)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (module docstring: 0, 2 bad input, 3 internal error, 4 a run
    diverged, 130 interrupted), with one line on stderr for every failure.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) the ranks join one process group (NCCL for CUDA runs, gloo
    otherwise; ``sim.distributed``), ``--parallel`` picks data-parallel runs or sharded runs, and rank 0
    alone writes the store and prints.
    """
    def command() -> int:
        ns = build_parser().parse_args(argv)
        return int(ns.handler(ns))

    return run_command(PROG, command)


def _main_giant_step(ns: argparse.Namespace) -> int:
    """``run`` and ``sweep``: the jobs, then (under torchrun, in a process group) ``_main_jobs``."""
    from sim.distributed import env_ranks

    jobs = _jobs(ns)
    ranks = env_ranks()
    if ranks is not None and ranks[1] > 1:
        from sim.device import resolve_device
        from sim.distributed import backend_for, process_group

        types = {resolve_device(cfg.device)[1] for cfg, _ in jobs}
        if len(types) > 1:
            raise ValueError("under torchrun all runs must use one device type; set --device")
        with process_group(backend_for(types.pop())) as ctx:
            return _main_jobs(ns, jobs, ctx)
    return _main_jobs(ns, jobs, None)


def open_store(path: str | None, ctx: Any = None) -> Store | None:
    """The results store at ``path`` (default ``DEFAULT_PATH``), opened and checked before any compute; under
    torchrun only rank 0 opens it (``None`` elsewhere) and every rank raises its :class:`StoreError`."""
    if ctx is None:
        return Store(path or DEFAULT_PATH)
    from sim.distributed import broadcast_object

    store, error = None, None
    if ctx.is_root:
        try:
            store = Store(path or DEFAULT_PATH)
        except StoreError as exc:
            error = str(exc)
    error = broadcast_object(error)
    if error is not None:
        raise StoreError(error)
    return store


def _main_jobs(ns: argparse.Namespace, jobs: list[RunSpec], ctx: Any) -> int:
    root = ctx is None or ctx.is_root
    store = open_store(ns.store, ctx)
    rows: list[tuple[RunRecord, bool]] = []

    def emit(rec: RunRecord, cached: bool) -> None:
        rows.append((rec, cached))
        if ns.json:
            sys.stdout.write(record_json(rec) + "\n")
            sys.stdout.flush()

    try:
        run_jobs(jobs, store, force=ns.force, progress=not ns.no_progress and root, on_record=emit, dist=ctx,
                 parallel=ns.parallel, max_seconds=ns.max_seconds)
    finally:  # the runs that finished, also before a failure's one line
        if root and rows:
            _report(ns, rows)
    return 0


def _report(ns: argparse.Namespace, rows: list[tuple[RunRecord, bool]]) -> None:
    """The per-run table, the per-case summary (mean ± s.e. over seeds, when a case has several seeds or there
    are several cases) and the ``--csv`` file of the finished runs."""
    from sim.giant_step.tables import case_rows, case_table, write_csv

    out = sys.stderr if ns.json else sys.stdout
    records = [rec for rec, _ in rows]
    print(summary_table(rows), file=out)
    if len(case_rows(records)[1]) < len(records):  # seeds to average over
        print("\n" + case_table(records), file=out)
    if ns.csv:
        print(f"{len(records)} runs written to {write_csv(records, ns.csv)}", file=out)


__all__ = ["PROG", "build_parser", "jobs", "main", "open_store", "summary_table", "sweep_jobs"]
