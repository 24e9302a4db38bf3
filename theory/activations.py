"""Activation registry and Hermite coefficients ``μ_k(σ) = E[σ(u) He_k(u)]`` (THEORY.md §1, §2.7).

``activation(spec)`` understands

* the named activations ``relu, abs, sign, tanh, erf, sigmoid, softplus, gelu``
  (``gelu(u) = u·Φ(u)``, the exact one, not the tanh approximation);
* Hermite polynomials ``He0, He1, He2, …``;
* polynomials in ``u``, e.g. ``"u**3 - 3*u"`` (parsed safely, never evaluated);
* "σ with orders < k removed": ``"relu[2:]"`` is ``relu − μ0 He0 − μ1 He1``,
  the Hermite series of relu from order 2 on.

Coefficients are exact sympy numbers where a closed form exists (relu, abs,
sign, erf, gelu, polynomials) and mpmath tanh–sinh quadrature at 50 digits
otherwise (tanh, sigmoid, softplus: at least 30 significant digits, checked
against the quadrature's own error estimate); ``Activation.method(k)`` says
which. Symmetry zeros (odd/even activations) are exact in both cases.

Normalisations, by name: ``"expectation"`` (default) is ``E[σ He_k]``;
``"orthonormal"`` is ``E[σ He_k]/√k!``; ``"series"`` is ``E[σ He_k]/k!``, the
coefficient of ``He_k`` in ``σ = Σ_k (μ_k/k!) He_k``.

The same entry gives ``sim`` a torch function and its derivative
(``Activation.torch_pair()``), and the numeric engine a numpy function.
torch is imported only when those are asked for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import factorial

import mpmath
import numpy as np
import sympy

from theory.hermite import (
    expect_polynomial_scaled,
    half_line_moment,
    hermite_e_coefficients,
    polynomial_hermite_coefficients,
)
from theory.parse import MAX_EXPONENT, parse_expression

NORMALIZATIONS = ("expectation", "orthonormal", "series")
NAMED = ("relu", "abs", "sign", "tanh", "erf", "sigmoid", "softplus", "gelu")
QUAD_DPS = 50
SQRT_2PI = sympy.sqrt(2 * sympy.pi)


# ---------------------------------------------------------------------------
# exact coefficients
# ---------------------------------------------------------------------------
def _poly_times_hermite(p: tuple[int, ...], k: int) -> list[int]:
    """Monomial coefficients of ``p(u)·He_k(u)``."""
    h = hermite_e_coefficients(k)
    out = [0] * (len(p) + len(h) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(h):
            out[i + j] += a * b
    return out


def piecewise_polynomial_coefficient(p_plus: tuple[int, ...], p_minus: tuple[int, ...], k: int) -> sympy.Expr:
    """``E[σ He_k]`` for ``σ = p_plus`` on ``u > 0`` and ``p_minus`` on ``u < 0`` (integer polynomials).

    Exact from the half-line moments ``∫_0^∞ u^m φ = (m−1)!!/2`` (m even) and
    ``2^{(m−1)/2}((m−1)/2)!/√(2π)`` (m odd); ``∫_{−∞}^0 u^m φ = (−1)^m`` times that.
    """
    total = sympy.Integer(0)
    for m, c in enumerate(_poly_times_hermite(p_plus, k)):
        if c:
            total += c * half_line_moment(m)
    for m, c in enumerate(_poly_times_hermite(p_minus, k)):
        if c:
            total += c * (-1) ** m * half_line_moment(m)
    return total


def erf_coefficient(k: int) -> sympy.Expr:
    """``E[erf(u) He_k(u)]``: 0 for even k; else ``(2/√(3π)) E_{v~N(0,1/3)}[He_{k−1}(v)]``.

    Stein: ``E[σ He_k] = E[σ' He_{k−1}]``, ``erf' = (2/√π) e^{−u²}`` and
    ``E[e^{−u²} p(u)] = E_{v~N(0,1/3)}[p(v)]/√3``.
    """
    if k % 2 == 0:
        return sympy.Integer(0)
    m = expect_polynomial_scaled(list(hermite_e_coefficients(k - 1)), Fraction(1, 3))
    return sympy.Rational(m.numerator, m.denominator) * 2 / sympy.sqrt(3 * sympy.pi)


def gelu_coefficient(k: int) -> sympy.Expr:
    """``E[u Φ(u) He_k(u)]`` exactly.

    ``k = 0``: ``E[φ(u)] = 1/(2√π)``. ``k ≥ 1`` (Stein, ``σ' = Φ + uφ``):
    ``E[Φ He_{k−1}] + E[u φ(u) He_{k−1}]`` with ``E[Φ He_0] = 1/2``,
    ``E[Φ He_j] = E[φ He_{j−1}]`` and ``E[φ(u) p(u)] = E_{v~N(0,1/2)}[p(v)]/(2√π)``.
    """
    inv = 1 / (2 * sympy.sqrt(sympy.pi))

    def phi_expect(coeffs: list[int]) -> sympy.Expr:
        m = expect_polynomial_scaled(coeffs, Fraction(1, 2))
        return sympy.Rational(m.numerator, m.denominator) * inv

    if k == 0:
        return inv
    j = k - 1
    phi_part = sympy.Rational(1, 2) if j == 0 else phi_expect(list(hermite_e_coefficients(j - 1)))
    u_he = [0] + list(hermite_e_coefficients(j))
    return phi_part + phi_expect(u_he)


def polynomial_coefficient(coeffs: tuple[Fraction, ...], k: int) -> sympy.Expr:
    """``E[p He_k]`` for ``p(u) = Σ coeffs[i] u^i`` (exact rational)."""
    if k > len(coeffs) - 1:
        return sympy.Integer(0)
    c = polynomial_hermite_coefficients(list(coeffs))[k]
    return sympy.Rational(c.numerator, c.denominator)


# ---------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Entry:
    """How to compute and evaluate one named activation."""

    parity: int  # parity of σ − poly_part: +1 even, -1 odd, 0 neither
    smooth: bool
    exact: Callable[[int], sympy.Expr] | None
    mp: Callable[[mpmath.mpf], mpmath.mpf] | None
    np_fn: Callable[[np.ndarray], np.ndarray]
    mp_deriv: Callable[[mpmath.mpf], mpmath.mpf]
    poly_part: tuple[Fraction, ...] = ()  # exact polynomial p with σ − p of the given parity


def _np_erf(u: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return erf(u)


def _np_sigmoid(u: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(u)


def _np_gelu(u: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return u * ndtr(u)


def _mp_sigmoid(u: mpmath.mpf) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-u))


REGISTRY: dict[str, _Entry] = {
    "relu": _Entry(0, False, lambda k: piecewise_polynomial_coefficient((0, 1), (0,), k), None,
                   lambda u: np.maximum(u, 0.0), lambda u: mpmath.mpf(u > 0)),
    "abs": _Entry(1, False, lambda k: piecewise_polynomial_coefficient((0, 1), (0, -1), k), None,
                  np.abs, mpmath.sign),
    "sign": _Entry(-1, False, lambda k: piecewise_polynomial_coefficient((1,), (-1,), k), None,
                   np.sign, lambda u: mpmath.mpf(0)),
    "erf": _Entry(-1, True, erf_coefficient, None, _np_erf,
                  lambda u: 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-u * u)),
    "gelu": _Entry(0, True, gelu_coefficient, None, _np_gelu,
                   lambda u: mpmath.ncdf(u) + u * mpmath.npdf(u)),
    "tanh": _Entry(-1, True, None, mpmath.tanh, np.tanh, lambda u: 1 - mpmath.tanh(u) ** 2),
    # sigmoid − 1/2 is odd; softplus − u/2 is even (softplus(u) − softplus(−u) = u)
    "sigmoid": _Entry(-1, True, None, _mp_sigmoid, _np_sigmoid,
                      lambda u: _mp_sigmoid(u) * (1 - _mp_sigmoid(u)), poly_part=(Fraction(1, 2),)),
    "softplus": _Entry(1, True, None, lambda u: mpmath.log1p(mpmath.exp(u)), lambda u: np.logaddexp(0.0, u),
                       _mp_sigmoid, poly_part=(Fraction(0), Fraction(1, 2))),
}
_KINKED_DERIVATIVE_NORM2 = {"relu": sympy.Rational(1, 2), "abs": sympy.Integer(1), "sign": sympy.Integer(0)}


def _torch_pair(name: str) -> tuple[Callable, Callable]:
    """``(σ, σ')`` as torch functions for a named activation (torch imported here)."""
    import torch

    if name == "relu":
        return torch.relu, lambda u: (u > 0).to(u.dtype)
    if name == "abs":
        return torch.abs, torch.sign
    if name == "sign":
        return torch.sign, torch.zeros_like
    if name == "tanh":
        return torch.tanh, lambda u: 1 - torch.tanh(u) ** 2
    if name == "erf":
        c = 2 / np.sqrt(np.pi)
        return torch.erf, lambda u: c * torch.exp(-u * u)
    if name == "sigmoid":
        return torch.sigmoid, lambda u: torch.sigmoid(u) * (1 - torch.sigmoid(u))
    if name == "softplus":
        return torch.nn.functional.softplus, torch.sigmoid
    if name == "gelu":
        inv_sqrt2pi = 1 / np.sqrt(2 * np.pi)
        return (
            lambda u: torch.nn.functional.gelu(u, approximate="none"),
            lambda u: 0.5 * (1 + torch.erf(u / np.sqrt(2))) + u * inv_sqrt2pi * torch.exp(-0.5 * u * u),
        )
    raise ValueError(f"no torch implementation for {name!r}")


@lru_cache(maxsize=4096)
def _quadrature_coefficient(name: str, k: int) -> tuple[mpmath.mpf, mpmath.mpf]:
    """``E[σ He_k]`` by tanh–sinh quadrature at ``QUAD_DPS`` digits: (value, error estimate)."""
    fn = REGISTRY[name].mp
    assert fn is not None
    he = hermite_e_coefficients(k)
    with mpmath.workdps(QUAD_DPS):
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)

        def integrand(u: mpmath.mpf) -> mpmath.mpf:
            return fn(u) * mpmath.polyval(list(reversed(he)), u) * mpmath.exp(-u * u / 2) * norm

        value, err = mpmath.quad(integrand, [-mpmath.inf, -8, 0, 8, mpmath.inf], error=True)
    return value, err


@dataclass(frozen=True)
class HermiteSeries:
    """The first Hermite coefficients of an activation, with how they were computed."""

    activation: str
    coefficients: tuple[sympy.Expr, ...]
    methods: tuple[str, ...]
    normalization: str

    def __str__(self) -> str:
        head = f"Hermite coefficients of {self.activation} ({_NORM_TEXT[self.normalization]})"
        rows = [f"  k={k:<3d} {_show(c):<32s} ≈ {_approx(c):<24s} [{m}]"
                for k, (c, m) in enumerate(zip(self.coefficients, self.methods))]
        return "\n".join([head, *rows])

    def _repr_latex_(self) -> str:
        body = r" \\ ".join(f"{k} & {sympy.latex(c)}" for k, c in enumerate(self.coefficients))
        return rf"$\begin{{array}}{{r|l}} k & {_NORM_LATEX[self.normalization]} \\ \hline {body} \end{{array}}$"

    def to_dict(self) -> dict:
        return {
            "activation": self.activation,
            "normalization": self.normalization,
            "coefficients": [
                {"k": k, "exact": str(c), "value": float(c), "digits30": _approx(c), "method": m}
                for k, (c, m) in enumerate(zip(self.coefficients, self.methods))
            ],
        }


_NORM_TEXT = {
    "expectation": "E[σ He_k]",
    "orthonormal": "E[σ He_k]/√k!",
    "series": "E[σ He_k]/k!",
}
_NORM_LATEX = {
    "expectation": r"\mathbb{E}[\sigma\,He_k]",
    "orthonormal": r"\mathbb{E}[\sigma\,He_k]/\sqrt{k!}",
    "series": r"\mathbb{E}[\sigma\,He_k]/k!",
}


def _show(c: sympy.Expr) -> str:
    return str(c) if not isinstance(c, sympy.Float) else "(numeric)"


def _approx(c: sympy.Expr) -> str:
    return str(sympy.N(c, 30)) if c != 0 else "0"


_SUFFIX = re.compile(r"^(?P<base>.+)\[(?P<k>[0-9]+):\]$")
_HE = re.compile(r"^He(?P<k>[0-9]+)$")


@dataclass(frozen=True)
class Activation:
    """An activation σ and its Hermite coefficients ``μ_k = E[σ He_k]`` (THEORY §2.7).

    ``name`` is a registered name or ``"poly"``; ``poly`` holds the monomial
    coefficients of a polynomial activation; Hermite orders ``< min_order`` are
    removed (``relu[2:]``).
    """

    spec: str
    name: str
    poly: tuple[Fraction, ...] | None = None
    min_order: int = 0

    # -- coefficients ---------------------------------------------------------
    def _base_coefficient(self, k: int) -> tuple[sympy.Expr, str]:
        if self.poly is not None:
            return polynomial_coefficient(self.poly, k), "exact (polynomial)"
        entry = REGISTRY[self.name]
        if entry.parity and (k % 2 == 0) != (entry.parity == 1):
            return polynomial_coefficient(entry.poly_part or (Fraction(0),), k), "exact (symmetry)"
        if entry.exact is not None:
            return sympy.simplify(entry.exact(k)), "exact (closed form)"
        value, err = _quadrature_coefficient(self.name, k)
        digits = int(-mpmath.log10(err / max(abs(value), mpmath.mpf(10) ** -QUAD_DPS))) if err else QUAD_DPS
        return sympy.Float(value, QUAD_DPS), f"mpmath tanh-sinh quadrature, ~{min(digits, QUAD_DPS)} digits"

    def hermite(self, k: int, normalization: str = "expectation") -> sympy.Expr:
        """``μ_k``: ``E[σ He_k]`` by default (see module docstring for the other normalisations)."""
        return self.hermite_series(k, normalization).coefficients[k]

    def method(self, k: int) -> str:
        """How ``μ_k`` is computed (exact closed form, symmetry, or quadrature with digits)."""
        _check_order(k)
        if k < self.min_order:
            return "exact (order removed)"
        return self._base_coefficient(k)[1]

    def hermite_series(self, kmax: int, normalization: str = "expectation") -> HermiteSeries:
        """``μ_0 … μ_kmax`` in the chosen normalisation, with the method of each."""
        _check_order(kmax)
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {', '.join(NORMALIZATIONS)}; got {normalization!r}")
        coeffs, methods = [], []
        for k in range(kmax + 1):
            if k < self.min_order:
                c, m = sympy.Integer(0), "exact (order removed)"
            else:
                c, m = self._base_coefficient(k)
            if normalization == "orthonormal":
                c = c / sympy.sqrt(factorial(k))
            elif normalization == "series":
                c = c / factorial(k)
            coeffs.append(c)
            methods.append(m)
        return HermiteSeries(self.spec, tuple(coeffs), tuple(methods), normalization)

    def derivative_norm2(self) -> sympy.Expr:
        """``E[σ'(u)²]``, ``u ~ N(0,1)`` (enters the §3.1 overlap formula).

        Exact for polynomials (``σ' = Σ_k μ_{k+1} He_k/k!``, finite) and for plain
        relu/abs/sign (``σ'² = 1_{u>0}``, 1, 0 a.e.); otherwise mpmath quadrature
        of ``(σ' − removed orders)²`` at ``QUAD_DPS`` digits, returned to 30 digits.
        """
        if self.poly is not None:
            mus = [self._base_coefficient(k)[0] for k in range(len(self.poly) + 1)]
            return sympy.nsimplify(sum(mus[k + 1] ** 2 / factorial(k) for k in range(len(self.poly))))
        if self.min_order == 0 and self.name in _KINKED_DERIVATIVE_NORM2:
            return _KINKED_DERIVATIVE_NORM2[self.name]
        deriv = REGISTRY[self.name].mp_deriv
        dlow = list(reversed(_derivative(self._removed_poly())))
        with mpmath.workdps(QUAD_DPS):
            def integrand(u: mpmath.mpf) -> mpmath.mpf:
                dv = deriv(u) - mpmath.polyval(dlow, u)
                return dv * dv * mpmath.npdf(u)

            value = mpmath.quad(integrand, [-mpmath.inf, -8, 0, 8, mpmath.inf])
        return sympy.Float(value, 30)

    @property
    def smooth(self) -> bool:
        """False for activations with kinks or jumps (relu, abs, sign): quadrature converges slowly."""
        return self.poly is not None or REGISTRY[self.name].smooth

    # -- evaluation -----------------------------------------------------------
    def _removed_poly(self) -> list[float]:
        """Monomial coefficients (float) of ``Σ_{j < min_order} μ_j He_j / j!``."""
        out = [0.0] * max(self.min_order, 1)
        for j in range(self.min_order):
            mu = float(self._base_coefficient(j)[0]) / factorial(j)
            for i, h in enumerate(hermite_e_coefficients(j)):
                out[i] += mu * h
        return out

    def numpy(self) -> Callable[[np.ndarray], np.ndarray]:
        """σ as a vectorised numpy function (float64)."""
        if self.poly is not None:
            base = [float(c) for c in self.poly]
            return _np_poly(base)
        fn = REGISTRY[self.name].np_fn
        if self.min_order == 0:
            return fn
        low = _np_poly(self._removed_poly())
        return lambda u: fn(u) - low(u)

    def torch_pair(self) -> tuple[Callable, Callable]:
        """``(σ, σ')`` as torch functions of a tensor (imports torch)."""
        if self.poly is not None:
            coeffs = [float(c) for c in self.poly]
            return _torch_poly(coeffs), _torch_poly(_derivative(coeffs))
        fn, dfn = _torch_pair(self.name)
        if self.min_order == 0:
            return fn, dfn
        low = self._removed_poly()
        low_fn, low_dfn = _torch_poly(low), _torch_poly(_derivative(low))
        return (lambda u: fn(u) - low_fn(u)), (lambda u: dfn(u) - low_dfn(u))

    def __str__(self) -> str:
        return self.spec

    def __repr__(self) -> str:
        return f"activation({self.spec!r})"


def _derivative(coeffs: list[float]) -> list[float]:
    return [i * c for i, c in enumerate(coeffs)][1:] or [0.0]


def _np_poly(coeffs: list[float]) -> Callable[[np.ndarray], np.ndarray]:
    def fn(u: np.ndarray) -> np.ndarray:
        out = np.zeros_like(u, dtype=float) + coeffs[-1]
        for c in reversed(coeffs[:-1]):
            out = out * u + c
        return out

    return fn


def _torch_poly(coeffs: list[float]) -> Callable:
    def fn(u):  # noqa: ANN001, ANN202 - torch tensors
        out = u * 0 + coeffs[-1]
        for c in reversed(coeffs[:-1]):
            out = out * u + c
        return out

    return fn


def _check_order(k: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 0:
        raise ValueError(f"Hermite order must be a non-negative integer, got {k!r}")


def _u_variable(name: str) -> sympy.Symbol | None:
    return sympy.Symbol("u", real=True) if name == "u" else None


def hermite_functions() -> dict[str, Callable[[sympy.Expr], sympy.Expr]]:
    """``He0 … He64`` as functions expanding to their polynomial (for the parsers)."""
    from theory.hermite import hermite_e

    return {f"He{k}": (lambda arg, k=k: sympy.expand(hermite_e(k, arg))) for k in range(MAX_EXPONENT + 1)}


@lru_cache(maxsize=256)
def activation(spec: str) -> Activation:
    """The activation named by ``spec`` (see the module docstring for the forms).

    >>> activation("relu").hermite(2)
    sqrt(2)/(2*sqrt(pi))
    """
    if not isinstance(spec, str):
        raise ValueError(f"activation must be given as a string, got {type(spec).__name__}")
    text = spec.strip()
    m = _SUFFIX.match(text)
    if m:
        base = activation(m.group("base").strip())
        k = int(m.group("k"))
        return Activation(f"{base.spec}[{k}:]", base.name, base.poly, max(k, base.min_order))
    if text in REGISTRY:
        return Activation(text, text)
    m = _HE.match(text)
    if m and int(m.group("k")) <= MAX_EXPONENT:
        k = int(m.group("k"))
        return Activation(text, "poly", tuple(Fraction(c) for c in hermite_e_coefficients(k)))
    hint = (f"activations are {', '.join(NAMED)}, He<k>, a polynomial in u such as 'u**3 - 3*u', "
            "or any of these followed by [k:] to remove Hermite orders below k")
    try:
        expr = parse_expression(text, _u_variable, hermite_functions(), hint)
    except ValueError as exc:
        raise ValueError(f"unknown activation {spec!r}: {exc}") from None
    u = sympy.Symbol("u", real=True)
    poly = sympy.Poly(sympy.expand(expr), u)
    coeffs = tuple(Fraction(int(c.p), int(c.q)) for c in reversed(poly.all_coeffs()))
    return Activation(text, "poly", coeffs)
