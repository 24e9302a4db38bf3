"""Exact analysis of polynomial targets with rational coefficients (THEORY.md §2).

Everything is rational arithmetic on sympy's sparse polynomials ``QQ[x1..xr]``;
Gaussian expectations come from moments (``E[u^m] = (m−1)!!``) and the heat
operator, never from integration.

Basis-free conditioning (§2.4, §2.5). For a subspace ``V`` with rational
orthogonal basis ``b_1..b_m`` and complement basis ``c_1..c_{r−m}``, write
``x = x_V + ξ`` with ``ξ ~ N(0, P_⊥)`` independent of ``x_V``. Then

* ``h = E[g(x_V + ξ) | x_V] = exp(½ Σ_a ∂²_{c_a}/‖c_a‖²) g`` (heat operator),
* the conditional order-``k`` Hermite tensor in ``V^⊥`` is
  ``P_⊥^{⊗k} ∇^k h(x_V)`` (Stein's lemma, ``x_⊥`` independent of ``x_V``),
* its range, over all values of ``x_V = Σ_j y_j b_j``, is spanned (modulo ``V``)
  by the coefficient vectors, over monomials of ``y``, of
  ``∇(∂_{c_{a_1}}…∂_{c_{a_{k−1}}} h)(B y)`` for all multisets ``a``,
* ``Σ_α c_{α,β}(V)²/α! = E_y[(∂^β_ĉ h)(By)²]`` with ``ĉ_a = c_a/‖c_a‖`` and
  ``y ~ N(0, diag(1/‖b_j‖²))``.

Projectors, bases and results are rational throughout; only the orthonormal
bases shown to users carry square roots.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import sympy
from sympy.polys.domains import QQ
from sympy.polys.rings import PolyElement, PolyRing, ring

from theory.hermite import double_factorial, monomial_to_hermite, multi_factorial
from theory.subspace import ExactSubspace, Vector


def polynomial_ring(r: int) -> PolyRing:
    """``QQ[x1..xr]`` (``r ≥ 1``)."""
    R, *_ = ring([f"x{i}" for i in range(1, r + 1)], QQ)
    return R


def hermite_expansion(g: PolyElement, r: int) -> dict[tuple[int, ...], object]:
    """All non-zero ``c_α = E[g He_α]`` of a polynomial (THEORY §1), as QQ elements.

    Each monomial ``x^m`` expands as ``Π_j Σ_i a_{m_j,i} He_i(x_j)`` and
    ``E[He_α He_α] = α!``, so the monomial contributes ``coef · α! · Π_j a_{m_j,α_j}``.
    """
    out: dict[tuple[int, ...], object] = {}
    for monom, coeff in g.terms():
        parts: list[list[tuple[int, int]]] = [
            [(i, a) for i, a in enumerate(monomial_to_hermite(m)) if a] for m in monom
        ]
        for alpha, weight in _product(parts):
            val = coeff * weight * multi_factorial(alpha)
            out[alpha] = out.get(alpha, QQ(0)) + val
    return {a: c for a, c in out.items() if c}


def _product(parts: list[list[tuple[int, int]]]) -> Iterator[tuple[tuple[int, ...], int]]:
    """Cartesian product of per-coordinate (index, weight) lists: (multi-index, product weight)."""
    if not parts:
        yield (), 1
        return
    for rest, w in _product(parts[1:]):
        for i, a in parts[0]:
            yield (i,) + rest, a * w


def directional_derivative(p: PolyElement, c: Vector) -> PolyElement:
    """``∂_c p = Σ_i c_i ∂p/∂x_i``."""
    R = p.ring
    out = R.zero
    for i, ci in enumerate(c):
        if ci:
            out += p.diff(R.gens[i]) * ci
    return out


def heat(p: PolyElement, directions: list[Vector], norms: list) -> PolyElement:
    """``exp(½ Σ_a ∂²_{c_a}/‖c_a‖²) p`` = ``E_ξ[p(x + ξ)]``, ``ξ ~ N(0, Σ_a c_a c_aᵀ/‖c_a‖²)``.

    The ``c_a`` must be mutually orthogonal. The series ends after ``deg/2`` terms.
    """
    total = p
    term = p
    j = 0
    while term:
        j += 1
        nxt = term.ring.zero
        for c, nc in zip(directions, norms):
            nxt += directional_derivative(directional_derivative(term, c), c) * (QQ(1, 2) / nc)
        term = nxt * QQ(1, j)
        total += term
    return total


@dataclass(frozen=True)
class LinearSubstitution:
    """``x_i ↦ Σ_j B[i][j] y_j`` with the ``y_j`` stored as the first ``m`` generators."""

    R: PolyRing
    forms: tuple[PolyElement, ...]
    _powers: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_basis(cls, R: PolyRing, basis: list[Vector]) -> LinearSubstitution:
        r = R.ngens
        forms = []
        for i in range(r):
            form = R.zero
            for j, b in enumerate(basis):
                if b[i]:
                    form += R.gens[j] * b[i]
            forms.append(form)
        return cls(R, tuple(forms))

    def power(self, i: int, n: int) -> PolyElement:
        key = (i, n)
        if key not in self._powers:
            self._powers[key] = self.forms[i] ** n
        return self._powers[key]

    def __call__(self, p: PolyElement) -> PolyElement:
        out = self.R.zero
        for monom, coeff in p.terms():
            term = self.R.ground_new(coeff)
            for i, n in enumerate(monom):
                if n:
                    term = term * self.power(i, n)
                    if not term:
                        break
            out += term
        return out


def gaussian_expectation(p: PolyElement, variances: list) -> object:
    """``E[p(y)]`` for independent ``y_j ~ N(0, variances[j])`` (y = first generators)."""
    total = QQ(0)
    for monom, coeff in p.terms():
        val = coeff
        for j, n in enumerate(monom):
            if n % 2:
                val = QQ(0)
                break
            if n:
                val *= double_factorial(n - 1) * variances[j] ** (n // 2)
        total += val
    return total


def _multisets(n: int, size: int, start: int = 0) -> Iterator[tuple[int, ...]]:
    """Non-decreasing tuples of ``size`` indices in ``range(start, n)``."""
    if size == 0:
        yield ()
        return
    for a in range(start, n):
        for rest in _multisets(n, size - 1, a):
            yield (a,) + rest


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
    """Exact §2 computations for ``g ∈ QQ[x1..xr]``."""

    g: PolyElement
    r: int

    @cached_property
    def hermite(self) -> dict[tuple[int, ...], object]:
        return hermite_expansion(self.g, self.r)

    @property
    def degree(self) -> int:
        return max((sum(m) for m in self.g.monoms()), default=0)

    def norm2(self) -> object:
        """``‖g‖² = Σ_α c_α²/α!``."""
        return sum((c * c / multi_factorial(a) for a, c in self.hermite.items()), QQ(0))

    def order_energy(self, k: int) -> object:
        """``Σ_{|α|=k} c_α²/α!``, the squared norm of the order-``k`` Hermite component."""
        return sum((c * c / multi_factorial(a) for a, c in self.hermite.items() if sum(a) == k), QQ(0))

    def tensor(self, k: int) -> sympy.Array:
        """``C_k(g)`` as a sympy Array of shape ``(r,)*k`` (``k = 0``: the number ``E[g]``)."""
        import itertools

        from theory.hermite import index_tuple_to_alpha

        if k == 0:
            return QQ.to_sympy(self.hermite.get((0,) * self.r, QQ(0)))
        entries = [
            QQ.to_sympy(self.hermite.get(index_tuple_to_alpha(idx, self.r), QQ(0)))
            for idx in itertools.product(range(self.r), repeat=k)
        ]
        return sympy.ImmutableDenseNDimArray(entries, (self.r,) * k)

    def low_orders(self, ell: int) -> PolyElement:
        """``Σ_{|α| < ℓ} c_α He_α / α!`` as a polynomial (the part preprocessing removes)."""
        from theory.hermite import hermite_e_coefficients

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
        return out

    # -- conditioning ---------------------------------------------------------
    def frame(self, V: ExactSubspace) -> _Frame:
        vb, vn = V.orthogonal_basis()
        cb, cn = V.complement().orthogonal_basis()
        h = heat(self.g, cb, cn)
        return _Frame(vb, vn, cb, cn, h, LinearSubstitution.from_basis(self.g.ring, vb))

    def relevant(self) -> ExactSubspace:
        """``U*_rel = range E[∇g ∇gᵀ]`` = span of the coefficient vectors of ``∇g`` (§2.1)."""
        R = self.g.ring
        grads = [self.g.diff(x) for x in R.gens]
        return ExactSubspace.span(_coefficient_vectors(grads), self.r)

    def directions(self, V: ExactSubspace, orders: tuple[int, ...]) -> ExactSubspace:
        """Span of the ranges of the conditional order-``k`` tensors given ``x_V``, ``k ∈ orders`` (§2.4–2.5)."""
        fr = self.frame(V)
        R = self.g.ring
        vectors: list[Vector] = []
        level: dict[tuple[int, ...], PolyElement] = {(): fr.h}
        for k in range(1, max(orders, default=0) + 1):
            if k in orders:
                for q in level.values():
                    grads = [fr.subst(q.diff(x)) for x in R.gens]
                    vectors.extend(_coefficient_vectors(grads))
            level = _next_derivatives(level, fr.C)
            if not level:
                break
        return ExactSubspace.span(vectors, self.r)

    def conditional_energy(self, V: ExactSubspace, kappa: int) -> object:
        """``Σ_{|β| ≤ κ} Σ_α c_{α,β}(V)² / (α! β!)`` (§2.6)."""
        fr = self.frame(V)
        variances = [1 / n for n in fr.V_norms]
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
                total += gaussian_expectation(restricted * restricted, variances) / weight
            if k < kappa:
                level = _next_derivatives(level, fr.C)
        return total


def _next_derivatives(level: dict[tuple[int, ...], PolyElement], C: list[Vector]) -> dict[tuple[int, ...], PolyElement]:
    """From ``{a: ∂_{c_a} h}`` over multisets of size j to size j+1 (zero polynomials dropped)."""
    out: dict[tuple[int, ...], PolyElement] = {}
    for multiset, q in level.items():
        start = multiset[-1] if multiset else 0
        for a in range(start, len(C)):
            d = directional_derivative(q, C[a])
            if d:
                out[multiset + (a,)] = d
    return out


def _coefficient_vectors(components: list[PolyElement]) -> list[list]:
    """For a vector of polynomials, the vector of coefficients of each monomial."""
    r = len(components)
    by_monom: dict[tuple[int, ...], list] = {}
    for i, p in enumerate(components):
        for monom, coeff in p.terms():
            by_monom.setdefault(monom, [QQ(0)] * r)[i] = coeff
    return list(by_monom.values())
