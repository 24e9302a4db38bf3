"""Plan the union of the runs the selected claims need, run or load them through ``sim``, evaluate (THEORY.md §5).

Data flow theory → sim → verify: predictions come from each claim's
``predict()`` (theory), records from ``sim`` (its results store), and each
claim's ``evaluate`` turns both into an :class:`Outcome`. :func:`make_run_plan` lists the
:class:`PlannedRun` of every claim's ladder once (identical runs requested by several claims run once) and
where each of a claim's runs lands (:class:`Slot`): the :class:`RunPlan` of a verify invocation.

Claims are isolated: a claim whose ``predict()`` raises or returns something other than a
mapping of finite numbers, whose ``evaluate()`` raises or returns something other than an ``Evaluation``, or
one of whose runs diverged (``sim.exits.DIVERGENCES``), is INCONCLUSIVE with the reason; the other claims
still run. So is a claim whose ``predict()`` or ``evaluate()`` runs past ``claim_timeout`` seconds
(``verify.limits``, ``--claim-timeout``) or calls ``sys.exit``. :func:`make_run_plan` builds the plan once:
every run's config and resources are validated there, before anything is computed, naming the claim and the
arm of a bad one.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from theory.exits import EXIT_OK, EXIT_REFUTED
from verify import rules
from sim.kinds import AnyRecord
from sim.packing import to_json
from verify.claims.base import Claim, Evaluation, Ladder, RunSet, Status
from verify.limits import ClaimTimeout, time_limit
from verify.profiles import Profile
from verify.rules import Decision

if TYPE_CHECKING:
    from sim.drivers import RunSpec


@dataclass(frozen=True)
class PlannedRun:
    """One simulation a claim's ladder asks for: its kind (``sim.kinds``), the config fields of that kind's
    config class, a seed."""

    config: Mapping[str, Any]
    seed: int
    kind: str = "giant_step"

    @property
    def ident(self) -> str:
        return json.dumps({"kind": self.kind, "config": dict(self.config), "seed": self.seed}, sort_keys=True,
                          default=str)


class Slot(NamedTuple):
    """Where one run of a claim lands: its arm (``variant``), dimension, seed and index in ``RunPlan.runs``."""

    variant: str
    d: int
    seed: int
    run: int


@dataclass(frozen=True)
class RunPlan:
    """The runs of a verify invocation: their union (``runs``, deduplicated, in first-request order), each
    one's validated ``sim.drivers.RunSpec`` (``specs``, same order) and, per claim id, where each of the
    claim's runs lands (``slots``)."""

    runs: tuple[PlannedRun, ...]
    specs: tuple[RunSpec, ...]
    slots: Mapping[str, tuple[Slot, ...]]

    def only(self, ids: Sequence[str]) -> RunPlan:
        """The plan of the claims ``ids`` alone: the runs no other claim asks for are left out."""
        keep = sorted({s.run for i in ids for s in self.slots.get(i, ())})
        new = {old: k for k, old in enumerate(keep)}
        return RunPlan(tuple(self.runs[k] for k in keep), tuple(self.specs[k] for k in keep),
                       {i: tuple(s._replace(run=new[s.run]) for s in self.slots.get(i, ())) for i in ids})


@dataclass(frozen=True)
class Outcome:
    """A claim's verdict with everything needed to trace it: prediction, evaluation, store keys of its runs."""

    id: str
    source: str
    status: Status
    statement: str
    statistic: str
    rule: str
    prediction: Mapping[str, Any]
    evaluation: Evaluation
    run_keys: tuple[str, ...]
    runs_by_variant: Mapping[str, Mapping[int, int]] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return self.evaluation.decision.verdict


def _arm(claim: Claim, variant_name: str, d: int | None = None) -> str:
    """A run's place in words: ``claim T1-single, arm main (d=64)``."""
    where = f"claim {claim.id}, arm {variant_name or 'main'}"
    return f"{where} (d={d})" if d is not None else where


