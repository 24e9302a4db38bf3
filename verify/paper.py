"""The paper-style stairway figures of [DKLPS] and ``python -m verify figures`` (THEORY.md §2.5, §2.6, §2.8).

Each figure is test error against ``x = log_d n`` on a dense grid (``GRID``: ``GRID_POINTS`` exponents in
``[0.5, 2.25]``), one curve per number of giant steps ``T = 1..STEPS`` and the random-features baseline
``T = 0``, with the predicted plateaus drawn as steps; one figure per target of ``STAIRWAY_FIGURES`` (a single-index
and a two-index target). One run per ``(x, seed)`` gives every curve: the readout is fitted after every step.

**From sizes to theory (the mapping the plateaus use).**

* First layer: ``n = ⌈d^x⌉`` fresh samples per step and leap ``ℓ = ⌊x⌋``. ``ℓ = 0`` (``n ≪ d``) learns
  nothing (§2.3, ``U = {0}``); ``ℓ ≥ 1`` learns ``U^T_σ``, the σ-aware leap-``ℓ`` staircase after ``T``
  steps (§2.5, §2.8: ``Target.staircase(ℓ, activation=σ)``).
* Readout: ``p = P_SCALE·d^{κ1}`` neurons and ``n₂ = RIDGE_SCALE·d^{κ2}`` fresh samples (``READOUT``:
  ``κ1 = 1``, ``κ2 = 3/2``), so ``κ = ⌊min(κ1, κ2)⌋ = 1`` (§2.6) — from the exponents of the sizes, not from
  ``log_d`` of the sizes at one ``d``.
* Plateau of ``T`` steps on ``[ℓ, ℓ + 1)``: ``ε_pred(U^T_σ, κ)``
  (``Target.stairway(T, (κ,), ℓ, activation=σ)``);
  ``T = 0`` is ``ε_pred({0}, κ)``. The plateaus are ``d → ∞`` limits; at finite ``d`` the curves cross
  over smoothly around each integer ``x`` and sit above the plateaus by the finite ratios ``p/d``, ``n₂/d``.

**Protocol, and why** (§3 with options). ``init="gaussian"`` (``a_i ~ N(0, 1)``): a neuron's overlap after a
step grows with ``|a_i|``, so the features spread over functions of ``x_U``; with the symmetric ``±1``
initialisation every neuron carries the same overlap and a ``κ = 1`` readout keeps the floor ``R`` of
``theory.overlap.protocol_floor`` above ``ε_pred`` (THEORY §2.6), and its ``p/2`` distinct random features
raise the ``T = 0`` baseline (two-index target, ``d = 128``, one seed: ``T = 0`` error 1.99 symmetric vs
1.79 gaussian; at ``x ≥ 2`` after ``T = 2..4`` steps 0.30–0.58 vs 0.19–0.24). ``output_scale="1/p"`` (the
authors' scale, the default): the network stays ``O(1)`` after a step, so later steps follow the residual
of ``g`` and not ``−f`` (§3). For ``x ≥ 2`` the training labels lose their Hermite orders ``< 2``
(``preprocess="exact"``, ``ell = ⌊x⌋``; the step is ``η̃ = η0·d^{(ℓ−1)/2}``, ``η0 = LR0``): otherwise the
order-1 term dominates every step and only ``v*`` is learned at any ``n`` (§2.3), which is not the leap-2
staircase the plateaus describe. Neurons are normalised after each step (§3's default; without it the
``η̃ = η0·√d`` steps of ``x ≥ 2`` blow the error up from the third step on: 0.69–1.55 at ``d = 128``).
``η0 = 2`` rather than 1 separates the ``T = 1`` curve from ``T ≥ 2`` on ``[1, 2)`` (0.89 vs 1.13 at
``x = 1.875``, ``d = 128``); ``η0 = 4`` overshoots (``T = 4`` above ``T = 3``).

**Targets.** Single-index ``He2(x1)/2 + He3(x1)/6`` (information exponent 2): nothing is learned below
``x = 2`` by any fixed number of steps as ``d → ∞``, everything from ``x = 2``. At ``d = 256`` the curves
``T ≥ 2`` drop before ``x = 2`` anyway: for ``n ≫ d`` each step multiplies the ``d^{-1/2}`` initial overlap
by ``≈ 1 + c·η̃``, and four steps bring it to Θ(1) unless ``√d ≫ (1 + c·η̃)^T`` — a finite-``d`` escape,
not a failure of the plateau. Two-index ``x1 + x1·x2 + He2(x2)/2``: for ``1 ≤ x < 2`` one step learns ``e1``
(plateau ``1/2``: ``He2(x2)/2`` is quadratic in the unlearned coordinate) and the second step ``e2``
(plateau 0); from ``x = 2`` one step learns both. Measured at ``d = 256`` (two seeds): two-index ``T = 1``
falls from 1.52 to 1.03 on ``[1.125, 1.875]`` (plateau ``1/2``), ``T = 2..4`` reach 0.45–0.57 at ``x = 1.875``
(plateau 0), all ``T ≥ 1`` 0.15–0.26 from ``x = 2`` (plateau 0); ``T = 0`` 1.82 (plateau 1.5): the readout's
finite ``p/d`` and ``n₂/p``. Single-index: ``T = 1`` 0.66–0.68 below ``x = 2`` (plateau 2/3), 0.23–0.24 from it.

**Ladders and cost** (``SIZES``): one ``d`` per profile, ``p = 2d``, ``n₂ = 4·d^{3/2}``, ``10^4`` test samples,
two seeds. The runs at the top of the grid (``n = d^{9/4}``) take the steps' time, every run five readouts;
the cost grows like ``d^{4.25}``. Quick, ``d = 256``: 60 runs in 231 s with ``OMP_NUM_THREADS=1`` at load
2.5–3.6 on this 2-core machine, and 1425 s with torch's default 2 threads at load ≈ 4.5 (on a shared machine
two OpenMP threads stall on the readout's small products: one readout-heavy run took 29.6 s with 2 threads,
2.0 s with 1). Full, ``d = 384``: about 5.6 times the quick figure.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from theory import Target
from verify.claims.base import FigureKind, Ladder, Plot, RunSet, Variant
from verify.profiles import PROFILES, get_profile

PROG = "python -m verify figures"
GRID_POINTS = 15
GRID = tuple(float(x) for x in np.round(np.linspace(0.5, 2.25, GRID_POINTS), 6))
STEPS = 4
P_SCALE = 2.0
RIDGE_SCALE = 4.0
READOUT = {"p": (P_SCALE, 1.0), "n_ridge": (RIDGE_SCALE, 1.5)}  # Variant.scaled: p ≍ d^κ1, n₂ ≍ d^κ2
LR0 = 2.0


@dataclass(frozen=True)
class FigureSize:
    """The run size of the figures in one profile: dimension ``d``, seeds, test samples."""

    d: int
    seeds: int
    n_test: int = 10_000


SIZES = {"smoke": FigureSize(16, 1, 1000), "quick": FigureSize(256, 2), "full": FigureSize(384, 2)}


def readout_kappa(scaled: Mapping[str, tuple[float, float]] = READOUT) -> int:
    """``κ = ⌊min(κ1, κ2)⌋`` from the exponents of ``p ≍ d^{κ1}`` and ``n₂ ≍ d^{κ2}`` (THEORY §2.6)."""
    return math.floor(min(scaled["p"][1], scaled["n_ridge"][1]))


def leap(x: float) -> int:
    """The first layer's leap ``ℓ = ⌊x⌋`` for a batch ``n = d^x`` (0: fewer samples than dimensions)."""
    return math.floor(x + 1e-9)


