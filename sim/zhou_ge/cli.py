"""The ``zg`` subcommand of ``python -m sim`` (``sim.cli``): [ZG] runs (THEORY.md §4).

Every ``ZGConfig`` field is a flag of the same name (typed by its constraint, ``sim.fields``), plus
``--config FILE`` (YAML/JSON, flags override it), ``--seeds``, ``--seed0``, ``--json``, ``--force``,
``--store``, ``--no-progress`` and ``--max-seconds``. Runs go through ``sim.drivers`` and the shared results
store. Each run prints the variant that ran and one line per λ phase. Exit statuses are those of
``python -m sim`` (``sim.exits``): 0, 2 bad input (before any compute: flags, files, the results store,
memory — ``sim.zhou_ge.plan``), 3 an internal error, 4 a run diverged, 130 interrupted; one line on stderr each.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from sim.drivers import add_run_flags, run_jobs, seed_jobs
from sim.exits import EXIT_HELP
from sim.fields import add_config_flags, config_overrides, read_mapping
from sim.store import DEFAULT_PATH, Store, record_json
from sim.zhou_ge.config import CONSTRAINTS, ZGConfig
from sim.zhou_ge.record import ZGRecord

_LISTS = {"teacher_a": ("A",)}
_HELP = {
    "d": "input dimension", "m": "student width (even: stage 1 pairs neuron i with i+m/2)",
    "m_star": "teacher width m*", "activation": "σ: relu, or relu[2:] (relu without its Hermite orders 0 and 1)",
    "teacher_directions": "teacher directions w*_j: orthonormal, or random unit vectors",
    "teacher_a": "teacher second layer a*_1..a*_m* (None: random signs ±1 from the seed)",
    "stage1_gradient": "stage-1 giant step on the population gradient or on stage1_n samples",
    "stage1_lr0": "η0 of the stage-1 giant step (§3)",
    "stage1_ell": "stage-1 batch exponent ℓ, n = ceil(stage1_n_scale·d^ℓ) (None: the teacher's first non-zero "
                  "Hermite order)",
    "stage1_n_scale": "prefactor of the stage-1 batch n", "balance": "after stage 2 rebalance |a_i| = ‖w_i‖",
    "lam0": "first weight decay λ0", "lam_factor": "λ_{k+1} = lam_factor·λ_k between phases",
    "phases": "number of λ phases", "lr": "stage-3 gradient-descent step size",
    "grad_tol": "a phase ends when ‖∇L_λ‖ ≤ grad_tol·λ·‖θ‖", "check_every": "steps between convergence checks",
    "max_steps_per_phase": "a phase also ends after this many steps",
    "loss": "stage-3 loss: population (exact, arc-cosine kernel), fresh samples per step, or one fixed sample",
    "n_samples": "samples of the fresh or fixed loss", "near_angle": "δ (radians): a neuron within δ of w*_j is "
                                                                   "near teacher j",
    "record_every": "steps between recorded rows", "baseline": "also fit the fixed-feature baseline (first layer "
                                                               "frozen after stage 1)",
    "device": "auto, cpu, cuda or cuda:N", "dtype": "compute dtype",
    "block_size": "samples per seeded block (sampled gradients and losses)",
    "max_memory": "memory budget, e.g. 2GB (None: the device's); never changes a result",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Every ``ZGConfig`` field as a flag of the same name, plus the run options of the module docstring."""
    add_config_flags(parser, ZGConfig, CONSTRAINTS, _LISTS, _HELP)
    parser.add_argument("--config", help="YAML/JSON file with ZGConfig fields (flags override it)")
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds (default 1)")
    parser.add_argument("--seed0", type=int, default=0, help="first seed (default 0)")
    add_run_flags(parser, "sim.zhou_ge.plan.time_estimate")
    parser.set_defaults(handler=main_ns)


def add_subparser(sub: Any) -> argparse.ArgumentParser:
    """Register ``zg`` on ``sim.cli``'s subparsers (its handler is ``main_ns``)."""
    p = sub.add_parser("zg", help="[ZG] GD with decreasing weight decay (THEORY.md §4)", epilog=EXIT_HELP)
    add_arguments(p)
    return p


def _angle(value: float | None) -> str:
    """A mean angle, or ``-`` where it is undefined (no mass to average: ``None``)."""
    return "-        " if value is None or math.isnan(value) else f"{value:.3e}"


def summary_lines(rec: ZGRecord) -> list[str]:
    """Human-readable lines: the variant, then one line per λ phase."""
    out = [rec.variant, f"seed {rec.seed}: stage-2 loss {rec.stage2.loss:.3e}, "
           f"stage-1 span overlap {rec.stage1.span_overlap:.3f}, a* = {rec.teacher.a_star}"]
    out.append("    λ        steps conv  loss       far mass   mean ∠    near ∠    Σ a‖w‖ near teachers    baseline")
    for p in rec.phases:
        near = " ".join(f"{v:+.3f}" for v in p.signed_near_mass)
        base = f"{p.baseline_loss:.3e}" if p.baseline_loss is not None else "-"
        out.append(f"  {p.lam:.3e} {p.steps:6d} {'yes' if p.converged else 'no ':4s} {p.loss:.3e}  "
                   f"{p.far_mass:.3e}  {_angle(p.mean_angle)} {_angle(p.near_mean_angle)} [{near}]  {base}")
    if rec.baseline is not None:
        out.append(f"  fixed-feature plateau min_a L(a, W¹) = {rec.baseline.plateau:.3e}")
    return out


def _config(ns: argparse.Namespace) -> ZGConfig:
    data = read_mapping(ns.config) if ns.config else {}
    data.update(config_overrides(ns, ZGConfig))
    if isinstance(data.get("teacher_a"), list):
        data["teacher_a"] = tuple(data["teacher_a"])
    return ZGConfig.from_dict(data)


def main_ns(ns: argparse.Namespace) -> int:
    """Run the ``zg`` command for parsed arguments; returns 0 or raises (``sim.exits.run_command`` turns a
    failure into its one line and exit status)."""

    def emit(rec: ZGRecord, cached: bool) -> None:
        if ns.json:
            sys.stdout.write(record_json(rec) + "\n")
            sys.stdout.flush()
        else:
            print("\n".join(summary_lines(rec)) + f"\n  ({'from store' if cached else 'ran'}, "
                  f"{rec.timings['total']:.1f} s, {rec.steps} steps)")

    jobs = seed_jobs(_config(ns), ns.seed0, ns.seeds)
    store = Store(ns.store or DEFAULT_PATH)
    run_jobs(jobs, store, force=ns.force, progress=False, run_progress=not ns.no_progress, on_record=emit,
             max_seconds=ns.max_seconds)
    return 0


__all__ = ["add_arguments", "add_subparser", "main_ns", "summary_lines"]
