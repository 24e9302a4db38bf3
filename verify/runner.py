"""Plan the union of the runs the selected claims need, run or load them through ``sim``, evaluate (issue item 2).

Data flow theory → sim → verify: predictions come from each claim's
``predict()`` (theory), records from ``sim`` (its results store), and each
claim's ``evaluate`` turns both into an :class:`Outcome`. Identical
``(config, seed)`` pairs requested by several claims run once.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from verify import rules
from verify.claims.base import Claim, Evaluation, Record, RunSet
from verify.profiles import Profile
from verify.rules import Decision


@dataclass(frozen=True)
class Job:
    """One simulation: its kind (``sim.kinds``), the config fields of that kind's config class, a seed."""

    config: Mapping[str, Any]
    seed: int
    kind: str = "giant_step"

    @property
    def ident(self) -> str:
        return json.dumps({"kind": self.kind, "config": dict(self.config), "seed": self.seed}, sort_keys=True,
                          default=str)


@dataclass(frozen=True)
class Plan:
    """The union of jobs (``jobs``, deduplicated, in first-request order) and, per claim, where each lands."""

    jobs: tuple[Job, ...]
    slots: Mapping[str, tuple[tuple[str, int, int, int], ...]]  # claim id → (variant, d, seed, job index)


@dataclass(frozen=True)
class Outcome:
    """A claim's verdict with everything needed to trace it: prediction, evaluation, store keys of its runs."""

    id: str
    source: str
    kind: str
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


def make_plan(claims: Sequence[Claim], profile: Profile) -> Plan:
    """Jobs of every claim's ladder for ``profile`` (device from the profile unless a ladder fixes it)."""
    index: dict[str, int] = {}
    jobs: list[Job] = []
    slots: dict[str, list[tuple[str, int, int, int]]] = {}
    for claim in claims:
        ladder = claim.ladder(profile.name)
        slots[claim.id] = []
        if ladder is None:
            continue
        for variant in ladder.variants:
            for d, seed, cfg in variant.runs(ladder.seeds):
                job = Job({"device": profile.device, **cfg}, seed, variant.kind)
                k = index.get(job.ident)
                if k is None:
                    k = index[job.ident] = len(jobs)
                    jobs.append(job)
                slots[claim.id].append((variant.name, d, seed, k))
    return Plan(tuple(jobs), {k: tuple(v) for k, v in slots.items()})


def sim_configs(plan: Plan) -> list[tuple[Any, int]]:
    """``(config object, seed)`` for every job, built by its kind's config class (``sim.kinds``) — validates
    all before anything runs."""
    from sim.kinds import make_config

    return [(make_config(job.kind, job.config), job.seed) for job in plan.jobs]


def run_plan(plan: Plan, store_path: str | None, force: bool = False, progress: bool = True) -> list[Record]:
    """Records of every job, from the store or simulated (``sim.drivers.run_many``, one results store),
    in job order."""
    from sim.drivers import run_many
    from sim.store import Store

    store = Store(store_path) if store_path else Store()
    return run_many(sim_configs(plan), store, force=force, progress=progress)


def runset(plan: Plan, claim_id: str, records: Sequence[Record]) -> RunSet:
    """The records of one claim, as ``{variant: {d: [records by seed]}}``."""
    out: dict[str, dict[int, list[tuple[int, Record]]]] = {}
    for variant, d, seed, k in plan.slots.get(claim_id, ()):
        out.setdefault(variant, {}).setdefault(d, []).append((seed, records[k]))
    return RunSet({v: {d: [r for _, r in sorted(rs, key=lambda x: x[0])] for d, rs in by_d.items()}
                   for v, by_d in out.items()})


def evaluate_claim(claim: Claim, prediction: Mapping[str, Any], runs: RunSet) -> Outcome:
    """Evaluate one claim; an evaluation that raises is INCONCLUSIVE with the error as its reason (never a pass)."""
    try:
        ev = claim.evaluate(prediction, runs)
    except Exception as exc:  # noqa: BLE001 - a broken evaluation must not stop the other claims
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        ev = Evaluation(Decision(rules.INCONCLUSIVE, f"evaluation failed: {last}"), "", "not evaluated")
    counts = {v: {int(d): len(rs) for d, rs in by_d.items()} for v, by_d in runs.runs.items()}
    return Outcome(claim.id, claim.source, claim.kind, claim.statement, claim.statistic, claim.rule,
                   prediction, ev, tuple(runs.keys()), counts)


def predictions(claims: Sequence[Claim]) -> dict[str, Mapping[str, Any]]:
    """Every claim's prediction from theory, computed before any simulation."""
    return {c.id: c.predict() for c in claims}


def verify(claims: Sequence[Claim], profile: Profile, store_path: str | None = None, force: bool = False,
           progress: bool = True, log: Callable[[str], None] = print) -> tuple[list[Outcome], dict[str, Any]]:
    """Predict, plan, run/load, evaluate. Returns the outcomes and run statistics (counts, wall times)."""
    t0 = time.perf_counter()
    preds = predictions(claims)
    plan = make_plan(claims, profile)
    sim_configs(plan)  # validate before compute
    log(f"verify: profile {profile.name}, {len(claims)} claim(s), {len(plan.jobs)} distinct run(s)")
    t1 = time.perf_counter()
    records = run_plan(plan, store_path, force, progress) if plan.jobs else []
    t2 = time.perf_counter()
    outcomes = [evaluate_claim(c, preds[c.id], runset(plan, c.id, records)) for c in claims]
    t3 = time.perf_counter()
    sim_seconds = sum(float(r.get("timings", {}).get("total", 0.0)) for r in records)
    stats = {"runs": len(plan.jobs), "predict_s": t1 - t0, "simulate_s": t2 - t1, "evaluate_s": t3 - t2,
             "sim_seconds_in_records": sim_seconds}
    return outcomes, stats


def exit_status(outcomes: Sequence[Outcome], strict: bool = False) -> int:
    """1 if a theorem is REFUTED (or, with ``strict``, if any claim is not CONFIRMED), else 0."""
    if any(o.kind == "theorem" and o.verdict == rules.REFUTED for o in outcomes):
        return 1
    if strict and any(o.verdict != rules.CONFIRMED for o in outcomes):
        return 1
    return 0


__all__ = ["Job", "Outcome", "Plan", "evaluate_claim", "exit_status", "make_plan", "predictions", "run_plan", "runset",
           "sim_configs", "verify"]