def plateaus(target: str, activation: str, grid: Sequence[float], steps: int, kappa: int) -> list[dict[str, Any]]:
    """The predicted errors as steps: one segment per leap ``ℓ`` met on ``grid`` (module docstring).

    Parameters
    ----------
    target : str
        ``g`` (``theory.Target.parse``).
    activation : str
        σ of the σ-aware staircase.
    grid : sequence of float
        Batch exponents ``x = log_d n``.
    steps : int
        Largest number of steps ``T``.
    kappa : int
        The readout's ``κ``.

    Returns
    -------
    list of dict
        ``{"from", "to", "leap", "errors": {str(T): ε_pred(U^T_σ(ℓ), κ) for T = 0..steps}}`` per segment
        ``[max(ℓ, min grid), min(ℓ + 1, max grid)]``.
    """
    g = Target.parse(target)
    lo, hi = min(grid), max(grid)
    out = []
    for ell in range(leap(lo), leap(hi) + 1):
        if ell == 0:
            rf = float(g.predicted_error([], kappa))
            errors = {str(T): rf for T in range(steps + 1)}
        else:
            sw = g.stairway(steps, (kappa,), ell, activation=activation)
            errors = {str(T): float(sw.error(T, kappa)) for T in range(steps + 1)}
        out.append({"from": max(float(ell), lo), "to": min(float(ell + 1), hi), "leap": ell, "errors": errors})
    return out


