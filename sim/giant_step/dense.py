"""The streamed dense engine: giant steps and readouts on samples in all ``d`` coordinates (THEORY.md §3).

Every data set (the batch of each step, the ridge fit, the held-out split, the test set) is drawn block
by block from its seeded stream (``sim.data``), a chunk of whole blocks at a time (``plan.chunk_blocks``),
and consumed at once: the step by ``sim.giant_step.protocol.streamed_correlation``, the readout by
``sim.giant_step.evaluation``. In a data-parallel run (``shard``, ``sim.distributed``) each rank draws and
sums its own block range and the float64 sums are added across ranks. It runs every option of §3 and
§3.2, including those the reduced engine cannot represent (``sim.giant_step.choice``).
"""

from __future__ import annotations

from typing import Any

from sim.distributed import broadcast_
from sim.divergence import check_finite, guarded
from sim.giant_step.common import EngineBase, State
from sim.giant_step.evaluation import labelled, train_step_index
from sim.giant_step.init import init_network
from sim.giant_step.options import EngineName
from sim.giant_step.protocol import neuron_step, streamed_correlation


class DenseEngine(EngineBase):
    """The dense engine of one run (``sim.giant_step.engine.Engine``)."""

    name = EngineName.DENSE

    def step_blocks(self) -> int:
        """The blocks one step draws: its batch, twice when the low orders are estimated on it first."""
        return super().step_blocks() * (2 if self.cfg.uses_estimate else 1)

    def init(self) -> State:
        """``W⁰`` (``p × d``, float64) and ``a`` of ``cfg.init`` (``sim.giant_step.init``)."""
        c = self.cfg
        return State(*init_network(c.init, c.p, c.d, self.seed, self.plan.device, c.r))

    def step(self, state: State, t: int) -> tuple[State, float]:
        """Giant step ``t`` (1-based): ``(state after it, batch loss before it)``."""
        c = self.cfg
        W, a = state.W, state.a
        sampler = self.sampler("train", train_step_index(c, t), c.n, c.d)
        est = None
        if c.uses_estimate:
            with guarded(f"label estimate ({c.preprocess})", t):
                est = self.streams(c.d).estimate(c.preprocess, sampler, self.labels, self.labels.step)
            check_finite(est[1], f"label estimate ({c.preprocess})", t)
        blocks = labelled(sampler, self.plan.chunk_blocks, lambda z, xi: self.labels.train(z, xi, est), self.tick,
                          self.shard.blocks(sampler.num_blocks))
        corr, sq = streamed_correlation(self.network(W, a), blocks, reduce=self.shard.reduce)
        loss = sq / (2 * c.n)
        check_finite(loss, "batch loss", t)
        W = neuron_step(W, corr, a, c.n, c.lr_per_neuron, c.normalize)
        check_finite(W, "first-layer weight matrix W", t)
        if self.shard.world_size > 1:  # every rank continues from rank 0's bits
            broadcast_(W, 0)
        return State(W, a), loss

    def readout(self, state: State, t: int) -> dict[str, Any]:
        """The readout after step ``t`` (``sim.giant_step.evaluation.evaluate``)."""
        return self.evaluate(state.W, t, self.cfg.d)


__all__ = ["DenseEngine"]
