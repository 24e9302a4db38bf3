"""Piecewise polynomials of one Gaussian variable and their exact Gaussian integrals (THEORY.md §1, §2.7).

relu, abs and sign are polynomials on each side of their kink; so are their affine compositions
``σ(a·u + b)`` and sums with polynomials (``relu + He3/6``, ``relu(u + 1/2)``, relu with orders removed).
For ``σ = p_i`` on ``(t_{i−1}, t_i)``

    E[σ(u) He_k(u)] = Σ_i Σ_m [p_i·He_k]_m (M_m(t_{i−1}) − M_m(t_i)),   M_m(t) = ∫_t^∞ u^m φ,

with the closed forms of :func:`theory.hermite.upper_moment` (rational breakpoints: ``φ(t)`` and
``erfc(t/√2)`` are the only transcendental numbers). Coefficients are sympy numbers (rational, or the
irrational ``μ_j`` of removed orders).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from theory.hermite import hermite_e_coefficients, upper_moment
from theory.polyeval import add, compose_affine, derivative, multiply


def _trim(p: tuple) -> tuple:
    p = list(p)
    while len(p) > 1 and p[-1] == 0:
        p.pop()
    return tuple(p) if p else (sympy.Integer(0),)


@dataclass(frozen=True)
class Piecewise:
    """``σ(u) = pieces[i](u)`` on ``(breaks[i−1], breaks[i])`` (``breaks`` sorted rationals, one more piece
    than breaks; values at the breaks themselves do not matter under a Gaussian)."""

    breaks: tuple
    pieces: tuple

    @classmethod
    def polynomial(cls, coeffs: tuple) -> Piecewise:
        return cls((), (_trim(tuple(sympy.sympify(c) for c in coeffs)),))

    def piece_at(self, u: sympy.Rational) -> tuple:
        """The polynomial in force at a point strictly between breaks."""
        i = sum(1 for t in self.breaks if t < u)
        return self.pieces[i]

    def _refine(self, breaks: tuple) -> tuple:
        """Pieces on the finer partition ``breaks`` (a superset of ``self.breaks``)."""
        points = [breaks[0] - 1] if breaks else [sympy.Integer(0)]
        points += [(breaks[i] + breaks[i + 1]) / 2 for i in range(len(breaks) - 1)]
        points += [breaks[-1] + 1] if breaks else []
        return tuple(self.piece_at(u) for u in points)

    def __add__(self, other: Piecewise) -> Piecewise:
        breaks = tuple(sorted(set(self.breaks) | set(other.breaks)))
        pieces = tuple(_trim(tuple(add(p, q))) for p, q in zip(self._refine(breaks), other._refine(breaks)))
        return Piecewise(breaks, pieces)

    def scale(self, c: object) -> Piecewise:
        return Piecewise(self.breaks, tuple(_trim(tuple(c * x for x in p)) for p in self.pieces))

    def compose_affine(self, a: sympy.Rational, b: sympy.Rational) -> Piecewise:
        """``u ↦ σ(a·u + b)`` (``a ≠ 0``): break ``t`` moves to ``(t − b)/a``; ``a < 0`` reverses the order."""
        breaks = [(t - b) / a for t in self.breaks]
        pieces = [_trim(tuple(sympy.expand(c) for c in compose_affine(p, a, b))) for p in self.pieces]
        if a < 0:
            breaks, pieces = breaks[::-1], pieces[::-1]
        return Piecewise(tuple(breaks), tuple(pieces))

    def derivative(self) -> Piecewise:
        """The a.e. derivative (jumps contribute nothing: ``sign' = 0`` a.e.)."""
        return Piecewise(self.breaks, tuple(_trim(tuple(derivative(p))) for p in self.pieces))

    def square(self) -> Piecewise:
        return Piecewise(self.breaks, tuple(_trim(tuple(sympy.expand(c) for c in multiply(p, p)))
                                            for p in self.pieces))

    def expectation(self, weight: tuple = (1,)) -> sympy.Expr:
        """``E[σ(u) w(u)]`` for a polynomial ``w`` (coefficients lowest first), exactly."""
        ends = (-sympy.oo, *self.breaks, sympy.oo)
        total = sympy.Integer(0)
        for i, p in enumerate(self.pieces):
            for m, c in enumerate(multiply(p, weight)):
                if c != 0:
                    total += c * (upper_moment(m, ends[i]) - upper_moment(m, ends[i + 1]))
        return total

    def hermite(self, k: int) -> sympy.Expr:
        """``μ_k = E[σ He_k]`` exactly."""
        return self.expectation(hermite_e_coefficients(k))

    def derivative_norm2(self) -> sympy.Expr:
        """``E[σ'(u)²]`` with the a.e. derivative, exactly."""
        return self.derivative().square().expectation()
