"""Where a target built from relu, abs and sign is not smooth: its kink hyperplanes (THEORY.md §1, §2.7).

``relu(h)``, ``abs(h)`` and ``sign(h)`` are smooth except where their argument ``h(x)`` changes sign. When
``h`` is a polynomial each of whose real factors depends on ``x`` through one linear form (``x1*x2*x3``,
``x1 + x2 − 1``, ``x1**2 − 2``), or any expression of one variable (``tanh(x1) − 1/2``), that set is a
finite union of hyperplanes ``⟨n, x⟩ = c`` (``n`` a unit normal). Kinked functions inside an argument
(``relu(relu(x1) − 1)``) are replaced by each of their polynomial branches (relu: ``h`` or 0; abs: ``±h``;
sign: ``±1``), which gives a superset of the true kink set — extra split points cost nodes, not accuracy.
A hyperplane farther than ``FAR_KINK`` from the origin is left out: the Gaussian mass beyond it is below
float64's resolution, so any shift, ``sign(x1 − 10)`` or ``sign(x1 − 1e300)``, gives the smooth answer.

:func:`kink_hyperplanes` returns ``None`` when the set is not of that form (e.g. ``relu(x1*x2 − 1)``); the
quadrature engine then cannot split at the kinks and says so. So it does for polynomial arguments in several
variables beyond ``MAX_FACTOR_DEGREE`` or, all arguments of the target together, ``MAX_FACTOR_TERMS`` terms:
factoring them would cost more than the analysis budget (:mod:`theory.budget`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import sympy

from theory.polyalgebra import expand_in_ring, ring_form
from theory.registry import KINKED

MAX_BRANCHES = 64
# factoring is how multi-variable polynomial arguments are split into hyperplanes; its cost grows fast with the size,
# so all the arguments of one target are factored only up to these sizes together (larger: not hyperplanes)
MAX_FACTOR_DEGREE = 12
MAX_FACTOR_TERMS = 200
# a kink hyperplane farther than this from the origin is not split at: the Gaussian mass beyond it is < 1e-19,
# below float64's resolution of any coefficient, so the target is smooth (one branch) wherever the rule looks;
# splitting a quadrature axis there would leave one wide Gauss–Legendre piece, far less accurate than Gauss–Hermite
FAR_KINK = 9.0
ROOT_RANGE = 12.0  # roots of one-variable arguments are searched in [−ROOT_RANGE, ROOT_RANGE] (the quadrature range)
_BRANCHES = {"relu": lambda h: (h, sympy.Integer(0)), "abs": lambda h: (h, -h), "sign": lambda h: (sympy.Integer(1),
                                                                                                    sympy.Integer(-1))}


@dataclass(frozen=True)
class Hyperplane:
    """``{x : ⟨normal, x⟩ = offset}`` with a unit ``normal`` (length ``r``)."""

    normal: tuple[float, ...]
    offset: float

    def __str__(self) -> str:
        terms = [("" if abs(abs(c) - 1) < 1e-15 else f"{abs(c):.6g}·") + f"x{i + 1}"
                 for i, c in enumerate(self.normal) if abs(c) > 1e-15]
        signs = ["-" if c < 0 else "+" for c in self.normal if abs(c) > 1e-15]
        text = " ".join(f"{s} {t}" for s, t in zip(signs, terms)).removeprefix("+ ")
        return f"{text} = {self.offset + 0.0:.6g}"


def _branches(expr: sympy.Expr) -> list[sympy.Expr] | None:
    """``expr`` with every kinked application replaced by each of its branches (all combinations)."""
    apps = sorted((f for f in expr.atoms(sympy.Function) if f.func.__name__ in KINKED), key=sympy.default_sort_key)
    if not apps:
        return [expr]
    if 2 ** len(apps) > MAX_BRANCHES:
        return None
    outer = [a for a in apps if not any(a in b.args[0].atoms(sympy.Function) for b in apps if b is not a)]
    out: list[sympy.Expr] = []
    for choice in itertools.product(*[_BRANCHES[a.func.__name__](a.args[0]) for a in outer]):
        sub = expr.xreplace(dict(zip(outer, choice)))
        more = _branches(sub)
        if more is None:
            return None
        out.extend(more)
    return out if len(out) <= MAX_BRANCHES else None


def _plane(coeffs: list[float], const: float) -> Hyperplane:
    norm = float(np.linalg.norm(coeffs))
    return Hyperplane(tuple(c / norm for c in coeffs), -const / norm)


def _zero_set(h: sympy.Expr, xs: list[sympy.Symbol]) -> list[Hyperplane] | None:
    """Hyperplanes containing the sign changes of ``h`` (module docstring), or ``None``."""
    used = [x for x in xs if x in h.free_symbols]
    if not used:
        return []
    if h.is_polynomial(*xs):
        size = _size(h, xs)
        if size is not None and size[0] > MAX_FACTOR_DEGREE:
            return _roots_of_one_variable(h, used[0], xs) if len(used) == 1 else None
        poly = sympy.Poly(expand_in_ring(h) if size is not None else sympy.expand(h), *xs)
        if poly.total_degree() <= 1:
            return [_plane([float(poly.coeff_monomial(x)) for x in xs], float(poly.coeff_monomial(1)))]
        if not all(c.is_Rational for c in poly.coeffs()):
            return _roots_of_one_variable(h, used[0], xs) if len(used) == 1 else None
        planes: list[Hyperplane] = []
        for factor, _ in sympy.factor_list(poly.as_expr(), *xs)[1]:
            fvars = [x for x in xs if x in factor.free_symbols]
            fp = sympy.Poly(factor, *xs)
            if fp.total_degree() == 1:
                planes.append(_plane([float(fp.coeff_monomial(x)) for x in xs], float(fp.coeff_monomial(1))))
            elif len(fvars) == 1:
                j = xs.index(fvars[0])
                for root in sympy.Poly(factor, fvars[0]).real_roots():
                    planes.append(_plane([float(i == j) for i in range(len(xs))], -float(root)))
            else:
                return None
        return planes
    if len(used) == 1:
        return _roots_of_one_variable(h, used[0], xs)
    return None


def _roots_of_one_variable(h: sympy.Expr, x: sympy.Symbol, xs: list[sympy.Symbol]) -> list[Hyperplane]:
    """Sign changes of a one-variable expression on ``[−ROOT_RANGE, ROOT_RANGE]`` (grid + Brent)."""
    from scipy.optimize import brentq

    from theory.evaluate import compile_expression

    fn = compile_expression(h, [x], "numpy")
    j = xs.index(x)
    grid = np.linspace(-ROOT_RANGE, ROOT_RANGE, 4801)
    vals = fn(grid[:, None])
    planes = []
    for a, b, fa, fb in zip(grid[:-1], grid[1:], vals[:-1], vals[1:]):
        if fa == 0:
            planes.append(_plane([float(i == j) for i in range(len(xs))], -float(a)))
        elif fa * fb < 0:
            root = brentq(lambda t: float(fn(np.array([[t]]))[0]), a, b, xtol=1e-15)
            planes.append(_plane([float(i == j) for i in range(len(xs))], -root))
    return planes


def _size(h: sympy.Expr, xs: list[sympy.Symbol]) -> tuple[int, int] | None:
    """``(total degree, terms)`` of ``h`` expanded, when it is a polynomial in ``xs`` with rational coefficients
    (computed in a sparse ring, :func:`theory.polyalgebra.ring_form`); ``None`` otherwise."""
    if not h.is_polynomial(*xs) or not all(n.is_Rational for n in h.atoms(sympy.Number)):
        return None
    try:
        p, atoms = ring_form(h)
    except ValueError:  # an irrational constant (sqrt(6)) whose atoms are rational numbers
        return None
    if any(a not in xs for a in atoms if p.degree(p.ring.gens[atoms.index(a)]) > 0):
        return None
    return max((sum(m) for m in p.monoms()), default=0), len(p)


def _factored_terms(h: sympy.Expr, xs: list[sympy.Symbol]) -> int:
    """Terms of ``h`` when :func:`_zero_set` would factor it (a polynomial of degree 2 to ``MAX_FACTOR_DEGREE`` in
    several variables), else 0."""
    size = _size(h, xs) if len([x for x in xs if x in h.free_symbols]) > 1 else None
    return size[1] if size is not None and 2 <= size[0] <= MAX_FACTOR_DEGREE else 0


def kink_hyperplanes(expr: sympy.Expr, xs: list[sympy.Symbol]) -> tuple[Hyperplane, ...] | None:
    """The kink hyperplanes of a target expression (``()`` when smooth, ``None`` when not hyperplanes)."""
    arguments: list[sympy.Expr] = []
    for app in expr.atoms(sympy.Function):
        if app.func.__name__ not in KINKED:
            continue
        branches = _branches(app.args[0])
        if branches is None:
            return None
        arguments.extend(branches)
    if sum(_factored_terms(h, xs) for h in arguments) > MAX_FACTOR_TERMS:
        return None
    planes: list[Hyperplane] = []
    for h in arguments:
        zs = _zero_set(h, xs)
        if zs is None:
            return None
        planes.extend(zs)
    unique: dict[tuple, Hyperplane] = {}
    for p in planes:
        n = np.array(p.normal)
        s = 1.0 if n[np.argmax(np.abs(n))] > 0 else -1.0  # orient: largest component positive
        key = tuple(np.round(s * n, 12)) + (round(s * p.offset, 12),)
        if abs(p.offset) <= FAR_KINK:  # a farther kink (sign(x1 − 1e300)) is not a kink at float64 precision
            unique.setdefault(key, Hyperplane(tuple(s * n), s * p.offset))
    return tuple(unique[k] for k in sorted(unique))


__all__ = ["Hyperplane", "kink_hyperplanes"]
