"""The interface between the giant-step run and the engine that computes it (THEORY.md §3, §3.3).

``sim.giant_step.run.simulate`` owns the protocol's loop — ``T`` steps, the overlaps and the readout after
each step, divergence checks, the record — and asks an engine for the parts that depend on how the
samples are represented:

* ``init() -> State``: the first layer ``W⁰`` (float64, ``p × k₀``) and the second layer ``a``
  (``sim.giant_step.common.State``);
* ``step(state, t) -> (state, batch loss)``: giant step ``t`` (1-based) from the state after step ``t − 1``;
* ``readout(state, t) -> dict``: the ridge readout of §3 on the features of ``state.W`` (``test_error``,
  ``test_error_by_lambda``, ``holdout_error_by_lambda``, ``lambda_best``, ``train_error``); it changes
  nothing.

The state is a value: an engine holds its configuration, never the run's progress. Three classes implement
it: ``DenseEngine`` (``sim.giant_step.dense``: samples in all ``d`` coordinates, ``k = d``),
``ReducedEngine`` (``sim.giant_step.reduced``: the exact reduced coordinates of §3.3 for fresh batches)
and ``ConditionedEngine`` (``sim.giant_step.conditioned``: the reduced engine with §3.4's conditioning,
for runs that use a batch more than once), the first ``r`` coordinates being the teacher axes in all.
``make_engine`` builds the one ``sim.giant_step.choice.resolve_engine`` picks; the record names it
``"dense"`` or ``"reduced"``, and its reason says when the reduced engine conditions.
"""

from __future__ import annotations

from typing import Any, Protocol

from sim.distributed import Shard
from sim.giant_step.choice import conditioning
from sim.giant_step.common import State
from sim.giant_step.conditioned import ConditionedEngine
from sim.giant_step.config import SimConfig
from sim.giant_step.dense import DenseEngine
from sim.giant_step.options import EngineName
from sim.giant_step.plan import ExecutionPlan
from sim.giant_step.reduced import ReducedEngine


class Engine(Protocol):
    """Computes the initialisation, giant steps and readouts of one run (``cfg``, ``seed``)."""

    name: EngineName

    def init(self) -> State:
        """The state before any step: ``W⁰`` (float64, ``p × k₀``) and ``a``."""
        ...

    def step(self, state: State, t: int) -> tuple[State, float]:
        """Giant step ``t`` (1-based): ``(state with W^t (p × k_t, float64), the batch loss before the step)``."""
        ...

    def readout(self, state: State, t: int) -> dict[str, Any]:
        """The §3 ridge readout on the features of ``state.W`` after step ``t``."""
        ...

    def close(self) -> None:
        """Release what the engine holds (progress bars, work spaces)."""
        ...


ENGINE_CLASSES = {EngineName.DENSE: DenseEngine, EngineName.REDUCED: ReducedEngine}


def engine_class(cfg: SimConfig) -> type:
    """The class that runs ``cfg``: ``cfg.engine_resolved``'s, the conditioned one for a reduced run that
    uses a batch more than once (``sim.giant_step.choice.conditioning``)."""
    name = cfg.engine_resolved
    return ConditionedEngine if name == EngineName.REDUCED and conditioning(cfg) else ENGINE_CLASSES[name]


def make_engine(cfg: SimConfig, seed: int, plan: ExecutionPlan, progress: bool, shard: Shard) -> Engine:
    """The engine that runs ``cfg`` (``engine_class``)."""
    return engine_class(cfg)(cfg, seed, plan, progress, shard)


__all__ = ["ENGINE_CLASSES", "Engine", "engine_class", "make_engine"]
