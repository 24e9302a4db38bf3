"""Streaming torch simulator of the giant-step protocol of THEORY.md §3 (GPU when there is one, else CPU).

>>> from sim import SimConfig, simulate
>>> rec = simulate(SimConfig(target="x1", d=64, p=16, n_exp=1.0, n_test=256, block_size=64), seed=0)
>>> len(rec["overlaps"]), len(rec["overlaps"][0]), len(rec["per_step"])
(16, 1, 2)

Modules: ``config`` (SimConfig), ``plan`` (device, memory budget, chunks), ``data`` (block-seeded
samples and labels), ``protocol`` (network, streamed giant step), ``readout`` (streamed ridge, λ path,
held-out tuning, test error), ``overlaps``, ``memory``, ``store`` (SQLite), ``runner`` (simulate,
run_or_load, run_many), ``cli``.
"""

from sim.config import SimConfig, load_config
from sim.overlaps import overlaps_by_level, singular_values, subspace_overlap
from sim.plan import Plan, make_plan
from sim.runner import run_key, run_many, run_or_load, simulate, strip_volatile
from sim.store import Store
from sim.version import code_version

__all__ = ["Plan", "SimConfig", "Store", "code_version", "load_config", "make_plan", "overlaps_by_level",
           "run_key", "run_many", "run_or_load", "simulate", "singular_values", "strip_volatile",
           "subspace_overlap"]
