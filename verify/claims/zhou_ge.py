"""[ZG] late feature learning (THEORY.md §4, §5 rows Z1-local and Z2-late).

Records are ``sim.zhou_ge.ZGRecord`` s (from ``sim.zhou_ge.run_zhou_ge``): one ``PhaseRecord`` per
weight-decay phase ``λ_k = λ0·lam_factor^k``, at its end. Every "→ 0 as λ → 0" is decided by a log–log fit of the per-phase
statistic against ``x = λ0/λ`` (the x-axis of ``verify.fits.fit_loglog``, whose keys must be integers:
``x = 1, 2, 4, …`` for the default ``lam_factor = ½``) with the stratified bootstrap over seeds of
``verify.fits`` and the three-valued rules of ``verify.rules`` — never one threshold:

* **Z1-local** — far mass, loss, and the relative mass deficit ``max_j |Σ_{i near j} a_i‖w_i‖ − a*_j|/|a*_j|``
  all decay: fitted exponent in ``x`` with CI below ``−DECAY_MIN`` (``rules.decays``).
* **Z2-late** — the mass-weighted mean angle to the nearest teacher decays with ``x`` (features keep
  improving during stage 3), the fixed-feature baseline's loss is flat in ``x`` (Θ(1) band,
  ``rules.theta1``), and at the last λ the baseline's plateau ``min_a L(a, W¹)`` is above the stage-3
  loss (CI over seeds of ``log10(plateau/loss)`` above 0, ``rules.at_least``).

Ladders too short to resolve an exponent (fewer than 3 phases, ``λ0/λ_min < 4``, fewer than 3 seeds) are
INCONCLUSIVE (``rules.check_ladder``); a claim with no records is INCONCLUSIVE.

Runs: the ZG arms are ``Variant(..., kind=sim.zhou_ge.KIND)``; ``verify.runner`` runs them, like every kind,
through ``sim.drivers.run_many``, and their records live in the shared results store.
Figures use plot kinds ``zg_time``, ``zg_neurons``, ``zg_mass`` and ``loglog`` (fits against ``λ0/λ``),
all drawn by ``verify.figures``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from sim.zhou_ge import KIND, PhaseRecord, ZGRecord
from verify import rules
from verify.claims.base import Alternative, Claim, Evaluation, FigureKind, Ladder, Plot, RunSet, Status, Variant
from verify.claims.common import fit_part
from verify.fits import mean_ci
from verify.rules import Decision, Law


# Ladders: the phases are the ladder (λ0/λ_min = 2^(phases−1)); d, m, m* are fixed per profile. Full uses
# m = 256 (m/m* = 32): the population-loss step costs O(m²) kernel entries, and at m = 1024 it ran 60 steps/s
# on a 2-core AMD EPYC (float64), so five seeds of up to 8 × 6000 steps and their baselines took about an hour;
# at m = 256 both claims took 3 min 52 s there, with the same verdicts as m = 1024 on a GPU (exponents
# −0.54 to −0.60 for the far mass and the mean angle).
SMOKE = {"d": 16, "m": 32, "m_star": 2, "phases": 3, "max_steps_per_phase": 300, "record_every": 50}
QUICK = {"d": 32, "m": 128, "m_star": 4, "phases": 6, "max_steps_per_phase": 3000, "record_every": 100}
FULL = {"d": 64, "m": 256, "m_star": 8, "phases": 8, "max_steps_per_phase": 6000,
        "record_every": 200}


def _ladder(cfg: Mapping[str, Any], seeds: int) -> Ladder:
    c = dict(cfg)
    return Ladder((Variant("zg", c, (int(c.pop("d")),), kind=KIND),), seeds)


LADDERS = {"smoke": _ladder(SMOKE, 2), "quick": _ladder(QUICK, 3), "full": _ladder(FULL, 5)}


# ---------------------------------------------------------------------------
# records → measurements (pure)
# ---------------------------------------------------------------------------
def zg_records(runs: RunSet) -> list[ZGRecord]:
    """All ZG records of a claim's run set (any variant, any d), in seed order."""
    return [r for by_d in runs.runs.values() for recs in by_d.values() for r in recs if isinstance(r, ZGRecord)]


def _x(rec: ZGRecord, phase: PhaseRecord) -> int:
    """``λ0/λ`` of a phase, as the integer key ``fit_loglog`` wants (exact for lam_factor = 1/integer)."""
    return int(round(rec.config["lam0"] / phase.lam))


