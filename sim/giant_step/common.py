"""What every giant-step engine shares: its state value and its construction (THEORY.md §3, §3.3, §3.4).

* ``State``: the value a step takes and returns — the first layer ``W`` (float64, ``p × k``), the second
  layer ``a`` (never trained) and, for an engine that uses a batch more than once (§3.4), what it knows of
  that batch (``batch``, ``sim.giant_step.conditioned.Batch``). Engines keep no mutable run state: the
  coordinates a sampler draws are the ``k`` it is given, never an attribute that steps reassign.
* ``EngineBase``: one constructor for all engines (config, seed, execution plan, shard, compute dtype,
  activation pair, labels, progress bar), the samplers of the run's streams in ``k`` coordinates
  (``sampler``), the ``Streams`` the readout draws from (``streams``), the run's ``Network`` for given
  weights (``network``) and the readout of weights in ``k`` coordinates (``evaluate``).
* ``ReducedBase``: what the two reduced engines (§3.3, §3.4) share: ``W⁰`` in reduced coordinates.
* ``progress_bar``, ``readout_blocks``: the bar and the blocks a run's readouts draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from sim.data import Labels, Sampler, make_labels
from sim.distributed import Shard
from sim.giant_step.bartlett import reduced_init
from sim.giant_step.config import SimConfig
from sim.giant_step.evaluation import FitSet, Streams, evaluate
from sim.giant_step.init import second_layer_of
from sim.giant_step.options import EngineName, EstimateSource, RidgeMode
from sim.giant_step.plan import ExecutionPlan
from sim.giant_step.protocol import Network
from theory import activation


@dataclass(frozen=True)
class State:
    """The state between steps: ``W`` (``p × k``, float64), ``a`` (``p``, float64) and the batch an
    engine keeps for its next use (``None`` for engines that use every batch once)."""

    W: torch.Tensor
    a: torch.Tensor
    batch: Any = None

    @property
    def k(self) -> int:
        """The coordinates of ``W``: ``d`` (dense) or the reduced ``k_t`` (§3.3)."""
        return int(self.W.shape[1])


def progress_bar(cfg: SimConfig, seed: int, total: int, world_size: int, name: str):  # noqa: ANN201 - tqdm
    """A tqdm bar over about this rank's share of ``total`` blocks."""
    from tqdm.auto import tqdm

    return tqdm(total=-(-total // world_size), unit="block", delay=2.0, leave=False, dynamic_ncols=True,
                desc=f"{name} d={cfg.d} p={cfg.p} n={cfg.n} seed={seed}")


def readout_blocks(cfg: SimConfig) -> int:
    """Blocks drawn by the readouts of a run (fit, held-out and test sets, test-time estimates)."""
    per = sum(-(-m // cfg.block_size) for m in (cfg.n_fit, cfg.n_holdout, cfg.n_test))
    if cfg.preprocessed_readout and cfg.uses_estimate:
        test_blocks = -(-cfg.n_test // cfg.block_size) if cfg.test_estimate == EstimateSource.TEST else 0
        per += -(-cfg.n_fit // cfg.block_size) + test_blocks
    return cfg.readouts * per


class EngineBase:
    """The construction every engine shares (module docstring)."""

    name: EngineName

    def __init__(self, cfg: SimConfig, seed: int, plan: ExecutionPlan, progress: bool, shard: Shard) -> None:
        self.cfg, self.seed, self.plan, self.shard = cfg, seed, plan, shard
        self.dtype = getattr(torch, cfg.dtype)
        self.pair = activation(cfg.activation).torch_pair()
        self.labels: Labels = make_labels(cfg.target, cfg.noise, cfg.preprocess, cfg.ell_resolved,
                                          cfg.label_transform)
        total = cfg.steps * self.step_blocks() + readout_blocks(cfg)
        self.bar = progress_bar(cfg, seed, total, shard.world_size, self.name) if progress else None

    def step_blocks(self) -> int:
        """The blocks one step draws (for the progress bar): those of its batch."""
        return -(-self.cfg.n // self.cfg.block_size)

    def network(self, W: torch.Tensor, a: torch.Tensor, dtype: torch.dtype | None = None) -> Network:
        """The run's network with weights ``W``, ``a``, computed in ``dtype`` (default: the run's)."""
        c = self.cfg
        return Network(W, a, c.scale, self.pair, c.is_symmetric, self.dtype if dtype is None else dtype, c.bf16)

    def evaluate(self, W: torch.Tensor, t: int, k: int, fit: FitSet | None = None) -> dict[str, Any]:
        """The readout after step ``t`` of weights ``W`` (``p × k``) on samples in ``k`` coordinates
        (``sim.giant_step.evaluation.evaluate``; ``fit``: its fit set given whole)."""
        return evaluate(self.cfg, W.to(self.dtype), t, self.labels, self.pair[0], self.streams(k),
                        self.plan.ridge_mode == RidgeMode.DUAL, fit)

    def sampler(self, stream: str, step: int, n: int, k: int) -> Sampler:
        """The samples of ``stream`` at ``step`` in ``k`` coordinates (``k = d``: the dense samples)."""
        return Sampler(self.seed, stream, step, n, k, self.cfg.block_size, self.dtype, self.plan.device)

    def streams(self, k: int) -> Streams:
        """The readout's data sources in ``k`` coordinates."""
        return Streams(lambda stream, step, n: self.sampler(stream, step, n, k), self.plan.chunk_blocks,
                       self.shard, self.tick)

    def tick(self, blocks: int) -> None:
        if self.bar is not None:
            self.bar.update(blocks)

    def close(self) -> None:
        """Close the progress bar."""
        if self.bar is not None:
            self.bar.close()


class ReducedBase(EngineBase):
    """What the reduced engines share (``sim.giant_step.reduced``, ``sim.giant_step.conditioned``)."""

    name = EngineName.REDUCED

    def init(self) -> State:
        """``W⁰`` in reduced coordinates (``p × k₀``, ``sim.giant_step.bartlett.reduced_init``) and ``a``."""
        c = self.cfg
        W = reduced_init(c.init, c.p, c.d, c.r, self.seed).to(self.plan.device)
        return State(W, second_layer_of(c.init, c.p, self.seed, self.plan.device))


__all__ = ["EngineBase", "ReducedBase", "State", "progress_bar", "readout_blocks"]
