"""The authors' published experiments as named protocols, and the deviations of a config from §3 (THEORY.md §3.2).

A named protocol is a table of ``SimConfig`` field values. ``SimConfig.from_dict`` (hence the command
line, config files and sweep files) applies the table first and then every field the user gives, so
``--protocol dklps-one-step --d 256 --p 512 --n-exp 1.65`` is the one-step protocol at another size.
Everything a protocol does differently from §3 is a general field, not a special case in the run:

* ``n_round="floor"``: ``n = ⌊d^κ⌋`` (the notebook's ``numpy.logspace(…, dtype=int)``);
* ``lr_rule="sqrt(n/p)"``: per-neuron step ``η̃ = lr0·√(n/p)`` — with ``lr0 = 10`` the notebook's
  ``η = 10·√(n·p)`` on ``L = (1/2n)Σ(y − f)²`` with ``f = (1/√p)Σ a_i σ``, ``a_i ~ N(0, 1/p)``, which is
  ``η̃ = η·s_p = 10·√(n/p)`` in §3's units (``s_p = 1/p``, ``a_i ~ N(0, 1)``);
* ``preprocess="hermite"``: labels minus the batch's first-Hermite estimate ``A + z·B``,
  ``A = mean(y)``, ``B = mean(y z)`` (not a least-squares fit);
* ``readout_data="train_batch"``: the ridge readout is fitted on the last step's training batch;
* ``ridge_scale="sum"``: ``θ = (ΦᵀΦ + λI)⁻¹Φᵀy``, ``λ`` on the sum of squares (§3: on the mean);
* ``readout_labels="preprocessed"``: the ridge is fitted to the preprocessed labels and the prediction is
  the removed estimate plus the ridge output;
* ``test_estimate="test"``: the test-time estimate ``A, B`` is taken from the test labels themselves (the
  notebook's choice); ``"train"`` is the honest variant (the training batch's estimate);
* ``batch="reuse"``, ``init="orthogonal"``, ``lr_rule="n*s_p/d"``, ``overlap_scale="raw"``: [DTAPZK]'s
  ``simulation.py`` (THEORY §3.5, protocol ``dtapzk-reuse``): one batch of ``n = αd`` samples for every step,
  ``p = 2`` rows orthonormal and orthogonal to the teacher (overlap exactly 0), ``a = (1, −1)`` with
  ``s_p = 1/√p`` (their ``a = (1, −1)/√2``), ``W ← W − lr·∇ ½Σ_ν(y − f)²`` on weights of norm ``√D`` with
  pre-activations ``W x/√D`` — per neuron ``η̃ = lr·n·s_p/d`` in §3's units — no normalisation, and the
  overlaps in their units ``m = ⟨w, w*⟩/D`` (unnormalised, ``‖w⁰‖² = D``). Their arrays hold ``T_sim = 7``
  points ``t = 0 … 6`` recorded before each update (the loop's 7th update is never recorded), so the
  protocol runs 6 steps: ``per_step[t]`` is their ``magnetisation[t]``. Their ``main()`` defaults to
  ``α = 5``, ``D = 10⁴``; the published figure (``result.ipynb``, its data file) uses ``α = 3``, ``D = 5000``,
  which the table holds;
* ``step_cosines``: the record holds, per step and neuron, the cosines of the step ``G_i = w_i^t − w_i^{t−1}``
  with each teacher axis (a measurement, not a deviation).

``CASES`` lists what each published experiment varies (one-step: ``κ ∈ {1.3, 1.65, 2}``; multi-step: its
two examples); the table holds the first case that the figures or tables headline (one-step ``κ = 2``,
multi-step example 1). ``expand(data)`` gives one mapping per case the user did not override.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.data import Preprocess
from sim.giant_step.options import EstimateSource, Init, LrRule, NRound, OverlapScale, ReadoutData, RidgeScale
from theory.validate import Options, check_scalar

ONE_STEP_TARGET = "(x1 + He2(x1)/2 + He4(x1)/24 + x2 + He2(x2)/2 + He4(x2)/24)/2"  # (h(x1) + h(x2))/2
MULTI_STEP_EXAMPLES = ("(4*x1 + x1**2 + x2)/2",  # example 1: σ1* = 4z + z², σ2* = z
                       "(x1 + x1**2 + x2 - x2**2)/2")  # example 2: σ1* = z + z², σ2* = z − z²


@dataclass(frozen=True)
class Protocol:
    """A published experiment: its ``fields`` (``SimConfig`` values), the ``cases`` it runs (each a
    mapping merged onto the fields) and where it comes from (``source``)."""

    name: str
    source: str
    fields: Mapping[str, Any]
    cases: tuple[Mapping[str, Any], ...] = field(default=({},))


PROTOCOLS: Mapping[str, Protocol] = {p.name: p for p in (
    Protocol("dklps-one-step", "THEORY.md §3.2, [DKLPS] single_step notebook", {
        "target": ONE_STEP_TARGET, "activation": "relu", "d": 512, "p": 1024, "n_exp": 2.0, "n_scale": 1.0,
        "n_round": "floor", "steps": 1, "lr0": 10.0, "lr_rule": "sqrt(n/p)", "output_scale": "1/p",
        "init": "gaussian", "preprocess": "hermite", "noise": 0.0, "normalize": False, "readout": "final",
        "readout_data": "train_batch", "readout_labels": "preprocessed", "ridge_lambdas": (1.0,),
        "ridge_scale": "sum", "test_estimate": "test", "n_test": 100_000},
        cases=({"n_exp": 2.0}, {"n_exp": 1.65}, {"n_exp": 1.3})),
    Protocol("dklps-multi-step", "THEORY.md §3.2, [DKLPS] multiple_steps notebook", {
        "target": MULTI_STEP_EXAMPLES[0], "activation": "relu", "d": 4096, "p": 1024, "n_exp": 1.0,
        "n_scale": 1.0, "steps": 6, "lr0": 2.0, "lr_rule": "d^((ell-1)/2)", "output_scale": "1/p",
        "init": "hypercube", "preprocess": "none", "noise": 0.0, "normalize": False, "batch": "fresh",
        "readout": "none", "step_cosines": True},
        cases=tuple({"target": t} for t in MULTI_STEP_EXAMPLES)),
    Protocol("dtapzk-reuse", "THEORY.md §3.5, [DTAPZK] IdePHICS/benefit-reusing-batch simulation.py, result.ipynb", {
        "target": "tanh(x1 + He3(x2))", "activation": "relu", "d": 5000, "p": 2, "n_exp": 1.0, "n_scale": 3.0,
        "n_round": "floor", "steps": 6, "lr0": 0.2, "lr_rule": "n*s_p/d", "output_scale": "1/sqrt(p)",
        "init": "orthogonal", "preprocess": "none", "noise": 0.0, "normalize": False, "batch": "reuse",
        "readout": "none", "overlap_scale": "raw"}),
)}
NAMES = tuple(PROTOCOLS)
PROTOCOL = Options(NAMES)


def protocol(name: object) -> Protocol:
    """The protocol called ``name``; ``ValueError`` in one line naming the protocols otherwise."""
    return PROTOCOLS[check_scalar(name, "protocol", PROTOCOL)]


def _key(name: str) -> str:
    return name.replace("-", "_")


def apply(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (config fields, ``-`` or ``_`` in names) over its protocol's table when it names one."""
    given = {_key(k): v for k, v in data.items()}
    name = given.get("protocol")
    if name is None:
        return given
    return {**protocol(name).fields, **given}