def _count_runs(claim: Laddered, ladder: Ladder) -> int:
    """Runs of one ladder (arms × dimensions × seeds), counted without listing them."""
    from sim.drivers import check_run_count

    total = sum(len(v.dims) * (v.seeds if v.seeds is not None else ladder.seeds) for v in ladder.variants)
    return check_run_count(total, f"claim {claim.id}'s ladder")


class Laddered(Protocol):
    """What :func:`make_run_plan` plans: anything with an ``id`` and a ladder per profile (a ``Claim``, a
    ``verify.paper.StairwayFigure``)."""

    @property
    def id(self) -> str: ...

    def ladder(self, profile: str) -> Ladder | None: ...


def make_run_plan(claims: Sequence[Laddered], profile: Profile) -> RunPlan:
    """Runs of every claim's (or figure's) ladder for ``profile`` (device from the profile unless a ladder fixes
    it), each config built and its resources planned here, once — the one planning path of
    ``python -m verify`` and ``python -m verify figures``, before anything is computed.

    Parameters
    ----------
    claims : sequence of Claim or StairwayFigure
        What is planned (:class:`Laddered`).
    profile : Profile
        Which ladder of each claim, and the default device.

    Returns
    -------
    RunPlan
        The distinct runs with their ``RunSpec`` and, per claim, where each of its runs lands. A ladder asking
        for more than ``sim.drivers.MAX_RUNS`` runs is refused before any is listed, and a run that cannot be
        made or cannot run here (config, device, memory) in one line naming the claim and the arm
        (``ValueError``).
    """
    index: dict[str, int] = {}
    runs: list[PlannedRun] = []
    specs: list[RunSpec] = []
    slots: dict[str, list[Slot]] = {}
    planned: set[str] = set()  # configs whose resources were planned (the seed changes none)
    for claim in claims:
        ladder = claim.ladder(profile.name)
        slots[claim.id] = []
        if ladder is None:
            continue
        _count_runs(claim, ladder)
        for variant in ladder.variants:
            for d, seed, cfg in variant.runs(ladder.seeds):
                run = PlannedRun({"device": profile.device, **cfg}, seed, variant.kind)
                k = index.get(run.ident)
                if k is None:
                    k = index[run.ident] = len(runs)
                    runs.append(run)
                    specs.append(_spec(run, planned, _arm(claim, variant.name, d)))
                slots[claim.id].append(Slot(variant.name, d, seed, k))
    return RunPlan(tuple(runs), tuple(specs), {k: tuple(v) for k, v in slots.items()})


def _spec(run: PlannedRun, planned: set[str], where: str) -> RunSpec:
    """``run``'s ``RunSpec``, its config built by its kind's config class and, once per config, its resources
    planned (``sim.kinds.Kind.plan``); ``ValueError`` in one line starting with ``where`` otherwise."""
    from sim.drivers import RunSpec
    from sim.kinds import kind

    try:
        k = kind(run.kind)
        cfg = k.config.from_dict(run.config)
        ident = PlannedRun(run.config, 0, run.kind).ident
        if ident not in planned:
            k.plan(cfg)
            planned.add(ident)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: {' '.join(str(exc).split())}") from None
    return RunSpec(cfg, run.seed)


def check_store(plan: RunPlan, store: Any) -> None:
    """Every stored record the plan's runs would use is read now, so a damaged one is named
    (``sim.store.StoreError``) before anything is computed."""
    from sim.drivers import stored

    stored(plan.specs, store)


def run_plan(configs: Sequence[RunSpec], store: Any = None, force: bool = False, progress: bool = True,
             on_diverged: Callable[[int, str], None] | None = None) -> list[AnyRecord | None]:
    """Records of every run (``configs``: a plan's ``specs``), from the store or simulated
    (``sim.drivers.run_many``, one results store), in the plan's order; ``None`` for a run that diverged
    (reported to ``on_diverged(run index, message)``)."""
    from sim.drivers import run_many
    from sim.store import Store

    if not isinstance(store, Store):
        store = Store(store) if store else Store()
    return run_many(list(configs), store, force=force, progress=progress, on_diverged=on_diverged)


