"""The analysis budget: every request on an accepted target finishes within a stated amount of work, or is
refused in one line naming the limit before the step that would exceed it.

The parser's limits (:mod:`theory.parse`) bound the size of a target, not the work of analysing it:
``(x1+x2+x3)**60`` has 1,891 monomials but 1,159,401 Hermite terms. Each request — ``norm2``, one staircase
(all its levels), one predicted error, the relevant subspace, … — gets a fresh :class:`Meter`. Every step of
an engine states, before it runs, the work it is about to do (from the sizes of its inputs, known then), and
the meter refuses the request when the total would pass the limit:

* exact engine (rational polynomial algebra, :mod:`theory.exact`): at most ``MAX_TERM_OPERATIONS`` term
  operations, one per coefficient touched, weighted by the measured cost of the kind of step (so that one is
  about a microsecond): a product of polynomials with ``a`` and ``b`` terms costs ``PRODUCT·a·b``, a derivative
  of ``a`` terms along a direction with ``s`` non-zero entries ``DERIVATIVE·a·s``, rational reduction of ``n``
  vectors of ``Q^r`` ``ELIMINATION·n·r·min(n, r)`` (less for sparse ones, :func:`elimination`), and the Hermite
  expansion of ``g`` ``HERMITE`` times :func:`hermite_terms`, ``Σ_m Π_j (⌊m_j/2⌋ + 1)`` over its monomials
  ``x^m``, counted before it starts;
* numeric engine (quadrature, :mod:`theory.numeric`): at most ``MAX_POINT_OPERATIONS`` point operations, a
  grid of ``N`` points costing ``N`` times the operations of the target (:func:`expression_operations`), of
  building the points and of the Hermite contractions, a step of a Python loop ``LOOP_STEP``; grids themselves
  are limited by the target's ``budget`` of quadrature points (:func:`theory.quadrature.build_grid`);
* Hermite tensors ``C_k`` (``r^k`` entries): at most ``MAX_TENSOR_ENTRIES`` entries.

The meter of the request in progress is ambient: a request opens it (:func:`request`, or :func:`metered` for a
given meter) and every step inside charges it with :func:`charge`, so the mathematics takes no meter argument.
The open meter lives in a :class:`contextvars.ContextVar`, so threads and asynchronous tasks each see their own.

Either limit is about ``BUDGET_SECONDS`` seconds on one core (a full budget measured at 1.5–4.2 s on the
reference 2-core AMD EPYC under load ≈ 4, the most for large coefficients:
``bench/test_theory_bench.py::test_bench_budget_calibration``); a refusal costs none of the work refused. A
composite question (``leap_index``, ``transition_exponents``, ``stairway``) asks several requests, each with its
own budget.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import sympy

MAX_TERM_OPERATIONS = 3_000_000
MAX_POINT_OPERATIONS = 1_000_000_000
BUDGET_SECONDS = 3
# term operations per coefficient touched, by kind of step (measured: a term operation is about 1 µs)
DERIVATIVE, PRODUCT, HERMITE, ELIMINATION = 5, 3, 2, 1
FUNCTION = 10  # point operations of one activation (tanh, erf, …) per point, against 1 for an addition
LOOP_STEP = 1_000  # point operations a step of a Python loop of the numeric engine counts as (≈ 1 µs)
MAX_TENSOR_ENTRIES = 1_000_000  # entries of Hermite tensors C_k (r^k) built or rotated in one request


@dataclass
class Meter:
    """The work one request has done so far against its limit (module docstring). Mutable: one per request."""

    limit: int
    name: str  # the limit's constant, named in the refusal
    unit: str
    advice: str  # what to change
    spent: int = 0

    def charge(self, work: int, step: str) -> None:
        """Count ``work`` units about to be spent on ``step``; refuse the request first if the total would pass
        the limit."""
        if self.spent + work > self.limit:
            raise ValueError(f"analysis refused before {step}: the request would need more than {self.name} = "
                             f"{self.limit:,} {self.unit} (the budget of one request, about {BUDGET_SECONDS} s); "
                             f"{self.advice}")
        self.spent += work


def exact_meter() -> Meter:
    """A fresh meter for one request to the exact engine."""
    return Meter(MAX_TERM_OPERATIONS, "MAX_TERM_OPERATIONS", "term operations",
                 "use a target with fewer variables, fewer terms or a lower degree")


def numeric_meter() -> Meter:
    """A fresh meter for one request to the numeric engine."""
    return Meter(MAX_POINT_OPERATIONS, "MAX_POINT_OPERATIONS", "point operations",
                 "pass a smaller budget= (quadrature points, less accurate) or use a shorter target")


T = TypeVar("T")
_OPEN: ContextVar[Meter | None] = ContextVar("theory.budget.open_meter", default=None)


@contextmanager
def metered(meter: Meter) -> Iterator[Meter]:
    """Within the block, :func:`charge` counts against ``meter`` (the meter open before is back after it)."""
    token = _OPEN.set(meter)
    try:
        yield meter
    finally:
        _OPEN.reset(token)


@contextmanager
def request(fresh: Callable[[], Meter]) -> Iterator[Meter]:
    """One request: a part of the request in progress when a meter of the same limit is open (one staircase
    shares one budget over its levels), else a request of its own on ``fresh()`` (:func:`exact_meter`,
    :func:`numeric_meter`)."""
    meter = fresh()
    current = _OPEN.get()
    if current is not None and current.name == meter.name:
        yield current
        return
    with metered(meter):
        yield meter


def one_request(fresh: Callable[[], Meter]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator: each call of the function is one :func:`request` on ``fresh``."""
    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def metered_call(*args: Any, **kwargs: Any) -> T:
            with request(fresh):
                return fn(*args, **kwargs)
        return metered_call
    return decorate