@dataclass(frozen=True)
class StairwayFigure:
    """One paper-style stairway figure: its file ``name``, target, σ and the run grid (module docstring).

    Parameters
    ----------
    name : str
        File stem (``<out>/<profile>/<name>.png`` and ``.json``).
    label : str
        What the target stands for ("single-index").
    target : str
        ``g`` as ``theory`` and ``sim`` read it.
    activation : str
        σ of the network and of the σ-aware staircase.
    """

    name: str
    label: str
    target: str
    activation: str = "relu"

    @property
    def id(self) -> str:
        """The figure's name, as ``verify.runner.make_run_plan`` knows what it plans (claims and figures alike)."""
        return self.name

    def arm(self, x: float) -> str:
        """The arm of batch exponent ``x``."""
        return f"x={x:g}"

    def config(self, x: float, n_test: int = 10_000) -> dict[str, Any]:
        """Config fields at ``x = log_d n`` (without ``d`` and the readout sizes)."""
        ell = leap(x)
        return {"target": self.target, "activation": self.activation, "n_exp": x, "ell": max(1, ell),
                "preprocess": "exact" if ell >= 2 else "none", "steps": STEPS, "lr0": LR0, "init": "gaussian",
                "output_scale": "1/p", "readout": "every_step", "n_test": n_test}

    def ladder(self, profile: str) -> Ladder:
        """One arm per grid point at the profile's size (``SIZES``)."""
        size = SIZES[profile]
        return Ladder(tuple(Variant(self.arm(x), self.config(x, size.n_test), (size.d,), READOUT) for x in GRID),
                      size.seeds)

    def plot(self, runs: RunSet, profile: str) -> Plot:
        """The figure's data: per ``T`` the mean over seeds of the test error at each ``x`` and the seeds' range
        (``lo``, ``hi``; ``None`` where no run finished), and the predicted plateaus."""
        d = SIZES[profile].d
        measured: dict[str, dict[str, list[float | None]]] = {str(T): {"mean": [], "lo": [], "hi": []}
                                                              for T in range(STEPS + 1)}
        seeds = 0
        for x in GRID:
            recs = [r for rs in runs.variant(self.arm(x)).values() for r in rs]
            seeds = max(seeds, len(recs))
            for T, m in measured.items():
                vals = [float(r.per_step[int(T)].test_error) for r in recs]
                for key, value in (("mean", np.mean), ("lo", min), ("hi", max)):
                    m[key].append(float(value(vals)) if vals else None)  # None: a gap (the runs diverged)
        cfg = Variant("", {}, (d,), READOUT).config_at(d)
        kappa = readout_kappa()
        return Plot(FigureKind.PAPER_STAIRWAY, f"stairway to accuracy ({self.label})",
                    {"target": self.target, "activation": self.activation, "d": d, "p": cfg["p"],
                     "n_ridge": cfg["n_ridge"], "seeds": seeds, "kappa": kappa, "grid": list(GRID),
                     "measured": measured,
                     "boundaries": [float(b) for b in range(math.ceil(GRID[0]), leap(GRID[-1]) + 1)],
                     "plateaus": plateaus(self.target, self.activation, GRID, STEPS, kappa)})


STAIRWAY_FIGURES = (StairwayFigure("stairway_single_index", "single-index", "He2(x1)/2 + He3(x1)/6"),
           StairwayFigure("stairway_two_index", "two-index", "x1 + x1*x2 + He2(x2)/2"))


# ---------------------------------------------------------------------------
# python -m verify figures
# ---------------------------------------------------------------------------
def draw_figure(plot: Plot, folder: Path, stem: str) -> list[str]:
    """Write ``plot`` (``verify.figures``, shared style ``verify.style``) as ``<stem>.png``, ``.pdf`` and ``.svg``
    in ``folder``; returns the file names."""
    from verify import style
    from verify.figures import draw, figure_size

    with style.figure(figure_size(plot.figure)) as fig:
        draw(fig, plot)
        fig.suptitle(style.math_text(plot.title))
        return style.save(fig, folder, stem)


