"""Exact analysis of polynomial targets with rational coefficients (THEORY.md §2).

Everything is rational arithmetic on sympy's sparse polynomials ``QQ[x1..xr]`` (:mod:`theory.polyalgebra`);
Gaussian expectations come from moments (``E[u^m] = (m−1)!!``) and the heat operator, never from
integration.

Basis-free conditioning (§2.4, §2.5). For a subspace ``V`` with rational orthogonal basis ``b_1..b_m`` and
complement basis ``c_1..c_{r−m}``, write ``x = x_V + ξ`` with ``ξ ~ N(0, P_⊥)`` independent of ``x_V``. Then

* ``h = E[g(x_V + ξ) | x_V] = exp(½ Σ_a ∂²_{c_a}/‖c_a‖²) g`` (heat operator),
* the conditional order-``k`` Hermite tensor in ``V^⊥`` is ``P_⊥^{⊗k} ∇^k h(x_V)`` (Stein's lemma, ``x_⊥``
  independent of ``x_V``),
* its range, over all values of ``x_V = Σ_j y_j b_j``, is spanned (modulo ``V``) by the coefficient
  vectors, over monomials of ``y``, of ``∇(∂_{c_{a_1}}…∂_{c_{a_{k−1}}} h)(B y)`` for all multisets ``a``,
* grouped by the Hermite order ``|α|`` in ``y`` (σ-aware staircase, §2.8): the Hermite coefficients of a
  polynomial ``f(y)``, ``y ~ N(0, D)``, of order ``j`` are (up to non-zero factors) the degree-``j``
  coefficients of ``exp(½ Σ_j D_j ∂²_{y_j}) f`` (``He_α = exp(−½Δ) y^α``), so the span of
  ``{v_α : |α| = j}`` is that of the degree-``j`` coefficient vectors after the heat operator in ``y``,
* ``Σ_α c_{α,β}(V)²/α! = E_y[(∂^β_ĉ h)(By)²]`` with ``ĉ_a = c_a/‖c_a‖`` and ``y ~ N(0, diag(1/‖b_j‖²))``.

Projectors, bases and results are rational throughout; only the orthonormal bases shown to users carry
square roots.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import sympy
from sympy.polys.domains import QQ
from sympy.polys.rings import PolyElement

from theory.hermite import hermite_e_coefficients, index_tuple_to_alpha, multi_factorial
from theory.polyalgebra import (
    LinearSubstitution,
    coefficient_vectors,
    gaussian_norm2,
    heat,
    heat_in,
    hermite_expansion,
    next_derivatives,
    vectors_by_degree,
)
from theory.subspace import ExactSubspace, Vector, as_subspace


@dataclass(frozen=True)
class _Frame:
    """What conditioning on ``V`` needs: orthogonal bases of ``V`` and ``V^⊥``, ``h = E[g | x_V]``."""

    V: list[Vector]
    V_norms: list
    C: list[Vector]
    C_norms: list
    h: PolyElement
    subst: LinearSubstitution


@dataclass(frozen=True)
class ExactEngine:
    """Exact §2 computations for ``g ∈ QQ[x1..xr]`` (the :class:`theory.engine.Engine` protocol)."""

    g: PolyElement
    r: int
    variables: tuple[sympy.Symbol, ...]

    exact = True

    @cached_property
    def hermite(self) -> dict[tuple[int, ...], object]:
        """All non-zero ``c_α`` (QQ elements)."""
        return hermite_expansion(self.g, self.r)

    @property
    def max_order(self) -> int:
        return max((sum(m) for m in self.g.monoms()), default=0)

    degree = max_order

    def zero(self) -> ExactSubspace:
        return ExactSubspace.zero(self.r)

    def subspace(self, U: object) -> ExactSubspace:
        return as_subspace(U, self.r, True, 0.0)

    def describe(self) -> str:
        return "exact rational Hermite algebra"

    # -- §1 ---------------------------------------------------------------------
    def norm2(self) -> sympy.Rational:
        """``‖g‖² = Σ_α c_α²/α!``."""
        return QQ.to_sympy(self._norm2)

    @cached_property
    def _norm2(self) -> object:
        return sum((c * c / multi_factorial(a) for a, c in self.hermite.items()), QQ(0))

    def coefficient(self, alpha: tuple[int, ...]) -> sympy.Rational:
        return QQ.to_sympy(self.hermite.get(tuple(alpha), QQ(0)))

    def order_energy(self, k: int) -> object:
        """``Σ_{|α|=k} c_α²/α!``, the squared norm of the order-``k`` Hermite component."""
        return sum((c * c / multi_factorial(a) for a, c in self.hermite.items() if sum(a) == k), QQ(0))

    def order_nonzero(self, k: int) -> bool:
        return bool(self.order_energy(k))

    def tensor(self, k: int) -> object:
        """``C_k(g)`` as a sympy Array of shape ``(r,)*k`` (``k = 0``: the number ``E[g]``)."""
        if k == 0:
            return self.coefficient((0,) * self.r)
        entries = [QQ.to_sympy(self.hermite.get(index_tuple_to_alpha(idx, self.r), QQ(0)))
                   for idx in itertools.product(range(self.r), repeat=k)]
        return sympy.ImmutableDenseNDimArray(entries, (self.r,) * k)

    def low_orders(self, ell: int) -> sympy.Expr:
        """``Σ_{|α| < ℓ} c_α He_α / α!`` (the part preprocessing removes) as a sympy expression."""
        R = self.g.ring
        out = R.zero
        for alpha, c in self.hermite.items():
            if sum(alpha) >= ell:
                continue
            term = R.ground_new(c / multi_factorial(alpha))
            for i, a in enumerate(alpha):
                term *= R.from_dict({tuple(n if j == i else 0 for j in range(self.r)): QQ(h)
                                     for n, h in enumerate(hermite_e_coefficients(a)) if h})
            out += term
        return out.as_expr(*self.variables)

    # -- conditioning ---------------------------------------------------------
    def frame(self, V: ExactSubspace) -> _Frame:
        vb, vn = V.orthogonal_basis()
        cb, cn = V.complement().orthogonal_basis()
        h = heat(self.g, cb, cn)
        return _Frame(vb, vn, cb, cn, h, LinearSubstitution.from_basis(self.g.ring, vb))

    def relevant(self) -> ExactSubspace:
        """``U*_rel = range E[∇g ∇gᵀ]`` = span of the coefficient vectors of ``∇g`` (§2.1)."""
        R = self.g.ring
        return ExactSubspace.span(coefficient_vectors([self.g.diff(x) for x in R.gens]), self.r)

    def _gradients(self, V: ExactSubspace, orders: tuple[int, ...]):  # noqa: ANN202 - iterator
        """``(k, fr, ∇q(By))`` for every order ``k ∈ orders`` and every ``q = ∂_{c_a} h``, ``|a| = k − 1``."""
        fr = self.frame(V)
        R = self.g.ring
        level: dict[tuple[int, ...], PolyElement] = {(): fr.h}
        for k in range(1, max(orders, default=0) + 1):
            if k in orders:
                for q in level.values():
                    yield k, fr, [fr.subst(q.diff(x)) for x in R.gens]
            level = next_derivatives(level, fr.C)
            if not level:
                return

    def directions(self, V: ExactSubspace, orders: tuple[int, ...]) -> ExactSubspace:
        """Span of the ranges of the conditional order-``k`` tensors given ``x_V``, ``k ∈ orders`` (§2.4–2.5)."""
        vectors: list[Vector] = []
        for _, _, grads in self._gradients(V, orders):
            vectors.extend(coefficient_vectors(grads))
        return ExactSubspace.span(vectors, self.r)

    def direction_groups(self, V: ExactSubspace, orders: tuple[int, ...]) -> dict[int, ExactSubspace]:
        """The directions of :meth:`directions` grouped by total order ``|α| + k`` (module docstring, §2.8)."""
        groups: dict[int, list[Vector]] = {}
        m = V.dim
        for k, fr, grads in self._gradients(V, orders):
            smoothed = [heat_in(p, m, fr.V_norms) for p in grads] if m else grads
            for degree, vecs in vectors_by_degree(smoothed, m).items():
                groups.setdefault(degree + k, []).extend(vecs)
        return {o: ExactSubspace.span(v, self.r) for o, v in sorted(groups.items())}

    def conditional_energy(self, V: ExactSubspace, kappa: int) -> object:
        """``Σ_{|β| ≤ κ} Σ_α c_{α,β}(V)² / (α! β!)`` (§2.6), a QQ element."""
        fr = self.frame(V)
        total = QQ(0)
        level: dict[tuple[int, ...], PolyElement] = {(): fr.h}
        for k in range(kappa + 1):
            for beta, q in level.items():
                restricted = fr.subst(q)
                if not restricted:
                    continue
                weight = QQ(1)
                counts: dict[int, int] = {}
                for a in beta:
                    counts[a] = counts.get(a, 0) + 1
                    weight *= fr.C_norms[a]
                weight *= multi_factorial(tuple(counts.values()))
                total += gaussian_norm2(restricted, V.dim, fr.V_norms) / weight
            if k < kappa:
                level = next_derivatives(level, fr.C)
        return total

    def predicted_error(self, V: ExactSubspace, kappa: int) -> sympy.Rational:
        """``ε_pred(V, κ) = ‖g‖² − Σ_{|β| ≤ κ} Σ_α c_{α,β}(V)²/(α!β!)`` (§2.6), exact."""
        return QQ.to_sympy(self._norm2 - self.conditional_energy(V, kappa))


__all__ = ["ExactEngine"]
