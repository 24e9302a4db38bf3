"""The declarative pieces of a claim (THEORY.md §5): ladder, prediction, evaluation.

A :class:`Claim` names its id, source, statement and :class:`Status` (a theorem or a
conjecture, which decides the exit status), a ``predict`` function that
computes the predicted quantity from ``theory`` (never typed in by hand), one
:class:`Ladder` per profile (the simulations it needs), and an ``evaluate``
function that turns the prediction and the finished runs into an
:class:`Evaluation` (statistic, fits, decision, plots: :class:`Plot` panels, each
drawn by the renderer of its :class:`FigureKind`). Claims are plain frozen
dataclasses; a family of claims is one module that defines ``CLAIMS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from sim.kinds import AnyRecord
from sim.packing import to_json
from theory.validate import Options, check_scalar
from verify.rules import CONFIRMED, INCONCLUSIVE, REFUTED, Decision



class Status(StrEnum):
    """What a claim is (THEORY.md §5): a REFUTED theorem makes ``python -m verify`` exit with status 1
    (``verify.runner.exit_status``); a conjecture is decided and reported the same way but never fails it."""

    THEOREM = "theorem"
    CONJECTURE = "conjecture"


class FigureKind(StrEnum):
    """What a :class:`Plot` panel shows; each has one renderer in ``verify.figures`` (its docstring says what
    each draws) and names the panel's file (``fig_<claim>_<figure kind>``, ``verify.report``)."""

    LOGLOG = "loglog"
    CURVE = "curve"
    PLANE = "plane"
    EXTRAPOLATION = "extrapolation"
    STAIRWAY = "stairway"
    ZG_TIME = "zg_time"
    ZG_NEURONS = "zg_neurons"
    ZG_MASS = "zg_mass"
    PUBLISHED = "published"
    DMFT = "dmft"
    STEP_PLANE = "step_plane"
    PAPER_STAIRWAY = "paper_stairway"


@dataclass(frozen=True)
class Variant:
    """One arm of a ladder: the simulation ``kind`` and the config fields shared by all its runs, the
    dimensions, and per-``d`` sizes.

    Parameters
    ----------
    name : str
        The arm's name (``""`` for a claim with one arm), as reports and ``RunSet.variant`` know it.
    config : mapping
        Config fields of the kind's config class (``SimConfig`` for ``"giant_step"``, ``ZGConfig`` for
        ``"zhou_ge"``; ``sim.kinds``), without ``d``.
    dims : tuple of int
        The dimensions ``d`` of the ladder.
    scaled : mapping, optional
        Size field (``p``, ``n_ridge``, ``n_test``) → ``(c, e)``: the field is ``max(2, round(c·d**e))``,
        rounded up to an even number for ``p``.
    seeds : int, optional
        Overrides the ladder's seed count for this arm.
    kind : str
        The simulation kind (``sim.kinds``), default ``"giant_step"`` (THEORY §3).
    """

    name: str
    config: Mapping[str, Any]
    dims: tuple[int, ...]
    scaled: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    seeds: int | None = None
    kind: str = "giant_step"

    def config_at(self, d: int) -> dict[str, Any]:
        """The config fields of the run at dimension ``d`` (``config`` with ``d`` and the ``scaled`` sizes)."""
        cfg = dict(self.config)
        cfg["d"] = int(d)
        for name, (c, e) in self.scaled.items():
            v = max(2, int(round(c * float(d) ** e)))
            if name == "p" and v % 2:
                v += 1
            cfg[name] = v
        return cfg

    def runs(self, seeds: int) -> Iterator[tuple[int, int, dict[str, Any]]]:
        """``(d, seed, config fields)`` for every run of this arm (``seeds``: the ladder's count, unless
        the arm has its own)."""
        for d in self.dims:
            for s in range(self.seeds if self.seeds is not None else seeds):
                yield int(d), s, self.config_at(d)


@dataclass(frozen=True)
class Ladder:
    """The simulations one claim needs in one profile: arms × dimensions × seeds ``0..seeds-1``.

    Parameters
    ----------
    variants : tuple of Variant
        The arms (each with its simulation kind, config fields and dimensions).
    seeds : int
        Seeds ``0..seeds-1`` per arm and dimension (an arm's own ``seeds`` overrides it).
    """

    variants: tuple[Variant, ...]
    seeds: int

    def runs(self) -> Iterator[tuple[str, int, int, dict[str, Any]]]:
        """``(variant name, d, seed, config fields)`` for every run of the ladder."""
        for v in self.variants:
            for d, s, cfg in v.runs(self.seeds):
                yield v.name, d, s, cfg