def per_lambda(records: Sequence[ZGRecord], stat: Callable[[ZGRecord, PhaseRecord], float]) -> dict[int, list[float]]:
    """``{λ0/λ: [stat(record, phase) for each seed]}`` over the phase summaries."""
    out: dict[int, list[float]] = {}
    for rec in records:
        for ph in rec.phases:
            v = float(stat(rec, ph))
            if math.isfinite(v):
                out.setdefault(_x(rec, ph), []).append(v)
    return dict(sorted(out.items()))


def far_mass(rec: ZGRecord, ph: PhaseRecord) -> float:
    return float(ph.far_mass)


def loss(rec: ZGRecord, ph: PhaseRecord) -> float:
    return float(ph.loss)


def mass_deficit(rec: ZGRecord, ph: PhaseRecord) -> float:
    """``max_j |Σ_{i near j} a_i‖w_i‖ − a*_j| / |a*_j|`` (0 when the teacher's mass is exactly recovered)."""
    a_star = np.asarray(rec.teacher.a_star, dtype=float)
    return float(np.max(np.abs(np.asarray(ph.signed_near_mass) - a_star) / np.abs(a_star)))


def mean_angle(rec: ZGRecord, ph: PhaseRecord) -> float:
    """The mass-weighted mean angle; NaN (left out of the fits) where it is undefined (no mass: ``None``)."""
    value = ph.mean_angle
    return math.nan if value is None else float(value)


def baseline_loss(rec: ZGRecord, ph: PhaseRecord) -> float:
    """The fixed-feature baseline's loss at the phase's λ; NaN (left out of the fits) without a baseline."""
    return math.nan if ph.baseline_loss is None else float(ph.baseline_loss)


def baseline_gap(rec: ZGRecord) -> float:
    """``log10(plateau / stage-3 loss at the last λ)``: > 0 when the fixed-feature model ends higher."""
    last = rec.phases[-1].loss
    if rec.baseline is None or last <= 0:
        return math.nan
    return math.log10(rec.baseline.plateau / last)


def _fit_part(label: str, how: Law, values: Mapping[int, Sequence[float]]) -> tuple[Decision, dict[str, Any]]:
    """One per-phase statistic against ``x = λ0/λ``: decision and JSON entry (``common.fit_part``)."""
    dec, _, entry = fit_part(label, how, values, what=f"{label} exponent in λ0/λ",
                             missing=f"{label}: fewer than two λ values with positive measurements")
    return dec, entry


def _variants(records: Sequence[ZGRecord]) -> list[str]:
    return sorted({str(r.variant) for r in records})


def _variant_text(variants: Sequence[str]) -> str:
    """Which algorithm variant ran (THEORY §4 leaves constants and step rules open)."""
    return "variant ran: " + " | ".join(variants)


def _figures(records: Sequence[ZGRecord], fits: Mapping[str, Any]) -> tuple[Plot, ...]:
    first = records[0]
    traj = first.trajectory
    time_data = {"step": traj.step, "loss": traj.loss, "lam": traj.lam,
                 "baseline": [(p.steps, p.baseline_loss) for p in first.phases],
                 "plateau": None if first.baseline is None else first.baseline.plateau,
                 "phase_end_steps": list(np.cumsum([p.steps for p in first.phases]).tolist())}
    snaps = first.snapshots
    neurons = {"near_angle": first.config["near_angle"],
               "start": {"angle": snaps.start.angle, "norm": snaps.start.norm, "a": snaps.start.a},
               "end": {"angle": snaps.end.angle, "norm": snaps.end.norm, "a": snaps.end.a}}
    mass = {"a_star": first.teacher.a_star, "start": _start_near_mass(first),
            "end": first.phases[-1].signed_near_mass, "far_start": _start_far(first),
            "far_end": first.phases[-1].far_mass}
    return (Plot(FigureKind.ZG_TIME, f"loss and λ against GD steps (seed {first.seed})", time_data),
            Plot(FigureKind.ZG_NEURONS,
                 "neurons (angle to nearest teacher, ‖w‖) at the start of stage 3 and at the end", neurons),
            Plot(FigureKind.ZG_MASS, "signed mass Σ a_i‖w_i‖ near each teacher vs a*_j", mass),
            Plot(FigureKind.LOGLOG, "per-phase statistics against λ0/λ (log–log fits, bootstrap over seeds)",
                 {"series": [{"label": k, **v["fit"]} for k, v in fits.items() if v.get("fit")],
                  "xlabel": "λ0/λ", "ylabel": "statistic at the end of each phase"}))


