"""The reduced-coordinate engine: giant steps exact in distribution at a cost independent of ``d`` (THEORY.md §3.3).

Coordinates. After step ``t−1`` the weights live in ``S_{t−1} = span(e_1..e_r, rows of W⁰..W^{t−1})``;
the engine keeps ``W`` as a ``p × k`` matrix in an orthonormal basis of ``S_{t−1}`` whose first ``r``
vectors are the teacher axes (``W⁰`` from ``sim.giant_step.bartlett.reduced_init``). The basis itself is
never formed.

One step (``t``, current ``k``, ``D = d − k`` coordinates outside ``S_{t−1}``). A fresh batch ``z = B z_S +
z_⊥`` has ``z_S ~ N(0, I_k)`` independent of ``z_⊥``; labels (first ``r`` coordinates), ``f``, the
residuals ``r_ν`` and ``σ'(⟨w_i, z_ν⟩)`` depend on ``z_S`` only. With ``C = [a_i r_ν σ'(⟨w_i,z_ν⟩)/n]``
(``p × n``) the step is ``η̃ (C Z_S Bᵀ + C Z_⊥)``. Given ``C``, ``C Z_⊥`` is Gaussian with row covariance
``C Cᵀ`` (``⊗ I_D``): ``C Z_⊥ = L Ξ`` with ``L Lᵀ = C Cᵀ`` and ``Ξ`` an ``m × D`` standard Gaussian matrix,
``m = rank C Cᵀ``; by rotation invariance outside ``S_{t−1}``, ``Ξ`` is replaced by its Bartlett factor
``R`` (``m × min(m, D)``) on ``min(m, D)`` new basis vectors. So the engine

1. draws ``Z_S`` (``n × k``, the seeded blocks of ``sim.data`` with ``k`` columns) and the noise;
2. accumulates ``C Z_S`` (``p × k``) and ``C Cᵀ`` (``p × p``, float64) block by block, block order;
3. eigendecomposes ``C Cᵀ = V Λ Vᵀ`` and keeps ``λ > TOL·λ_max`` (``TOL = 1e-10``: the symmetric
   initialisation's first step has rank exactly ``p/2``, ``C_{i+p/2} = −C_i``), ``L = V_m Λ_m^{1/2}``;
4. draws ``R`` (``sim.giant_step.bartlett.step_rng``) and sets ``W ← [W + η̃ C Z_S, η̃ L R]``, then
   normalises the rows if asked (norms are basis-free).

A step costs ``O(n·p·(k + p) + p³)`` multiply-adds and ``n·k`` Gaussian samples, independent of ``d``;
``k`` grows by at most ``p`` per step (``sim.giant_step.choice.max_coordinates``) and never beyond ``d``
(then ``D = 0`` and the step is the dense one in a rotated basis). The readout (ridge, held-out, test)
needs the features ``σ(W z) = σ(W_S z_S)`` only, so it runs on ``k``-dimensional fresh samples
(``sim.giant_step.evaluation``); the overlaps are the first ``r`` columns of the normalised ``W``.
A run that uses a batch more than once (batch reuse, a readout on the training batch, the first-Hermite
estimate) needs §3.4's conditioning: ``sim.giant_step.conditioned``; what no probe represents (the
least-squares estimate, bf16) runs on the dense engine (``sim.giant_step.choice``).

Data parallel: each rank sums its block range of ``C Z_S``, ``C Cᵀ`` and ``Σ r²``; one ``all_reduce`` adds
them; the Bartlett draw comes from the run's seed (the same on every rank) and rank 0's ``W`` is broadcast.
"""

from __future__ import annotations

from typing import Any

import torch

from sim.distributed import broadcast_
from sim.divergence import check_finite, guarded
from sim.giant_step.bartlett import bartlett, step_rng
from sim.giant_step.common import ReducedBase, State
from sim.giant_step.evaluation import labelled
from sim.giant_step.protocol import Forward, Network, Reduce

TOL = 1e-10


