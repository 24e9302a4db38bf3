"""Targets ``g*: R^r → R`` and everything §2 of THEORY.md computes about them.

``Target.parse("x1 + x1*x2")`` reads a string safely (``theory.parse``). A
polynomial with rational coefficients is analysed exactly (``theory.exact``);
anything else (activations inside, ``method="numeric"``, float rotations) by
Gauss–Hermite quadrature (``theory.numeric``) with a stated rank tolerance.
Results are basis-free: for ``g' = g∘R`` (``g'(x) = g(Rx)``, ``R`` orthogonal)
every subspace of ``g'`` is ``Rᵀ`` times that of ``g`` and every number is the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sympy
from sympy.polys.domains import QQ

from theory.activations import NAMED, activation, hermite_functions
from theory.exact import ExactEngine, polynomial_ring
from theory.numeric import NumericEngine, default_points
from theory.parse import parse_expression, target_variable
from theory.staircase import Staircase, Transitions, staircase_levels
from theory.stairway import Stairway
from theory.subspace import ExactSubspace, FloatSubspace, as_subspace

METHODS = ("auto", "exact", "numeric")
DEFAULT_BUDGET = 2_000_000
DEFAULT_KMAX = 6


def _activation_functions() -> dict[str, Callable[[sympy.Expr], sympy.Expr]]:
    table: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {name: sympy.Function(name) for name in NAMED}
    table.update(hermite_functions())
    return table


_HINT = ("allowed are variables x1, x2, …, numbers, + - * / ** ( ) and the activations "
         + ", ".join(NAMED) + ", He0, He1, …")


def _variables(r: int) -> list[sympy.Symbol]:
    return [sympy.Symbol(f"x{i}", real=True) for i in range(1, r + 1)]


@dataclass(frozen=True)
class Target:
    """A target ``g*(x)``, ``x ∈ R^r`` (THEORY §1), with its §2 analysis.

    ``method``: ``"auto"`` (exact for rational polynomials, else numeric),
    ``"exact"`` or ``"numeric"``. ``tol``: relative rank tolerance of the
    numeric path (default ``1e-6``, ``1e-3`` with kinked activations).
    ``kmax``: highest Hermite order the numeric path resolves (default: the
    degree for polynomials, else 6). ``budget``: quadrature points in all.
    """

    expr: sympy.Expr
    r: int
    method: str = "auto"
    tol: float | None = None
    kmax: int | None = None
    budget: int = DEFAULT_BUDGET
    text: str = ""
    _memo: dict = field(default_factory=dict, compare=False, repr=False, hash=False)

    # -- construction ---------------------------------------------------------
    @classmethod
    def parse(cls, text: str, r: int | None = None, method: str = "auto", tol: float | None = None,
              kmax: int | None = None, budget: int = DEFAULT_BUDGET) -> Target:
        """Parse ``text`` (variables ``x1..xr``, numbers, ``+ - * / **``, activations).

        ``r`` defaults to the largest variable index; a larger ``r`` adds irrelevant coordinates.
        """
        expr = parse_expression(text, target_variable, _activation_functions(), _HINT)
        used = max((int(s.name[1:]) for s in expr.free_symbols), default=0)
        if r is None:
            r = max(used, 1)
        if not isinstance(r, int) or r < used or r < 1:
            raise ValueError(f"r={r!r} is smaller than the largest variable index x{used} in {text!r}")
        return cls(expr, r, method, tol, kmax, budget, text.strip())

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {self.method!r}")
        if self.method == "exact" and not self.is_rational_polynomial:
            raise ValueError(f"method='exact' needs a polynomial with rational coefficients; {self} is not")
        if self.tol is not None and not (0 < self.tol < 1):
            raise ValueError(f"tol must be in (0, 1); got {self.tol}")
        if self.kmax is not None and not (isinstance(self.kmax, int) and 1 <= self.kmax <= 24):
            raise ValueError(f"kmax must be an integer between 1 and 24; got {self.kmax!r}")

    def compose(self, R: object) -> Target:
        """``g∘R``: the target ``x ↦ g(R x)`` for an ``r × r`` matrix ``R`` (sympy or numpy).

        Its subspaces are ``Rᵀ`` times those of ``g`` when ``R`` is orthogonal.
        """
        M = sympy.Matrix(R) if not isinstance(R, np.ndarray) else sympy.Matrix(
            [[sympy.Float(float(v), 17) for v in row] for row in R])
        if M.shape != (self.r, self.r):
            raise ValueError(f"R must be {self.r}×{self.r}; got {M.shape}")
        xs = _variables(self.r)
        new = M * sympy.Matrix(xs)
        expr = self.expr.xreplace({x: new[i] for i, x in enumerate(xs)})
        return Target(sympy.expand(expr) if self.is_polynomial else expr, self.r,
                      self.method if self.method != "exact" or _rational_matrix(M) else "auto",
                      self.tol, self.kmax, self.budget, f"({self.label})∘R")

    # -- properties -----------------------------------------------------------
    @property
    def label(self) -> str:
        return self.text or str(self.expr)

    @cached_property
    def is_polynomial(self) -> bool:
        return self.expr.is_polynomial(*_variables(self.r))

    @cached_property
    def is_rational_polynomial(self) -> bool:
        if not self.is_polynomial:
            return False
        poly = sympy.Poly(self.expr, *_variables(self.r))
        return all(c.is_Rational for c in poly.coeffs())

    @property
    def exact(self) -> bool:
        """True when the analysis is exact rational arithmetic."""
        return self.method != "numeric" and self.is_rational_polynomial

    @cached_property
    def degree(self) -> int | None:
        return sympy.Poly(self.expr, *_variables(self.r)).total_degree() if self.is_polynomial else None

    @cached_property
    def _exact(self) -> ExactEngine:
        R = polynomial_ring(self.r)
        poly = sympy.Poly(self.expr, *_variables(self.r))
        g = R.from_dict({m: QQ(int(c.p), int(c.q)) for m, c in poly.as_dict().items()})
        return ExactEngine(g, self.r)

    @cached_property
    def _numeric(self) -> NumericEngine:
        kmax = self.kmax or (max(self.degree or 1, 1) if self.is_polynomial else DEFAULT_KMAX)
        q = default_points(self.r, self.degree if self.is_polynomial else None, kmax, self.budget)
        if q**self.r > 4 * self.budget and not self.is_polynomial:
            raise ValueError(f"numeric analysis in r={self.r} variables needs {q}^{self.r} points; raise budget")
        if not self.is_polynomial and q < 8:
            raise ValueError(f"numeric analysis of a non-polynomial target in r={self.r} variables gets only {q} "
                             f"quadrature points per axis with budget={self.budget}; raise budget or reduce r")
        return NumericEngine(self.evaluator("numpy"), self.r, q, kmax, self.rank_tol)

    @property
    def rank_tol(self) -> float:
        if self.tol is not None:
            return self.tol
        kinked = any(not activation(f.func.__name__).smooth for f in self.expr.atoms(sympy.Function))
        return 1e-3 if kinked else 1e-6

    @property
    def engine(self) -> ExactEngine | NumericEngine:
        return self._exact if self.exact else self._numeric

    def describe_method(self) -> str:
        """One line saying how results are computed (exact, or quadrature size and tolerances)."""
        if self.exact:
            return "exact rational Hermite algebra"
        e = self._numeric
        return (f"numeric: Gauss–Hermite, {e.q} points per axis ({e.q ** self.r:,} in all), "
                f"Hermite orders ≤ {e.kmax}, relative rank tolerance {e.tol:g}")

    def _zero(self) -> ExactSubspace | FloatSubspace:
        return ExactSubspace.zero(self.r) if self.exact else FloatSubspace.zero(self.r, self.rank_tol)

    def _memoized(self, key: tuple, compute: Callable[[], object]) -> object:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # -- evaluation -----------------------------------------------------------
    def evaluator(self, backend: str = "numpy") -> Callable:
        """``g`` as a vectorised function of an array ``X`` of shape ``(n, r)`` → ``(n,)``.

        ``backend="numpy"`` (float64) or ``"torch"`` (any dtype/device; torch imported here).
        """
        from theory.evaluate import compile_expression

        return compile_expression(self.expr, _variables(self.r), backend)

    # -- §1–§2 ------------------------------------------------------------------
    def norm2(self) -> object:
        """``‖g‖² = E[g(x)²] = Σ_α c_α²/α!`` (exact Rational or float)."""
        if self.exact:
            return QQ.to_sympy(self._exact.norm2())
        return self._numeric.norm2()

    def hermite_coefficient(self, alpha: tuple[int, ...]) -> object:
        """``c_α = E[g He_α]`` for a multi-index ``α`` of length ``r``."""
        alpha = tuple(int(a) for a in alpha)
        if len(alpha) != self.r or min(alpha) < 0:
            raise ValueError(f"multi-index must have {self.r} non-negative entries; got {alpha}")
        if self.exact:
            return QQ.to_sympy(self._exact.hermite.get(alpha, QQ(0)))
        if sum(alpha) > self._numeric.kmax:
            raise ValueError(f"order {sum(alpha)} exceeds kmax={self._numeric.kmax}; pass kmax=")
        return self._numeric.hermite[alpha]

    def hermite_tensor(self, k: int) -> object:
        """``C_k(g)[i1..ik] = E[g He_{α(i1..ik)}]`` (§1): sympy Array (exact) or numpy array, shape ``(r,)*k``."""
        _check_int(k, "k", 0)
        if self.exact:
            return self._exact.tensor(k)
        if k > self._numeric.kmax:
            raise ValueError(f"order {k} exceeds kmax={self._numeric.kmax}; pass kmax=")
        return self._numeric.tensor(k)

    def _order_nonzero(self, k: int) -> bool:
        if self.exact:
            return bool(self._exact.order_energy(k))
        return self._numeric.order_energy(k) > self.rank_tol**2 * max(self._numeric.norm2(), 1e-300)

    def _max_order(self) -> int:
        return self._exact.degree if self.exact else self._numeric.kmax

    def first_nonzero_order(self) -> int | float:
        """``ℓ1 = min{k ≥ 1 : C_k ≠ 0}`` (§2.2); ``math.inf`` if none (numeric: none up to ``kmax``)."""
        for k in range(1, self._max_order() + 1):
            if self._order_nonzero(k):
                return k
        return math.inf

    def information_exponent(self) -> int | float:
        """``ℓ1`` for single-index targets (``r = 1``)."""
        return self.first_nonzero_order()

    def relevant_subspace(self) -> object:
        """Orthonormal basis of ``U*_rel = range E[∇g∇gᵀ]`` (§2.1)."""
        return self._relevant().matrix()

    def _relevant(self) -> ExactSubspace | FloatSubspace:
        return self._memoized(("relevant",), self.engine.relevant)

    def one_step_subspace(self, ell: int, preprocess: bool = False) -> object:
        """What one giant step with ``n ≍ d^ℓ`` learns (§2.3): ``range C_{ℓ1}`` if ``ℓ ≥ ℓ1``, else ``{0}``;
        with ``preprocess=True`` (orders ``< ℓ`` removed from the labels) ``range C_ℓ``."""
        return self._one_step(ell, preprocess).matrix()

    def _one_step(self, ell: int, preprocess: bool) -> ExactSubspace | FloatSubspace:
        _check_int(ell, "ell", 1)
        if preprocess:
            order = ell
        else:
            order = self.first_nonzero_order()
            if order > ell:
                return self._zero()
        if order > self._max_order():
            return self._zero()
        return self.engine.directions(self._zero(), (int(order),))

    def staircase(self, leap: int = 1) -> Staircase:
        """The leap-ℓ staircase ``U^0 ⊆ U^1 ⊆ … ⊆ U^∞`` (§2.4; §2.5 for ``leap > 1``)."""
        _check_int(leap, "leap", 1)
        spaces = self._memoized(("staircase", leap), lambda: staircase_levels(self.engine, self._zero(), leap))
        return Staircase(self.label, leap, spaces)

    def leap_index(self) -> int | float:
        """Smallest ``ℓ`` whose leap-ℓ staircase reaches ``U*_rel`` (§2.5); 0 for a constant target."""
        rel = self._relevant()
        if rel.dim == 0:
            return 0
        for ell in range(1, self._max_order() + 1):
            if self.staircase(ell).spaces[-1].dim == rel.dim:
                return ell
        return math.inf

    def hard_directions(self) -> object:
        """Orthonormal basis of ``U*_rel ⊖ U^∞`` (relevant directions the leap-1 staircase never reaches)."""
        rel = self._relevant()
        limit = self.staircase(1).spaces[-1]
        # U_rel ⊇ U^∞, so U_rel ⊖ U^∞ is the projection of U_rel onto (U^∞)^⊥
        if isinstance(rel, ExactSubspace):
            P = limit.complement().projector()
            vecs = [list(P * sympy.Matrix([QQ.to_sympy(x) for x in v])) for v in rel.rows]
            return ExactSubspace.span(vecs, self.r).matrix()
        P = np.eye(self.r) - limit.projector()
        return FloatSubspace.span(P @ rel.basis, 1e-8).matrix()

    def transition_exponents(self, steps: int = 3) -> Transitions:
        """Batch exponents at which what ``T = 1..steps`` giant steps learn changes (§2.5)."""
        _check_int(steps, "steps", 1)
        top = max(self._max_order(), 1)
        dims: dict[int, tuple[int, ...]] = {}
        exps: dict[int, tuple[int, ...]] = {}
        for T in range(1, steps + 1):
            row = tuple(self.staircase(ell).space(T).dim for ell in range(1, top + 1))
            dims[T] = row
            exps[T] = tuple(ell for ell in range(1, top + 1) if row[ell - 1] > (row[ell - 2] if ell > 1 else 0))
        return Transitions(self.label, dims, exps)

    def predicted_error(self, U: object, kappa: int, noise: float = 0) -> object:
        """``ε_pred(U, κ) = ‖g‖² − Σ_{|β|≤κ} Σ_α c_{α,β}(U)²/(α!β!)`` (+ noise Δ) (§2.6).

        ``U``: basis matrix (``r × m``, any basis), list of vectors, a staircase
        level, or ``[]`` for ``{0}``. Exact when ``g`` and ``U`` are rational.
        """
        _check_int(kappa, "kappa", 0)
        V = as_subspace(U, self.r, self.exact, self.rank_tol)
        if isinstance(V, ExactSubspace) and self.exact:
            err = QQ.to_sympy(self._exact.norm2() - self._exact.conditional_energy(V, kappa))
        else:
            if isinstance(V, ExactSubspace):
                V = V.to_float()
            err = self._numeric.norm2() - self._numeric.conditional_energy(V, kappa)
            err = max(err, 0.0)
        return err + noise if noise else err

    def stairway(self, max_steps: int = 3, kappas: tuple[int, ...] = (1, 2), batch_exponent: int = 1) -> Stairway:
        """``ε_pred(U^T, κ)`` for ``T = 0..max_steps`` and each ``κ`` (§2.6), ``U^T`` the leap-ℓ staircase
        with ``ℓ = batch_exponent`` (``n ≍ d^ℓ`` per step; 1 is Conjecture 1's ``n ≍ d``)."""
        _check_int(max_steps, "max_steps", 0)
        _check_int(batch_exponent, "batch_exponent", 1)
        kappas = tuple(kappas)
        for k in kappas:
            _check_int(k, "kappa", 0)
        sc = self.staircase(batch_exponent)
        rows, dims = [], []
        for T in range(max_steps + 1):
            V = sc.space(T)
            dims.append(V.dim)
            rows.append(tuple(self.predicted_error(V, k) for k in kappas))
        return Stairway(self.label, batch_exponent, kappas, tuple(dims), tuple(rows), self.norm2())

    def orders_below(self, ell: int) -> Target:
        """The part of ``g`` with Hermite orders ``< ℓ``: ``Σ_{|α|<ℓ} c_α He_α/α!`` (what preprocessing removes)."""
        _check_int(ell, "ell", 0)
        xs = _variables(self.r)
        if self.exact:
            poly = self._exact.low_orders(ell)
            expr = sympy.Add(*[QQ.to_sympy(c) * sympy.Mul(*[x**n for x, n in zip(xs, m)]) for m, c in poly.terms()])
        else:
            from theory.hermite import hermite_e

            expr = sympy.Integer(0)
            for alpha, c in self._numeric.hermite.items():
                if sum(alpha) < ell and abs(c) > 0:
                    term = sympy.Float(c / math.prod(math.factorial(a) for a in alpha))
                    for x, a in zip(xs, alpha):
                        term *= hermite_e(a, x)
                    expr += term
            expr = sympy.expand(expr)
        return Target(expr, self.r, "auto", self.tol, self.kmax, self.budget, f"orders<{ell} of {self.label}")

    # -- display -----------------------------------------------------------------
    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"Target({self.label!r}, r={self.r})"

    def _repr_latex_(self) -> str:
        return f"$g^*(x) = {sympy.latex(self.expr)}$"


def _rational_matrix(M: sympy.Matrix) -> bool:
    return all(x.is_Rational for x in M)


def _check_int(value: object, name: str, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}; got {value!r}")


__all__ = ["Target", "activation"]
