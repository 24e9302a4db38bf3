"""The interface between the giant-step run and the engine that computes it (THEORY.md §3, §3.3).

``sim.giant_step.run.simulate`` owns the protocol's loop — ``T`` steps, the overlaps and the readout after
each step, divergence checks, the record — and asks an engine for the parts that depend on how the
samples are represented:

* ``init() -> W⁰``: the first layer (float64, ``p × k₀``), the engine keeping the second layer ``a``;
* ``step(W, t) -> (W^t, batch loss)``: giant step ``t`` (1-based) from ``W^{t−1}``;
* ``readout(W, t) -> dict``: the ridge readout of §3 on the features of ``W`` (``test_error``,
  ``test_error_by_lambda``, ``holdout_error_by_lambda``, ``lambda_best``, ``train_error``).

Two engines implement it: ``DenseEngine`` (``sim.giant_step.dense``: samples in all ``d`` coordinates,
``k = d``) and ``ReducedEngine`` (``sim.giant_step.reduced``: the exact reduced coordinates of §3.3, the
first ``r`` coordinates being the teacher axes in both). ``make_engine`` builds the one
``sim.giant_step.choice.resolve_engine`` picks.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from sim.distributed import Shard
from sim.giant_step.config import SimConfig
from sim.giant_step.dense import DenseEngine
from sim.giant_step.plan import Plan
from sim.giant_step.reduced import ReducedEngine


class Engine(Protocol):
    """Computes the initialisation, giant steps and readouts of one run (``cfg``, ``seed``)."""

    name: str

    def init(self) -> torch.Tensor:
        """``W⁰`` (float64, ``p × k₀``)."""
        ...

    def step(self, W: torch.Tensor, t: int) -> tuple[torch.Tensor, float]:
        """Giant step ``t`` (1-based): ``(W^t (p × k_t, float64), the batch loss before the step)``."""
        ...

    def readout(self, W: torch.Tensor, t: int) -> dict[str, Any]:
        """The §3 ridge readout on the features of ``W`` after step ``t``."""
        ...

    def close(self) -> None:
        """Release what the engine holds (progress bars, work spaces)."""
        ...


ENGINE_CLASSES = {"dense": DenseEngine, "reduced": ReducedEngine}


def make_engine(cfg: SimConfig, seed: int, plan: Plan, progress: bool, shard: Shard, hint: str) -> Engine:
    """The engine that runs ``cfg`` (``cfg.engine_resolved``); ``hint`` ends its divergence messages."""
    return ENGINE_CLASSES[cfg.engine_resolved](cfg, seed, plan, progress, shard, hint)


__all__ = ["ENGINE_CLASSES", "Engine", "make_engine"]
