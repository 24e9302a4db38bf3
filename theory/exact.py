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
from dataclasses import dataclass, field

import sympy
from sympy.polys.domains import QQ
from sympy.polys.rings import PolyElement

from theory.budget import (HERMITE, Meter, charge, derivative, elimination, exact_meter, hermite_terms, metered,
                           one_request, request)
from theory.hermite import hermite_e_coefficients, index_tuple_to_alpha, multi_factorial
from theory.polyalgebra import (
    LinearSubstitution,
    coefficient_vectors,
    gaussian_norm2,
    heat,
    heat_in,
    hermite_expansion,
    integral,
    next_derivatives,
    vectors_by_degree,
)
from theory.subspace import ExactSubspace, Vector, as_subspace


@dataclass(frozen=True)
class _Frame:
    """What conditioning on ``V`` needs: orthogonal bases of ``V`` and (when asked for) ``V^⊥``, ``h = E[g | x_V]``
    and the substitution ``x = B y``."""

    V: list[Vector]
    V_norms: list
    C: list[Vector]
    C_norms: list
    h: PolyElement
    subst: LinearSubstitution


def _span(vectors: list, r: int) -> ExactSubspace:
    """``ExactSubspace.span`` with its row reduction charged to the open meter first."""
    nnz = max((sum(1 for x in v if x) for v in vectors), default=0)
    charge(elimination(len(vectors), nnz, r), f"reducing {len(vectors):,} vectors of Q^{r}")
    return ExactSubspace.span(vectors, r)