@dataclass(frozen=True)
class RunSet:
    """Finished runs of one claim: ``runs[variant][d]`` is the list of records, one per seed."""

    runs: Mapping[str, Mapping[int, Sequence[AnyRecord]]]

    def variant(self, name: str) -> Mapping[int, Sequence[AnyRecord]]:
        return self.runs.get(name, {})

    def values(self, name: str, stat: Callable[[AnyRecord], float]) -> dict[int, list[float]]:
        """``{d: [stat(record) for each seed]}`` for one arm (dimensions without runs left out)."""
        out: dict[int, list[float]] = {}
        for d, recs in sorted(self.variant(name).items()):
            vals = [float(stat(r)) for r in recs]
            vals = [v for v in vals if math.isfinite(v)]
            if vals:
                out[int(d)] = vals
        return out

    def keys(self) -> list[str]:
        """The store keys of every run (sorted), so a verdict can be traced to its runs."""
        return sorted({str(to_json(r).get("key", "")) for by_d in self.runs.values() for recs in by_d.values()
                       for r in recs})


@dataclass(frozen=True)
class Plot:
    """Data for one figure panel: its :class:`FigureKind` (given as the member or its text) picks the renderer
    in ``verify.figures``; ``data`` holds plain numbers (keys starting with ``_``: objects the renderer uses,
    left out of ``results.json``)."""

    figure: FigureKind
    title: str
    data: Mapping[str, Any]

    def __post_init__(self) -> None:
        figure = check_scalar(self.figure, "a plot's figure kind", Options(tuple(FigureKind)))
        object.__setattr__(self, "figure", FigureKind(figure))


@dataclass(frozen=True)
class Control:
    """A negative control (THEORY.md §5.1): a named false alternative, decided on the same runs by the same rule.

    Parameters
    ----------
    alternative : str
        The false statement in words, computed from ``theory`` (e.g. ``"s_2 Θ(1): span(e1, e2) learned"``).
    decision : Decision
        The rule's verdict on the alternative; the claim has power only when it is REFUTED.
    """

    alternative: str
    decision: Decision

    @property
    def refuted(self) -> bool:
        """Whether the rule said no to the false alternative (the claim's power is shown)."""
        return self.decision.verdict == REFUTED

    def text(self) -> str:
        """``"power: the alternative … is refuted (reason)"`` or ``"… is NOT refuted (…)"``, for reports."""
        word = "is refuted" if self.refuted else f"is NOT refuted ({self.decision.verdict})"
        return f"the alternative “{self.alternative}” {word}: {self.decision.reason}"


@dataclass(frozen=True)
class Arm:
    """One arm of a prediction and how it was decided (THEORY.md §5.1: every arm is decided, none dropped).

    Parameters
    ----------
    name : str
        The arm (``"n ≍ d^1.5"``, ``"step 2"``).
    decision : Decision
        Its verdict; an arm without runs is INCONCLUSIVE with the reason ``"no runs in this profile"``.
    """

    name: str
    decision: Decision


@dataclass(frozen=True)
class Evaluation:
    """What a claim's evaluation found.

    Parameters
    ----------
    decision : Decision
        The verdict (CONFIRMED / REFUTED / INCONCLUSIVE) and its reason (``verify.rules``).
    predicted, measured : str
        One-line summaries for the report's table.
    numbers : mapping, optional
        Every number behind the decision (JSON-able), for ``results.json``.
    plots : tuple of Plot, optional
        Figure panels.
    arms : tuple of Arm, optional
        Every arm of the prediction with its own decision (THEORY §5.1).
    controls : tuple of Control, optional
        The negative controls: false alternatives decided on the same runs by the same rule (THEORY §5.1).
    """

    decision: Decision
    predicted: str
    measured: str
    numbers: Mapping[str, Any] = field(default_factory=dict)
    plots: tuple[Plot, ...] = ()
    arms: tuple[Arm, ...] = ()
    controls: tuple[Control, ...] = ()


@dataclass(frozen=True)
class Alternative:
    """A false alternative to a claim's prediction (THEORY.md §5.1), derived from the true one.

    Parameters
    ----------
    name : str
        The false statement in words (``"U_1step = U*_rel: every relevant direction learned"``).
    alter : callable
        ``alter(prediction) -> prediction``: the claim's prediction with the false statement put in its place,
        computed from ``theory`` (a wrong rank, level, exponent or value) — never typed by hand. The claim's
        own ``evaluate`` decides it on the same runs with the same rule.
    """

    name: str
    alter: Callable[[Mapping[str, Any]], Mapping[str, Any]]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or not callable(self.alter):
            raise ValueError("an Alternative needs a non-empty name and a function alter(prediction) -> prediction")


