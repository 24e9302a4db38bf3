"""The named activations, one entry each (THEORY.md §2.7): everything derived from ``f`` lives next to it.

An :class:`Entry` holds, for one base function ``f`` (relu, abs, sign, tanh, erf, sigmoid, softplus,
gelu — ``gelu(u) = u·Φ(u)``, the exact one, not the tanh approximation):

* its Hermite data for an affine argument, ``E[f(a·u + b) He_k(u)]``: a closed form where one exists
  (the piecewise-polynomial ones for any ``a, b``; erf for any ``a, b``; gelu for ``a = 1, b = 0``), the
  symmetry zeros (``parity``, ``poly_part``), or mpmath tanh–sinh quadrature at ``QUAD_DPS`` digits;
* orders without a closed form are computed by quadrature up to ``MAX_QUADRATURE_ORDER`` (refused beyond,
  in one line, before any work);
* its mpmath, numpy and torch forms and their (a.e.) derivatives; torch is imported only inside
  :meth:`Entry.torch_pair`.

Closed forms. Piecewise polynomials: :mod:`theory.piecewise`. erf (Stein, ``erf' = (2/√π)e^{−v²}``):
``E[erf(au+b)] = erf(b/√(1+2a²))`` and, for ``k ≥ 1``,
``E[erf(au+b) He_k(u)] = a (2/√π) √ν e^{−b²ν} E_{U~N(−2abν, ν)}[He_{k−1}(U)]``, ``ν = 1/(1+2a²)``
(complete the square in ``−(au+b)² − u²/2``). gelu: ``E[φ(u) p(u)] = E_{N(0,1/2)}[p]/(2√π)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache
from math import comb

import mpmath
import numpy as np
import sympy

from theory.hermite import double_factorial, expect_polynomial_scaled, hermite_e_coefficients
from theory.piecewise import Piecewise

QUAD_DPS = 50
# the highest order μ_k computed by quadrature (no closed form): ~0.3 s per order at 50 digits near this order
MAX_QUADRATURE_ORDER = 24
_ZERO, _ONE = sympy.Integer(0), sympy.Integer(1)


class Backend(StrEnum):
    """The array library a function is evaluated with (its numpy or its torch form)."""

    NUMPY = "numpy"
    TORCH = "torch"


@dataclass(frozen=True)
class Entry:
    """One base activation ``f`` and everything derived from it (module docstring)."""

    name: str
    parity: int  # parity of f − poly_part: +1 even, −1 odd, 0 neither
    poly_part: tuple  # exact polynomial with f − poly_part of the given parity (lowest degree first)
    piecewise: Piecewise | None  # f as a piecewise polynomial (kinked activations)
    closed_form: Callable[[int, sympy.Rational, sympy.Rational], sympy.Expr | None] | None
    mp: Callable
    mp_deriv: Callable
    np_fn: Callable[[np.ndarray], np.ndarray]
    np_deriv: Callable[[np.ndarray], np.ndarray]
    torch_forms: Callable[[object], tuple[Callable, Callable]]  # torch module ↦ (f, f')

    @property
    def smooth(self) -> bool:
        return self.piecewise is None

    def torch_pair(self) -> tuple[Callable, Callable]:
        import torch

        return self.torch_forms(torch)

    def coefficient(self, k: int, a: sympy.Rational = _ONE, b: sympy.Rational = _ZERO) -> tuple[sympy.Expr, str]:
        """``E[f(a·u + b) He_k(u)]`` and how it was computed."""
        if b == 0 and self.parity and (k % 2 == 0) != (self.parity == 1):
            poly = [sympy.Rational(c) * a**i for i, c in enumerate(self.poly_part or (0,))]
            return Piecewise.polynomial(tuple(poly)).hermite(k), "exact (symmetry)"
        if self.piecewise is not None:
            return sympy.simplify(self.piecewise.compose_affine(a, b).hermite(k)), "exact (closed form)"
        if self.closed_form is not None:
            value = self.closed_form(k, a, b)
            if value is not None:
                return sympy.simplify(value), "exact (closed form)"
        if k > MAX_QUADRATURE_ORDER:
            raise ValueError(f"μ_{k} of {self.name}(a·u + b) has no closed form here and quadrature is limited to "
                             f"orders ≤ MAX_QUADRATURE_ORDER = {MAX_QUADRATURE_ORDER} (each order beyond costs seconds "
                             "at 50 digits); ask for fewer orders")
        value, err = _quadrature(self.name, k, a, b)
        digits = int(-mpmath.log10(err / max(abs(value), mpmath.mpf(10) ** -QUAD_DPS))) if err else QUAD_DPS
        return sympy.Float(value, QUAD_DPS), f"mpmath tanh-sinh quadrature, ~{min(digits, QUAD_DPS)} digits"


# ---------------------------------------------------------------------------
# closed forms
# ---------------------------------------------------------------------------
def _normal_moment(j: int, mean: sympy.Rational, var: sympy.Rational) -> sympy.Expr:
    """``E[U^j]`` for ``U ~ N(mean, var)`` (rational)."""
    return sum((comb(j, i) * mean ** (j - i) * var ** (i // 2) * double_factorial(i - 1)
                for i in range(0, j + 1, 2)), _ZERO)


def erf_coefficient(k: int, a: sympy.Rational, b: sympy.Rational) -> sympy.Expr:
    """``E[erf(a·u + b) He_k(u)]`` (module docstring)."""
    if k == 0:
        return sympy.erf(b / sympy.sqrt(1 + 2 * a**2))
    nu = 1 / (1 + 2 * a**2)
    mean = -2 * a * b * nu
    he = hermite_e_coefficients(k - 1)
    moment = sum((c * _normal_moment(j, mean, nu) for j, c in enumerate(he) if c), _ZERO)
    return a * 2 / sympy.sqrt(sympy.pi) * sympy.sqrt(nu) * sympy.exp(-b**2 * nu) * moment


def gelu_coefficient(k: int, a: sympy.Rational, b: sympy.Rational) -> sympy.Expr | None:
    """``E[u Φ(u) He_k(u)]`` exactly (``a = 1, b = 0`` only; ``None`` otherwise → quadrature).

    ``k = 0``: ``E[φ(u)] = 1/(2√π)``. ``k ≥ 1`` (Stein, ``σ' = Φ + uφ``):
    ``E[Φ He_{k−1}] + E[u φ(u) He_{k−1}]`` with ``E[Φ He_0] = 1/2``, ``E[Φ He_j] = E[φ He_{j−1}]`` and
    ``E[φ(u) p(u)] = E_{v~N(0,1/2)}[p(v)]/(2√π)``.
    """
    if a != 1 or b != 0:
        return None
    inv = 1 / (2 * sympy.sqrt(sympy.pi))

    def phi_expect(coeffs: list[int]) -> sympy.Expr:
        m = expect_polynomial_scaled(coeffs, Fraction(1, 2))
        return sympy.Rational(m.numerator, m.denominator) * inv

    if k == 0:
        return inv
    j = k - 1
    phi_part = sympy.Rational(1, 2) if j == 0 else phi_expect(list(hermite_e_coefficients(j - 1)))
    return phi_part + phi_expect([0] + list(hermite_e_coefficients(j)))


@lru_cache(maxsize=4096)
def _quadrature(name: str, k: int, a: sympy.Rational, b: sympy.Rational) -> tuple[mpmath.mpf, mpmath.mpf]:
    """``E[f(a·u + b) He_k(u)]`` by tanh–sinh quadrature at ``QUAD_DPS`` digits: (value, error estimate)."""
    fn = REGISTRY[name].mp
    he = list(reversed(hermite_e_coefficients(k)))
    with mpmath.workdps(QUAD_DPS):
        am, bm = mpmath.mpf(a.p) / a.q, mpmath.mpf(b.p) / b.q
        centre = -bm / am if abs(bm / am) < 8 else mpmath.mpf(0)
        points = sorted({mpmath.mpf(-8), mpmath.mpf(0), centre, mpmath.mpf(8)})

        def integrand(u: mpmath.mpf) -> mpmath.mpf:
            return fn(am * u + bm) * mpmath.polyval(he, u) * mpmath.npdf(u)

        return mpmath.quad(integrand, [-mpmath.inf, *points, mpmath.inf], error=True)


# ---------------------------------------------------------------------------
# the entries
# ---------------------------------------------------------------------------
def _np_erf(u: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return erf(u)


def _np_sigmoid(u: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(u)


def _np_gelu(u: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return u * ndtr(u)


def _np_gelu_deriv(u: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(u) + u * np.exp(-0.5 * u * u) / np.sqrt(2 * np.pi)


def _mp_sigmoid(u: mpmath.mpf) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-u))


def _torch_gelu(torch: object) -> tuple[Callable, Callable]:
    F = torch.nn.functional  # type: ignore[attr-defined]
    c = 1 / np.sqrt(2 * np.pi)
    return (lambda u: F.gelu(u, approximate="none"),
            lambda u: 0.5 * (1 + torch.erf(u / np.sqrt(2))) + u * c * torch.exp(-0.5 * u * u))  # type: ignore


_I0, _I1 = (sympy.Integer(0),), (sympy.Integer(0), sympy.Integer(1))
_C_ERF = 2 / np.sqrt(np.pi)

REGISTRY: dict[str, Entry] = {
    "relu": Entry("relu", 0, (), Piecewise((_ZERO,), (_I0, _I1)), None,
                  lambda u: max(u, 0), lambda u: mpmath.mpf(u > 0),
                  lambda u: np.maximum(u, 0.0), lambda u: (u > 0).astype(float),
                  lambda t: (t.relu, lambda u: (u > 0).to(u.dtype))),
    "abs": Entry("abs", 1, (), Piecewise((_ZERO,), ((0, -1), _I1)), None,
                 abs, mpmath.sign, np.abs, np.sign, lambda t: (t.abs, t.sign)),
    "sign": Entry("sign", -1, (), Piecewise((_ZERO,), ((-1,), (1,))), None,
                  mpmath.sign, lambda u: mpmath.mpf(0), np.sign, np.zeros_like, lambda t: (t.sign, t.zeros_like)),
    "erf": Entry("erf", -1, (), None, erf_coefficient, mpmath.erf,
                 lambda u: 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-u * u), _np_erf,
                 lambda u: _C_ERF * np.exp(-u * u), lambda t: (t.erf, lambda u: _C_ERF * t.exp(-u * u))),
    "gelu": Entry("gelu", 0, (), None, gelu_coefficient, lambda u: u * mpmath.ncdf(u),
                  lambda u: mpmath.ncdf(u) + u * mpmath.npdf(u), _np_gelu, _np_gelu_deriv, _torch_gelu),
    "tanh": Entry("tanh", -1, (), None, None, mpmath.tanh, lambda u: 1 - mpmath.tanh(u) ** 2,
                  np.tanh, lambda u: 1 - np.tanh(u) ** 2, lambda t: (t.tanh, lambda u: 1 - t.tanh(u) ** 2)),
    # sigmoid − 1/2 is odd; softplus − u/2 is even (softplus(u) − softplus(−u) = u)
    "sigmoid": Entry("sigmoid", -1, (Fraction(1, 2),), None, None, _mp_sigmoid,
                     lambda u: _mp_sigmoid(u) * (1 - _mp_sigmoid(u)), _np_sigmoid,
                     lambda u: _np_sigmoid(u) * (1 - _np_sigmoid(u)),
                     lambda t: (t.sigmoid, lambda u: t.sigmoid(u) * (1 - t.sigmoid(u)))),
    "softplus": Entry("softplus", 1, (Fraction(0), Fraction(1, 2)), None, None,
                      lambda u: mpmath.log1p(mpmath.exp(u)), _mp_sigmoid, lambda u: np.logaddexp(0.0, u), _np_sigmoid,
                      lambda t: (t.nn.functional.softplus, t.sigmoid)),
}
NAMED = tuple(REGISTRY)
KINKED = tuple(name for name, e in REGISTRY.items() if not e.smooth)

__all__ = ["Backend", "Entry", "KINKED", "NAMED", "QUAD_DPS", "REGISTRY"]
