"""Numeric analysis of any target by Gauss–Hermite quadrature (THEORY.md §2).

For a subspace ``V`` (orthonormal ``Q_V``, complement ``Q_⊥``) the target is
evaluated on a tensor-product Gauss–Hermite grid of ``q`` points per axis in
the rotated coordinates ``x = Q_V y + Q_⊥ w`` (the Gaussian is rotation
invariant). Contracting every ``w``-axis with ``He_k(node)·weight`` gives the
conditional Hermite coefficients ``c_{α,β}(V)`` as functions of the
``y``-nodes, ``T[j, β] = E[g He_β(w) | y = y_j]``; everything in §2 is a
weighted sum of these.

Exactness: with ``q`` points per axis the rule integrates polynomials of
degree ``2q − 1`` exactly, so a polynomial target of degree ``D`` is handled
to rounding error when ``q ≥ D + ⌈K/2⌉ + 1`` (``K`` the highest order
asked for). Non-polynomial targets converge with ``q``: fast for smooth
activations, algebraically for kinks (relu, abs, sign). Ranks are decided by
eigenvalues ``> tol² ‖g‖²`` of the positive matrices described below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.polynomial.hermite_e import hermegauss, hermevander

from theory.hermite import multi_factorial, multi_indices
from theory.subspace import FloatSubspace


def gauss_hermite(q: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the ``q``-point rule for ``E_{u~N(0,1)}`` (weights sum to 1)."""
    nodes, weights = hermegauss(q)
    return nodes, weights / np.sqrt(2 * np.pi)


@dataclass(frozen=True)
class NumericEngine:
    """Quadrature analysis of ``fn: (n, r) → (n,)`` with ``q`` nodes per axis and orders up to ``kmax``."""

    fn: Callable[[np.ndarray], np.ndarray]
    r: int
    q: int
    kmax: int
    tol: float

    @cached_property
    def rule(self) -> tuple[np.ndarray, np.ndarray]:
        return gauss_hermite(self.q)

    def _table(self, V: FloatSubspace, kmax: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, ...]]]:
        """``(w_y, T, betas)``: ``T[j, b] = E[g He_{betas[b]}(w) | y_j]`` for ``|β| ≤ kmax``."""
        m = V.dim
        s = self.r - m
        Q = np.hstack([V.basis, V.complement().basis])  # r × r, columns: V then V^⊥
        nodes, weights = self.rule
        q = self.q
        grid = np.stack(np.meshgrid(*([nodes] * self.r), indexing="ij"), axis=-1).reshape(-1, self.r)
        values = self.fn(grid @ Q.T).reshape((q,) * self.r)
        # contract every w-axis with He_k(node) * weight  →  (q,)*m + (kmax+1,)*s
        herm = hermevander(nodes, kmax) * weights[:, None]  # q × (kmax+1)
        T = values
        for axis in range(m, self.r):
            T = np.moveaxis(np.tensordot(T, herm, axes=([axis], [0])), -1, axis)
        T = T.reshape(q**m, *([kmax + 1] * s))
        betas = [b for k in range(kmax + 1) for b in multi_indices(s, k)]
        flat = np.stack([T[(slice(None),) + b] for b in betas], axis=1) if betas else np.zeros((q**m, 0))
        w_y = np.ones(1)
        for _ in range(m):
            w_y = np.outer(w_y, weights).ravel()
        return w_y, flat, betas

    def norm2(self) -> float:
        """``‖g‖² = E[g²]`` by the quadrature rule (computed once per engine)."""
        return self._norm2

    @cached_property
    def _norm2(self) -> float:
        nodes, weights = self.rule
        grid = np.stack(np.meshgrid(*([nodes] * self.r), indexing="ij"), axis=-1).reshape(-1, self.r)
        w = np.ones(1)
        for _ in range(self.r):
            w = np.outer(w, weights).ravel()
        return float(np.sum(w * self.fn(grid) ** 2))

    @cached_property
    def hermite(self) -> dict[tuple[int, ...], float]:
        """``c_α`` for ``|α| ≤ kmax`` (all of them, zeros included)."""
        _, T, betas = self._table(FloatSubspace.zero(self.r, self.tol), self.kmax)
        return {b: float(T[0, i]) for i, b in enumerate(betas)}

    def order_energy(self, k: int) -> float:
        return sum(c * c / multi_factorial(a) for a, c in self.hermite.items() if sum(a) == k)

    def tensor(self, k: int) -> np.ndarray:
        import itertools

        from theory.hermite import index_tuple_to_alpha

        if k == 0:
            return self.hermite[(0,) * self.r]
        out = np.zeros((self.r,) * k)
        for idx in itertools.product(range(self.r), repeat=k):
            out[idx] = self.hermite[index_tuple_to_alpha(idx, self.r)]
        return out

    def _rank_cut(self, M: np.ndarray, complement: np.ndarray) -> FloatSubspace:
        """Eigenvectors of the PSD matrix ``M`` (in complement coordinates) with ``λ > tol²‖g‖²``."""
        if M.size == 0:
            return FloatSubspace.zero(self.r, self.tol)
        lam, vec = np.linalg.eigh((M + M.T) / 2)
        keep = lam > self.tol**2 * max(self.norm2(), 1e-300)
        return FloatSubspace.span(complement @ vec[:, keep], 1e-8)

    def relevant(self) -> FloatSubspace:
        """``Σ_{k ≤ kmax} range(C_k)``: the relevant subspace up to the truncation order (§2.1)."""
        V = FloatSubspace.zero(self.r, self.tol)
        return self.directions(V, tuple(range(1, self.kmax + 1)))

    def directions(self, V: FloatSubspace, orders: tuple[int, ...]) -> FloatSubspace:
        """Ranges of the conditional order-k tensors given ``x_V``, ``k ∈ orders`` (§2.4–2.5).

        Builds ``M = Σ_k Σ_{|γ|=k−1} E_y[t_γ t_γᵀ]/γ!`` with ``t_γ = (T[γ + e_i])_i``,
        whose range is the span of all those tensor ranges.
        """
        s = self.r - V.dim
        comp = V.complement().basis
        if s == 0 or not orders:
            return FloatSubspace.zero(self.r, self.tol)
        w_y, T, betas = self._table(V, max(orders))
        index = {b: i for i, b in enumerate(betas)}
        M = np.zeros((s, s))
        for k in orders:
            for gamma in multi_indices(s, k - 1):
                cols = [index[tuple(g + (i == a) for a, g in enumerate(gamma))] for i in range(s)]
                t = T[:, cols]  # (q^m, s)
                M += (t.T * w_y) @ t / multi_factorial(gamma)
        return self._rank_cut(M, comp)

    def conditional_energy(self, V: FloatSubspace, kappa: int) -> float:
        """``Σ_{|β| ≤ κ} Σ_α c_{α,β}(V)²/(α! β!)`` (§2.6)."""
        w_y, T, betas = self._table(V, kappa)
        fact = np.array([multi_factorial(b) for b in betas], dtype=float)
        return float(np.sum(w_y[:, None] * T**2 / fact[None, :]))


def default_points(r: int, degree: int | None, kmax: int, budget: int) -> int:
    """Nodes per axis: exact for polynomials of ``degree``; else as many as ``budget`` allows."""
    if degree is not None:
        return max(degree + (kmax + 1) // 2 + 1, 2)
    return int(min(max(np.floor(budget ** (1.0 / r)), 2), 200))
