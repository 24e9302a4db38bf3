"""The staircase ``U^0 ⊆ U^1 ⊆ …`` (Conjecture 1 of [DKLPS]), leap index and transitions.

THEORY.md §2.4–§2.5. One recursion serves both engines: ``U^0 = {0}`` and
``U^{t+1} = U^t ⊕ Σ_{k ≤ ℓ} range(β ↦ c_{α,β}(U^t))`` over all ``α`` and
``|β| = k``; with ``ℓ = 1`` it is the leap-1 staircase of §2.4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import sympy

from theory.subspace import ExactSubspace, FloatSubspace

Subspace = ExactSubspace | FloatSubspace


class Engine(Protocol):
    r: int

    def directions(self, V: Subspace, orders: tuple[int, ...]) -> Subspace: ...


def staircase_levels(engine: Engine, zero: Subspace, leap: int) -> tuple[Subspace, ...]:
    """``(U^0, U^1, …, U^∞)``: levels until the recursion stops growing (at most ``r`` steps)."""
    levels = [zero]
    orders = tuple(range(1, leap + 1))
    while levels[-1].dim < engine.r:
        nxt = levels[-1] + engine.directions(levels[-1], orders)
        if nxt.dim == levels[-1].dim:
            break
        levels.append(nxt)
    return tuple(levels)


@dataclass(frozen=True)
class Staircase:
    """Leap-ℓ staircase of a target: ``levels[t]`` is ``U^t``; the last level is ``U^∞``.

    Indexing gives orthonormal bases (``r × dim U^t``; sympy Matrix when exact,
    numpy array when numeric); ``level(t)`` accepts any ``t ≥ 0`` and returns
    ``U^∞`` past the end.
    """

    target: str
    leap: int
    spaces: tuple[Subspace, ...]

    def __len__(self) -> int:
        return len(self.spaces)

    def __getitem__(self, t: int) -> object:
        return self.spaces[t].matrix()

    def __iter__(self):  # noqa: ANN204 - iterator of bases
        return (s.matrix() for s in self.spaces)

    def space(self, t: int) -> Subspace:
        """``U^t`` as a subspace object (``U^∞`` for ``t`` past the end)."""
        if t < 0:
            raise ValueError(f"staircase level must be ≥ 0, got {t}")
        return self.spaces[min(t, len(self.spaces) - 1)]

    def level(self, t: int) -> object:
        """Orthonormal basis of ``U^t`` (``U^∞`` for ``t`` past the end)."""
        return self.space(t).matrix()

    @property
    def dims(self) -> tuple[int, ...]:
        return tuple(s.dim for s in self.spaces)

    @property
    def limit(self) -> object:
        return self.spaces[-1].matrix()

    def __str__(self) -> str:
        head = f"leap-{self.leap} staircase of g = {self.target}  (dims {', '.join(map(str, self.dims))})"
        rows = [f"  U^{t}: dim {s.dim}  {s}" for t, s in enumerate(self.spaces)]
        return "\n".join([head, *rows])

    def _repr_latex_(self) -> str:
        parts = []
        for t, s in enumerate(self.spaces):
            m = s.matrix()
            body = r"\{0\}" if s.dim == 0 else r"\operatorname{span}" + sympy.latex(sympy.Matrix(m))
            parts.append(f"U^{{{t}}} &= {body}")
        return r"$\begin{aligned}" + r" \\ ".join(parts) + r"\end{aligned}$"

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "leap": self.leap,
            "dims": list(self.dims),
            "levels": [_basis_to_json(s) for s in self.spaces],
        }


def _basis_to_json(space: Subspace) -> list[list[str]] | list[list[float]]:
    m = space.matrix()
    if isinstance(space, ExactSubspace):
        return [[str(m[i, j]) for i in range(m.shape[0])] for j in range(m.shape[1])]
    return [[float(x) for x in m[:, j]] for j in range(m.shape[1])]


@dataclass(frozen=True)
class Transitions:
    """Transition exponents (§2.5): batch exponents ``κ = log_d n`` at which what ``T`` steps learn changes.

    Model: ``T`` giant steps with fresh batches ``n ≍ d^ℓ`` learn the leap-ℓ
    staircase level ``U^T_ℓ`` (§2.4 for ``ℓ = 1``; one step at ``ℓ = Leap``
    reaches every relevant direction); below ``n ≍ d`` nothing is learned.
    ``dims[T][ℓ−1]`` is ``dim U^T_ℓ`` for ``ℓ = 1..max_exponent``; ``exponents[T]``
    lists the ``ℓ`` at which it grows.
    """

    target: str
    dims: dict[int, tuple[int, ...]]
    exponents: dict[int, tuple[int, ...]]

    def __getitem__(self, steps: int) -> tuple[int, ...]:
        return self.exponents[steps]

    def __str__(self) -> str:
        width = max(len(d) for d in self.dims.values())
        head = f"transition exponents of g = {self.target} (dim of learned subspace for n ≍ d^κ)"
        cols = "  T  " + " ".join(f"κ={k:<3d}" for k in range(1, width + 1)) + "  transitions at κ ="
        rows = [f"  {T:<3d}" + " ".join(f"{d:<5d}" for d in self.dims[T]) + "  " +
                (", ".join(map(str, self.exponents[T])) or "none") for T in sorted(self.dims)]
        return "\n".join([head, cols, *rows])

    def to_dict(self) -> dict:
        return {"target": self.target,
                "dims": {str(T): list(d) for T, d in self.dims.items()},
                "exponents": {str(T): list(e) for T, e in self.exponents.items()}}