@dataclass(frozen=True)
class ExactEngine:
    """Exact §2 computations for ``g ∈ QQ[x1..xr]`` (the :class:`theory.engine.AnalysisEngine` protocol).

    Every request is metered (:mod:`theory.budget`): each step charges the request's meter first, and the request
    is refused before a step that would pass ``MAX_TERM_OPERATIONS``.
    """

    g: PolyElement
    r: int
    variables: tuple[sympy.Symbol, ...]
    _cache: dict = field(default_factory=dict, compare=False, repr=False, hash=False)

    exact = True

    def meter(self) -> Meter:
        """A fresh meter for one request."""
        return exact_meter()

    def expansion(self) -> dict[tuple[int, ...], object]:
        """All non-zero ``c_α`` (QQ elements), computed once (the first request pays for it)."""
        if "hermite" not in self._cache:
            with request(exact_meter):
                self._cache["hermite"] = hermite_expansion(self.g, self.r)
        return self._cache["hermite"]

    @property
    def hermite(self) -> dict[tuple[int, ...], object]:
        """All non-zero ``c_α`` (QQ elements)."""
        return self.expansion()

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
        return QQ.to_sympy(self._norm2())

    def _norm2(self) -> object:
        return sum(self._energies().values(), QQ(0))

    def _energies(self) -> dict[int, object]:
        """``{k: Σ_{|α|=k} c_α²/α!}``, the squared norms of the Hermite components by order (computed once)."""
        if "energies" not in self._cache:
            out: dict[int, object] = {}
            for a, c in self.expansion().items():
                out[sum(a)] = out.get(sum(a), QQ(0)) + c * c / multi_factorial(a)
            self._cache["energies"] = out
        return self._cache["energies"]

    def coefficient(self, alpha: tuple[int, ...]) -> sympy.Rational:
        return QQ.to_sympy(self.hermite.get(tuple(alpha), QQ(0)))

    def order_energy(self, k: int) -> object:
        """``Σ_{|α|=k} c_α²/α!``, the squared norm of the order-``k`` Hermite component."""
        return self._energies().get(k, QQ(0))

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
        low = [(alpha, c) for alpha, c in self.hermite.items() if sum(alpha) < ell]
        with metered(exact_meter()):
            charge(HERMITE * hermite_terms([a for a, _ in low]), "building the low Hermite orders")
        out = R.zero
        for alpha, c in low:
            term = R.ground_new(c / multi_factorial(alpha))
            for i, a in enumerate(alpha):
                term *= R.from_dict({tuple(n if j == i else 0 for j in range(self.r)): QQ(h)
                                     for n, h in enumerate(hermite_e_coefficients(a)) if h})
            out += term
        return out.as_expr(*self.variables)

    # -- conditioning ---------------------------------------------------------
    def _transform(self) -> PolyElement:
        """``P = exp(½Δ) g = Σ_α (c_α/α!) x^α`` (``He_α = exp(−½Δ) x^α``): ``E[g | x_V]`` for ``V = {0}``."""
        if "transform" not in self._cache:
            coeffs = {a: c / multi_factorial(a) for a, c in self.expansion().items()}
            self._cache["transform"] = self.g.ring.from_dict(coeffs) if coeffs else self.g.ring.zero
        return self._cache["transform"]

    def frame(self, V: ExactSubspace, complement: bool = True) -> _Frame:
        """The frame of ``V``. ``h = exp(½ Σ_a ∂²_{c_a}/‖c_a‖²) g = exp(−½ Σ_j ∂²_{b_j}/‖b_j‖²) P`` (the ``b_j/‖b_j‖``
        and ``c_a/‖c_a‖`` together are an orthonormal basis, so ``Σ_a ∂²_{c_a}/‖c_a‖² = Δ − Σ_j ∂²_{b_j}/‖b_j‖²``):
        a backward heat operator along the ``dim V`` directions of ``V`` only."""
        charge(elimination(V.dim, max((sum(1 for x in v if x) for v in V.rows), default=0), self.r),
               "the orthogonal basis of V")
        vb, vn = integral(V.orthogonal_basis()[0])
        cb, cn = integral(self._complement(V)[0]) if complement else ([], [])
        h = heat(self._transform(), vb, [-n for n in vn])
        return _Frame(vb, vn, cb, cn, h, LinearSubstitution.from_basis(self.g.ring, vb))

    def _complement(self, V: ExactSubspace) -> tuple[list[Vector], list]:
        """An orthogonal basis of ``V^⊥`` and the squared norms."""
        s = self.r - V.dim
        charge(elimination(s, V.dim + 1, self.r), "the complement of V")
        C = V.complement()
        charge(elimination(s, max((sum(1 for x in c if x) for c in C.rows), default=0), self.r),
               "the orthogonal basis of the complement of V")
        return C.orthogonal_basis()

    def relevant(self) -> ExactSubspace:
        """``U*_rel = range E[∇g ∇gᵀ]`` = span of the coefficient vectors of ``∇g`` (§2.1)."""
        with metered(exact_meter()):
            charge(derivative(len(self.g), 1) * self.r, "the gradient of g")
            return _span(coefficient_vectors([self.g.diff(i) for i in range(self.r)]), self.r)

    def _gradients(self, V: ExactSubspace, orders: tuple[int, ...]):  # noqa: ANN202 - iterator
        """``(k, fr, ∇q(By))`` for every order ``k ∈ orders`` and every ``q = ∂_{c_a} h``, ``|a| = k − 1``."""
        top = max(orders, default=0)
        fr = self.frame(V, complement=top > 1)
        level: dict[tuple[int, ...], PolyElement] = {(): fr.h}
        for k in range(1, top + 1):
            if k in orders:
                for q in level.values():
                    charge((len(q) + 1) * self.r, "a gradient (conditioning, THEORY.md §2.4)")  # a pass per x_i
                    yield k, fr, [fr.subst(q.diff(i)) for i in range(self.r)]  # x_i by index (no search)
            if k == top:
                return
            level = next_derivatives(level, fr.C)
            if not level:
                return

    @one_request(exact_meter)
    def directions(self, V: ExactSubspace, orders: tuple[int, ...]) -> ExactSubspace:
        """Span of the ranges of the conditional order-``k`` tensors given ``x_V``, ``k ∈ orders`` (§2.4–2.5)."""
        vectors: list[Vector] = []
        for _, _, grads in self._gradients(V, orders):
            vectors.extend(coefficient_vectors(grads))
        return _span(vectors, self.r)

    @one_request(exact_meter)
    def direction_groups(self, V: ExactSubspace, orders: tuple[int, ...]) -> dict[int, ExactSubspace]:
        """The directions of :meth:`directions` grouped by total order ``|α| + k`` (module docstring, §2.8)."""
        groups: dict[int, list[Vector]] = {}
        m = V.dim
        for k, fr, grads in self._gradients(V, orders):
            smoothed = [heat_in(p, m, fr.V_norms) for p in grads] if m else grads
            for degree, vecs in vectors_by_degree(smoothed, m).items():
                groups.setdefault(degree + k, []).extend(vecs)
        return {o: _span(v, self.r) for o, v in sorted(groups.items())}

    @one_request(exact_meter)
    def conditional_energy(self, V: ExactSubspace, kappa: int) -> object:
        """``Σ_{|β| ≤ κ} Σ_α c_{α,β}(V)² / (α! β!)`` (§2.6), a QQ element."""
        fr = self.frame(V, complement=kappa > 0)
        total = QQ(0)
        level: dict[tuple[int, ...], PolyElement] = {(): fr.h}
        for k in range(kappa + 1):
            for beta, q in level.items():
                restricted = fr.subst(q)
                if restricted:
                    total += gaussian_norm2(restricted, V.dim, fr.V_norms) / _beta_weight(beta, fr.C_norms)
            if k < kappa:
                level = next_derivatives(level, fr.C)
        return total

    @one_request(exact_meter)
    def predicted_error(self, V: ExactSubspace, kappa: int) -> sympy.Rational:
        """``ε_pred(V, κ) = ‖g‖² − Σ_{|β| ≤ κ} Σ_α c_{α,β}(V)²/(α!β!)`` (§2.6), exact."""
        return QQ.to_sympy(self._norm2() - self.conditional_energy(V, kappa))


def _beta_weight(beta: tuple[int, ...], norms: list) -> object:
    """``β! Π_a ‖c_a‖²`` for the multiset ``beta`` of complement directions (squared norms ``norms``)."""
    weight = QQ(1)
    counts: dict[int, int] = {}
    for a in beta:
        counts[a] = counts.get(a, 0) + 1
        weight *= norms[a]
    return weight * multi_factorial(tuple(counts.values()))


__all__ = ["ExactEngine"]
