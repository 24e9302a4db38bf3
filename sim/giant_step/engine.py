"""The interface between the giant-step run and the engine that computes it (THEORY.md §3).

``sim.giant_step.run.simulate`` owns the protocol's loop — initialisation, ``T`` steps, the overlaps and
the readout after each step, the record — and asks an engine for the two expensive parts:

* ``step(W, t) -> (W^t, batch loss)``: giant step ``t`` (1-based) from ``W^{t−1}`` (``p × d``, float64);
* ``readout(W) -> dict``: the ridge readout of §3 on the features of ``W`` (``test_error``,
  ``test_error_by_lambda``, ``holdout_error_by_lambda``, ``lambda_best``, ``train_error``).

The one engine today is ``DenseEngine`` (``sim.giant_step.dense``): samples streamed block by block in
all ``d`` coordinates. A second engine (e.g. the exact reduced coordinates of §3.3) implements the same
three methods and is chosen in ``make_engine``.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from sim.distributed import Shard
from sim.giant_step.config import SimConfig
from sim.giant_step.dense import DenseEngine
from sim.giant_step.plan import Plan


class Engine(Protocol):
    """Computes the giant steps and readouts of one run (``cfg``, ``seed``)."""

    def step(self, W: torch.Tensor, t: int) -> tuple[torch.Tensor, float]:
        """Giant step ``t`` (1-based): ``(W^t (p × d, float64), the batch loss before the step)``."""
        ...

    def readout(self, W: torch.Tensor) -> dict[str, Any]:
        """The §3 ridge readout on the features of ``W`` (``p × d``)."""
        ...

    def close(self) -> None:
        """Release what the engine holds (progress bars, work spaces)."""
        ...


def make_engine(cfg: SimConfig, seed: int, plan: Plan, progress: bool, shard: Shard) -> Engine:
    """The engine that runs ``cfg``: the streamed dense engine (the only one so far)."""
    return DenseEngine(cfg, seed, plan, progress, shard)


__all__ = ["Engine", "make_engine"]
