"""Polynomial algebra over ``QQ[x1..xr]`` for the exact engine (THEORY.md §1, §2.4).

sympy's sparse polynomial rings; Gaussian expectations from moments (``E[u^m] = (m−1)!!``) and the heat
operator ``exp(½ Σ_a ∂²_{c_a}/‖c_a‖²)`` (``= E_ξ[p(x + ξ)]``), never from integration.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import sympy
from sympy.polys.domains import QQ
from sympy.polys.rings import PolyElement, PolyRing, ring

from theory.hermite import double_factorial, monomial_to_hermite, multi_factorial
from theory.subspace import Vector


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


def next_derivatives(level: dict[tuple[int, ...], PolyElement], C: list[Vector]) -> dict[tuple[int, ...], PolyElement]:
    """From ``{a: ∂_{c_a} h}`` over multisets of size j to size j+1 (zero polynomials dropped)."""
    out: dict[tuple[int, ...], PolyElement] = {}
    for multiset, q in level.items():
        start = multiset[-1] if multiset else 0
        for a in range(start, len(C)):
            d = directional_derivative(q, C[a])
            if d:
                out[multiset + (a,)] = d
    return out


def coefficient_vectors(components: list[PolyElement]) -> list[list]:
    """For a vector of polynomials, the vector of coefficients of each monomial."""
    r = len(components)
    by_monom: dict[tuple[int, ...], list] = {}
    for i, p in enumerate(components):
        for monom, coeff in p.terms():
            by_monom.setdefault(monom, [QQ(0)] * r)[i] = coeff
    return list(by_monom.values())


def to_ring(expr: sympy.Expr, R: PolyRing, variables: list[sympy.Symbol]) -> PolyElement:
    """A sympy polynomial expression with rational coefficients as an element of ``R`` (no sympy ``expand``:
    sums, products and powers are done in the sparse ring, which is much faster for ``(x1 + …)**k``)."""
    index = {v: i for i, v in enumerate(variables)}

    def walk(e: sympy.Expr) -> PolyElement:
        if e.is_Symbol:
            return R.gens[index[e]]
        if e.is_Rational:
            return R.ground_new(QQ(int(e.p), int(e.q)))
        if e.is_Add:
            return sum((walk(a) for a in e.args), R.zero)
        if e.is_Mul:
            out = R.one
            for a in e.args:
                out = out * walk(a)
            return out
        if e.is_Pow and e.exp.is_Integer and e.exp >= 0:
            return walk(e.base) ** int(e.exp)
        raise ValueError(f"not a polynomial with rational coefficients: {e}")

    return walk(expr)


def heat_in(p: PolyElement, m: int, norms: list) -> PolyElement:
    """``exp(½ Σ_{j<m} ∂²_{y_j}/norms[j]) p`` in the first ``m`` generators (the ``y`` of a substitution)."""
    r = p.ring.ngens
    units = [tuple(QQ(int(i == j)) for i in range(r)) for j in range(m)]
    return heat(p, units, list(norms[:m]))


def gaussian_norm2(p: PolyElement, m: int, norms: list) -> object:
    """``E[p(y)²]`` for ``y_j ~ N(0, 1/norms[j])`` independent (``p`` in the first ``m`` generators), without
    squaring ``p``: with ``P = exp(½ Σ_j ∂²_{y_j}/norms[j]) p`` (:func:`heat_in`), ``p = Σ_α P_α He^D_α`` and
    ``E[He^D_α He^D_β] = δ_αβ α! D^α`` (``He^D_α = exp(−½Δ_D) y^α``, ``D_j = 1/norms[j]``)."""
    total = QQ(0)
    for monom, coeff in heat_in(p, m, norms).terms():
        weight = QQ(multi_factorial(monom[:m]))
        for j, n in enumerate(monom[:m]):
            if n:
                weight /= norms[j] ** n
        total += coeff * coeff * weight
    return total


def vectors_by_degree(components: list[PolyElement], m: int) -> dict[int, list[list]]:
    """Coefficient vectors of a vector of polynomials in the first ``m`` generators, grouped by the degree
    of their monomial (``{degree: [vector per monomial]}``)."""
    r = len(components)
    by_monom: dict[tuple[int, ...], list] = {}
    for i, p in enumerate(components):
        for monom, coeff in p.terms():
            by_monom.setdefault(monom, [QQ(0)] * r)[i] = coeff
    out: dict[int, list[list]] = {}
    for monom, vec in by_monom.items():
        out.setdefault(sum(monom[:m]), []).append(vec)
    return out


def rational_polynomial(expr: sympy.Expr, r: int) -> PolyElement | None:
    """``expr`` (in the real symbols ``x1..xr``) in ``QQ[x1..xr]``, or ``None`` if a coefficient is not rational."""
    variables = [sympy.Symbol(f"x{i}", real=True) for i in range(1, r + 1)]
    try:
        return to_ring(expr, polynomial_ring(r), variables)
    except ValueError:
        return None