def _start_summary(rec: ZGRecord) -> dict[str, Any]:
    from sim.zhou_ge import Snapshot, mass_summary

    snap = Snapshot.from_record(rec.snapshots.start)
    return mass_summary(snap, len(rec.teacher.a_star), rec.config["near_angle"])


def _start_near_mass(rec: ZGRecord) -> list[float]:
    return _start_summary(rec)["signed_near_mass"]


def _start_far(rec: ZGRecord) -> float:
    return _start_summary(rec)["far_mass"]


def _fmt(fit_entry: Mapping[str, Any], label: str) -> str:
    f = fit_entry.get("fit")
    if not f:
        return f"{label}: not measured"
    return f"{label} ∝ (λ0/λ)^{f['slope']:+.2f} [{f['ci'][0]:+.2f}, {f['ci'][1]:+.2f}]"


def evaluate_z1(prediction: Mapping[str, Any], runs: RunSet) -> Evaluation:
    """Z1-local: far mass, loss and relative mass deficit → 0 as λ → 0 (decay exponents in λ0/λ).

    Parameters
    ----------
    prediction : mapping
        ``zg_prediction("Z1")``: the statement printed as "predicted".
    runs : RunSet
        [ZG] records (``kind = "zhou_ge"``), one per seed, with one summary per phase.

    Returns
    -------
    Evaluation
    """
    records = zg_records(runs)
    if not records:
        return Evaluation(Decision(rules.INCONCLUSIVE, "no [ZG] runs"), prediction["statement"], "not measured")
    decisions, numbers = [], {"variants": _variants(records)}
    laws = prediction["rules"]
    for label, stat in (("far mass", far_mass), ("loss", loss), ("mass deficit", mass_deficit)):
        dec, numbers[label] = _fit_part(label, laws[label], per_lambda(records, stat))
        decisions.append(dec)
    numbers["stage2_loss"] = [r.stage2.loss for r in records]
    numbers["unconverged_phases"] = sum(not p.converged for r in records for p in r.phases)
    measured = "; ".join([_fmt(numbers[k], k) for k in ("far mass", "loss", "mass deficit")]
                         + [_variant_text(numbers["variants"])])
    fits = {k: numbers[k] for k in ("far mass", "loss", "mass deficit")}
    return Evaluation(rules.combine(decisions), prediction["statement"], measured, numbers, _figures(records, fits))


def evaluate_z2(prediction: Mapping[str, Any], runs: RunSet) -> Evaluation:
    """Z2-late: mean angle decays with λ0/λ; baseline loss flat in λ0/λ and its plateau above the final loss.

    Parameters
    ----------
    prediction : mapping
        ``zg_prediction("Z2")``: the statement printed as "predicted".
    runs : RunSet
        [ZG] records, one per seed: per-phase ``mean_angle`` and ``baseline_loss``, and the fixed-feature
        ``baseline`` (its ``plateau``); a record without a baseline makes the claim INCONCLUSIVE.

    Returns
    -------
    Evaluation
    """
    records = zg_records(runs)
    if not records:
        return Evaluation(Decision(rules.INCONCLUSIVE, "no [ZG] runs"), prediction["statement"], "not measured")
    numbers: dict[str, Any] = {"variants": _variants(records)}
    d_angle, numbers["mean angle"] = _fit_part("mean angle", prediction["rules"]["mean angle"],
                                               per_lambda(records, mean_angle))
    if any(r.baseline is None for r in records):
        d_base = Decision(rules.INCONCLUSIVE, "baseline not run (baseline=False)")
        d_gap = d_base
    else:
        d_base, numbers["baseline loss"] = _fit_part("baseline loss", Law.THETA1, per_lambda(records, baseline_loss))
        gaps = [g for g in (baseline_gap(r) for r in records) if math.isfinite(g)]
        if len(gaps) < rules.MIN_SEEDS:
            d_gap = Decision(rules.INCONCLUSIVE, f"baseline gap: {len(gaps)} seed(s), need ≥ {rules.MIN_SEEDS}")
            numbers["baseline gap"] = {"values": gaps}
        else:
            ci = mean_ci(gaps)
            d_gap = rules.at_least((ci.lo, ci.hi), 0.0, 0.0, "log10(baseline plateau / final loss)")
            numbers["baseline gap"] = {"values": gaps, **ci.to_dict()}
    # how often the angle went down from one phase to the next (reported, not decided on)
    drops = [mean_angle(r, b) < mean_angle(r, a) for r in records for a, b in zip(r.phases, r.phases[1:])]
    numbers["angle_decreased_fraction"] = float(np.mean(drops)) if drops else None
    measured = [_fmt(numbers["mean angle"], "mean angle")]
    if "baseline loss" in numbers:
        measured.append(_fmt(numbers["baseline loss"], "baseline loss"))
    if "mean" in numbers.get("baseline gap", {}):
        g = numbers["baseline gap"]
        measured.append(f"log10(plateau/final loss) = {g['mean']:.2f} [{g['lo']:.2f}, {g['hi']:.2f}]")
    measured.append(_variant_text(numbers["variants"]))
    fits = {k: numbers[k] for k in ("mean angle", "baseline loss") if k in numbers}
    return Evaluation(rules.combine([d_angle, d_base, d_gap]), prediction["statement"], "; ".join(measured),
                      numbers, _figures(records, fits))


