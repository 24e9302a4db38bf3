"""The generative exponent of a single-index link and the information exponent of a transformed label
(THEORY.md §3.5, Damian–Pillaud-Vivien–Lee–Bruna 2024).

For ``y = σ*(z)``, ``z ~ N(0, 1)``, the generative exponent is

    k* = min{k ≥ 1 : E_y[(E[He_k(z) | y])²] > 0}      (∞ for a constant link).

``E[He_k(z) | y] = 0`` a.e. iff ``E[T(y) He_k(z)] = 0`` for every bounded ``T``, and the indicators
``T = 1{y > t}`` already decide it (they generate the Borel sets of ``y``). Polynomial transforms ``T = y^j``
give *witnesses* (``E[y^j He_k] ≠ 0`` ⇒ ``k* ≤ k``) but do not decide the converse in general: the density of
``He3(z)`` decays like ``exp(−|y|^{2/3}/2)``, so by Krein's condition its law is not determined by its moments
(as for ``z³``, Berg 1988), and polynomials need not be dense in ``L²(law of y)``.

**Polynomial links (exact).** For a non-constant polynomial ``P``: ``k* = 2`` if ``P`` is even
(``P(−z) = P(z)``) and ``k* = 1`` otherwise. Proof: (i) ``k* ≤ 2``: ``P`` is bounded on bounded sets, so on
``{|y| > Y}`` (positive probability, in the direction where the range of ``P`` is unbounded) every root of
``P(z) = y`` has ``z² > 2`` for ``Y`` large, hence ``E[He_2(z) | y] = E[z² | y] − 1 > 0`` there. (ii) Even
``P``: ``z → −z`` preserves ``y`` and flips every odd ``He_k``, so ``E[He_k | y] = 0`` for odd ``k``.
(iii) Not even: with ``zφ(z) = −φ'(z)``, ``E[z 1{P(z) > t}] = Σ_up φ(a) − Σ_down φ(b)`` over the up- and
down-crossings of the level ``t``. Take the leading coefficient ``> 0`` (else use ``−P``). For odd degree and
``t → +∞`` there is one crossing, up: the sum is ``φ(a) > 0``. For even degree there are two, ``b < 0 < a``, and the sum vanishes for
all large ``t`` only if ``a(t) = −b(t)``, i.e. ``P(z) = P(−z)`` on a half-line, so ``P`` is even. Hence
``E[z | y] ≢ 0``. The result reports the smallest ``j ≤ max_power`` with ``E[P^j He_{k*}] ≠ 0`` (exact
rational) as a certificate, e.g. ``E[He3(z)³ z] = 324``; the exponent does not depend on finding one.

**Other links (numeric).** ``F_k(t) = E[He_k(z) 1{σ*(z) > t}] = Σ_c ± He_{k−1}(c) φ(c)`` over the crossings
``c`` of level ``t`` (``+`` up, ``−`` down: ``d/dz[He_{k−1}φ] = −He_kφ``), for ``NUM_LEVELS`` levels between
consecutive values of ``σ*`` at its quantiles (never on an atom, e.g. relu's 0). Crossings are bracketed on a
symmetric grid of ``GRID_POINTS`` points of ``[−SPLIT_RANGE, SPLIT_RANGE]`` and refined by bisection to
rounding, so ``F_k`` is accurate to ~1e-13 except where two crossings fall in one grid cell (a tangency; error
≤ the grid step 3.7e-4 times ``max|(He_{k−1}φ)'|``), and a symmetric grid keeps the cancellation of an even
link exact. ``k*`` is the first ``k ≤ kmax`` with ``max_t |F_k(t)| > NONZERO_TOL = 1e-8``.

**Label transformation.** One giant step on ``T(y)`` learns at ``n ≍ d^ℓ`` with ``ℓ`` the information exponent
of ``T∘σ*``, ``min{k ≥ 1 : E[T(σ*(z)) He_k(z)] ≠ 0}`` (≥ ``k*``; equality for a suitable ``T``).
:func:`label_exponent` composes ``T`` (text in ``y``, read by the safe parser) with ``σ*`` and analyses it as a
:class:`theory.Target` — exact for a rational polynomial, quadrature otherwise (its accuracy in the result's
``method``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from math import factorial

import numpy as np
import sympy

from theory.budget import LOOP_STEP, exact_meter, expression_operations, numeric_meter, product
from theory.hermite import hermite_e_coefficients, monomial_to_hermite
from theory.parse import MAX_DEGREE, parse_expression
from theory.quadrature import SPLIT_RANGE
from theory.registry import NAMED
from theory.target import Target
from theory.validate import Interval, check_scalar

NUM_LEVELS = 63
GRID_POINTS = 2**16 + 1
NONZERO_TOL = 1e-8
MAX_POWER = 8
_POWER = Interval(int, 1, 32, what="the largest power j of the witness search E[σ*^j He_k]")
_KMAX = Interval(int, 1, 24, what="the highest Hermite order k searched")
_Y = sympy.Symbol("y", real=True)
_X1 = sympy.Symbol("x1", real=True)
_T_HINT = "a label transform is an expression in y: numbers, + - * / ** ( ), He<k> and " + ", ".join(NAMED)


def _link(link: str | Target) -> Target:
    g = link if isinstance(link, Target) else Target.parse(link)
    if g.r != 1:
        raise ValueError(f"a single-index link is a function of x1 alone; {g.label!r} has r = {g.r}")
    return g


@dataclass(frozen=True)
class GenerativeExponent:
    """``k*`` of a single-index link (module docstring) with its certificate.

    ``k_star`` is an int (``math.inf`` for a constant link); ``even`` whether ``σ*(−z) = σ*(z)``;
    ``information_exponent`` the smallest ``k`` with ``E[σ* He_k] ≠ 0`` (for comparison); ``witness`` is
    ``(k, j, E[σ*^j He_k])`` (exact path: a polynomial transform ``T = y^j``) or ``(k, t, E[He_k 1{y > t}])``
    (numeric path: an indicator), ``None`` when none was searched or found; ``method`` says which path and
    tolerance decided.
    """

    link: str
    k_star: int | float
    even: bool
    information_exponent: int | float
    witness: tuple | None
    method: str

    def to_dict(self) -> dict:
        """JSON-able fields (exact numbers as strings)."""
        k = self.k_star if self.k_star != math.inf else None
        w = None if self.witness is None else [self.witness[0], self.witness[1], str(self.witness[2])
                                               if isinstance(self.witness[2], sympy.Basic) else self.witness[2]]
        return {"link": self.link, "k_star": k, "even": self.even, "information_exponent":
                self.information_exponent if self.information_exponent != math.inf else None, "witness": w,
                "method": self.method}

    def __str__(self) -> str:
        w = ""
        if self.witness is not None:
            k, x, v = self.witness
            w = (f"; witness E[y^{x} He_{k}(z)] = {v}" if isinstance(x, int) else
                 f"; witness E[He_{k}(z) 1{{y > {x:.4g}}}] = {v:.6g}")
        return (f"generative exponent of y = {self.link}: k* = {self.k_star} (information exponent "
                f"{self.information_exponent}; {'even' if self.even else 'not even'}{w}) — {self.method}")


def _moment_with_hermite(coeffs: list[Fraction], k: int) -> Fraction:
    """``E[q(z) He_k(z)]`` for ``q = Σ_i coeffs[i] z^i``: ``E[z^i He_k] = k!·a_{i,k}`` (``z^i = Σ a_{i,j} He_j``)."""
    fk = factorial(k)
    return sum((c * monomial_to_hermite(i)[k] * fk for i, c in enumerate(coeffs) if c and i >= k and (i - k) % 2 == 0),
               Fraction(0))


def _poly_mul(p: list[Fraction], q: list[Fraction]) -> list[Fraction]:
    out = [Fraction(0)] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        if a:
            for j, b in enumerate(q):
                out[i + j] += a * b
    return out


def power_witness(link: str | Target, k: int, max_power: int = MAX_POWER) -> tuple[int, sympy.Rational] | None:
    """The smallest ``j ≤ max_power`` with ``E[σ*(z)^j He_k(z)] ≠ 0`` and that value (exact), or ``None``.

    Parameters
    ----------
    link : str or Target
        A polynomial ``σ*(x1)`` with rational coefficients.
    k : int
        Hermite order ``≥ 1``.
    max_power : int
        Largest ``j`` tried (the degree of ``σ*^j`` stays ``≤ 4·MAX_DEGREE``; work is metered).

    Returns
    -------
    tuple (j, sympy.Rational) or None
    """
    g = _link(link)
    if not g.is_rational_polynomial:
        raise ValueError(f"power witnesses are exact for rational polynomial links; {g.label!r} is not")
    k = check_scalar(k, "k", _KMAX)
    max_power = check_scalar(max_power, "max_power", _POWER)
    poly = sympy.Poly(g.expr, _X1)
    base = [Fraction(int(c.p), int(c.q)) for c in reversed(poly.all_coeffs())]
    meter, q = exact_meter(), [Fraction(1)]
    for j in range(1, max_power + 1):
        if (len(q) - 1) + (len(base) - 1) > 4 * MAX_DEGREE:
            break
        meter.charge(product(len(q), len(base)), f"σ*^{j}")
        q = _poly_mul(q, base)
        value = _moment_with_hermite(q, k)
        if value:
            return j, sympy.Rational(value.numerator, value.denominator)
    return None


def _levels(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``NUM_LEVELS`` thresholds between consecutive distinct values of ``y`` at its ``φ``-weighted quantiles."""
    vals, inv = np.unique(y, return_inverse=True)
    cdf = np.cumsum(np.bincount(inv, weights=w)) / w.sum()
    idx = np.searchsorted(cdf, np.arange(1, NUM_LEVELS + 1) / (NUM_LEVELS + 1))
    idx = np.unique(np.minimum(idx, len(vals) - 2))
    return (vals[idx] + vals[idx + 1]) / 2 if len(vals) > 1 else np.array([])