def parser() -> argparse.ArgumentParser:
    from sim.fields import FlagParser
    from sim.store import DEFAULT_PATH

    ap = FlagParser(prog=PROG, description="Draw the paper-style stairway figures from the results store, running "
                    "only the runs it lacks. Exit status: 0 ok, 2 bad input, 3 an internal error, 130 interrupted.")
    ap.add_argument("--profile", default="quick", help=f"one of {', '.join(PROFILES)} (default quick)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="only these figures")
    ap.add_argument("--store", default=None, help=f"results store (default: sim's, {DEFAULT_PATH})")
    ap.add_argument("--out", default="reports", help="figures go to <out>/<profile>/")
    ap.add_argument("--force", action="store_true", help="re-run simulations already in the store")
    ap.add_argument("--list", action="store_true", help="list the figures and their runs (how many stored) and exit")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    return ap


def select_figures(only: Sequence[str] | None) -> list[StairwayFigure]:
    """The figures named in ``only`` (all when ``None``); ``ValueError`` naming the figures otherwise."""
    names = [f.name for f in STAIRWAY_FIGURES]
    if only:
        unknown = [n for n in only if n not in names]
        if unknown:
            raise ValueError(f"unknown figure {unknown[0]!r}; the figures are {', '.join(names)}")
        return [f for f in STAIRWAY_FIGURES if f.name in only]
    return list(STAIRWAY_FIGURES)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m verify figures``: plan the figures' runs, load what the store has, run the rest, draw.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments after ``figures`` (default ``sys.argv[1:]``); see :func:`parser`.

    Returns
    -------
    int
        Exit status as ``verify.cli`` documents it: 0 (figures written; a run that diverged is left out of its
        figure and named on stderr), 2 on bad input (one line, before any compute), 3 on an internal error,
        130 when interrupted (finished runs are in the store).
    """
    from sim.exits import EXIT_INTERNAL, run_command

    return run_command(PROG, lambda: _main(argv), diverged_status=EXIT_INTERNAL)


def _main(argv: Sequence[str] | None) -> int:
    t0 = time.perf_counter()
    args = parser().parse_args(argv)
    profile = get_profile(args.profile)
    figures = select_figures(args.only)
    from sim.drivers import job_name, run_many, stored
    from sim.store import DEFAULT_PATH, Store
    from verify.files import report_folder, write_text
    from verify.report import refresh
    from verify.runner import make_run_plan, runset

    planned = make_run_plan(figures, profile)
    jobs = planned.specs  # configs built and checked by the plan, before any compute
    store = Store(args.store or DEFAULT_PATH)
    have = stored(jobs, store)  # every stored record read now: a damaged one is named before any compute
    if args.list:
        for fig in figures:
            ks = sorted({slot.run for slot in planned.slots[fig.id]})
            print(f"{fig.name:24s} g = {fig.target:28s} {len(ks)} runs, {sum(have[k] for k in ks)} stored")
        return 0
    out = report_folder(args.out, profile.name)
    print(f"{PROG}: profile {profile.name}, {len(jobs)} runs, {sum(have)} in the store {store.path}", flush=True)
    diverged: dict[int, str] = {}
    records = run_many(jobs, store, force=args.force, progress=not args.no_progress,
                       on_diverged=diverged.__setitem__)
    for k, message in sorted(diverged.items()):
        sys.stderr.write(f"{PROG}: left out of its figure: {job_name(*jobs[k])}: {message}\n")
    for fig in figures:
        plot = fig.plot(runset(planned, fig.id, records), profile.name)
        draw_figure(plot, out, fig.name)
        write_text(out / f"{fig.name}.json", json.dumps({"title": plot.title, **plot.data}, indent=1,
                                                         ensure_ascii=False) + "\n")
        print(f"{out / fig.name}.png (.pdf, .svg; {fig.name}.json: the plotted numbers)")
    if refresh(out):
        print(f"linked from {out / 'report.html'}")
    print(f"{len(jobs)} runs ({len(jobs) - sum(have) if not args.force else len(jobs)} simulated), "
          f"{time.perf_counter() - t0:.0f} s")
    return 0


__all__ = ["FigureSize", "GRID", "LR0", "PROG", "READOUT", "SIZES", "STAIRWAY_FIGURES", "STEPS", "StairwayFigure", "leap",
           "main", "plateaus", "readout_kappa", "select_figures"]