def zg_prediction(claim: str) -> dict[str, Any]:
    """What §4 predicts (qualitative: signs of exponents), with the kernel the simulator uses, from theory."""
    from theory.arccos import relu_kernel_sympy

    statements = {
        "Z1": "far mass, loss and |mass near teacher j − a*_j| → 0 as λ → 0 (exponents in λ0/λ < 0)",
        "Z2": "mean angle to the teachers → 0 during stage 3 (exponent < 0); fixed-feature baseline flat in λ "
              "and above the final stage-3 loss",
    }
    laws = {"Z1": {"far mass": Law.DECAY, "loss": Law.DECAY, "mass deficit": Law.DECAY}, "Z2": {"mean angle": Law.DECAY}}
    return {"statement": statements[claim], "kernel": str(relu_kernel_sympy(min_order=2)),
            "decay_min": rules.DECAY_MIN, "rules": laws[claim]}


def stays(label: str) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """A control of the [ZG] claims (a wrong exponent): the statistic ``label`` stays Θ(1) as ``λ → 0``."""
    def alter(prediction: Mapping[str, Any]) -> dict[str, Any]:
        return {**prediction, "rules": {**prediction["rules"], label: Law.THETA1},
                "statement": f"{label} stays Θ(1) as λ → 0"}
    return alter


Z1_LOCAL = Claim(
    id="Z1-local", source="[ZG] Thm 3.1 (local convergence), THEORY §4 (Z1)",
    statement="once the loss is below a threshold, GD on L_λ with decreasing λ drives the far mass → 0, the "
              "mass near each teacher → |a*_j| and the loss → 0 as λ → 0",
    status=Status.THEOREM, predict=lambda: zg_prediction("Z1"), ladders=LADDERS, evaluate=evaluate_z1,
    statistic="per-phase far mass, population loss, max_j |Σ_near a‖w‖ − a*_j|/|a*_j| vs λ0/λ",
    rule=f"each: log–log {rules.decay_text()} (rules.decays) over {rules.ladder_text('phases', 'λ span')}",
    controls=(Alternative("the far mass stays Θ(1) as λ → 0 (student mass left far from every teacher)",
                          stays("far mass")),))

Z2_LATE = Claim(
    id="Z2-late", source="[ZG] §1/§4 (feature learning at the end of training), THEORY §4 (Z2)",
    statement="the angle to the teacher directions keeps decreasing during stage 3, while a fixed-feature "
              "baseline (first layer frozen after stage 1) plateaus at a higher loss",
    status=Status.THEOREM, predict=lambda: zg_prediction("Z2"), ladders=LADDERS, evaluate=evaluate_z2,
    statistic="mass-weighted mean angle to the nearest teacher and baseline loss vs λ0/λ; "
              "log10(baseline plateau / final loss)",
    rule=f"angle {rules.decay_text()}; baseline {rules.theta1_text()}; gap CI ≥ 0",
    controls=(Alternative("the mean angle stays Θ(1) during stage 3 (no late feature learning)",
                          stays("mean angle")),))

CLAIMS = (Z1_LOCAL, Z2_LATE)


__all__ = ["CLAIMS", "LADDERS", "Z1_LOCAL", "Z2_LATE", "evaluate_z1", "evaluate_z2", "per_lambda",
           "zg_records"]