def level_integrals(fn: object, kmax: int) -> tuple[np.ndarray, np.ndarray]:
    """``F[k−1, l] = E[He_k(z) 1{σ*(z) > t_l}]`` for ``k = 1..kmax`` (module docstring), and the levels ``t``."""
    z = np.linspace(-SPLIT_RANGE, SPLIT_RANGE, GRID_POINTS)
    y = np.asarray(fn(z[:, None]), dtype=float)
    if not np.all(np.isfinite(y)):
        raise ValueError("the link is not finite on the quadrature range; use a link with finite values")
    phi = np.exp(-z**2 / 2) / math.sqrt(2 * math.pi)
    levels = _levels(y, phi)
    F = np.zeros((kmax, len(levels)))
    for li, t in enumerate(levels):
        s = y > t
        cells = np.nonzero(s[1:] != s[:-1])[0]
        lo, hi = z[cells], z[cells + 1]
        up = ~s[cells]  # below the level on the left: an up-crossing
        for _ in range(60):
            mid = (lo + hi) / 2
            above = np.asarray(fn(mid[:, None]), dtype=float) > t
            left = above == up  # the crossing is left of mid
            hi, lo = np.where(left, mid, hi), np.where(left, lo, mid)
        c = (lo + hi) / 2
        sign = np.where(up, 1.0, -1.0) * np.exp(-c**2 / 2) / math.sqrt(2 * math.pi)
        for k in range(1, kmax + 1):
            F[k - 1, li] = np.sum(sign * np.polynomial.polynomial.polyval(c, hermite_e_coefficients(k - 1)))
    return F, levels


