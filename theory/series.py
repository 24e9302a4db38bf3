"""A table of Hermite coefficients of an activation with how each was computed (THEORY.md §1, §2.7).

Normalisations, by name: ``"expectation"`` is ``E[σ He_k]``; ``"orthonormal"`` is ``E[σ He_k]/√k!``;
``"series"`` is ``E[σ He_k]/k!``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import sympy

from theory.display import compact


class Normalization(StrEnum):
    """How a coefficient ``E[σ He_k]`` is scaled (module docstring)."""

    EXPECTATION = "expectation"
    ORTHONORMAL = "orthonormal"
    SERIES = "series"

    def divisor(self, k: int) -> sympy.Expr:
        """``1``, ``√k!`` or ``k!``: the coefficient is ``E[σ He_k]`` divided by this."""
        f = sympy.factorial(k)
        return {Normalization.EXPECTATION: sympy.Integer(1), Normalization.ORTHONORMAL: sympy.sqrt(f),
                Normalization.SERIES: f}[self]


@dataclass(frozen=True)
class HermiteSeries:
    """The first Hermite coefficients of an activation, with how they were computed."""

    activation: str
    coefficients: tuple[sympy.Expr, ...]
    methods: tuple[str, ...]
    normalization: Normalization

    def __str__(self) -> str:
        head = f"Hermite coefficients of {self.activation} ({_NORM_TEXT[self.normalization]})"
        rows = [f"  k={k:<3d} {_show(c):<32s} ≈ {_approx(c):<24s} [{m}]"
                for k, (c, m) in enumerate(zip(self.coefficients, self.methods))]
        return "\n".join([head, *rows])

    def __repr__(self) -> str:
        return compact(str(self).split("\n"))

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


__all__ = ["HermiteSeries", "Normalization"]
