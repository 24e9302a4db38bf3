"""Activations σ and their Hermite coefficients ``μ_k(σ) = E[σ(u) He_k(u)]`` (THEORY.md §1, §2.7).

``activation(spec)`` understands

* a named activation ``relu, abs, sign, tanh, erf, sigmoid, softplus, gelu`` (:mod:`theory.registry`;
  ``gelu(u) = u·Φ(u)``), written bare (``relu``) or applied to an affine argument (``tanh(u + 0.5)``,
  ``relu(2*u - 1)``: a shifted or scaled activation, a bias);
* Hermite polynomials ``He0, He1, …`` and polynomials in ``u`` (``"u**3 - 3*u"``);
* sums of these with rational coefficients: ``"relu + He3/6"``, ``"tanh(u + 1/2) - u/4"``;
* "σ with orders < k removed": ``"relu[2:]"`` is ``relu − μ0 He0 − μ1 He1``, the Hermite series of
  relu from order 2 on (any of the above followed by ``[k:]``).

Specs are parsed safely (:mod:`theory.parse`), never evaluated. Limits, refused in one line before any work:
orders ``k ≤ MAX_ORDER``; an argument ``a·u + b`` with ``1/MAX_SCALE ≤ |a| ≤ MAX_SCALE`` and ``|b/a| ≤
MAX_SHIFT`` (a kink a million standard deviations out is constant to every digit: write the constant); orders
without a closed form up to ``theory.registry.MAX_QUADRATURE_ORDER``. ``μ_k`` is the sum over the terms: exact
sympy numbers where every term has a closed form (polynomials, relu/abs/sign at any affine argument, erf at
any affine argument, gelu) or a symmetry zero, else mpmath tanh–sinh quadrature at 50 digits (at least 30
significant digits, checked against the quadrature's own error estimate); :meth:`Activation.method` says
which.

Normalisations, by name: ``"expectation"`` (default) is ``E[σ He_k]``; ``"orthonormal"`` is
``E[σ He_k]/√k!``; ``"series"`` is ``E[σ He_k]/k!``, the coefficient of ``He_k`` in ``σ = Σ_k (μ_k/k!) He_k``.

The same object gives ``sim`` torch forms of σ and σ' (:meth:`Activation.torch_pair`; torch is imported
only there) and the numeric engine numpy forms (:meth:`Activation.numpy`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from math import factorial

import mpmath
import numpy as np
import sympy

from theory.hermite import hermite_e_coefficients
from theory.piecewise import Piecewise
from theory.polyeval import add, derivative, horner
from theory.registry import NAMED, QUAD_DPS, REGISTRY, Backend
from theory.series import HermiteSeries, Normalization
from theory.validate import Interval, Options, check_scalar

MAX_ORDER = 64  # the highest Hermite order μ_k asked for (as theory.parse.MAX_EXPONENT, the largest He_k)
MAX_SHIFT = 1e6  # |b/a| of a term f(a·u + b): where its kink or centre lies, in standard deviations of u
MAX_SCALE = 1e6  # |a| and 1/|a| of a term f(a·u + b)
ORDER = Interval(int, 0, MAX_ORDER, what="a Hermite order, at most MAX_ORDER")
SHIFT = Interval(float, 0, MAX_SHIFT, what="|b/a|, at most MAX_SHIFT standard deviations")
SCALE = Interval(float, 1 / MAX_SCALE, MAX_SCALE, what="|a|, between 1/MAX_SCALE and MAX_SCALE")
ZERO_TOL = sympy.Float("1e-30")  # |μ_k| below this (a quadrature value, ≥ 30 digits) counts as μ_k = 0
_SUFFIX = re.compile(r"^(?P<base>.+)\[(?P<k>[0-9]+):\]$")
_U = sympy.Symbol("u", real=True)
HINT = (f"activations are {', '.join(NAMED)} (bare, or of an affine argument such as tanh(u + 0.5)), He<k>, "
        "polynomials in u such as 'u**3 - 3*u', sums of these with rational coefficients such as 'relu + He3/6', "
        "and any of these followed by [k:] to remove Hermite orders below k")


@dataclass(frozen=True)
class Term:
    """``coef · f(a·u + b)`` for a named base activation ``f`` (``a ≠ 0``; rational numbers)."""

    coef: sympy.Rational
    name: str
    a: sympy.Rational
    b: sympy.Rational


@dataclass(frozen=True)
class Activation:
    """An activation ``σ(u) = Σ_i coef_i f_i(a_i u + b_i) + poly(u)`` with Hermite orders ``< min_order``
    removed (THEORY §2.7). ``poly`` holds monomial coefficients, lowest degree first (sympy numbers)."""

    spec: str
    terms: tuple[Term, ...] = ()
    poly: tuple = ()
    min_order: int = 0

    # -- Hermite data -------------------------------------------------------------------
    def _raw(self, k: int) -> tuple[sympy.Expr, str]:
        """``E[σ He_k]`` before removing orders, and the method (exact if every part is exact)."""
        total = Piecewise.polynomial(self.poly or (0,)).hermite(k) if self.poly else sympy.Integer(0)
        methods = ["exact (polynomial)"] if self.poly else []
        for t in self.terms:
            c, m = REGISTRY[t.name].coefficient(k, t.a, t.b)
            total += t.coef * c
            methods.append(m)
        quad = [m for m in methods if "quadrature" in m]
        if quad:
            return sympy.Float(total, QUAD_DPS), min(quad, key=lambda m: int(re.search(r"~(\d+)", m).group(1)))
        exact = sympy.simplify(total) if len(methods) > 1 else total
        return exact, methods[0] if len(set(methods)) == 1 else "exact (closed form)"

    def hermite(self, k: int, normalization: Normalization = Normalization.EXPECTATION) -> sympy.Expr:
        """``μ_k``: ``E[σ He_k]`` by default (module docstring for the other normalisations)."""
        return self.hermite_series(k, normalization).coefficients[k]

    def method(self, k: int) -> str:
        """How ``μ_k`` is computed (exact polynomial/closed form/symmetry, or quadrature with digits)."""
        k = check_scalar(k, "Hermite order", ORDER)
        return "exact (order removed)" if k < self.min_order else self._raw(k)[1]

    def hermite_series(self, kmax: int, normalization: Normalization = Normalization.EXPECTATION) -> HermiteSeries:
        """``μ_0 … μ_kmax`` in the chosen normalisation, with the method of each.

        Parameters
        ----------
        kmax : int
            Highest order ``≥ 0``.
        normalization : Normalization
            ``"expectation"``, ``"orthonormal"`` or ``"series"``.

        Returns
        -------
        HermiteSeries
            ``kmax + 1`` coefficients and their methods.
        """
        kmax = check_scalar(kmax, "Hermite order", ORDER)
        normalization = check_scalar(normalization, "normalization", Options(tuple(Normalization)))
        coeffs, methods = [], []
        for k in range(kmax + 1):
            c, m = (sympy.Integer(0), "exact (order removed)") if k < self.min_order else _cached_raw(self, k)
            c = c / normalization.divisor(k)
            coeffs.append(c)
            methods.append(m)
        return HermiteSeries(self.spec, tuple(coeffs), tuple(methods), normalization)

    def vanishes(self, k: int) -> bool:
        """``μ_k(σ) = 0``: exactly for closed forms and symmetry zeros; ``|μ_k| < ZERO_TOL`` for quadrature values."""
        c = self.hermite(k)
        if isinstance(c, sympy.Float):
            return abs(c) < ZERO_TOL
        if c.is_zero is not None:
            return bool(c.is_zero)
        return abs(sympy.N(c, QUAD_DPS)) < ZERO_TOL

    def _removed(self) -> tuple:
        """Monomial coefficients (sympy) of ``Σ_{j < min_order} μ_j He_j / j!``."""
        out: list = [sympy.Integer(0)]
        for j in range(self.min_order):
            mu = _cached_raw(self, j)[0] / factorial(j)
            out = add(out, [mu * h for h in hermite_e_coefficients(j)])
        return tuple(out)

    def polynomial_part(self) -> tuple:
        """Monomial coefficients of the polynomial part of σ (``poly`` minus the removed orders)."""
        return tuple(add(list(self.poly) or [0], [-c for c in self._removed()]))

    def same_function(self, other: Activation) -> bool:
        """σ and ``other`` are the same function: the same terms, polynomial and removed orders (the spec text
        may differ, ``"relu"`` and ``"relu(u)"``)."""
        return (self.terms, self.poly, self.min_order) == (other.terms, other.poly, other.min_order)

    @property
    def smooth(self) -> bool:
        """False when a term has a kink or jump (relu, abs, sign)."""
        return all(REGISTRY[t.name].smooth for t in self.terms)

    def kinks(self) -> tuple[float, ...]:
        """Points ``u`` where σ is not smooth (``−b/a`` of each kinked term), sorted."""
        return tuple(sorted({float(-t.b / t.a) for t in self.terms if not REGISTRY[t.name].smooth}))

    def piecewise(self) -> Piecewise | None:
        """σ as an exact piecewise polynomial, when every term is (relu/abs/sign terms and polynomials)."""
        if not all(REGISTRY[t.name].piecewise is not None for t in self.terms):
            return None
        out = Piecewise.polynomial(self.polynomial_part())
        for t in self.terms:
            out = out + REGISTRY[t.name].piecewise.compose_affine(t.a, t.b).scale(t.coef)
        return out

    def derivative_norm2(self) -> sympy.Expr:
        """``E[σ'(u)²]``, ``u ~ N(0,1)``, with the a.e. derivative (enters the §3.1 overlap formula).

        Exact when σ is a piecewise polynomial (relu, abs, sign terms, polynomials, removed orders;
        ``sign' = 0`` a.e.); otherwise mpmath quadrature at ``QUAD_DPS`` digits, split at the kinks and
        returned to 30 digits.
        """
        pw = self.piecewise()
        if pw is not None:
            return sympy.nsimplify(sympy.simplify(pw.derivative_norm2()))
        terms = [(float(t.coef * t.a), REGISTRY[t.name].mp_deriv, t.a, t.b) for t in self.terms]
        dpoly = derivative(self.polynomial_part())
        with mpmath.workdps(QUAD_DPS):
            fs = [(mpmath.mpf(t.coef * t.a.p) / t.a.q, deriv, mpmath.mpf(a.p) / a.q, mpmath.mpf(b.p) / b.q)
                  for t, (_, deriv, a, b) in zip(self.terms, terms)]
            dp = [mpmath.mpf(sympy.N(c, QUAD_DPS)) for c in dpoly]

            def integrand(u: mpmath.mpf) -> mpmath.mpf:
                dv = sum(c * deriv(a * u + b) for c, deriv, a, b in fs) + mpmath.polyval(dp[::-1], u)
                return dv * dv * mpmath.npdf(u)

            points = sorted({-8.0, 0.0, 8.0, *self.kinks()})
            value = mpmath.quad(integrand, [-mpmath.inf, *points, mpmath.inf])
        return sympy.Float(value, 30)

    # -- evaluation ------------------------------------------------------------------------
    def _forms(self, backend: Backend) -> tuple[list, list[float]]:
        if backend is Backend.TORCH:
            pairs = [REGISTRY[t.name].torch_pair() for t in self.terms]
        else:
            pairs = [(REGISTRY[t.name].np_fn, REGISTRY[t.name].np_deriv) for t in self.terms]
        parts = [(float(t.coef), float(t.a), float(t.b), f, df) for t, (f, df) in zip(self.terms, pairs)]
        return parts, [float(c) for c in self.polynomial_part()]

    def _function(self, backend: Backend, deriv: bool) -> Callable:
        parts, poly = self._forms(backend)
        if len(parts) == 1 and parts[0][:3] == (1.0, 1.0, 0.0) and not any(poly):
            return parts[0][4] if deriv else parts[0][3]  # one base function as it is (torch.relu for "relu")
        dpoly = [float(c) for c in derivative(poly)]

        def sigma(u):  # noqa: ANN001, ANN202 - numpy array or torch tensor
            out = horner(dpoly if deriv else poly, u)
            for c, a, b, f, df in parts:
                arg = u if (a == 1.0 and b == 0.0) else a * u + b
                out = out + (c * a * df(arg) if deriv else c * f(arg))
            return out

        return sigma

    def numpy(self) -> Callable[[np.ndarray], np.ndarray]:
        """σ as a vectorised numpy function (float64)."""
        return self._function(Backend.NUMPY, deriv=False)

    def numpy_derivative(self) -> Callable[[np.ndarray], np.ndarray]:
        """σ' (a.e.) as a vectorised numpy function (float64)."""
        return self._function(Backend.NUMPY, deriv=True)

    def torch_pair(self) -> tuple[Callable, Callable]:
        """``(σ, σ')`` as torch functions of a tensor (any dtype/device; imports torch)."""
        return self._function(Backend.TORCH, deriv=False), self._function(Backend.TORCH, deriv=True)

    def __str__(self) -> str:
        return self.spec

    def __repr__(self) -> str:
        return f"activation({self.spec!r})"


@lru_cache(maxsize=4096)
def _cached_raw(act: Activation, k: int) -> tuple[sympy.Expr, str]:
    return act._raw(k)


def _resolve(name: str) -> sympy.Expr | None:
    """``u`` and bare activation names (``relu`` ↦ ``relu(u)``, ``He3`` ↦ ``He_3(u)``) in a spec."""
    if name == "u":
        return _U
    if name in REGISTRY:
        return sympy.Function(name)(_U)
    m = re.fullmatch(r"He([0-9]+)", name)
    if m:
        from theory.parse import MAX_EXPONENT

        k = int(m.group(1))
        if k > MAX_EXPONENT:
            raise ValueError(f"He{k}: the Hermite order must be at most MAX_EXPONENT = {MAX_EXPONENT}")
        return sympy.Add(*[c * _U**i for i, c in enumerate(hermite_e_coefficients(k)) if c])
    return None


def _decompose(expr: sympy.Expr, spec: str) -> tuple[tuple[Term, ...], tuple]:
    """Split an expanded spec into ``coef·f(a·u + b)`` terms and a polynomial in ``u``."""
    terms: list[Term] = []
    poly: list = [sympy.Integer(0)]
    for part in sympy.Add.make_args(sympy.expand(expr)):
        coef, rest = part.as_coeff_Mul()
        if not part.atoms(sympy.Function):
            poly = add(poly, list(reversed(sympy.Poly(part, _U).all_coeffs())))
            continue
        arg = rest.args[0] if isinstance(rest, sympy.Function) else None
        if arg is None or arg.atoms(sympy.Function) or not arg.is_polynomial(_U):
            raise ValueError(f"unknown activation {spec!r}: term {part} is not a constant times an activation of "
                             f"a·u + b; {HINT}")
        p = sympy.Poly(arg, _U)
        if p.degree() != 1:
            raise ValueError(f"unknown activation {spec!r}: the argument of {rest} must be a·u + b with a ≠ 0")
        a, b = sympy.Rational(p.coeff_monomial(_U)), sympy.Rational(p.coeff_monomial(1))
        name = rest.func.__name__
        check_scalar(float(abs(a)), f"the scale a of the {name} term {name}(a·u + b)", SCALE)
        check_scalar(float(abs(b / a)), f"the shift b/a of the {name} term {name}(a·u + b)", SHIFT)
        terms.append(Term(sympy.Rational(coef), name, a, b))
    while len(poly) > 1 and poly[-1] == 0:
        poly.pop()
    return tuple(terms), (tuple(poly) if any(c != 0 for c in poly) else ())


@lru_cache(maxsize=256)
def activation(spec: str) -> Activation:
    """The activation named by ``spec`` (module docstring for the forms).

    Parameters
    ----------
    spec : str
        e.g. ``"relu"``, ``"He3"``, ``"u**3 - u"``, ``"relu + He3/6"``, ``"tanh(u + 0.5)"``, ``"relu[2:]"``.

    Returns
    -------
    Activation

    >>> activation("relu").hermite(2)
    sqrt(2)/(2*sqrt(pi))
    >>> activation("relu + He3/6").hermite(3)
    1
    """
    from theory.parse import parse_expression

    if not isinstance(spec, str):
        raise ValueError(f"activation must be given as a string, got {type(spec).__name__}")
    text = spec.strip()
    m = _SUFFIX.match(text)
    if m:
        base = activation(m.group("base").strip())
        digits = m.group("k")  # ASCII digits (the pattern); not converted when longer than any order allowed
        k = check_scalar(int(digits) if len(digits) <= 18 else f"a {len(digits):,}-digit number", "the order k of [k:]",
                         ORDER)
        return Activation(f"{base.spec}[{k}:]", base.terms, base.poly, max(k, base.min_order))
    functions = {name: sympy.Function(name) for name in NAMED}
    try:
        expr = parse_expression(text, _resolve, functions, HINT)
        if expr.free_symbols - {_U}:
            raise ValueError(f"the only variable is u; {HINT}")
        terms, poly = _decompose(expr, text)
    except ValueError as exc:
        msg = str(exc)
        raise ValueError(msg if msg.startswith("unknown activation") else f"unknown activation {spec!r}: {msg}") from None
    return Activation(text, terms, poly)


def as_activation(spec: str | Activation) -> Activation:
    """An :class:`Activation` as is, a spec string through :func:`activation`."""
    return spec if isinstance(spec, Activation) else activation(spec)


__all__ = ["Activation", "HermiteSeries", "MAX_ORDER", "MAX_SCALE", "MAX_SHIFT", "NAMED", "Term", "activation",
           "as_activation"]