def generative_exponent(link: str | Target, max_power: int = MAX_POWER, kmax: int = 6) -> GenerativeExponent:
    """The generative exponent ``k*`` of ``y = σ*(x1)`` (THEORY.md §3.5; module docstring for the method).

    Parameters
    ----------
    link : str or Target
        ``σ*`` in the variable ``x1`` (e.g. ``"He3(x1)"``, ``"abs(x1)"``, ``"tanh(x1)"``).
    max_power : int
        Exact path: largest ``j`` of the witness ``E[σ*^j He_{k*}] ≠ 0``.
    kmax : int
        Numeric path: highest order ``k`` searched.

    Returns
    -------
    GenerativeExponent

    >>> generative_exponent("He3(x1)").k_star, generative_exponent("He3(x1)").witness
    (1, (1, 3, 324))
    >>> generative_exponent("He4(x1)").k_star
    2
    """
    g = _link(link)
    max_power = check_scalar(max_power, "max_power", _POWER)
    kmax = check_scalar(kmax, "kmax", _KMAX)
    info = g.information_exponent()
    if g.exact:
        poly = sympy.Poly(g.expr, _X1)
        even = all(c == 0 for (e,), c in poly.terms() if e % 2)
        if poly.degree() <= 0:
            return GenerativeExponent(g.label, math.inf, True, info, None, "exact: a constant link has no exponent")
        k_star = 2 if even else 1
        w = power_witness(g, k_star, max_power)
        return GenerativeExponent(g.label, k_star, even, info, None if w is None else (k_star, *w),
                                  "exact: polynomial link, k* = 1 unless σ* is even, then 2 (module docstring); "
                                  f"witness searched over j ≤ {max_power}")
    fn = g.evaluator("numpy")
    ops = expression_operations(g.expr)
    numeric_meter().charge(3 * GRID_POINTS * ops + NUM_LEVELS * (GRID_POINTS + 60 * LOOP_STEP),
                           f"{NUM_LEVELS} levels on {GRID_POINTS:,} points")  # 3 grid evaluations, 60 bisections
    z = np.linspace(-SPLIT_RANGE, SPLIT_RANGE, GRID_POINTS)[:, None]
    y, ym = np.asarray(fn(z), dtype=float), np.asarray(fn(-z), dtype=float)
    even = bool(np.max(np.abs(y - ym)) <= 1e-12 * max(1.0, float(np.max(np.abs(y)))))
    F, levels = level_integrals(fn, kmax)
    method = (f"numeric: E[He_k 1{{y > t}}] at {len(levels)} levels by crossings (grid {GRID_POINTS} points on "
              f"±{SPLIT_RANGE:g}, bisection), non-zero when > {NONZERO_TOL:g}")
    for k in range(1, kmax + 1):
        if len(levels) and np.max(np.abs(F[k - 1])) > NONZERO_TOL:
            li = int(np.argmax(np.abs(F[k - 1])))
            return GenerativeExponent(g.label, k, even, info, (k, float(levels[li]), float(F[k - 1, li])), method)
    return GenerativeExponent(g.label, math.inf, even, info, None, method + f"; none up to k = {kmax}")