def charge(work: int, step: str) -> None:
    """Count ``work`` units about to be spent on ``step`` against the open meter (:meth:`Meter.charge`)."""
    meter = _OPEN.get()
    if meter is None:
        raise RuntimeError(f"theory.budget.charge({step!r}) outside a request: open one with budget.request(...) or "
                           "budget.metered(...)")
    meter.charge(work, step)


def derivative(terms: int, nnz: int) -> int:
    """Term operations of a derivative of a polynomial with ``terms`` terms along a direction with ``nnz``
    non-zero entries (one pass per entry: differentiate, scale, add; ``+ 1``: a call costs even when empty)."""
    return DERIVATIVE * (terms + 1) * max(nnz, 1)


def product(a: int, b: int) -> int:
    """Term operations of the product of polynomials with ``a`` and ``b`` terms."""
    return PRODUCT * (a + 1) * (b + 1)


def check_tensor(entries: int, what: str) -> None:
    """Refuse Hermite tensors (or a rotation of them) of more than ``MAX_TENSOR_ENTRIES`` entries in all."""
    if entries > MAX_TENSOR_ENTRIES:
        raise ValueError(f"{what} has {entries:,} entries, more than MAX_TENSOR_ENTRIES = {MAX_TENSOR_ENTRIES:,}")


def hermite_terms(monomials: list[tuple[int, ...]]) -> int:
    """Terms of the Hermite expansion of a polynomial with these monomials: ``Σ_m Π_j (⌊m_j/2⌋ + 1)`` (each
    ``x_j^{m_j}`` is a combination of ``He_{m_j}, He_{m_j − 2}, …``; THEORY.md §1)."""
    total = 0
    for m in monomials:
        count = 1
        for e in m:
            count *= e // 2 + 1
        total += count
    return total


def elimination(n: int, nnz: int, r: int) -> int:
    """Term operations of reducing ``n`` vectors of ``Q^r`` with at most ``nnz`` non-zero entries each (row
    reduction, Gram–Schmidt): ``n·nnz·min(n, r)`` (``n·r·min(n, r)`` for dense vectors), plus ``r`` per vector."""
    return ELIMINATION * (n * max(nnz, 1) * min(n, r) + n * r)


def expression_operations(expr: sympy.Expr) -> int:
    """Array operations of evaluating ``expr`` once on a batch: one per node of its tree (shared nodes counted
    each time they occur, as :func:`theory.evaluate.compile_expression` walks it), ``FUNCTION`` per application
    of an activation (a transcendental function costs about that many additions)."""
    return sum(FUNCTION if isinstance(e, sympy.Function) else 1 for e in sympy.preorder_traversal(expr))


__all__ = ["BUDGET_SECONDS", "DERIVATIVE", "ELIMINATION", "FUNCTION", "HERMITE", "LOOP_STEP", "MAX_POINT_OPERATIONS",
           "MAX_TENSOR_ENTRIES", "MAX_TERM_OPERATIONS", "Meter", "PRODUCT", "charge", "check_tensor", "derivative",
           "elimination", "exact_meter", "expression_operations", "hermite_terms", "metered", "numeric_meter",
           "one_request", "product", "request"]