def expand(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One mapping per case of the named protocol (``apply`` of each), cases the user overrode merged into
    one: ``{"protocol": "dklps-one-step"}`` gives three (``κ = 2, 1.65, 1.3``), with ``"n_exp"`` one."""
    given = {_key(k): v for k, v in data.items()}
    if given.get("protocol") is None:
        return [given]
    out: list[dict[str, Any]] = []
    for case in protocol(given["protocol"]).cases:
        merged = apply({**case, **given})
        if merged not in out:
            out.append(merged)
    return out


def deviations(cfg: Any) -> list[str]:
    """Every way ``cfg`` departs from the protocol of THEORY.md §3, in words built from its field values."""
    out = []
    if cfg.n_round == NRound.FLOOR:
        out.append(f"n = floor(n_scale·d^n_exp) = {cfg.n} (§3: ceil)")
    if cfg.lr_rule != LrRule.DIMENSION:
        out.append(f"per-neuron step η̃ = lr0·{cfg.lr_rule} = {cfg.lr0:g}·{cfg.lr_rule} = {cfg.lr_per_neuron:.6g}, "
                   f"η = η̃/s_p = {cfg.lr:.6g} on L (§3: η̃ = lr0·d^((ℓ−1)/2))")
    if cfg.init == Init.ORTHOGONAL:
        out.append("W⁰: orthonormal rows orthogonal to the teacher (overlap exactly 0), a_i = +1 for even i, −1 for "
                   "odd i ([DTAPZK]; §3: unit rows on the sphere, a = ±1 halves)")
    if cfg.reuse_batch:
        out.append(f"one batch of {cfg.n} samples for all {cfg.steps} steps (§3: a fresh batch per step)")
    if cfg.label_transform is not None:
        out.append(f"the steps fit T(y) = {cfg.label_transform} instead of y (the readout fits y)")
    if cfg.overlap_scale == OverlapScale.RAW:
        out.append("overlaps ⟨w_i, e_j⟩ of the unnormalised neurons, ‖w_i⁰‖ = 1 ([DTAPZK]'s m = ⟨w, w*⟩/D; §3: "
                   "cosines)")
    if cfg.preprocess == Preprocess.HERMITE:
        out.append("labels minus the batch's first-Hermite estimate A + z·B, A = mean(y), B = mean(y z) "
                   "(not a least-squares fit)")
    if cfg.has_readout:
        if cfg.readout_data == ReadoutData.TRAIN_BATCH:
            out.append(f"ridge readout fitted on the last step's training batch ({cfg.n} samples), not on "
                       "fresh samples")
        if cfg.ridge_scale == RidgeScale.SUM:
            lams = ", ".join(f"{x:g}" for x in cfg.ridge_lambdas)
            out.append(f"ridge penalty λ ∈ {{{lams}}} on the sum of squares, θ = (ΦᵀΦ + λI)⁻¹Φᵀy (§3: on the mean)")
        if cfg.preprocessed_readout:
            out.append(f"ridge fitted to the preprocessed labels ({cfg.preprocess}); prediction = the removed "
                       "low orders + ridge output")
            if cfg.test_estimate == EstimateSource.TEST:
                out.append("the test-time estimate of the removed low orders is computed from the test labels "
                           "themselves (test_estimate='test'; honest variant: 'train')")
    return out


__all__ = ["MULTI_STEP_EXAMPLES", "NAMES", "ONE_STEP_TARGET", "PROTOCOL", "PROTOCOLS", "Protocol", "apply",
           "deviations", "expand", "protocol"]
