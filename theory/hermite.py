"""Probabilists' Hermite polynomials and exact Gaussian moment algebra (THEORY.md §1).

Conventions: ``He_k`` are the probabilists' Hermite polynomials
(``He_0 = 1, He_1 = u, He_2 = u² − 1, He_3 = u³ − 3u``), orthogonal under
``N(0, 1)`` with ``E[He_j He_k] = k! δ_jk``. The Hermite coefficient of a
function is ``c_k = E[f He_k]`` (not divided by ``√k!``), so that
``f = Σ_k c_k He_k / k!``.

Everything here is exact rational arithmetic on Python integers and
``fractions.Fraction``; no symbolic integration is ever used. The two facts
everything rests on are

* ``E[u^m] = (m − 1)!!`` for even ``m`` (0 for odd ``m``), ``u ~ N(0, 1)``;
* ``u^m = Σ_{j ≡ m (2)} m! / (j! · ((m−j)/2)! · 2^{(m−j)/2}) · He_j(u)``.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import comb, factorial

import sympy


def double_factorial(n: int) -> int:
    """``n!! = n (n−2) (n−4) …``, with ``(−1)!! = 0!! = 1``."""
    out = 1
    while n > 1:
        out *= n
        n -= 2
    return out


def gaussian_moment(m: int) -> int:
    """``E[u^m]`` for ``u ~ N(0, 1)``: ``(m−1)!!`` for even ``m``, else 0."""
    if m < 0:
        raise ValueError(f"moment order must be non-negative, got {m}")
    return 0 if m % 2 else double_factorial(m - 1)


@lru_cache(maxsize=None)
def hermite_e_coefficients(k: int) -> tuple[int, ...]:
    """Monomial coefficients of ``He_k``, lowest degree first (length ``k+1``).

    ``He_k(u) = Σ_{i ≤ k/2} (−1)^i k! / (i! (k−2i)! 2^i) · u^{k−2i}``,
    the same coefficients as ``numpy.polynomial.hermite_e.herme2poly``.
    """
    if k < 0:
        raise ValueError(f"Hermite order must be non-negative, got {k}")
    coeffs = [0] * (k + 1)
    for i in range(k // 2 + 1):
        coeffs[k - 2 * i] = (-1) ** i * factorial(k) // (factorial(i) * factorial(k - 2 * i) * 2**i)
    return tuple(coeffs)


@lru_cache(maxsize=None)
def monomial_to_hermite(m: int) -> tuple[int, ...]:
    """Coefficients ``a_j`` with ``u^m = Σ_j a_j He_j(u)`` (length ``m+1``), all integers."""
    out = [0] * (m + 1)
    for j in range(m % 2, m + 1, 2):
        h = (m - j) // 2
        out[j] = factorial(m) // (factorial(j) * factorial(h) * 2**h)
    return tuple(out)


def hermite_e(k: int, u: sympy.Expr) -> sympy.Expr:
    """``He_k(u)`` as a sympy polynomial expression in ``u``."""
    return sympy.Add(*[c * u**i for i, c in enumerate(hermite_e_coefficients(k)) if c])


def hermite_value_at_zero(k: int) -> int:
    """``He_k(0) = (−1)^{k/2} (k−1)!!`` for even ``k``, 0 for odd ``k``."""
    return 0 if k % 2 else (-1) ** (k // 2) * double_factorial(k - 1)


def scaled_gaussian_moment(m: int, variance: Fraction) -> Fraction:
    """``E[v^m]`` for ``v ~ N(0, variance)`` with rational variance and even ``m``.

    Odd ``m`` gives 0. Even ``m`` gives ``(m−1)!! · variance^{m/2}``, rational.
    """
    if m % 2:
        return Fraction(0)
    return double_factorial(m - 1) * Fraction(variance) ** (m // 2)


def expect_polynomial_scaled(coeffs: tuple[int, ...] | list[Fraction], variance: Fraction) -> Fraction:
    """``E[p(v)]``, ``v ~ N(0, variance)``, for ``p = Σ coeffs[i] v^i``."""
    return sum((Fraction(c) * scaled_gaussian_moment(i, variance) for i, c in enumerate(coeffs) if c), Fraction(0))


def polynomial_hermite_coefficients(coeffs: list[Fraction] | tuple[int, ...]) -> list[Fraction]:
    """Hermite coefficients ``c_k = E[p He_k]`` of ``p(u) = Σ coeffs[i] u^i``.

    Uses ``u^m = Σ a_j He_j`` so ``E[u^m He_k] = a_k · k!``.
    """
    deg = len(coeffs) - 1
    out = [Fraction(0)] * (deg + 1)
    for m, c in enumerate(coeffs):
        if c:
            for j, a in enumerate(monomial_to_hermite(m)):
                if a:
                    out[j] += Fraction(c) * a * factorial(j)
    return out


def half_line_moment(m: int) -> sympy.Expr:
    """``∫_0^∞ u^m φ(u) du`` exactly: ``(m−1)!!/2`` (m even), ``2^{(m−1)/2} ((m−1)/2)! / √(2π)`` (m odd)."""
    if m % 2 == 0:
        return sympy.Rational(double_factorial(m - 1), 2)
    h = (m - 1) // 2
    return sympy.Integer(2**h * factorial(h)) / sympy.sqrt(2 * sympy.pi)


def multi_factorial(alpha: tuple[int, ...]) -> int:
    """``α! = Π_j α_j!`` for a multi-index ``α``."""
    out = 1
    for a in alpha:
        out *= factorial(a)
    return out


def multi_indices(r: int, k: int) -> list[tuple[int, ...]]:
    """All ``α ∈ N^r`` with ``|α| = k``, in lexicographic order (largest first)."""
    if r == 0:
        return [()] if k == 0 else []
    out: list[tuple[int, ...]] = []
    for first in range(k, -1, -1):
        for rest in multi_indices(r - 1, k - first):
            out.append((first,) + rest)
    return out


def count_multi_indices(r: int, k: int) -> int:
    """Number of ``α ∈ N^r`` with ``|α| = k``: ``C(r+k−1, k)``."""
    return comb(r + k - 1, k) if r > 0 else int(k == 0)


def index_tuple_to_alpha(indices: tuple[int, ...], r: int) -> tuple[int, ...]:
    """The multi-index counting how often each coordinate occurs in ``indices`` (0-based)."""
    alpha = [0] * r
    for i in indices:
        alpha[i] += 1
    return tuple(alpha)


def upper_moment(m: int, t: object) -> sympy.Expr:
    """``∫_t^∞ u^m φ(u) du`` exactly for a rational ``t`` (``sympy.oo``/``-sympy.oo`` allowed).

    ``M_0(t) = erfc(t/√2)/2``, ``M_1(t) = φ(t)``, ``M_m(t) = t^{m−1} φ(t) + (m−1) M_{m−2}(t)``
    (integration by parts, ``φ' = −uφ``); ``M_m(−∞) = E[u^m]``, ``M_m(∞) = 0``. At ``t = 0`` this is
    :func:`half_line_moment`.
    """
    if t is sympy.oo:
        return sympy.Integer(0)
    if t is -sympy.oo:
        return sympy.Integer(gaussian_moment(m))
    t = sympy.Rational(t)
    if t == 0:
        return half_line_moment(m)
    phi = sympy.exp(-t**2 / 2) / sympy.sqrt(2 * sympy.pi)
    low = [sympy.erfc(t / sympy.sqrt(2)) / 2, phi]
    for j in range(2, m + 1):
        low.append(t ** (j - 1) * phi + (j - 1) * low[j - 2])
    return low[m]
