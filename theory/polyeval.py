"""Polynomial evaluation shared by the numpy and torch forms of activations and targets (one Horner loop).

Coefficients are lowest degree first: ``coeffs[i]`` multiplies ``u**i``.
"""

from __future__ import annotations

from collections.abc import Sequence


def horner(coeffs: Sequence[float], u: object) -> object:
    """``Σ_i coeffs[i] u^i`` by Horner's rule for a numpy array or a torch tensor ``u`` (same shape out)."""
    out = u * 0 + coeffs[-1] if coeffs else u * 0
    for c in reversed(coeffs[:-1]):
        out = out * u + c
    return out


def derivative(coeffs: Sequence) -> list:
    """Coefficients of the derivative (``[0]`` for a constant)."""
    return [i * c for i, c in enumerate(coeffs)][1:] or [0 * (coeffs[0] if coeffs else 0)]


def add(p: Sequence, q: Sequence) -> list:
    """Coefficients of ``p + q``."""
    n = max(len(p), len(q))
    return [(p[i] if i < len(p) else 0) + (q[i] if i < len(q) else 0) for i in range(n)]


def multiply(p: Sequence, q: Sequence) -> list:
    """Coefficients of ``p·q``."""
    out = [0] * (len(p) + len(q) - 1) if p and q else []
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] = out[i + j] + a * b
    return out


def compose_affine(p: Sequence, a: object, b: object) -> list:
    """Coefficients of ``p(a·u + b)``."""
    out: list = [0]
    power: list = [1]
    for c in p:
        out = add(out, [c * x for x in power])
        power = multiply(power, [b, a])
    return out
