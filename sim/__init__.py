"""Torch simulations of THEORY.md §3 (the giant-step protocol) and §4 ([ZG]), on the GPU when there is one.

>>> from sim import SimConfig, simulate
>>> rec = simulate(SimConfig(target="x1", d=64, p=16, n_exp=1.0, n_test=256, block_size=64), seed=0)
>>> len(rec.overlaps), len(rec.overlaps[0]), len(rec.per_step)
(16, 1, 2)

Layers, lowest first: ``version`` (code hash), ``keys`` (seeds, stream seeds, run keys), ``device``,
``fields`` (config validation as data, files, flags), ``memory``, ``distributed``, ``data`` (block-seeded
samples and labels); the kinds ``giant_step`` (§3) and ``zhou_ge`` (§4), one concept per module; ``kinds``
(the registry), ``store`` (SQLite, kind-agnostic), ``drivers`` (``run_or_load``, ``run_many`` for every
kind), ``cli``.
"""

from theory.exits import guard_startup

guard_startup()  # python -m …: Ctrl-C while the package imports ends in one line (theory.exits)

from sim.drivers import run_many, run_or_load
from sim.giant_step import (
    ExecutionPlan,
    as_basis,
    SimConfig,
    load_config,
    execution_plan,
    overlaps_by_level,
    RunRecord,
    simulate,
    singular_values,
    strip_volatile,
    subspace_overlap,
)
from sim.keys import run_key
from sim.kinds import KINDS, AnyRecord, kind, kind_of, make_config
from sim.store import Store
from sim.version import code_version
from sim.zhou_ge import ZGConfig, ZGRecord, run_zhou_ge

__all__ = ["KINDS", "AnyRecord", "ExecutionPlan", "RunRecord", "SimConfig", "Store", "ZGConfig", "ZGRecord",
           "as_basis", "code_version", "execution_plan", "kind", "kind_of", "load_config", "make_config",
           "overlaps_by_level", "run_key", "run_many", "run_or_load", "run_zhou_ge", "simulate", "singular_values",
           "strip_volatile", "subspace_overlap"]