def runset(plan: RunPlan, claim_id: str, records: Sequence[AnyRecord | None]) -> RunSet:
    """The records of one claim, as ``{variant: {d: [records by seed]}}``."""
    out: dict[str, dict[int, list[tuple[int, AnyRecord]]]] = {}
    for variant, d, seed, k in plan.slots.get(claim_id, ()):
        rec = records[k]
        if rec is not None:
            out.setdefault(variant, {}).setdefault(d, []).append((seed, rec))
    return RunSet({v: {d: [r for _, r in sorted(rs, key=lambda x: x[0])] for d, rs in by_d.items()}
                   for v, by_d in out.items()})


def _inconclusive(claim: Claim, prediction: Mapping[str, Any], reason: str, runs: RunSet | None = None) -> Outcome:
    """An outcome that was not evaluated: INCONCLUSIVE with ``reason``."""
    runs = runs or RunSet({})
    ev = Evaluation(Decision(rules.INCONCLUSIVE, reason), "", "not evaluated")
    counts = {v: {int(d): len(rs) for d, rs in by_d.items()} for v, by_d in runs.runs.items()}
    return Outcome(claim.id, claim.source, claim.status, claim.statement, claim.statistic, claim.rule,
                   prediction, ev, tuple(runs.keys()), counts)


def _failure_text(exc: BaseException) -> str:
    """An exception of a claim's own code in one line: its type and message."""
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def evaluate_claim(claim: Claim, prediction: Mapping[str, Any], runs: RunSet, timeout: float | None = None
                   ) -> Outcome:
    """Evaluate one claim; an evaluation that raises (``SystemExit`` too), runs past ``timeout`` seconds
    (``verify.limits``) or returns something other than an ``Evaluation`` holding a ``verify.rules.Decision``
    is INCONCLUSIVE with the reason (never a pass)."""
    try:
        with time_limit(timeout, f"evaluate() of claim {claim.id}"):
            ev = claim.judge(prediction, runs)
    except ClaimTimeout as exc:
        return _inconclusive(claim, prediction, f"evaluation failed: {exc}", runs)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a broken evaluation must not stop the other claims
        return _inconclusive(claim, prediction, f"evaluation failed: {_failure_text(exc)}", runs)
    if not isinstance(ev, Evaluation) or not isinstance(ev.decision, Decision):
        what = type(ev).__name__ if not isinstance(ev, Evaluation) else \
            f"an Evaluation whose decision is {type(ev.decision).__name__}"
        return _inconclusive(claim, prediction, f"evaluation returned {what}, not a verify.Evaluation holding a "
                             "verify.rules.Decision", runs)
    counts = {v: {int(d): len(rs) for d, rs in by_d.items()} for v, by_d in runs.runs.items()}
    return Outcome(claim.id, claim.source, claim.status, claim.statement, claim.statistic, claim.rule,
                   prediction, ev, tuple(runs.keys()), counts)


def predict_claim(claim: Claim, timeout: float | None = None) -> tuple[Mapping[str, Any], str | None]:
    """``(prediction, None)``, or ``({}, reason)`` when ``predict()`` raises (``SystemExit`` too), runs past
    ``timeout`` seconds (``verify.limits``) or returns something other than a mapping whose numbers are
    finite (keys starting with ``_`` hold objects for the claim's own use)."""
    from sim.store import nonfinite_path

    try:
        with time_limit(timeout, f"predict() of claim {claim.id}"):
            pred = claim.predict()
    except ClaimTimeout as exc:
        return {}, f"prediction failed: {exc}"
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a broken prediction must not stop the other claims
        return {}, f"prediction failed: {_failure_text(exc)}"
    if not isinstance(pred, Mapping):
        return {}, f"prediction failed: predict() returned {type(pred).__name__}, not a mapping"
    where = nonfinite_path({k: v for k, v in pred.items() if not str(k).startswith("_")})
    if where is not None:
        return {}, f"prediction failed: predict() returned a non-finite number at {where}"
    return pred, None


