"""Polynomial algebra over ``QQ[x1..xr]`` for the exact engine (THEORY.md §1, §2.4).

sympy's sparse polynomial rings; Gaussian expectations from moments (``E[u^m] = (m−1)!!``) and the heat
operator ``exp(½ Σ_a ∂²_{c_a}/‖c_a‖²)`` (``= E_ξ[p(x + ξ)]``), never from integration.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import lru_cache
from math import factorial, gcd, lcm

import sympy
from sympy.polys.domains import QQ, ZZ
from sympy.polys.rings import PolyElement, PolyRing, ring

from theory.budget import HERMITE, PRODUCT, charge, derivative, hermite_terms, product
from theory.hermite import double_factorial, monomial_to_hermite, multi_factorial
from theory.subspace import Vector


def polynomial_ring(r: int) -> PolyRing:
    """``QQ[x1..xr]`` (``r ≥ 1``)."""
    R, *_ = ring([f"x{i}" for i in range(1, r + 1)], QQ)
    return R


def hermite_expansion(g: PolyElement, r: int) -> dict[tuple[int, ...], object]:
    """All non-zero ``c_α = E[g He_α]`` of a polynomial (THEORY §1), as QQ elements.

    Each monomial ``x^m`` expands as ``Π_j Σ_i a_{m_j,i} He_i(x_j)`` and ``E[He_α He_α] = α!``, so the monomial
    contributes ``coef · Π_j a_{m_j,α_j} α_j!``; summed in integers over the common denominator of ``g``. The
    work, :func:`theory.budget.hermite_terms`, is charged to the open meter (:func:`theory.budget.charge`) before
    the expansion starts.
    """
    terms = hermite_terms(g.monoms())
    charge(HERMITE * terms, f"the Hermite expansion ({terms:,} terms)")
    den = 1
    for c in g.coeffs():
        den = lcm(den, int(c.denominator))
    out: dict[tuple[int, ...], int] = {}
    for monom, coeff in g.terms():
        num = int(coeff.numerator) * (den // int(coeff.denominator))
        free = [j for j, m in enumerate(monom) if m > 1]  # x^0 = He_0 and x^1 = He_1: nothing to choose
        alpha = list(monom)
        for choice in itertools.product(*(_hermite_weights(monom[j]) for j in free)):
            w = num
            for j, (i, a) in zip(free, choice):
                alpha[j] = i
                w *= a
            key = tuple(alpha)
            out[key] = out.get(key, 0) + w
    return {a: QQ(c, den) for a, c in out.items() if c}


@lru_cache(maxsize=None)
def _hermite_weights(m: int) -> tuple[tuple[int, int], ...]:
    """``(i, a_{m,i}·i!)`` for the non-zero ``a_{m,i}`` of ``u^m = Σ_i a_{m,i} He_i(u)``."""
    return tuple((i, a * factorial(i)) for i, a in enumerate(monomial_to_hermite(m)) if a)


def _sparse(c: Vector) -> list[tuple[int, object]]:
    return [(i, ci) for i, ci in enumerate(c) if ci]


def _along(p: PolyElement, c: list[tuple[int, object]]) -> PolyElement:
    """``∂_c p`` for a direction given by its non-zero entries ``(i, c_i)``."""
    charge(derivative(len(p), len(c)), "a derivative (conditioning, THEORY.md §2.4)")
    out = p.ring.zero
    for i, ci in c:
        out += p.diff(i) * ci  # x_i by its index (sympy finds a generator element by a linear search)
    return out


def directional_derivative(p: PolyElement, c: Vector) -> PolyElement:
    """``∂_c p = Σ_i c_i ∂p/∂x_i``."""
    return _along(p, _sparse(c))


def heat(p: PolyElement, directions: list[Vector], norms: list) -> PolyElement:
    """``exp(½ Σ_a ∂²_{c_a}/‖c_a‖²) p`` = ``E_ξ[p(x + ξ)]``, ``ξ ~ N(0, Σ_a c_a c_aᵀ/‖c_a‖²)``.

    The ``c_a`` must be mutually orthogonal. The series ends after ``deg/2`` terms. A negative ``norms[a]``
    gives the backward operator along ``c_a`` (``exp(−½ ∂²_c/|n|)``, the inverse; a finite series too).
    """
    sparse = [_sparse(c) for c in directions]
    if all(len(c) == 1 for c in sparse):  # coordinate directions c = λ e_k: ½ ∂²_c/‖c‖² = ½ ∂²_k
        return _heat_along_coordinates(p, {c[0][0]: c[0][1] ** 2 / n for c, n in zip(sparse, norms)})
    total = p
    term = p
    j = 0
    while term:
        j += 1
        nxt = term.ring.zero
        for c, nc in zip(sparse, norms):
            nxt += _along(_along(term, c), c) * (QQ(1, 2) / nc)
        term = nxt * QQ(1, j)
        total += term
    return total


def integral(basis: list[Vector]) -> tuple[list[Vector], list]:
    """Mutually orthogonal rational vectors scaled to coprime integers (same directions, so the same spans and,
    with the new squared norms, the same Gaussian frame), and their squared norms."""
    out, norms, zero = [], [], QQ(0)
    for b in basis:
        entries = {i: x for i, x in enumerate(b) if x}
        den = lcm(*(int(x.denominator) for x in entries.values()))
        ints = {i: int(x.numerator) * (den // int(x.denominator)) for i, x in entries.items()}
        g = gcd(*ints.values()) or 1
        scaled = {i: QQ(v // g) for i, v in ints.items()}
        out.append(tuple(scaled.get(i, zero) for i in range(len(b))))
        norms.append(QQ(sum((v // g) ** 2 for v in ints.values())))
    return out, norms


def _heat_along_coordinates(p: PolyElement, variances: dict[int, object]) -> PolyElement:
    """``exp(½ Σ_k v_k ∂²_k) p`` term by term: ``x_k^m ↦ Σ_i (v_k/2)^i m!/(i!(m−2i)!) x_k^{m−2i}`` (the Hermite
    transform when every ``v_k = 1``); costs ``HERMITE`` per term of the result, counted first."""
    axes = list(variances)
    terms = hermite_terms([tuple(m[k] for k in axes) for m in p.monoms()])
    charge(HERMITE * terms, f"the heat operator ({terms:,} terms; conditioning, THEORY.md §2.4)")
    out: dict[tuple[int, ...], object] = {}
    for monom, coeff in p.terms():
        free = [k for k in axes if monom[k] > 1]
        exps = list(monom)
        for choice in itertools.product(*(_heat_weights(monom[k], variances[k]) for k in free)):
            c = coeff
            for k, (e, w) in zip(free, choice):
                exps[k] = e
                c = c * w
            key = tuple(exps)
            out[key] = out.get(key, QQ(0)) + c
    return p.ring.from_dict({k: c for k, c in out.items() if c})


@lru_cache(maxsize=4096)
def _heat_weights(m: int, v: object) -> tuple[tuple[int, object], ...]:
    """``(m − 2i, (v/2)^i m!/(i!(m−2i)!))`` for ``i ≤ m/2``."""
    return tuple((m - 2 * i, QQ(factorial(m), factorial(i) * factorial(m - 2 * i)) * (v / 2) ** i)
                 for i in range(m // 2 + 1))


@dataclass(frozen=True)
class LinearSubstitution:
    """``x_i ↦ Σ_j B[i][j] y_j`` (integral ``B``) with the ``y_j`` stored as the first ``m`` generators.

    Computed in integers (``ZZ`` copy of the ring): ``p(By) = (1/L) Σ_μ (L p_μ) Π_i form_i^{μ_i}``, each product
    of powers built once from its prefix (the monomial without its last variable) and shared by every monomial
    of every polynomial substituted.
    """

    R: PolyRing
    forms: tuple[PolyElement, ...]  # in the ZZ copy of R
    _products: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_basis(cls, R: PolyRing, basis: list[Vector]) -> LinearSubstitution:
        Z = R.clone(domain=ZZ)
        unit = [tuple(int(i == j) for i in range(R.ngens)) for j in range(R.ngens)]
        return cls(R, tuple(Z.from_dict({unit[j]: int(b[i]) for j, b in enumerate(basis) if b[i]})
                            for i in range(R.ngens)))

    def _product(self, m: tuple[int, ...]) -> PolyElement:
        """``Π_i form_i^{m_i}`` (in ``ZZ``), from its prefix times a power of the last form, cached."""
        if m not in self._products:
            last = max(i for i, e in enumerate(m) if e)
            rest = m[:last] + (0,) * (len(m) - last)
            if any(rest):
                base, step = self._product(rest), self._product((0,) * last + m[last:last + 1] + rest[last + 1:])
            elif m[last] > 1:
                base, step = self._product(m[:last] + (m[last] - 1,) + m[last + 1:]), self.forms[last]
            else:
                self._products[m] = self.forms[last]
                return self.forms[last]
            charge(product(len(base), len(step)), "a substitution x = By (conditioning, THEORY.md §2.4)")
            self._products[m] = base * step
        return self._products[m]

    def __call__(self, p: PolyElement) -> PolyElement:
        L, p = p.clear_denoms()
        acc: dict[tuple[int, ...], int] = {}
        for monom, coeff in p.terms():
            value = self._product(monom) if any(monom) else self.forms[0].ring.one
            charge(PRODUCT * (len(value) + 1), "a substitution x = By (conditioning, THEORY.md §2.4)")
            c = int(coeff)
            for mono, v in value.items():
                acc[mono] = acc.get(mono, 0) + c * v
        return self.R.from_dict({mono: QQ(v, int(L)) for mono, v in acc.items() if v})


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
    sparse = [_sparse(c) for c in C]
    out: dict[tuple[int, ...], PolyElement] = {}
    for multiset, q in level.items():
        start = multiset[-1] if multiset else 0
        for a in range(start, len(C)):
            d = _along(q, sparse[a])
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


def to_ring(expr: sympy.Expr, R: PolyRing, variables: list[sympy.Expr]) -> PolyElement:
    """A sympy polynomial expression with rational coefficients as an element of ``R``, whose generators stand
    for ``variables`` (symbols, or any sub-expressions such as function applications, matched exactly). No sympy
    ``expand``: sums, products and powers are done in the sparse ring, which is much faster for ``(x1 + …)**k``."""
    index = {v: i for i, v in enumerate(variables)}

    def walk(e: sympy.Expr) -> PolyElement:
        if e in index:
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


def _atoms(expr: sympy.Expr, out: dict) -> None:
    """Symbols and function applications of ``expr`` (not inside another application), in order of appearance."""
    if expr.is_Symbol or isinstance(expr, sympy.Function):
        out.setdefault(expr, None)
    elif expr.is_Add or expr.is_Mul or expr.is_Pow:
        for a in expr.args:
            _atoms(a, out)


def generic_ring(n: int) -> PolyRing:
    """``QQ[t0..t_{n−1}]`` (``n ≥ 1``): the ring a parsed expression is expanded in, its atoms mapped onto the
    generators (generic names keep sympy's ring cache bounded by the number of atoms, not by the inputs)."""
    R, *_ = ring([f"t{i}" for i in range(n)], QQ)
    return R


def ring_form(expr: sympy.Expr) -> tuple[PolyElement, tuple[sympy.Expr, ...]]:
    """``expr`` (a parsed expression: a polynomial with rational coefficients in symbols and function
    applications) as an element of :func:`generic_ring`, with the atoms its generators stand for. Arguments of
    function applications are expanded too, as ``sympy.expand`` does."""
    found: dict = {}
    _atoms(expr, found)
    apps = {a: a.func(*(expand_in_ring(b) for b in a.args)) for a in found if isinstance(a, sympy.Function)}
    atoms = tuple(dict.fromkeys(apps.get(a, a) for a in found))
    padded = atoms or (sympy.Symbol("t0"),)
    R = generic_ring(len(padded))
    return to_ring(expr.xreplace(apps) if apps else expr, R, list(padded)), padded


def expand_in_ring(expr: sympy.Expr) -> sympy.Expr:
    """``sympy.expand(expr)`` (the same expression) for a parsed expression, computed in a sparse ring."""
    p, atoms = ring_form(expr)
    return p.as_expr(*atoms)


def hermite_of(k: int, expr: sympy.Expr) -> sympy.Expr:
    """``He_k(expr)`` expanded (equal to ``sympy.expand(hermite_e(k, expr))``) by the three-term recurrence
    ``He_{j+1}(u) = u·He_j(u) − j·He_{j−1}(u)`` (THEORY.md §1) in a sparse polynomial ring.

    With ``u = v/L`` (``v`` integral, ``L`` the common denominator) the recurrence runs on the integral
    ``G_j = L^j He_j(v/L)``: ``G_{j+1} = v·G_j − j·L²·G_{j−1}``, and ``He_k(u) = G_k / L^k``.
    """
    u, atoms = ring_form(expr)
    L, v = u.clear_denoms()
    Z = u.ring.clone(domain=ZZ)
    v, L = v.set_ring(Z), int(L)
    prev, cur = Z.zero, Z.one
    for j in range(k):
        prev, cur = cur, v * cur - prev * (j * L * L)
    return cur.set_ring(u.ring).mul_ground(QQ(1, L**k)).as_expr(*atoms)


def heat_in(p: PolyElement, m: int, norms: list) -> PolyElement:
    """``exp(½ Σ_{j<m} ∂²_{y_j}/norms[j]) p`` in the first ``m`` generators (the ``y`` of a substitution)."""
    return _heat_along_coordinates(p, {j: 1 / norms[j] for j in range(m)})


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
    """``expr`` (in the real symbols ``x1..xr``) in ``QQ[x1..xr]``, or ``None`` if a coefficient is not rational.
    Computed in ``ZZ[x1..xr]`` (several times faster) when every number in ``expr`` is an integer."""
    variables = [sympy.Symbol(f"x{i}", real=True) for i in range(1, r + 1)]
    R = polynomial_ring(r)
    try:
        if all(n.is_Integer for n in expr.atoms(sympy.Number)):
            return to_ring(expr, R.clone(domain=ZZ), variables).set_ring(R)
        return to_ring(expr, R, variables)
    except ValueError:
        return None
