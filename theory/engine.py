"""The engine protocol ``Target`` delegates to (THEORY.md §2).

Two engines implement it with the same methods: :class:`theory.exact.ExactEngine` (rational polynomials,
exact sympy results) and :class:`theory.numeric.NumericEngine` (any target, quadrature, floats with a rank
tolerance). Subspaces are :class:`theory.subspace.ExactSubspace` or :class:`theory.subspace.FloatSubspace`
accordingly. ``direction_groups`` is what the σ-aware staircase (§2.8) needs: the directions of §2.4–2.5
grouped by the total Hermite order ``|α| + k`` whose activation coefficient ``μ_{|α|+k}(σ)`` weights them.

Every request is metered (:mod:`theory.budget`): a conditioning method is one request on a fresh meter
(:meth:`AnalysisEngine.meter`), or a part of the request in progress when one is open, so that one staircase
(:func:`theory.staircase.staircase_levels`) shares one budget over its levels.
"""

from __future__ import annotations

from typing import Protocol

import sympy

from theory.budget import Meter
from theory.subspace import ExactSubspace, FloatSubspace

Subspace = ExactSubspace | FloatSubspace


class AnalysisEngine(Protocol):
    """What every engine computes for a target ``g: R^r → R`` (THEORY.md §2)."""

    r: int

    @property
    def exact(self) -> bool: ...

    @property
    def max_order(self) -> int:
        """Highest Hermite order resolved (the degree, or ``kmax`` for quadrature)."""
        ...

    def zero(self) -> Subspace: ...

    def meter(self) -> Meter:
        """A fresh budget for one request (``MAX_TERM_OPERATIONS`` or ``MAX_POINT_OPERATIONS``)."""
        ...

    def norm2(self) -> object:
        """``‖g‖² = E[g²]`` (§1)."""
        ...

    def coefficient(self, alpha: tuple[int, ...]) -> object:
        """``c_α = E[g He_α]`` (§1)."""
        ...

    def tensor(self, k: int) -> object:
        """``C_k(g)``, shape ``(r,)*k`` (§1)."""
        ...

    def order_nonzero(self, k: int) -> bool:
        """``C_k(g) ≠ 0`` (§2.2)."""
        ...

    def relevant(self) -> Subspace:
        """``U*_rel`` (§2.1)."""
        ...

    def directions(self, V: Subspace, orders: tuple[int, ...]) -> Subspace:
        """Span of the ranges of the conditional order-``k`` tensors given ``x_V``, ``k ∈ orders`` (§2.4–2.5)."""
        ...

    def direction_groups(self, V: Subspace, orders: tuple[int, ...]) -> dict[int, Subspace]:
        """The same directions grouped by total order ``|α| + k`` (§2.8)."""
        ...

    def predicted_error(self, V: Subspace, kappa: int) -> object:
        """``ε_pred(V, κ)`` without noise (§2.6)."""
        ...

    def low_orders(self, ell: int) -> sympy.Expr:
        """``Σ_{|α|<ℓ} c_α He_α/α!`` as an expression in ``x1..xr``."""
        ...

    def subspace(self, U: object) -> Subspace:
        """A user-supplied subspace (basis matrix, list of vectors, subspace) in this engine's kind."""
        ...

    def describe(self) -> str:
        """One line: the method and the accuracy achieved."""
        ...


__all__ = ["AnalysisEngine", "Subspace"]
