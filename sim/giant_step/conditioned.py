"""The reduced engine for runs that use a batch more than once: §3.4's conditioning (THEORY.md §3.3, §3.4, §3.5).

It runs, exactly in distribution and at a cost independent of ``d``, what §3.3 alone cannot: one batch for
every step (``batch="reuse"``, §3.5), the ridge readout fitted on a step's batch
(``readout_data="train_batch"``, §3.2) and the first-Hermite estimate ``A = mean(y)``, ``B = Zᵀy/n``
removed from the labels (``preprocess="hermite"``).

A batch (``Batch``) is drawn in the run's current ``k`` coordinates: ``Z_S`` (``n × k``, the seeded blocks of
``sim.data``), its noise and labels; the rest ``M`` (``n × (d − k)``) is the ``Conditioner`` of
``sim.giant_step.conditioning``. While the batch lives, the run's coordinates are ``[the batch's k | its
discovered right space R_d]``, so ``W = [W_S, W_R]`` (``p × (k + dr)``). A step on it:

1. right probes for the rows of ``W_R`` (their new parts only): then ``Z Wᵀ = Z̃ W̃ᵀ`` with the batch in
   probe coordinates ``Z̃ = [Z_S, M R_p]`` and ``W̃ = [W_S, W_R R_p]`` (``batch_view``);
2. the residual factors ``Q[ν, i] = r_ν σ'(⟨w̃_i, z̃_ν⟩)`` (``sim.giant_step.protocol.Forward``, float64) and
   ``C = diag(a/n) Qᵀ``;
3. ``G_S = C Z_S`` and ``G_R = (Mᵀ Cᵀ)ᵀ`` — the rows of ``C`` as left probes;
4. ``W ← [W_S + η̃ G_S, W_R + η̃ G_R]`` (``W_R`` padded to the new axes), rows normalised if asked.

With ``preprocess="hermite"`` a new batch's labels lose ``A + Z_S B_S + M B_R``: ``B_R = Mᵀy/n`` is a left
probe and ``M B_R`` a right one. A fresh batch per step (``batch="fresh"``) is a new ``Batch`` in the
coordinates of ``S_{t−1}``; with ``batch="reuse"`` the one batch (stream index 0) serves every step. The
readout on the training batch fits the ridge on ``Z̃`` (``sim.giant_step.evaluation.FitSet``); its
held-out and test sets are fresh samples in the run's coordinates, as in §3.3. Readouts change nothing:
they probe a copy, and the draws of a probe are seeded by (seed, batch, probe count), so the step that
follows repeats the same probes with the same bits.

Numerics: the batch is drawn in the compute dtype (its seeded blocks, ``sim.data``) and everything after —
labels, forward pass, probes — is float64, whatever ``dtype`` says (the probes' rank decisions need it).

Cost: a step is ``O(n·p·(k + pT))`` (the probes' Gram–Schmidt against at most ``pT + 1`` earlier ones) and
the batch is held whole: ``n × (k + 2·(pT + 1))`` float64 numbers. All of it runs on every rank of a
data-parallel run (the same bits everywhere; only the readout's fresh sets are sharded).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from sim.data import Preprocess
from sim.divergence import check_finite
from sim.giant_step.common import ReducedBase, State
from sim.giant_step.conditioning import Conditioner
from sim.giant_step.evaluation import FitSet, train_step_index
from sim.giant_step.options import ReadoutData
from sim.giant_step.protocol import Forward
from sim.keys import stream_seed

CONDITION_INDEX = 4  # the "init" stream's index of the conditioning draws: (4, batch, probe count)


@dataclass(frozen=True)
class Batch:
    """One training batch and what is known of it (module docstring).

    Attributes
    ----------
    index : int
        Its ``"train"`` stream index.
    k : int
        The run's coordinates when it was drawn (``Z``'s columns).
    Z : torch.Tensor
        ``Z_S`` (``n × k``, float64).
    y : torch.Tensor
        The labels a step fits (transformed, low orders removed; ``n``, float64).
    noisy : torch.Tensor
        The noisy labels (``n``, float64), which a raw readout fits.
    estimate : tuple of torch.Tensor or None
        ``(A, B_S (k), B_R (dr at the time))`` of ``preprocess="hermite"``.
    cond : Conditioner
        What is known of ``M``.
    draws : int
        Probes drawn so far (seeds the next draw).
    """

    index: int
    k: int
    Z: torch.Tensor
    y: torch.Tensor
    noisy: torch.Tensor
    estimate: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None
    cond: Conditioner
    draws: int = 0


class ConditionedEngine(ReducedBase):
    """The reduced engine with §3.4's conditioning (``sim.giant_step.engine.Engine``)."""

    perturb = ""  # a wrong variant of ``sim.giant_step.conditioning.PERTURBATIONS`` (tests only)

    # -- probes ---------------------------------------------------------------------------------------
    def _generators(self, batch: Batch) -> tuple[torch.Generator, np.random.Generator]:
        s = stream_seed(self.seed, "init", CONDITION_INDEX, batch.index, batch.draws)
        return torch.Generator().manual_seed(s), np.random.default_rng(s)

    def left(self, batch: Batch, U: torch.Tensor) -> tuple[torch.Tensor, Batch]:
        """``MᵀU`` (``dr × q``) for ``U`` (``n × q``)."""
        gen, npgen = self._generators(batch)
        out, cond = batch.cond.left(U, gen, npgen)
        return out, replace(batch, cond=cond, draws=batch.draws + 1)

    def right(self, batch: Batch, V: torch.Tensor) -> tuple[torch.Tensor, Batch]:
        """``M V`` (``n × q``) for ``V`` (``dr × q``, ``R_d`` coordinates)."""
        gen, _ = self._generators(batch)
        out, cond = batch.cond.right(V, gen)
        return out, replace(batch, cond=cond, draws=batch.draws + 1)

    # -- batches --------------------------------------------------------------------------------------
    def draw_batch(self, index: int, k: int) -> Batch:
        """Batch ``index`` of the ``"train"`` stream in ``k`` coordinates, its labels and (``hermite``) their
        estimate removed."""
        c = self.cfg
        z, xi = self.sampler("train", index, c.n, k).materialize()
        self.tick(-(-c.n // c.block_size))
        y0 = self.labels.remove_low(self.labels.step(z, xi), z).double()
        Z = z.double()
        batch = Batch(index, k, Z, y0, self.labels.noisy(z, xi).double(), None,
                      Conditioner.empty(c.n, c.d - k, Z.device, self.perturb))
        if c.preprocess == Preprocess.HERMITE:
            A, BS = y0.mean(), Z.T @ y0 / c.n
            BR, batch = self.left(batch, y0[:, None] / c.n)
            MB, batch = self.right(batch, BR)
            batch = replace(batch, y=y0 - A - Z @ BS - MB[:, 0], estimate=(A, BS, BR[:, 0]))
        return batch

    def batch_for(self, state: State, index: int) -> Batch:
        """The state's batch if it is ``index``, else that batch drawn in the state's coordinates."""
        if state.batch is not None and state.batch.index == index:
            return state.batch
        return self.draw_batch(index, state.k)

    def batch_view(self, batch: Batch, W: torch.Tensor) -> tuple[Batch, torch.Tensor, torch.Tensor]:
        """``(batch, Z̃, W̃)``: the batch in probe coordinates and ``W`` in the same (module docstring, 1)."""
        WR = W[:, batch.k:].T  # dr_W × p
        if WR.shape[0]:
            _, batch = self.right(batch, WR)
        Zt = torch.cat([batch.Z, batch.cond.MR], dim=1)
        Wt = torch.cat([W[:, :batch.k], batch.cond.coordinates(WR).T], dim=1)
        return batch, Zt, Wt

    # -- the engine interface (``init``: ``ReducedBase``) ---------------------------------------------
    def step(self, state: State, t: int) -> tuple[State, float]:
        """Giant step ``t`` (1-based) on its batch: ``(state after it, batch loss before it)``."""
        c = self.cfg
        batch = self.batch_for(state, train_step_index(c, t))
        batch, Zt, Wt = self.batch_view(batch, state.W)
        fwd = Forward(self.network(Wt, state.a, torch.float64))
        rb = fwd.residuals(Zt, batch.y)
        loss = float(rb.res @ rb.res) / (2 * c.n)
        check_finite(loss, "batch loss", t)
        Q = torch.cat([q for _, q in rb.parts], dim=1)  # n × p
        CT = Q * (state.a / c.n)[None, :]  # Cᵀ
        check_finite(CT, "step factor C", t)
        GS = CT.T @ batch.Z
        GR, batch = self.left(batch, CT)  # dr' × p
        eta = c.lr_per_neuron
        WR = state.W[:, batch.k:]
        WR = torch.cat([WR, WR.new_zeros(c.p, GR.shape[0] - WR.shape[1])], dim=1) + eta * GR.T
        W = torch.cat([state.W[:, :batch.k] + eta * GS, WR], dim=1)
        if c.normalize:
            W = W / W.norm(dim=1, keepdim=True)
        check_finite(W, "first-layer weight matrix W", t)
        return State(W, state.a, batch), loss

    def readout(self, state: State, t: int) -> dict[str, Any]:
        """The readout after step ``t``; on the training batch in probe coordinates (``FitSet``)."""
        c = self.cfg
        W, k, fit = state.W, state.k, None
        if c.readout_data == ReadoutData.TRAIN_BATCH:
            batch, Zt, Wt = self.batch_view(self.batch_for(state, train_step_index(c, t)), W)
            test_est = None
            if batch.estimate is not None:
                A, BS, BR = batch.estimate
                k = max(k, batch.k + BR.shape[0])
                test_est = (A, torch.cat([BS, BR, BR.new_zeros(k - batch.k - BR.shape[0])]))
            fit = FitSet(Zt, batch.y if c.preprocessed_readout else batch.noisy, Wt, test_est, c.block_size)
        W = torch.cat([W, W.new_zeros(c.p, k - W.shape[1])], dim=1)
        return self.evaluate(W, t, k, fit)


__all__ = ["CONDITION_INDEX", "Batch", "ConditionedEngine"]
