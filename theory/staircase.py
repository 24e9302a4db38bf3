"""The staircase ``U^0 ⊆ U^1 ⊆ …`` (Conjecture 1 of [DKLPS]), its σ-aware version, leap index and transitions.

THEORY.md §2.4–§2.5, §2.8. One recursion serves both engines: ``U^0 = {0}`` and
``U^{t+1} = U^t ⊕ Σ_{k ≤ ℓ} range(β ↦ c_{α,β}(U^t))`` over all ``α`` and ``|β| = k``; with ``ℓ = 1`` it is
the leap-1 staircase of §2.4. Given an activation σ (§2.8) only the directions of total order
``|α| + k`` with ``μ_{|α|+k}(σ) ≠ 0`` are added; the others are recorded as *blocked* at that step, with
the order whose coefficient vanished. The span is over generic overlaps ``m ∈ U^t``; with the symmetric
initialisation of §3 all neurons of one sign share one ``m``, so a step after the first adds at most two
directions: a level that grows by more than two at step ``t ≥ 2`` is then an upper bound (§2.8).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

from theory.budget import request
from theory.display import MAX_REPR_LINES, compact, html_table, latex_rows, latex_span, latex_text
from theory.engine import AnalysisEngine, Subspace
from theory.validate import Interval, check_scalar

SYMMETRIC_STEP_MAX = 2  # directions one step (after the first) can add with the symmetric initialisation (§2.8)


@dataclass(frozen=True)
class Blocked:
    """Directions the generic staircase adds at ``step`` but σ cannot, because ``μ_order(σ) = 0`` (§2.8)."""

    step: int
    order: int
    space: Subspace

    def __repr__(self) -> str:
        return compact([f"Blocked(step {self.step}: μ_{self.order}(σ) = 0 blocks {self.space})"], 1)

    def to_dicts(self) -> list[dict]:
        """One ``{step, direction, order}`` per basis vector (exact entries as strings)."""
        return [{"step": self.step, "direction": v, "order": self.order} for v in self.space.vectors()]


def staircase_levels(engine: AnalysisEngine, leap: int, sigma: object = None
                     ) -> tuple[tuple[Subspace, ...], tuple[Blocked, ...]]:
    """``(U^0, …, U^∞)`` until the recursion stops growing (at most ``r`` steps), and what σ blocked. All levels
    are one request (:func:`theory.budget.request` on :meth:`AnalysisEngine.meter`; part of the request in
    progress when one is open): a staircase beyond its budget is refused with a ``ValueError``.

    ``sigma``: ``None`` (generic, §2.4–2.5) or an :class:`theory.activations.Activation` (§2.8).
    """
    with request(engine.meter):
        levels: list[Subspace] = [engine.zero()]
        blocked: list[Blocked] = []
        orders = tuple(range(1, leap + 1))
        while levels[-1].dim < engine.r:
            V = levels[-1]
            if sigma is None:
                nxt = V + engine.directions(V, orders)
            else:
                groups = engine.direction_groups(V, orders)
                nxt = reduce(lambda a, b: a + b, [S for o, S in groups.items() if not sigma.vanishes(o)], V)
                for o, S in groups.items():
                    extra = S.minus(nxt) if sigma.vanishes(o) else None
                    if extra is not None and extra.dim:
                        blocked.append(Blocked(len(levels), o, extra))
            if nxt.dim == V.dim:
                break
            levels.append(nxt)
    return tuple(levels), tuple(blocked)


@dataclass(frozen=True)
class Staircase:
    """Leap-ℓ staircase of a target: ``spaces[t]`` is ``U^t``; the last level is ``U^∞``.

    Indexing gives orthonormal bases (``r × dim U^t``; sympy Matrix when exact, numpy array when numeric);
    ``level(t)`` accepts any ``t ≥ 0`` and returns ``U^∞`` past the end. ``activation`` is the σ of a
    σ-aware staircase (``None``: generic), ``blocked`` what σ blocked at which step (§2.8).
    """

    target: str
    leap: int
    spaces: tuple[Subspace, ...]
    activation: str | None = None
    blocked: tuple[Blocked, ...] = ()

    def __len__(self) -> int:
        return len(self.spaces)

    def __getitem__(self, t: int) -> object:
        return self.spaces[t].matrix()

    def __iter__(self):  # noqa: ANN204 - iterator of bases
        return (s.matrix() for s in self.spaces)

    def space(self, t: int) -> Subspace:
        """``U^t`` as a subspace object (``U^∞`` for ``t`` past the end)."""
        t = check_scalar(t, "staircase level", Interval(int, 0, None))
        return self.spaces[min(t, len(self.spaces) - 1)]

    def level(self, t: int) -> object:
        """Orthonormal basis of ``U^t`` (``U^∞`` for ``t`` past the end)."""
        return self.space(t).matrix()

    @property
    def dims(self) -> tuple[int, ...]:
        return tuple(s.dim for s in self.spaces)

    def dims_until(self, steps: int) -> tuple[int, ...]:
        """``dim U^t`` for ``t = 0..steps`` (constant past the end)."""
        return tuple(self.space(t).dim for t in range(steps + 1))

    @property
    def limit(self) -> object:
        return self.spaces[-1].matrix()

    @property
    def symmetric_bound(self) -> tuple[int, ...]:
        """Steps ``t ≥ 2`` that add more than ``SYMMETRIC_STEP_MAX`` directions: with the symmetric
        initialisation (all neurons of one sign share one overlap) ``U^t`` is only an upper bound there."""
        d = self.dims
        return tuple(t for t in range(2, len(d)) if d[t] - d[t - 1] > SYMMETRIC_STEP_MAX)

    def _heading(self) -> str:
        sigma = f", σ = {self.activation}" if self.activation else ""
        return f"leap-{self.leap} staircase of g = {self.target}{sigma}  (dims {', '.join(map(str, self.dims))})"

    def _blocked_text(self, b: Blocked) -> str:
        return f"step {b.step}: μ_{b.order}({self.activation}) = 0 blocks {b.space}"

    def _bound_text(self, t: int, short: bool = False) -> str:
        added = self.dims[t] - self.dims[t - 1]
        if short:
            return f"step {t}: adds {added} > {SYMMETRIC_STEP_MAX} directions; symmetric init: U^{t} is an upper bound"
        return (f"step {t}: adds {added} directions; with the symmetric initialisation (one overlap per sign) a "
                f"step adds at most {SYMMETRIC_STEP_MAX}, so U^{t} is an upper bound")

    def __str__(self) -> str:
        rows = [f"  U^{t}: dim {s.dim}  {s}" for t, s in enumerate(self.spaces)]
        rows += ["  " + self._blocked_text(b) for b in self.blocked]
        rows += ["  " + self._bound_text(t) for t in self.symmetric_bound]
        return "\n".join([self._heading(), *rows])

    def __repr__(self) -> str:
        """At most ``MAX_REPR_LINES`` lines: the levels (middle ones elided), what σ blocked, the bounds."""
        levels = [f"  U^{t}: dim {s.dim}  {s}" for t, s in enumerate(self.spaces)]
        notes = ["  " + self._blocked_text(b) for b in self.blocked]
        notes += ["  " + self._bound_text(t, short=True) for t in self.symmetric_bound]
        room = MAX_REPR_LINES - 1 - min(len(notes), MAX_REPR_LINES // 2)
        if len(levels) > room:  # keep U^0, U^1 … and U^∞; the notes (what was blocked) are the point
            hidden = len(levels) - room + 1
            levels = [*levels[: room - 2], f"  … ({hidden} levels; str() shows all)", levels[-1]]
        if len(notes) > MAX_REPR_LINES - 1 - len(levels):
            keep = MAX_REPR_LINES - 2 - len(levels)
            notes = [*notes[:keep], f"  … ({len(notes) - keep} more blocked steps or bounds; str() shows all)"]
        return compact([self._heading(), *levels, *notes])

    def _repr_latex_(self) -> str:
        rows = [(f"U^{{{t}}}", "= " + latex_span(s.matrix(), s.r)) for t, s in enumerate(self.spaces)]
        for b in self.blocked:
            rows.append((latex_text(f"step {b.step}"),
                         rf"\colon \mu_{{{b.order}}}({latex_text(self.activation)}) = 0 \text{{ blocks }} "
                         + latex_span(b.space.matrix(), b.space.r)))
        for t in self.symmetric_bound:
            rows.append((latex_text(f"step {t}"), r"\colon " + latex_text(self._bound_text(t, short=True)[8:])))
        return latex_rows(rows)

    def to_latex(self) -> str:
        """The staircase as a table for a paper: a ``tabular`` (booktabs rules), one row per level, then one
        row per blocked step, with a ``%`` comment naming target and σ.

        Returns
        -------
        str
            ``\\begin{tabular}…\\end{tabular}`` with columns ``t``, ``dim U^t`` and the orthonormal basis.
        """
        rows = [f"{t} & {s.dim} & ${latex_span(s.matrix(), s.r)}$ \\\\" for t, s in enumerate(self.spaces)]
        notes = [rf"\multicolumn{{3}}{{l}}{{step {b.step}: $\mu_{{{b.order}}}({latex_text(self.activation)}) = 0$ "
                 rf"blocks ${latex_span(b.space.matrix(), b.space.r)}$}} \\" for b in self.blocked]
        notes += [rf"\multicolumn{{3}}{{l}}{{{latex_text(self._bound_text(t, short=True))[6:-1]}}} \\"
                  for t in self.symmetric_bound]
        return "\n".join([f"% {self._heading()} (docs/theory.md §2.4, §2.8)", r"\begin{tabular}{rrl}", r"\toprule",
                          r"$t$ & $\dim U^t$ & $U^t$ \\", r"\midrule", *rows,
                          *([r"\midrule", *notes] if notes else []), r"\bottomrule", r"\end{tabular}"])

    def _repr_html_(self) -> str:
        rows = [(f"U^{t}", s.dim, str(s)) for t, s in enumerate(self.spaces)]
        notes = [self._blocked_text(b) for b in self.blocked] + [self._bound_text(t) for t in self.symmetric_bound]
        return html_table(self._heading(), ("level", "dim", "orthonormal basis"), rows, notes)

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "leap": self.leap,
            "activation": self.activation,
            "dims": list(self.dims),
            "levels": [s.vectors() for s in self.spaces],
            "blocked": [d for b in self.blocked for d in b.to_dicts()],
            "symmetric_bound": list(self.symmetric_bound),
        }


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
    activation: str | None = None

    @classmethod
    def of(cls, target: str, dim: Callable[[int, int], int], steps: int, top: int, activation: str | None = None
           ) -> Transitions:
        """``dim(ℓ, T) = dim U^T_ℓ`` for ``ℓ = 1..top``, ``T = 1..steps``; a transition at ``ℓ`` when it grows."""
        dims: dict[int, tuple[int, ...]] = {}
        exps: dict[int, tuple[int, ...]] = {}
        for T in range(1, steps + 1):
            row = tuple(dim(ell, T) for ell in range(1, top + 1))
            dims[T] = row
            exps[T] = tuple(ell for ell in range(1, top + 1) if row[ell - 1] > (row[ell - 2] if ell > 1 else 0))
        return cls(target, dims, exps, activation)

    def __getitem__(self, steps: int) -> tuple[int, ...]:
        return self.exponents[steps]

    def __str__(self) -> str:
        width = max(len(d) for d in self.dims.values())
        sigma = f", σ = {self.activation}" if self.activation else ""
        head = f"transition exponents of g = {self.target}{sigma} (dim of learned subspace for n ≍ d^κ)"
        cols = "  T  " + " ".join(f"κ={k:<3d}" for k in range(1, width + 1)) + "  transitions at κ ="
        rows = [f"  {T:<3d}" + " ".join(f"{d:<5d}" for d in self.dims[T]) + "  " +
                (", ".join(map(str, self.exponents[T])) or "none") for T in sorted(self.dims)]
        return "\n".join([head, cols, *rows])

    def __repr__(self) -> str:
        return compact(str(self).split("\n"))

    def _repr_html_(self) -> str:
        width = max(len(d) for d in self.dims.values())
        rows = [(T, *self.dims[T], ", ".join(map(str, self.exponents[T])) or "none") for T in sorted(self.dims)]
        return html_table(str(self).split("\n")[0], ("T", *(f"κ={k}" for k in range(1, width + 1)),
                                                     "transitions at κ ="), rows)

    def to_dict(self) -> dict:
        return {"target": self.target, "activation": self.activation,
                "dims": {str(T): list(d) for T, d in self.dims.items()},
                "exponents": {str(T): list(e) for T, e in self.exponents.items()}}
