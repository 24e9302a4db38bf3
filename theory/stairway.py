"""The predicted "stairway to accuracy" ``ε_pred(U^T, κ)`` (THEORY.md §2.6).

``ε_pred(U, κ) = ‖g‖² − Σ_{|β| ≤ κ} Σ_α c_{α,β}(U)² / (α! β!)`` (+ Δ on noisy
test labels): the part of ``g`` that a readout with ``p, n₂ ≍ d^κ`` cannot
represent when the first layer has learned ``U``. ``T = 0`` (``U = {0}``) is
the random-features baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from theory.display import compact, html_table, number_json, number_text


@dataclass(frozen=True)
class Stairway:
    """``errors[T][i] = ε_pred(U^T, kappas[i])`` for ``T = 0..max_steps``; ``dims[T] = dim U^T``; ``activation``
    the σ of a σ-aware staircase (§2.8), ``None`` for the generic one."""

    target: str
    batch_exponent: int
    kappas: tuple[int, ...]
    dims: tuple[int, ...]
    errors: tuple[tuple[object, ...], ...]
    norm2: object
    activation: str | None = None

    def error(self, steps: int, kappa: int) -> object:
        """``ε_pred(U^T, κ)`` for ``T = steps``."""
        if kappa not in self.kappas:
            raise ValueError(f"kappa={kappa} not in this table; it has {self.kappas}")
        return self.errors[steps][self.kappas.index(kappa)]

    def __str__(self) -> str:
        sigma = f"σ-aware (σ = {self.activation}) " if self.activation else ""
        head = (f"stairway to accuracy for g = {self.target}  (‖g‖² = {self.norm2}; "
                f"U^T: {sigma}leap-{self.batch_exponent} staircase, n ≍ d^{self.batch_exponent} per step)")
        cols = f"  {'T':<3s}{'dim U^T':<9s}" + "".join(f"{'κ=' + str(k):<26s}" for k in self.kappas)
        rows = []
        for T, (dim, errs) in enumerate(zip(self.dims, self.errors)):
            cells = "".join(f"{number_text(e, 6, 18):<26s}" for e in errs)
            rows.append(f"  {T:<3d}{dim:<9d}{cells}")
        return "\n".join(line.rstrip() for line in [head, cols, *rows])

    def __repr__(self) -> str:
        sigma = f"σ = {self.activation}, " if self.activation else ""
        head = (f"stairway to accuracy for g = {self.target}  (‖g‖² = {self.norm2}; {sigma}"
                f"leap-{self.batch_exponent} staircase, n ≍ d^{self.batch_exponent})")
        return compact([head, *str(self).split("\n")[1:]])

    def _cell_latex(self, e: object) -> str:
        return sympy.latex(sympy.sympify(e)) if not isinstance(e, float) else f"{e:.6g}"

    def _repr_latex_(self) -> str:
        cols = " & ".join(rf"\kappa={k}" for k in self.kappas)
        body = r" \\ ".join(f"{T} & {d} & " + " & ".join(self._cell_latex(e) for e in errs)
                             for T, (d, errs) in enumerate(zip(self.dims, self.errors)))
        spec = "r|r|" + "l" * len(self.kappas)
        return rf"$\begin{{array}}{{{spec}}} T & \dim U^T & {cols} \\ \hline {body} \end{{array}}$"

    def _caption(self) -> str:
        sigma = f", σ = {self.activation} (§2.8)" if self.activation else ""
        return (f"stairway to accuracy ε_pred(U^T, κ) for g = {self.target}: ‖g‖² = {self.norm2}, U^T the "
                f"leap-{self.batch_exponent} staircase{sigma}")

    def _repr_html_(self) -> str:
        rows = [(T, d, *(number_text(e, 6, 18) for e in errs))
                for T, (d, errs) in enumerate(zip(self.dims, self.errors))]
        return html_table(self._caption(), ("T", "dim U^T", *(f"κ={k}" for k in self.kappas)), rows)

    def to_latex(self) -> str:
        """The table for a paper: a ``tabular`` (booktabs rules) with a ``%`` comment naming target and σ.

        Returns
        -------
        str
            ``\\begin{tabular}…\\end{tabular}``: one row per ``T``, columns ``T``, ``dim U^T`` and
            ``ε_pred(U^T, κ)`` per ``κ`` (exact entries in sympy's LaTeX).
        """
        head = " & ".join([r"$T$", r"$\dim U^T$", *(rf"$\kappa={k}$" for k in self.kappas)])
        rows = [f"{T} & {d} & " + " & ".join(f"${self._cell_latex(e)}$" for e in errs) + r" \\"
                for T, (d, errs) in enumerate(zip(self.dims, self.errors))]
        return "\n".join([f"% {self._caption()} (docs/theory.md §2.6)",
                          rf"\begin{{tabular}}{{rr{'l' * len(self.kappas)}}}", r"\toprule",
                          rf"{head} \\", r"\midrule", *rows, r"\bottomrule", r"\end{tabular}"])

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "activation": self.activation,
            "batch_exponent": self.batch_exponent,
            "kappas": list(self.kappas),
            "norm2": number_json(self.norm2),
            "rows": [{"steps": T, "dim": d, "errors": {str(k): number_json(e) for k, e in zip(self.kappas, errs)}}
                     for T, (d, errs) in enumerate(zip(self.dims, self.errors))],
        }