def accumulate(net: Network, blocks: Any, reduce: Reduce | None = None) -> tuple[torch.Tensor, torch.Tensor, float]:
    """``(Q Z_S (p × k), QᵀQ-Gram (p × p), Σ r²)`` in float64 over blocks ``(z_S (b × k), y (b,))``, with
    ``Q[ν, i] = r_ν σ'(⟨w_i, z_ν⟩)`` — so ``C Z_S = diag(a/n)·QZ`` and ``C Cᵀ = diag(a/n)·G·diag(a/n)``.
    The Gram matrix is formed from ``Q`` in float64 (its null space decides the rank)."""
    W = net.W
    p, k = W.shape
    fwd = Forward(net)
    QZ = torch.zeros(p, k, dtype=torch.float64, device=W.device)
    G = torch.zeros(p, p, dtype=torch.float64, device=W.device)
    sq = torch.zeros((), dtype=torch.float64, device=W.device)
    for z, y in blocks:
        rb = fwd.residuals(z, y)
        sq += (rb.res @ rb.res).double()
        for start, Q in rb.parts:
            QZ[start:start + Q.shape[1]].add_(torch.mm(Q.T, z))
        Qd = torch.cat([Q for _, Q in rb.parts], dim=1).double()
        G.add_(Qd.T @ Qd)
    if reduce is not None:
        reduce([QZ, G, sq])
    return QZ, G, float(sq)


def covariance_factor(CC: torch.Tensor, tol: float = TOL) -> torch.Tensor:
    """``L = V_m Λ_m^{1/2}`` (``p × m``) with ``L Lᵀ = C Cᵀ`` on the eigenvalues ``λ > tol·λ_max``."""
    evals, V = torch.linalg.eigh(CC)
    top = float(evals.max()) if evals.numel() else 0.0
    if top <= 0.0:
        return CC.new_zeros(CC.shape[0], 0)
    keep = evals > tol * top
    return V[:, keep] * evals[keep].sqrt()


class ReducedEngine(ReducedBase):
    """The reduced-coordinate engine of one run on fresh batches (``sim.giant_step.engine.Engine``)."""

    def step(self, state: State, t: int) -> tuple[State, float]:
        """Giant step ``t`` (1-based) in reduced coordinates: ``(state with W^t (p × k_t), batch loss before it)``."""
        c = self.cfg
        W, a, k = state.W, state.a, state.k
        sampler = self.sampler("train", t - 1, c.n, k)
        blocks = labelled(sampler, self.plan.chunk_blocks, self.labels.train, self.tick,
                          self.shard.blocks(sampler.num_blocks))
        QZ, G, sq = accumulate(self.network(W, a), blocks, self.shard.reduce)
        loss = sq / (2 * c.n)
        check_finite(loss, "batch loss", t)
        w = a / c.n  # C = diag(a/n) Qᵀ
        CZ, CC = QZ * w[:, None], G * (w[:, None] * w[None, :])
        check_finite(CC, "step covariance C Cᵀ", t)
        with guarded("step covariance C Cᵀ", t):
            L = covariance_factor(CC)
        eta = c.lr_per_neuron
        parts = [W + eta * CZ]
        if c.d > k and L.shape[1] > 0:
            R = torch.from_numpy(bartlett(L.shape[1], c.d - k, step_rng(self.seed, t))).to(L.device)
            parts.append(eta * (L @ R))
        W = torch.cat(parts, dim=1)
        if c.normalize:
            W = W / W.norm(dim=1, keepdim=True)
        check_finite(W, "first-layer weight matrix W", t)
        if self.shard.world_size > 1:  # every rank continues from rank 0's bits
            broadcast_(W, 0)
        return State(W, a), loss

    def readout(self, state: State, t: int) -> dict[str, Any]:
        """The readout after step ``t`` on fresh samples in the ``k_t`` coordinates (features need ``z_S`` only)."""
        return self.evaluate(state.W, t, state.k)


__all__ = ["TOL", "ReducedEngine", "accumulate", "covariance_factor"]
