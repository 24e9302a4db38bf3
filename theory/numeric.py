"""Numeric analysis of any target by quadrature (THEORY.md §2; the :class:`theory.engine.AnalysisEngine` protocol).

For a subspace ``V`` the target is evaluated on a tensor-product grid in rotated coordinates
``x = Q_V y + Q_W w`` (:mod:`theory.quadrature`; the Gaussian is rotation invariant). Contracting every
``w``-axis with ``He_k(node)·weight`` gives the conditional Hermite coefficients as functions of the
``y``-nodes, ``T[j, β] = E[g He_β(w) | y = y_j]``; everything in §2 is a weighted sum of these, and the
``y``-Hermite coefficients ``c_{α,β}(V) = Σ_j w_j He_α(y_j) T[j, β]`` group the directions by order (§2.8).

Accuracy:

* a polynomial of degree ``D`` is integrated to rounding error by Gauss–Hermite with
  ``q ≥ D + ⌈K/2⌉ + 1`` points per axis (``K`` the highest order asked for);
* a target with relu/abs/sign is split at its kink hyperplanes (:mod:`theory.kinks`) into pieces, each
  integrated by Gauss–Legendre: exact to ~1e-14 when the pieces are polynomials (``sign(x1*x2*x3)``),
  spectrally convergent when they are smooth. Conditioning subspaces to which the kinks are oblique (and
  targets whose kinks are not hyperplanes) fall back to Gauss–Hermite, which converges slowly there;
* smooth non-polynomial targets converge spectrally in ``q``.

:meth:`NumericEngine.describe` states the method and an error estimate: the largest change of ``‖g‖²`` and
of the ``c_α`` (``|α| ≤ kmax``) when the rule is replaced by a coarser one (about ¾ of the points). Ranks
are decided by eigenvalues ``> tol² ‖g‖²`` of the positive matrices described below.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy
from numpy.polynomial.hermite_e import hermevander

from theory.budget import (LOOP_STEP, Meter, charge, check_tensor, expression_operations, metered, numeric_meter,
                           one_request)
from theory.hermite import hermite_e, index_tuple_to_alpha, multi_factorial, multi_indices
from theory.kinks import Hyperplane, kink_hyperplanes
from theory.quadrature import GRID_FACTOR, Grid, build_grid
from theory.registry import KINKED
from theory.subspace import FloatSubspace, as_subspace

# a target whose constant part is more than this many times its fluctuation is refused by the rank decisions:
# float64 evaluation of g itself loses the digits that the fluctuation is made of (abs(x1 − 1e12) + x2)
MAX_CONSTANT_RATIO = 1e8
OBLIQUE_TOL = 1e-3  # rank tolerance on grids that straddle kinks
MAX_VALUE = 1e150  # |g| on the grid above this: g² (norms, Gram matrices) would overflow float64
CHUNK_POINTS = 2**18  # grid points built and evaluated at a time (memory: CHUNK_POINTS × r floats, and temporaries)


@dataclass(frozen=True)
class NumericEngine:
    """Quadrature analysis of ``fn: (n, r) → (n,)`` (module docstring).

    ``q`` Gauss–Hermite points per smooth axis, ``n_gl`` Gauss–Legendre points per piece of a split axis,
    Hermite orders up to ``kmax``, relative rank tolerance ``tol``; ``planes`` the kink hyperplanes
    (``()`` smooth, ``None`` unknown); ``degree`` the degree of a polynomial target (``None`` otherwise);
    ``operations`` the array operations of one evaluation of ``fn`` (:func:`theory.budget.expression_operations`)
    and ``budget`` the quadrature points a grid is sized for (:func:`theory.quadrature.build_grid`). Requests are
    metered in point operations (:mod:`theory.budget`).
    """

    fn: Callable[[np.ndarray], np.ndarray]
    r: int
    q: int
    kmax: int
    tol: float
    variables: tuple[sympy.Symbol, ...]
    planes: tuple[Hyperplane, ...] | None = ()
    degree: int | None = None
    n_gl: int = 40
    operations: int = 1
    budget: int = 2_000_000

    exact = False

    def meter(self) -> Meter:
        """A fresh meter for one request."""
        return numeric_meter()

    @property
    def max_order(self) -> int:
        return self.kmax

    def zero(self) -> FloatSubspace:
        return FloatSubspace.zero(self.r, self.tol)

    def subspace(self, U: object) -> FloatSubspace:
        return as_subspace(U, self.r, False, self.tol).to_float()

    # -- grids and tables ---------------------------------------------------------------------
    def _grid(self, V: FloatSubspace, coarse: bool = False) -> Grid:
        q = max(math.ceil(0.75 * self.q), 2) if coarse else self.q
        n_gl = max(math.ceil(0.8 * self.n_gl), 2) if coarse else self.n_gl
        return build_grid(V.basis, V.complement().basis, self.planes, q, n_gl, self.budget)

    def _values(self, grid: Grid, kmax: int = 0) -> np.ndarray:
        """``g`` on the grid, shape ``(Ny, n_1, …, n_s)``; the points (``r`` coordinates built in ``s + 1`` passes),
        the evaluation and the contraction of every ``w``-axis with ``kmax + 1`` Hermite polynomials
        (:meth:`_table`) charged to the open meter first."""
        ns = [W.shape[1] for W in grid.W]
        work, lead = 0, grid.Y.shape[0]
        for k in range(len(ns)):  # contracting axis k: an array of lead × n_k × … × n_s entries, kmax + 1 times
            work += lead * math.prod(ns[k:]) * (kmax + 1)
            lead *= kmax + 1
        charge(grid.size * (self.operations + self.r * (len(ns) + 1)) + work,
               f"evaluating the target on {grid.size:,} quadrature points")
        G = np.empty(grid.shape)
        n = G.shape[grid.lead]
        step = max(1, CHUNK_POINTS * n // grid.size)  # points built and evaluated CHUNK_POINTS at a time
        for start in range(0, n, step):
            part = slice(start, start + step)
            X = grid.points(part)
            values = np.asarray(self.fn(X.reshape(-1, self.r)), dtype=float).reshape(X.shape[:-1])
            if not np.all(np.isfinite(values)) or np.max(np.abs(values)) > MAX_VALUE:
                raise ValueError(f"the target is not finite on the quadrature grid (|x| up to {np.abs(X).max():.3g}) "
                                 f"or exceeds MAX_VALUE = {MAX_VALUE:g}, so its square overflows float64; use smaller "
                                 "coefficients or exponents")
            G[(slice(None),) * grid.lead + (part,)] = values
        return G

    def _table(self, V: FloatSubspace, kmax: int, coarse: bool = False
               ) -> tuple[Grid, np.ndarray, list[tuple[int, ...]]]:
        """``(grid, T, betas)``: ``T[j, b] = E[g He_{betas[b]}(w) | y_j]`` for ``|β| ≤ kmax``."""
        grid = self._grid(V, coarse)
        G = self._values(grid, kmax)
        # centred: E[g He_β] = E[(g − m) He_β] for β ≠ 0, without the rounding noise of a large constant m
        m = float(np.median(G)) if G.size else 0.0
        G = G - m
        ny, s = G.shape[0], len(grid.W)
        step = max(1, CHUNK_POINTS * ny // grid.size)  # y-nodes at a time: per-node rules make H as large as G
        parts = []
        for start in range(0, ny, step):
            part = slice(start, start + step)
            T = G[part]
            for k in range(s):
                W, Om = (grid.W[k][part], grid.Om[k][part]) if grid.W[k].shape[0] > 1 else (grid.W[k], grid.Om[k])
                H = hermevander(W, kmax) * Om[..., None]  # (nodes or 1, n_k, kmax+1)
                T = np.moveaxis(T, 1 + k, -1)
                shape = T.shape
                T = (T.reshape(shape[0], -1, shape[-1]) @ H).reshape(shape[:-1] + (kmax + 1,))
                T = np.moveaxis(T, -1, 1 + k)
            parts.append(T)
        T = np.concatenate(parts)
        T[(slice(None),) + (0,) * s] += m * self._mass(grid)  # the constant back, times each node's mass
        betas = [b for k in range(kmax + 1) for b in multi_indices(s, k)]
        flat = np.stack([T[(slice(None),) + b] for b in betas], axis=1)
        return grid, flat, betas

    @staticmethod
    def _mass(grid: Grid) -> np.ndarray | float:
        """``Σ`` of the ``w``-weights per ``y``-node (1 up to the mass outside the split range, < 1e-32)."""
        mass: np.ndarray | float = 1.0
        for Om in grid.Om:
            mass = mass * Om.sum(axis=1)
        return mass

    def _norm2_of(self, coarse: bool) -> float:
        grid = self._grid(self.zero(), coarse)  # V = {0}: one y-node, every axis a w-axis
        with metered(numeric_meter()):  # computed once per engine: a request of its own
            G2 = self._values(grid)[0] ** 2
        for k in range(len(grid.W)):
            G2 = np.tensordot(G2, grid.Om[k][0], axes=([0], [0]))
        return float(G2)

    def _coefficients_of(self, coarse: bool) -> dict[tuple[int, ...], float]:
        """``c_α`` for ``|α| ≤ kmax`` in the original coordinates (the frame's tensors rotated back, §1)."""
        with metered(numeric_meter()):  # computed once per engine: a request of its own
            grid, T, betas = self._table(self.zero(), self.kmax, coarse)
        coeffs = {b: float(T[0, i]) for i, b in enumerate(betas)}
        Q = grid.QW
        if np.allclose(Q, np.eye(self.r), atol=0):
            return coeffs
        check_tensor(sum(self.r**k for k in range(self.kmax + 1)), f"rotating C_0 … C_{self.kmax} (pass smaller kmax)")
        out: dict[tuple[int, ...], float] = {}
        for k in range(self.kmax + 1):
            C = np.zeros((self.r,) * k)
            for idx in itertools.product(range(self.r), repeat=k):
                C[idx] = coeffs[index_tuple_to_alpha(idx, self.r)]
            for axis in range(k):  # C_k(g) = C_k(g∘Q) contracted with Qᵀ in every slot
                C = np.moveaxis(np.tensordot(Q, C, axes=([1], [axis])), 0, axis)
            for alpha in multi_indices(self.r, k):
                idx = tuple(i for i, a in enumerate(alpha) for _ in range(a))
                out[alpha] = float(C[idx]) if k else float(C)
        return out

    # -- §1 -------------------------------------------------------------------------------------
    def norm2(self) -> float:
        """``‖g‖² = E[g²]`` by the quadrature rule (computed once per engine)."""
        return self._norm2

    @cached_property
    def _norm2(self) -> float:
        return self._norm2_of(False)

    @cached_property
    def hermite(self) -> dict[tuple[int, ...], float]:
        """``c_α`` for ``|α| ≤ kmax`` (all of them, zeros included)."""
        return self._coefficients_of(False)

    def coefficient(self, alpha: tuple[int, ...]) -> float:
        if sum(alpha) > self.kmax:
            raise ValueError(f"order {sum(alpha)} exceeds kmax={self.kmax}; pass kmax=")
        return self.hermite[tuple(alpha)]

    def order_energy(self, k: int) -> float:
        return sum(c * c / multi_factorial(a) for a, c in self.hermite.items() if sum(a) == k)

    def order_nonzero(self, k: int) -> bool:
        return self.order_energy(k) > self.tol**2 * self._scale

    @cached_property
    def _scale(self) -> float:
        """What the rank tolerance is relative to: the energy of the orders ``≥ 1`` (``‖g‖² − c_0²``, summed,
        not subtracted), so that a constant, however large (``abs(x1 − 1e6) + x2`` is ``1e6 − x1 + x2`` at
        float64 precision), changes no direction's rank."""
        energy = sum(c * c / multi_factorial(a) for a, c in self.hermite.items() if sum(a) >= 1)
        c0 = abs(self.hermite[(0,) * self.r])
        if c0 > MAX_CONSTANT_RATIO * math.sqrt(energy):
            raise ValueError(f"the target's constant part {c0:.3g} is more than MAX_CONSTANT_RATIO = "
                             f"{MAX_CONSTANT_RATIO:g} times the rest (√(‖g‖² − c_0²) ≈ {math.sqrt(energy):.3g}): "
                             "float64 quadrature cannot tell its directions apart; subtract the constant")
        return max(energy, 1e-300)

    def tensor(self, k: int) -> np.ndarray:
        if k > self.kmax:
            raise ValueError(f"order {k} exceeds kmax={self.kmax}; pass kmax=")
        if k == 0:
            return self.hermite[(0,) * self.r]
        out = np.zeros((self.r,) * k)
        for idx in itertools.product(range(self.r), repeat=k):
            out[idx] = self.hermite[index_tuple_to_alpha(idx, self.r)]
        return out

    @cached_property
    def error_estimate(self) -> float | None:
        """Largest change of ``‖g‖²`` and of the ``c_α`` against a coarser rule (``None`` for polynomials)."""
        if self.degree is not None:
            return None
        coarse = self._coefficients_of(True)
        diff = max(abs(c - coarse[a]) for a, c in self.hermite.items())
        return max(diff, abs(self.norm2() - self._norm2_of(True)))

    def describe(self) -> str:
        """The method, its size and the accuracy achieved (module docstring)."""
        grid = self._grid(self.zero())
        size = f"{grid.size:,} points at V = {{0}}"
        tail = f"Hermite orders ≤ {self.kmax}, relative rank tolerance {self.tol:g}"
        if self.degree is not None:
            return (f"numeric: Gauss–Hermite, {self.q} points per axis ({size}), exact for polynomials of degree "
                    f"≤ {self.degree} up to rounding, {tail}")
        est = f"estimated error {self.error_estimate:.1e} (‖g‖² and c_α against a rule with ~¾ of the points)"
        if not self.planes:
            why = "" if self.planes == () else "; the kinks are not on hyperplanes, so the rule straddles them"
            return f"numeric: Gauss–Hermite, {self.q} points per axis ({size}){why}, {tail}, {est}"
        kinks = ", ".join(str(p) for p in self.planes)
        return (f"numeric: piecewise Gauss–Legendre split at the kinks {{{kinks}}} ({self.n_gl} points per piece), "
                f"Gauss–Hermite with {self.q} points on the other axes ({size}), {tail}, {est}; "
                "conditioning subspaces to which the kinks are oblique use Gauss–Hermite")

    # -- conditioning ----------------------------------------------------------------------------
    def _rank_cut(self, M: np.ndarray, grid: Grid) -> FloatSubspace:
        """Eigenvectors of the PSD matrix ``M`` (in complement coordinates) with ``λ > tol²(‖g‖² − c_0²)``."""
        if M.size == 0:
            return self.zero()
        tol = self.tol if grid.aligned else max(self.tol, OBLIQUE_TOL)
        lam, vec = np.linalg.eigh((M + M.T) / 2)
        keep = lam > tol**2 * self._scale
        return FloatSubspace.span(grid.QW @ vec[:, keep], 1e-8)

    def relevant(self) -> FloatSubspace:
        """``Σ_{k ≤ kmax} range(C_k)``: the relevant subspace up to the truncation order (§2.1)."""
        return self.directions(self.zero(), tuple(range(1, self.kmax + 1)))

    @one_request(numeric_meter)
    def directions(self, V: FloatSubspace, orders: tuple[int, ...]) -> FloatSubspace:
        """Ranges of the conditional order-k tensors given ``x_V``, ``k ∈ orders`` (§2.4–2.5).

        Builds ``M = Σ_k Σ_{|γ|=k−1} E_y[t_γ t_γᵀ]/γ!`` with ``t_γ = (T[γ + e_i])_i``, whose range is the
        span of all those tensor ranges.
        """
        s = self.r - V.dim
        if s == 0 or not orders:
            return self.zero()
        grid, T, betas = self._table(V, max(orders))
        index = {b: i for i, b in enumerate(betas)}
        M = np.zeros((s, s))
        count = sum(len(multi_indices(s, k - 1)) for k in orders)
        charge(count * (T.shape[0] * s * s + LOOP_STEP), f"{count:,} conditional tensors")
        for k in orders:
            for gamma in multi_indices(s, k - 1):
                t = T[:, [index[_plus(gamma, i)] for i in range(s)]]  # (Ny, s)
                M += (t.T * grid.wy) @ t / multi_factorial(gamma)
        return self._rank_cut(M, grid)

    @one_request(numeric_meter)
    def direction_groups(self, V: FloatSubspace, orders: tuple[int, ...]) -> dict[int, FloatSubspace]:
        """The directions grouped by total order ``o = |α| + k ≤ kmax`` (§2.8): the range of
        ``M_o = Σ_{k} Σ_{|γ|=k−1} Σ_{|α|=o−k} t_{α,γ} t_{α,γ}ᵀ/(α!γ!)``, ``t_{α,γ,i} = c_{α,γ+e_i}(V)``."""
        s, m = self.r - V.dim, V.dim
        if s == 0 or not orders:
            return {}
        grid, T, betas = self._table(V, max(orders))
        index = {b: i for i, b in enumerate(betas)}
        alphas = [a for j in range(self.kmax - min(orders) + 1) for a in multi_indices(m, j)]
        count = len(alphas) * sum(len(multi_indices(s, k - 1)) for k in orders)
        charge(len(alphas) * T.size + count * (s * s + LOOP_STEP), f"{count:,} conditional tensors")
        Hy = np.ones((grid.Y.shape[0], len(alphas)))
        for col, a in enumerate(alphas):
            for i, ai in enumerate(a):
                if ai:
                    Hy[:, col] *= hermevander(grid.Y[:, i], ai)[:, ai]
        C = (Hy * grid.wy[:, None]).T @ T  # C[α, β] = c_{α,β}(V)
        groups: dict[int, np.ndarray] = {}
        for k in orders:
            for gamma in multi_indices(s, k - 1):
                cols = [index[_plus(gamma, i)] for i in range(s)]
                for ia, a in enumerate(alphas):
                    o = sum(a) + k
                    if o <= self.kmax:
                        t = C[ia, cols]
                        groups[o] = groups.get(o, np.zeros((s, s))) + np.outer(t, t) / (
                            multi_factorial(a) * multi_factorial(gamma))
        return {o: self._rank_cut(M, grid) for o, M in sorted(groups.items())}

    @one_request(numeric_meter)
    def conditional_energy(self, V: FloatSubspace, kappa: int) -> float:
        """``Σ_{|β| ≤ κ} Σ_α c_{α,β}(V)²/(α! β!)`` (§2.6)."""
        grid, T, betas = self._table(V, kappa)
        fact = np.array([multi_factorial(b) for b in betas], dtype=float)
        return float(np.sum(grid.wy[:, None] * T**2 / fact[None, :]))

    @one_request(numeric_meter)
    def predicted_error(self, V: FloatSubspace, kappa: int) -> float:
        """``ε_pred(V, κ)`` (§2.6), clipped at 0 against rounding."""
        return max(self.norm2() - self.conditional_energy(V, kappa), 0.0)

    def low_orders(self, ell: int) -> sympy.Expr:
        """``Σ_{|α|<ℓ} c_α He_α/α!`` with the quadrature coefficients (floats)."""
        expr = sympy.Integer(0)
        for alpha, c in self.hermite.items():
            if sum(alpha) < ell and abs(c) > 0:
                term = sympy.Float(c / multi_factorial(alpha))
                for x, a in zip(self.variables, alpha):
                    term *= hermite_e(a, x)
                expr += term
        return sympy.expand(expr)


def _plus(gamma: tuple[int, ...], i: int) -> tuple[int, ...]:
    return tuple(g + (a == i) for a, g in enumerate(gamma))


def numeric_engine(expr: sympy.Expr, r: int, fn: Callable[[np.ndarray], np.ndarray], degree: int | None, kmax: int,
                   budget: int, tol: float | None) -> NumericEngine:
    """The engine for a target expression in ``x1..xr``: exact Gauss–Hermite for a polynomial of ``degree``, else
    as many points as ``budget`` allows (refused when fewer than 8 per axis or far over budget), split at the
    kinks of relu/abs/sign. Rank tolerance ``tol``, or 1e-6 (``OBLIQUE_TOL`` when the kinks are not hyperplanes)."""
    q = default_points(r, degree, kmax, budget)
    if q**r > GRID_FACTOR * budget:
        raise ValueError(f"numeric analysis in r={r} variables needs {q}^{r} points, more than GRID_FACTOR = "
                         f"{GRID_FACTOR} times budget = {budget:,}; raise budget or reduce r")
    if degree is None and q < 8:
        raise ValueError(f"numeric analysis of a non-polynomial target in r={r} variables gets only {q} "
                         f"quadrature points per axis with budget={budget}; raise budget or reduce r")
    variables = tuple(sympy.Symbol(f"x{i}", real=True) for i in range(1, r + 1))
    kinked = any(f.func.__name__ in KINKED for f in expr.atoms(sympy.Function))
    planes = kink_hyperplanes(expr, list(variables)) if kinked else ()
    tol = tol if tol is not None else (OBLIQUE_TOL if planes is None else 1e-6)
    return NumericEngine(fn, r, q, kmax, tol, variables, planes, degree, legendre_points(q),
                         expression_operations(expr), budget)


def default_points(r: int, degree: int | None, kmax: int, budget: int) -> int:
    """Gauss–Hermite points per axis: exact for polynomials of ``degree``; else as many as ``budget`` allows."""
    if degree is not None:
        return max(degree + (kmax + 1) // 2 + 1, 2)
    return int(min(max(np.floor(budget ** (1.0 / r)), 2), 200))


def legendre_points(q: int) -> int:
    """Gauss–Legendre points per piece of a split axis: 40 (≈ 1e-14 on ``[0, 12]``), fewer when ``q`` is small."""
    return min(40, max(24, q // 2))


__all__ = ["NumericEngine", "default_points", "legendre_points", "numeric_engine"]