@dataclass(frozen=True)
class Claim:
    """One claim of THEORY.md §5.

    Parameters
    ----------
    id : str
        Short name (``"T1-curve"``), unique among the claims.
    source : str
        Where the claim comes from (paper and theorem, or THEORY section).
    statement : str
        The claim in one sentence.
    status : Status
        ``Status.THEOREM`` or ``Status.CONJECTURE`` (or its text, ``"theorem"``, ``"conjecture"``): a REFUTED
        theorem makes ``python -m verify`` exit with status 1.
    predict : callable
        ``predict() -> mapping``: the predicted quantity, computed from ``theory`` (JSON-able; sympy objects
        only under keys starting with ``_``).
    ladders : mapping of str to Ladder
        Profile name → the simulations the claim needs in that profile.
    evaluate : callable
        ``evaluate(prediction, runs: RunSet) -> Evaluation``: the statistic and the decision rule.
    statistic, rule : str, optional
        The statistic and the rule in words, for the report.
    on_request : tuple of str, optional
        Profiles whose default selection leaves the claim out (its ladder does not fit their time budget):
        there it runs only when named, ``python -m verify --claims ID``.
    controls : tuple of Alternative, optional
        The negative controls (THEORY §5.1): false alternatives that ``evaluate`` must REFUTE on the same runs.
        A CONFIRMED verdict stands only when every control is refuted (:meth:`judge`); a claim without a
        control cannot be CONFIRMED.
    """

    id: str
    source: str
    statement: str
    status: Status
    predict: Callable[[], Mapping[str, Any]]
    ladders: Mapping[str, Ladder]
    evaluate: Callable[[Mapping[str, Any], RunSet], Evaluation]
    statistic: str = ""
    rule: str = ""
    on_request: tuple[str, ...] = ()
    controls: tuple[Alternative, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise ValueError(f"a claim needs a non-empty string id; got {self.id!r}")
        status = check_scalar(self.status, f"claim {self.id}: status", Options(tuple(Status)))
        object.__setattr__(self, "status", Status(status))
        for name in ("predict", "evaluate"):
            if not callable(getattr(self, name)):
                raise ValueError(f"claim {self.id}: {name} must be a function")
        for prof, lad in self.ladders.items():
            if not isinstance(lad, Ladder):
                raise ValueError(f"claim {self.id}: ladders[{prof!r}] must be a verify.Ladder")
        if not all(isinstance(c, Alternative) for c in self.controls):
            raise ValueError(f"claim {self.id}: controls must be a tuple of verify.Alternative")

    def judge(self, prediction: Mapping[str, Any], runs: RunSet) -> Evaluation:
        """``evaluate`` the prediction and every control on the same runs (THEORY §5.1).

        The controls' decisions are attached (``Evaluation.controls``). A CONFIRMED verdict becomes
        INCONCLUSIVE when a control is not REFUTED (the rule did not show that it can say no here) or when the
        claim declares none; a REFUTED or INCONCLUSIVE verdict is kept as it is.

        Parameters
        ----------
        prediction : mapping
            ``predict()``'s result.
        runs : RunSet
            The finished runs.

        Returns
        -------
        Evaluation
        """
        ev = self.evaluate(prediction, runs)
        if not isinstance(ev, Evaluation) or not isinstance(ev.decision, Decision):
            return ev  # the runner reports a malformed evaluation
        controls = tuple(Control(alt.name, self.evaluate(alt.alter(prediction), runs).decision)
                         for alt in self.controls)
        decision = ev.decision
        if decision.verdict == CONFIRMED:
            weak = [c for c in controls if not c.refuted]
            if not controls:
                decision = Decision(INCONCLUSIVE, "no negative control declared, so the rule's power to say no "
                                                    f"is not shown (THEORY §5.1); the rule said: {decision.reason}")
            elif weak:
                decision = Decision(INCONCLUSIVE, "power not shown: " + "; ".join(c.text() for c in weak))
        return replace(ev, decision=decision, controls=controls)

    def ladder(self, profile: str) -> Ladder | None:
        return self.ladders.get(profile)

    def by_default(self, profile: str) -> bool:
        """Whether the profile's default selection (no ``--claims``) runs this claim."""
        return profile not in self.on_request


__all__ = ["Alternative", "Arm", "Claim", "Control", "Evaluation", "FigureKind", "Ladder", "Plot", "RunSet",
           "Status", "Variant"]
