"""Targets ``g*: R^r → R`` and everything §2 of THEORY.md computes about them.

``Target.parse("x1 + x1*x2")`` reads a string safely (``theory.parse``). A polynomial with rational
coefficients is analysed exactly (:class:`theory.exact.ExactEngine`); anything else (activations inside,
``method="numeric"``, float rotations) by quadrature (:class:`theory.numeric.NumericEngine`), split at the
kinks of relu/abs/sign. ``Target`` delegates every computation to its engine (one protocol,
:mod:`theory.engine`) and caches results in one memo.

Every request (``norm2``, one staircase, one predicted error, …) is computed within the analysis budget of
:mod:`theory.budget`, ``MAX_TERM_OPERATIONS = 3,000,000`` term operations (exact) or ``MAX_POINT_OPERATIONS =
1,000,000,000`` point operations (quadrature), about ``BUDGET_SECONDS = 3`` s on one core, or refused before the
step that would exceed it with a one-line ``ValueError`` naming the limit. The integer parameters of a request
are limited too (refused before any work): ``κ ≤ MAX_KAPPA``, ``ℓ ≤ MAX_LEAP`` (``leap``, ``ell``,
``batch_exponent``), ``T ≤ MAX_STEPS`` (``steps``, ``max_steps``), ``k ≤ theory.activations.MAX_ORDER``
(``hermite_tensor``).

Results are basis-free: for ``g' = g∘R`` (``g'(x) = g(Rx)``, ``R`` orthogonal) every subspace of ``g'`` is
``Rᵀ`` times that of ``g`` and every number is the same. Methods taking ``activation`` (a spec string or an
:class:`theory.activations.Activation`) give the σ-aware answers of §2.3 and §2.8; ``None`` gives the
generic ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
import sympy

from theory.activations import MAX_ORDER, Activation, activation, as_activation
from theory.budget import check_tensor
from theory.engine import AnalysisEngine, Subspace
from theory.exact import ExactEngine
from theory.numeric import NumericEngine, numeric_engine
from theory.parse import MAX_DEGREE, MAX_VARIABLES, parse_expression, target_variable
from theory.polyalgebra import expand_in_ring, rational_polynomial
from theory.registry import NAMED, Backend
from theory.staircase import Staircase, Transitions, staircase_levels
from theory.stairway import Stairway
from theory.validate import Interval, Options, check_scalar

DEFAULT_BUDGET = 2_000_000
DEFAULT_KMAX = 6
_TOL = Interval(float, 0, 1, closed="neither", what="relative rank tolerance")
_KMAX = Interval(int, 1, 24, what="highest Hermite order of the numeric path")
_BUDGET = Interval(int, 1_000, None, what="quadrature points in all")
_R = Interval(int, 1, MAX_VARIABLES, what="number of variables")
_NOISE = Interval(float, 0, None, what="the label-noise variance Δ")
# limits of the integer parameters of a request, refused in one line before any work
MAX_KAPPA = MAX_DEGREE  # readout exponent κ: beyond the degree of any accepted target nothing changes
MAX_LEAP = MAX_DEGREE  # batch exponent ℓ of a staircase (leap, ell, batch_exponent): likewise
MAX_STEPS = MAX_VARIABLES  # giant steps T: the staircase stops growing after at most r ≤ MAX_VARIABLES steps
_HINT = ("allowed are variables x1, x2, …, numbers, + - * / ** ( ) and the activations "
         + ", ".join(NAMED) + ", He0, He1, …")


def _variables(r: int) -> list[sympy.Symbol]:
    return [sympy.Symbol(f"x{i}", real=True) for i in range(1, r + 1)]


def _int(value: object, name: str, minimum: int, maximum: int | None = None, limit: str = "") -> int:
    """``value`` as an integer in ``[minimum, maximum]``; ``limit`` names the constant of ``maximum``."""
    return check_scalar(value, name, Interval(int, minimum, maximum, what=f"at most {limit}" if limit else ""))


def _sigma(act: str | Activation | None) -> Activation | None:
    return None if act is None else as_activation(act)


class Method(StrEnum):
    """How a target's §2 analysis is computed: exact rational arithmetic or quadrature."""

    AUTO = "auto"  # exact for polynomials with rational coefficients, numeric otherwise
    EXACT = "exact"
    NUMERIC = "numeric"