def predictions(claims: Sequence[Claim]) -> dict[str, Mapping[str, Any]]:
    """Every claim's prediction from theory, computed before any simulation (``predict_claim``: a failed
    one is ``{}``)."""
    return {c.id: predict_claim(c)[0] for c in claims}


def verify(claims: Sequence[Claim], profile: Profile, store: Any = None, force: bool = False,
           progress: bool = True, log: Callable[[str], None] = print, claim_timeout: float | None = None,
           plan: RunPlan | None = None) -> tuple[list[Outcome], dict[str, Any]]:
    """Predict, plan, run/load, evaluate.

    Parameters
    ----------
    claims : sequence of Claim
        The claims to decide.
    profile : Profile
        Which ladders run, and where.
    store : Store or str, optional
        The results store (``sim.store.Store``) or its path (default ``runs/results.sqlite``).
    force : bool
        Re-run simulations already in the store.
    progress : bool
        A progress bar over the runs.
    log : callable
        Where one-line progress notes go.
    claim_timeout : float, optional
        Seconds each claim's ``predict()`` and ``evaluate()`` may take (``None``: no limit); past it the claim
        is INCONCLUSIVE and the others go on (``verify.limits``).
    plan : RunPlan, optional
        ``make_run_plan(claims, profile)`` when the caller has made it already (the command line does, to
        refuse a bad ladder before anything else); made here otherwise.

    Returns
    -------
    (list of Outcome, dict)
        One outcome per claim, in order (isolated: module docstring), and run statistics (counts, wall
        times, ``diverged`` runs).
    """
    t0 = time.perf_counter()
    predicted = {c.id: predict_claim(c, claim_timeout) for c in claims}
    live = [c for c in claims if predicted[c.id][1] is None]
    plan = (plan or make_run_plan(claims, profile)).only([c.id for c in live])
    log(f"verify: profile {profile.name}, {len(claims)} claim(s), {len(plan.runs)} distinct run(s)")
    t1 = time.perf_counter()
    diverged: dict[int, str] = {}
    records = run_plan(plan.specs, store, force, progress, on_diverged=diverged.__setitem__) if plan.runs else []
    t2 = time.perf_counter()
    outcomes = []
    for c in claims:
        pred, failed = predicted[c.id]
        runs = runset(plan, c.id, records) if failed is None else None
        bad = sorted({slot.run for slot in plan.slots.get(c.id, ()) if slot.run in diverged})
        if failed is None and bad:
            run = plan.runs[bad[0]]
            failed = (f"{len(bad)} of its runs diverged (first: {run.kind} d={run.config.get('d')} seed "
                      f"{run.seed}: {diverged[bad[0]]})")
        outcomes.append(_inconclusive(c, pred, failed, runs) if failed is not None else
                        evaluate_claim(c, pred, runs or RunSet({}), claim_timeout))
    t3 = time.perf_counter()
    sim_seconds = sum(float(to_json(r).get("timings", {}).get("total", 0.0)) for r in records if r is not None)
    stats = {"runs": len(plan.runs), "diverged": len(diverged), "predict_s": t1 - t0, "simulate_s": t2 - t1,
             "evaluate_s": t3 - t2, "sim_seconds_in_records": sim_seconds}
    return outcomes, stats


def exit_status(outcomes: Sequence[Outcome], strict: bool = False) -> int:
    """``theory.exits.EXIT_REFUTED`` (1) if a theorem is REFUTED (or, with ``strict``, if any claim is not
    CONFIRMED), else ``EXIT_OK`` (0)."""
    if any(o.status == Status.THEOREM and o.verdict == rules.REFUTED for o in outcomes):
        return EXIT_REFUTED
    if strict and any(o.verdict != rules.CONFIRMED for o in outcomes):
        return EXIT_REFUTED
    return EXIT_OK


__all__ = ["Laddered", "Outcome", "PlannedRun", "RunPlan", "Slot", "check_store", "evaluate_claim",
           "exit_status", "make_run_plan", "predict_claim", "predictions", "run_plan", "runset",
           "verify"]