@dataclass(frozen=True)
class LabelExponent:
    """The information exponent of a transformed label ``T∘σ*`` (module docstring).

    ``coefficients[k−1] = E[T(σ*(z)) He_k(z)]`` for ``k = 1..kmax`` (exact sympy or floats), ``exponent`` the
    first non-zero one (``math.inf`` if none up to ``kmax``), ``composed`` the analysed target ``T(σ*(x1))``.
    """

    link: str
    transform: str
    composed: str
    exponent: int | float
    coefficients: tuple
    exact: bool
    method: str

    def to_dict(self) -> dict:
        """JSON-able fields (exact coefficients as strings, floats otherwise)."""
        return {"link": self.link, "transform": self.transform, "composed": self.composed,
                "exponent": self.exponent if self.exponent != math.inf else None, "exact": self.exact,
                "coefficients": [str(c) if self.exact else float(c) for c in self.coefficients], "method": self.method}

    def __str__(self) -> str:
        shown = ", ".join(f"{c}" if self.exact else f"{float(c):.6g}" for c in self.coefficients)
        return (f"information exponent of T(y) = {self.transform} on y = {self.link}: {self.exponent} "
                f"(E[T(y) He_k(z)], k = 1…{len(self.coefficients)}: {shown}) — {self.method}")


def parse_transform(text: str) -> sympy.Expr:
    """A label transform ``T(y)`` read by the safe parser (:mod:`theory.parse`; never ``eval``/``sympify``)."""
    functions = {name: sympy.Function(name) for name in NAMED}
    if not isinstance(text, str):
        raise ValueError(f"a label transform must be a string; got {type(text).__name__}")
    return parse_expression(text, lambda name: _Y if name == "y" else None, functions, _T_HINT)


def label_exponent(link: str | Target, transform: str, standardize: bool = False, kmax: int = 6) -> LabelExponent:
    """The information exponent of ``T(σ*(z))`` and its coefficients ``E[T(y) He_k(z)]`` (THEORY.md §3.5).

    Parameters
    ----------
    link : str or Target
        ``σ*`` in ``x1``.
    transform : str
        ``T`` as an expression in ``y`` (``"y**3"``, ``"tanh(y)"``, ``"y - 2*y**2"``).
    standardize : bool
        Use ``y = σ*(z)/√E[σ*²]`` (e.g. ``He3(z)/√6``) instead of ``y = σ*(z)``.
    kmax : int
        Orders ``k = 1..kmax`` reported.

    Returns
    -------
    LabelExponent

    >>> label_exponent("He3(x1)", "y**3").coefficients[0]
    324
    """
    g = _link(link)
    kmax = check_scalar(kmax, "kmax", _KMAX)
    T = parse_transform(transform)
    inner = g.expr / sympy.sqrt(g.norm2()) if standardize else g.expr
    if g.is_polynomial and T.is_polynomial(_Y) and (g.degree or 0) * sympy.Poly(T, _Y).total_degree() > MAX_DEGREE:
        raise ValueError(f"T∘σ* has degree above MAX_DEGREE = {MAX_DEGREE}; use a lower-degree transform or link")
    expr = T.xreplace({_Y: inner})
    label = f"{transform.strip()} ∘ {'standardized ' if standardize else ''}{g.label}"
    composed = Target(sympy.expand(expr) if expr.is_polynomial(_X1) else expr, 1, g.method, kmax=max(kmax, 1),
                      text=label)
    coeffs = tuple(composed.hermite_coefficient((k,)) for k in range(1, kmax + 1))
    exponent = next((k for k in range(1, kmax + 1) if composed.engine.order_nonzero(k)), math.inf)
    method = "exact rational Hermite algebra" if composed.exact else composed.describe_method()
    return LabelExponent(g.label + (" (standardized)" if standardize else ""), transform.strip(), str(expr), exponent,
                         coeffs, composed.exact, method)


__all__ = ["GenerativeExponent", "LabelExponent", "generative_exponent", "label_exponent", "level_integrals",
           "parse_transform", "power_witness"]