@dataclass(frozen=True)
class Target:
    """A target ``g*(x)``, ``x ∈ R^r`` (THEORY §1), with its §2 analysis.

    Parameters
    ----------
    expr : sympy.Expr
        ``g`` in the real symbols ``x1..xr`` (use :meth:`parse` for strings).
    r : int
        Number of variables (``1 ≤ r ≤ MAX_VARIABLES``).
    method : Method
        ``"auto"`` (exact for rational polynomials, else numeric), ``"exact"`` or ``"numeric"``.
    tol : float or None
        Relative rank tolerance of the numeric path (default ``1e-6``; ``1e-3`` when the kinks are not on
        hyperplanes).
    kmax : int or None
        Highest Hermite order the numeric path resolves (default: the degree for polynomials, else 6).
    budget : int
        Quadrature points in all.
    text : str
        The label to print (the parsed string).
    """

    expr: sympy.Expr
    r: int
    method: Method = Method.AUTO
    tol: float | None = None
    kmax: int | None = None
    budget: int = DEFAULT_BUDGET
    text: str = ""
    _memo: dict = field(default_factory=dict, init=False, compare=False, repr=False, hash=False)

    # -- construction ---------------------------------------------------------
    @classmethod
    def parse(cls, text: str, r: int | None = None, method: Method = Method.AUTO, tol: float | None = None,
              kmax: int | None = None, budget: int = DEFAULT_BUDGET) -> Target:
        """Parse ``text`` (variables ``x1..xr``, numbers, ``+ - * / **``, ``He_k``, activations).

        ``r`` defaults to the largest variable index; a larger ``r`` adds irrelevant coordinates. Limits on
        size (variables, degree, terms, digits) are those of :mod:`theory.parse`.
        """
        functions = {name: sympy.Function(name) for name in NAMED}
        expr = parse_expression(text, target_variable, functions, _HINT)
        used = max((int(s.name[1:]) for s in expr.free_symbols), default=0)
        r = max(used, 1) if r is None else check_scalar(r, "r", _R)
        if r < used:
            raise ValueError(f"r={r!r} is smaller than the largest variable index x{used} in {text!r}")
        return cls(expr, r, method, tol, kmax, budget, text.strip())

    def __post_init__(self) -> None:
        check_scalar(self.r, "r", _R)
        object.__setattr__(self, "method", check_scalar(self.method, "method", Options(tuple(Method))))
        check_scalar(self.tol, "tol", _TOL, allow_none=True)
        check_scalar(self.kmax, "kmax", _KMAX, allow_none=True)
        check_scalar(self.budget, "budget", _BUDGET)
        if self.method is Method.EXACT and not self.is_rational_polynomial:
            raise ValueError(f"method='exact' needs a polynomial with rational coefficients; {self} is not")

    def compose(self, R: object) -> Target:
        """``g∘R``: ``x ↦ g(R x)`` for an ``r × r`` matrix ``R`` (sympy or numpy); its subspaces are ``Rᵀ``
        times those of ``g`` when ``R`` is orthogonal."""
        M = sympy.Matrix(R) if not isinstance(R, np.ndarray) else sympy.Matrix(
            [[sympy.Float(float(v), 17) for v in row] for row in R])
        if M.shape != (self.r, self.r):
            raise ValueError(f"R must be {self.r}×{self.r}; got {M.shape}")
        xs = _variables(self.r)
        new = M * sympy.Matrix(xs)
        expr = self.expr.xreplace({x: new[i] for i, x in enumerate(xs)})
        rational = all(x.is_Rational for x in M)
        expand = expand_in_ring if rational and self.is_rational_polynomial else sympy.expand  # the same result
        return replace(self, expr=expand(expr) if self.is_polynomial else expr,
                       method=self.method if self.method is not Method.EXACT or rational else Method.AUTO, text=f"({self.label})∘R")

    # -- properties -----------------------------------------------------------
    def _cached(self, key: tuple, compute: Callable[[], object]) -> object:
        """The one cache of a target: ``compute()`` once per ``key``."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    @property
    def label(self) -> str:
        return self.text or str(self.expr)

    @property
    def is_polynomial(self) -> bool:
        return self._cached(("is_polynomial",), lambda: self.expr.is_polynomial(*_variables(self.r)))

    def _ring_element(self) -> object:
        """``g`` in ``QQ[x1..xr]``, or ``None`` when it is not a polynomial with rational coefficients."""
        return self._cached(("ring",), lambda: rational_polynomial(self.expr, self.r) if self.is_polynomial else None)

    @property
    def is_rational_polynomial(self) -> bool:
        return self._ring_element() is not None

    @property
    def exact(self) -> bool:
        """True when the analysis is exact rational arithmetic."""
        return self.method is not Method.NUMERIC and self.is_rational_polynomial

    @property
    def degree(self) -> int | None:
        g = self._ring_element()
        if g is not None:
            return max((sum(m) for m in g.monoms()), default=0)
        return self._cached(("degree",), lambda: sympy.Poly(self.expr, *_variables(self.r)).total_degree()
                            if self.is_polynomial else None)

    @property
    def engine(self) -> AnalysisEngine:
        """The exact engine for rational polynomials (unless ``method="numeric"``), else the numeric one."""
        return self._cached(("engine",), lambda: ExactEngine(self._ring_element(), self.r, tuple(_variables(self.r)))
                            if self.exact else self._numeric_engine())

    def _numeric_engine(self) -> NumericEngine:
        poly = self.is_polynomial
        return self._cached(("numeric",), lambda: numeric_engine(
            self.expr, self.r, self.evaluator("numpy"), self.degree if poly else None,
            self.kmax or (max(self.degree or 1, 1) if poly else DEFAULT_KMAX), self.budget, self.tol))

    @property
    def rank_tol(self) -> float:
        """Relative rank tolerance of the numeric path (``tol``, or 1e-6; 1e-3 when kinks are not hyperplanes)."""
        return self._numeric_engine().tol

    def describe_method(self) -> str:
        """One line saying how results are computed: the method, its size and the accuracy achieved."""
        return self.engine.describe()

    # -- evaluation -----------------------------------------------------------
    def evaluator(self, backend: Backend = Backend.NUMPY) -> Callable:
        """``g`` as a vectorised function of an array ``X`` of shape ``(n, r)`` → ``(n,)``.

        ``backend="numpy"`` (float64) or ``"torch"`` (any dtype/device; torch imported here).
        """
        from theory.evaluate import compile_expression

        return compile_expression(self.expr, _variables(self.r), backend)

    # -- §1–§2 ------------------------------------------------------------------
    def norm2(self) -> object:
        """``‖g‖² = E[g(x)²] = Σ_α c_α²/α!`` (§1).

        Returns
        -------
        sympy.Rational (exact) or float
        """
        return self._cached(("norm2",), self.engine.norm2)

    def hermite_coefficient(self, alpha: tuple[int, ...]) -> object:
        """``c_α = E[g He_α]`` (§1, normalisation ``E[g He_α]``).

        Parameters
        ----------
        alpha : tuple of int
            Multi-index of length ``r`` with non-negative entries.

        Returns
        -------
        sympy.Rational (exact) or float
        """
        alpha = tuple(check_scalar(a, "multi-index entry", Interval(int, 0, None)) for a in alpha)
        if len(alpha) != self.r:
            raise ValueError(f"multi-index must have {self.r} non-negative entries; got {alpha}")
        return self.engine.coefficient(alpha)

    def hermite_tensor(self, k: int) -> object:
        """``C_k(g)[i1..ik] = E[g He_{α(i1..ik)}]`` (§1).

        Parameters
        ----------
        k : int
            Order ``≥ 0``.

        Returns
        -------
        sympy.Array (exact) or numpy.ndarray of shape ``(r,)*k`` (a number for ``k = 0``)
        """
        k = _int(k, "k", 0, MAX_ORDER, "MAX_ORDER")
        check_tensor(self.r**k, f"C_{k} in r = {self.r} variables")
        return self.engine.tensor(k)

    def first_nonzero_order(self) -> int | float:
        """``ℓ1 = min{k ≥ 1 : C_k ≠ 0}`` (§2.2); ``math.inf`` if none (numeric: none up to ``kmax``)."""
        return next((k for k in range(1, self.engine.max_order + 1) if self.engine.order_nonzero(k)), math.inf)

    def information_exponent(self) -> int | float:
        """``ℓ1`` for single-index targets (``r = 1``)."""
        return self.first_nonzero_order()

    def _relevant(self) -> Subspace:
        return self._cached(("relevant",), self.engine.relevant)

    def relevant_subspace(self) -> object:
        """``U*_rel = range E[∇g∇gᵀ]`` (§2.1).

        Returns
        -------
        sympy.Matrix or numpy.ndarray of shape ``(r, dim U*_rel)``, orthonormal columns
        """
        return self._relevant().matrix()

    def one_step_subspace(self, ell: int, preprocess: bool = False, activation: str | Activation | None = None
                          ) -> object:
        """What one giant step with ``n ≍ d^ℓ`` learns (§2.3).

        Parameters
        ----------
        ell : int
            Batch exponent ``ℓ ≥ 1``.
        preprocess : bool
            Labels with orders ``< ℓ`` removed: ``range C_ℓ``; otherwise ``range C_{ℓ1}`` if ``ℓ ≥ ℓ1``.
        activation : str, Activation or None
            σ: ``{0}`` when the order's ``μ(σ)`` vanishes (``μ_{ℓ1}``, or ``μ_ℓ`` with preprocessing).

        Returns
        -------
        sympy.Matrix or numpy.ndarray of shape ``(r, dim U_1step)``, orthonormal columns
        """
        ell = _int(ell, "ell", 1, MAX_LEAP, "MAX_LEAP")
        sigma = _sigma(activation)
        order = ell if preprocess else self.first_nonzero_order()
        blind = order > ell or order > self.engine.max_order or (sigma is not None and sigma.vanishes(int(order)))
        if blind:
            return self.engine.zero().matrix()
        key = ("one_step", int(order))
        return self._cached(key, lambda: self.engine.directions(self.engine.zero(), (int(order),))).matrix()

    def staircase(self, leap: int = 1, activation: str | Activation | None = None) -> Staircase:
        """The leap-ℓ staircase ``U^0 ⊆ U^1 ⊆ … ⊆ U^∞`` (§2.4; §2.5 for ``leap > 1``; σ-aware §2.8).

        Parameters
        ----------
        leap : int
            ``ℓ ≥ 1`` (``n ≍ d^ℓ`` per step).
        activation : str, Activation or None
            σ for the σ-aware staircase (directions of order ``o`` need ``μ_o(σ) ≠ 0``); ``None``: generic.

        Returns
        -------
        Staircase
            Levels as orthonormal bases ``(r, dim U^t)``, with what σ blocked.
        """
        leap = _int(leap, "leap", 1, MAX_LEAP, "MAX_LEAP")
        sigma = _sigma(activation)

        def compute() -> Staircase:
            spaces, blocked = staircase_levels(self.engine, leap, sigma)
            return Staircase(self.label, leap, spaces, None if sigma is None else str(sigma), blocked)

        return self._cached(("staircase", leap, None if sigma is None else sigma.spec), compute)

    def leap_index(self, activation: str | Activation | None = None) -> int | float:
        """Smallest ``ℓ`` whose (σ-aware) leap-ℓ staircase reaches ``U*_rel`` (§2.5); 0 for a constant target;
        ``math.inf`` if none up to the highest order."""
        rel = self._relevant()
        if rel.dim == 0:
            return 0
        return next((ell for ell in range(1, self.engine.max_order + 1)
                     if self.staircase(ell, activation).spaces[-1].dim == rel.dim), math.inf)

    def hard_directions(self, activation: str | Activation | None = None) -> object:
        """Orthonormal basis ``(r, ·)`` of ``U*_rel ⊖ U^∞`` (relevant directions the leap-1, possibly σ-aware,
        staircase never reaches)."""
        return self._relevant().minus(self.staircase(1, activation).spaces[-1]).matrix()

    def transition_exponents(self, steps: int = 3, activation: str | Activation | None = None) -> Transitions:
        """Batch exponents at which what ``T = 1..steps`` giant steps learn changes (§2.5; σ-aware §2.8)."""
        steps = _int(steps, "steps", 1, MAX_STEPS, "MAX_STEPS")
        sigma = _sigma(activation)
        return Transitions.of(self.label, lambda ell, T: self.staircase(ell, sigma).space(T).dim, steps,
                              max(self.engine.max_order, 1), None if sigma is None else str(sigma))

    def predicted_error(self, U: object, kappa: int, noise: float = 0) -> object:
        """``ε_pred(U, κ) = ‖g‖² − Σ_{|β|≤κ} Σ_α c_{α,β}(U)²/(α!β!)`` (+ noise Δ) (§2.6).

        Parameters
        ----------
        U : matrix, list of vectors or subspace
            Basis ``(r, m)`` (any basis), list of direction vectors, a staircase level, or ``[]`` for ``{0}``.
        kappa : int
            ``κ ≥ 0``.
        noise : float
            ``Δ ≥ 0`` added on noisy test labels.

        Returns
        -------
        sympy.Rational (when ``g`` and ``U`` are rational) or float
        """
        kappa = _int(kappa, "kappa", 0, MAX_KAPPA, "MAX_KAPPA")
        noise = check_scalar(noise, "noise", _NOISE)
        V = self.engine.subspace(U)
        engine = self.engine if V.exact == self.engine.exact else self._numeric_engine()
        err = engine.predicted_error(V if engine.exact else V.to_float(), kappa)
        return err + noise if noise else err

    def stairway(self, max_steps: int = 3, kappas: tuple[int, ...] = (1, 2), batch_exponent: int = 1,
                 activation: str | Activation | None = None) -> Stairway:
        """``ε_pred(U^T, κ)`` for ``T = 0..max_steps`` and each ``κ`` (§2.6).

        Parameters
        ----------
        max_steps : int
            Last ``T ≥ 0``.
        kappas : tuple of int
            Readout exponents ``κ ≥ 0``.
        batch_exponent : int
            ``ℓ``: ``U^T`` is the leap-ℓ staircase (``n ≍ d^ℓ`` per step; 1 is Conjecture 1's ``n ≍ d``).
        activation : str, Activation or None
            σ for the σ-aware staircase (§2.8).

        Returns
        -------
        Stairway
            ``errors[T][i] = ε_pred(U^T, kappas[i])``, ``dims[T] = dim U^T``.
        """
        max_steps = _int(max_steps, "max_steps", 0, MAX_STEPS, "MAX_STEPS")
        batch_exponent = _int(batch_exponent, "batch_exponent", 1, MAX_LEAP, "MAX_LEAP")
        kappas = tuple(_int(k, "kappa", 0, MAX_KAPPA, "MAX_KAPPA") for k in kappas)
        sc = self.staircase(batch_exponent, activation)
        rows, dims = [], []
        for T in range(max_steps + 1):
            V = sc.space(T)
            dims.append(V.dim)
            level = min(T, len(sc.spaces) - 1)  # U^T is U^∞ past the last level: computed once
            rows.append(tuple(self._cached(("error", batch_exponent, sc.activation, level, k),
                                           lambda V=V, k=k: self.engine.predicted_error(V, k)) for k in kappas))
        return Stairway(self.label, batch_exponent, kappas, tuple(dims), tuple(rows), self.norm2(), sc.activation)

    def orders_below(self, ell: int) -> Target:
        """The part of ``g`` with Hermite orders ``< ℓ``: ``Σ_{|α|<ℓ} c_α He_α/α!`` (what preprocessing removes)."""
        ell = _int(ell, "ell", 0, MAX_ORDER + 1, "MAX_ORDER + 1")
        return replace(self, expr=self.engine.low_orders(ell), method=Method.AUTO, text=f"orders<{ell} of {self.label}")

    # -- display -----------------------------------------------------------------
    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"Target({self.label!r}, r={self.r})"

    def _repr_latex_(self) -> str:
        return f"$g^*(x) = {sympy.latex(self.expr)}$"


__all__ = ["MAX_KAPPA", "MAX_LEAP", "MAX_STEPS", "Method", "Target", "activation"]
