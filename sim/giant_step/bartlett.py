"""Bartlett factors: a Gaussian matrix represented exactly, up to a rotation, by a small triangle (THEORY.md §3.3).

Let ``Ξ`` be an ``m × D`` matrix of i.i.d. ``N(0, 1)`` entries. Its LQ decomposition ``Ξ = L Q`` (``Q``
with orthonormal rows) has ``Q`` uniform on its Stiefel manifold and independent of ``L``, and ``L``
(``m × c``, ``c = min(m, D)``, lower trapezoidal) has independent entries

* ``L_jj ~ χ_{D−j}`` for ``j = 0 … c−1`` (0-based),
* ``L_ij ~ N(0, 1)`` for ``i > j``; rows ``i ≥ D`` (when ``m > D``) are full ``N(0, 1)`` rows of length ``D``.

(Row ``j`` of ``Ξ`` has, after projecting out the span of the rows before it, ``D − j`` free Gaussian
coordinates, whose norm is ``χ_{D−j}``; its components along the ``j`` earlier directions are
independent ``N(0, 1)`` — Bartlett's decomposition of a Wishart matrix, ``ΞΞᵀ = L Lᵀ``.) Since everything
the protocol computes is invariant under rotations of the coordinates outside ``S_t`` (the data are
rotation invariant there), ``Ξ`` may be replaced by ``L`` written on ``c`` new basis vectors: exact in
distribution, ``m × c`` numbers instead of ``m × D``, and independent of ``D``. THEORY §3.3 states the
transposed (upper-triangular) form for ``Ξᵀ``; this is the same law.

The reduced engine uses it twice: for the parts of ``W⁰`` orthogonal to the teacher axes
(``reduced_init``) and for the part ``C Z_⊥ = L_C Ξ`` of each step (``sim.giant_step.reduced``). All draws
come from a numpy ``Generator`` seeded from ``sim.keys.stream_seed`` — the ``"init"`` stream at index
``(2, 0)`` for ``W⁰`` and ``(3, t)`` for step ``t`` (disjoint from the dense ``W⁰`` at ``(0, 0)`` and the
second layer at ``(1, 0)``) — never from global state, so a run is the same on every rank and device.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from sim.giant_step.options import Init
from sim.keys import stream_seed

INIT_INDEX = (2, 0)
STEP_INDEX = 3


def rng(seed: int, *index: int) -> np.random.Generator:
    """The numpy ``Generator`` of the ``"init"`` stream of ``seed`` at ``index``."""
    return np.random.default_rng(stream_seed(seed, "init", *index))


def step_rng(seed: int, t: int) -> np.random.Generator:
    """The generator of the Bartlett draw of giant step ``t`` (1-based)."""
    return rng(seed, STEP_INDEX, t)


def bartlett(m: int, D: int, gen: np.random.Generator) -> np.ndarray:
    """The ``m × min(m, D)`` lower-trapezoidal Bartlett factor ``L`` of an ``m × D`` standard Gaussian
    matrix ``Ξ = L Q`` (module docstring), float64. ``D = 0`` gives an ``m × 0`` matrix."""
    c = min(m, D)
    L = np.tril(gen.standard_normal((m, c)), -1)
    if c:
        L[np.arange(c), np.arange(c)] = np.sqrt(gen.chisquare(np.arange(D, D - c, -1, dtype=np.float64)))
    return L


def reduced_init(init: Init | str, p: int, d: int, r: int, seed: int) -> torch.Tensor:
    """``W⁰`` in reduced coordinates (``p × k₀``, float64, CPU): the first ``r`` coordinates are the teacher
    axes ``e_1 … e_r``, the rest the Bartlett factor of the rows' components orthogonal to them.

    * ``symmetric``: ``h = p/2`` rows ``[X, L]`` with ``X ~ N(0, I_r)`` (``h × r``) and ``L`` the Bartlett
      factor of an ``h × (d − r)`` Gaussian matrix, normalised to unit rows and then duplicated
      (``w_{i+h} = w_i``): ``k₀ = r + min(h, d − r)``;
    * ``gaussian``, ``hypercube``: ``p`` rows ``[X, L]/√d``: ``k₀ = r + min(p, d − r)``;
    * ``orthogonal``: ``[0, I_p]`` (``k₀ = r + p``): any orthonormal frame orthogonal to the teacher axes is
      this one after a rotation that fixes them (no draw at all).

    In law these are the rows of ``sim.giant_step.init`` rotated so that ``S_0`` is spanned by the first
    ``k₀`` axes (``Ξ = L Q``, ``Q`` independent of ``L``).
    """
    if init == Init.ORTHOGONAL:
        return torch.cat([torch.zeros(p, r, dtype=torch.float64), torch.eye(p, dtype=torch.float64)], dim=1)
    gen = rng(seed, *INIT_INDEX)
    symmetric = init == Init.SYMMETRIC
    rows = p // 2 if symmetric else p
    X = gen.standard_normal((rows, r))
    W = np.concatenate([X, bartlett(rows, d - r, gen)], axis=1)
    if symmetric:
        W = W / np.linalg.norm(W, axis=1, keepdims=True)
        W = np.concatenate([W, W])
    else:
        W = W / math.sqrt(d)
    return torch.from_numpy(W)


__all__ = ["INIT_INDEX", "STEP_INDEX", "bartlett", "reduced_init", "rng", "step_rng"]
