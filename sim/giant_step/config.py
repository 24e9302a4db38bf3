"""``SimConfig``: one validated, frozen description of a giant-step experiment (THEORY.md §3).

Every field is also a CLI flag of the same name (``--lr0``, ``--n-ridge``, …). Invalid input fails in
``__post_init__`` — before any compute — with a ``ValueError`` whose one-line message says what to change:
the bounds are the ``CONSTRAINTS`` table (``theory.validate``, which writes the message from the bound it
checks), the cross-field conditions the ``RULES`` (``sim.fields``). Device and memory checks, which need
the machine, are done by ``sim.giant_step.plan.execution_plan`` (also before any compute).

Derived sizes (all deterministic functions of the fields):

* ``n = ceil(n_scale · d**n_exp)`` samples per giant step (``n_round="floor"``: ``⌊·⌋``, §3.2);
* ``ell`` (learning-rate exponent and preprocessing order) defaults to ``max(1, round(n_exp))``;
* output scale ``s_p`` (``output_scale``): ``1/p`` (default, the authors' code) or ``1/√p`` (§3);
* per-neuron step ``η̃ = lr0 · d^{(ℓ−1)/2}`` (§3; ``lr_rule="sqrt(n/p)"``: ``lr0 · √(n/p)``, §3.2), the
  same under every output scale and initialisation: ``w_i ← w_i + η̃ a_i (1/n) Σ_ν r_ν σ'(⟨w_i,z_ν⟩) z_ν``,
  i.e. gradient descent on ``L`` with ``η = η̃/s_p`` (``lr``);
* ``n_ridge`` defaults to ``n``; ``round(holdout · n_ridge)`` of them are the held-out split used to
  pick λ, the rest fit the ridge readout (``readout_data="train_batch"``: the last step's batch of ``n``
  samples fits it).

Protocol options (THEORY §3): ``init`` (``symmetric``, ``gaussian``, ``hypercube``, ``orthogonal``: §3.5),
``output_scale``, ``overlap_scale`` (``raw``: unnormalised overlaps, §3.5),
``normalize``, ``batch`` (``fresh``: a new batch per step; ``reuse``: one batch of ``n`` samples for every
step, §3.5),
``label_transform`` (a polynomial or known activation ``T`` of ``y``: the steps see ``T(y)``, §3.5; the
readout fits the raw labels), ``preprocess``; the deviations of the authors' notebooks (§3.2) are fields
too (``sim.giant_step.protocols``), and ``protocol`` names a table of them that ``from_dict`` applies
before the fields given. ``engine`` (``auto``, ``dense``, ``reduced``) picks how the run is computed
(``sim.giant_step.choice``); ``auto`` is resolved in the store key, so it never changes a result's key.

``block_size`` (samples per seeded block, part of the key) defaults by device: ``DEFAULT_BLOCK`` (4096)
on the CPU, ``CUDA_BLOCK`` (2^16) on CUDA, where small blocks leave the reduced engine launch-bound.

Options that change numerics are off by default and part of the store key: ``tf32`` (TF32 matrix products
on CUDA) and ``bf16`` (the two matrix products per block of the giant step — ``H = z Wᵀ`` and ``Qᵀ z`` —
with bfloat16 inputs and float32 accumulation; on the CPU the product's output is rounded to bfloat16
before it is added to the float64 accumulator, on CUDA it is kept in float32 where torch supports
``out_dtype``). Their effect on the overlaps is measured by running the same config with and without them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from sim.data import LOW_ESTIMATES
from sim.device import DTYPES, DType, check_device
from sim.fields import Config, Range, Rule, read_mapping, validate
from sim.giant_step.choice import ENGINES, reduced_unsupported, resolve_engine
from sim.giant_step.options import (CUDA_BLOCK, DEFAULT_BLOCK, BatchUse, EngineName, EstimateSource,
                                    Init, LrRule, NRound, OutputScale, OverlapScale, Preprocess, Readout, ReadoutData,
                                    ReadoutLabels, RidgeScale, block_size_for,
                                    parse_label_transform)
from sim.giant_step.protocols import PROTOCOL, apply
from theory.validate import Boolean, Interval, Options, check_scalar

KIND = "giant_step"
PREPROCESS = tuple(Preprocess)
READOUT = tuple(Readout)
INITS = tuple(Init)
OUTPUT_SCALES = tuple(OutputScale)
LR_RULES = tuple(LrRule)
OVERLAP_SCALES = tuple(OverlapScale)
DEFAULT_LAMBDAS: tuple[float, ...] = tuple(10.0 ** (k / 2) for k in range(-12, 3))  # 1e-6 … 10
MAX_SAMPLES = 10**12
RIDGE_LAMBDA = Interval(float, 0, None, closed="neither")

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20,
          "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40, "tib": 2**40}

CONSTRAINTS = {
    "d": Interval(int, 1, None),
    "p": Interval(int, 2, None),
    "n_exp": Interval(float, 0, None, closed="neither"),
    "n_scale": Interval(float, 0, None, closed="neither"),
    "n_round": Options(tuple(NRound)),
    "steps": Interval(int, 0, None),
    "lr0": Interval(float, what="the learning-rate prefactor η0"),
    "lr_rule": Options(LR_RULES),
    "ell": Interval(int, 1, None),
    "output_scale": Options(OUTPUT_SCALES),
    "init": Options(INITS),
    "preprocess": Options(PREPROCESS),
    "noise": Interval(float, 0, None, what="the label-noise variance Δ"),
    "normalize": Boolean(),
    "overlap_scale": Options(OVERLAP_SCALES),
    "batch": Options(tuple(BatchUse)),
    "n_ridge": Interval(int, 2, None),
    "n_test": Interval(int, 1, None),
    "ridge_scale": Options(tuple(RidgeScale)),
    "holdout": Range(float, 0, 1, closed="neither", noun="a fraction"),
    "readout": Options(READOUT),
    "readout_data": Options(tuple(ReadoutData)),
    "readout_labels": Options(tuple(ReadoutLabels)),
    "test_estimate": Options(tuple(EstimateSource)),
    "step_cosines": Boolean(),
    "engine": Options(ENGINES),
    "protocol": PROTOCOL,
    "dtype": Options(DTYPES),
    "tf32": Boolean(),
    "bf16": Boolean(),
    "block_size": Interval(int, 1, None),
}
OPTIONAL = ("ell", "n_ridge", "protocol", "block_size")  # None: the default derived from the other fields (no protocol)


def parse_memory(value: object) -> int | None:
    """Bytes from an int or a string such as ``"512MB"``, ``"2GiB"``, ``"1.5g"`` (powers of 1024); ``None`` stays."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"max_memory must be a size such as 2GB or a number of bytes; got {value!r}")
    if isinstance(value, (int, float)):
        number, unit = float(value), ""
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", str(value))
        if not m or m.group(2).lower() not in _UNITS:
            raise ValueError(f"max_memory must be a size such as 2GB, 512MB or a number of bytes; got {value!r}")
        number, unit = float(m.group(1)), m.group(2).lower()
    size = number * _UNITS[unit]
    if not math.isfinite(size) or size < 1:
        raise ValueError(f"max_memory must be a positive size such as 2GB; got {value!r}")
    return int(size)


def _target_variables(target: object) -> int:
    """``r`` of a target string (``theory.Target``); one line if it cannot be read."""
    from theory import Target

    if not isinstance(target, str) or not target.strip():
        raise ValueError(f"target must be a non-empty expression such as 'x1 + x1*x2'; got {target!r}")
    try:
        return Target.parse(target).r
    except ValueError as exc:
        raise ValueError(f"target {target!r} cannot be read: {exc}") from None


def _activation(cfg: SimConfig, name: object) -> object:
    from theory import activation

    if not isinstance(name, str):
        raise ValueError(f"activation must be a name such as 'relu'; got {name!r}")
    try:
        activation(name).torch_pair()
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    return name


def _lambdas(cfg: SimConfig, value: object) -> tuple[float, ...]:
    lams = (value,) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if isinstance(lams, str) or not hasattr(lams, "__iter__"):
        raise ValueError(f"ridge_lambdas must be a list of positive numbers; got {value!r}")
    out = tuple(check_scalar(x, "each ridge λ", RIDGE_LAMBDA) for x in lams)
    if not out:
        raise ValueError("ridge_lambdas must hold at least one positive λ")
    return out


PARSERS = {
    "activation": _activation,
    "ridge_lambdas": _lambdas,
    "device": lambda cfg, v: check_device(v),
    "max_memory": lambda cfg, v: parse_memory(v),
    "label_transform": lambda cfg, v: parse_label_transform(v),
    "block_size": lambda cfg, v: block_size_for(cfg.device, v),
}

RULES = (
    Rule(lambda c: not c.is_symmetric or c.p % 2 == 0,
         lambda c: f"p must be even (symmetric initialisation pairs neuron i with i+p/2); got p={c.p}"),
    Rule(lambda c: c.init != Init.ORTHOGONAL or c.p <= c.d - c.r,
         lambda c: f"init='orthogonal' needs p ≤ d − r orthonormal rows orthogonal to the teacher; got p={c.p}, "
                   f"d − r = {c.d - c.r}"),
    Rule(lambda c: c.d >= c.r, lambda c: f"d={c.d} is smaller than the target's r={c.r} variables; use d ≥ {c.r}"),
    Rule(lambda c: not c.bf16 or (not c.tf32 and c.dtype is DType.FLOAT32),
         lambda c: "bf16 replaces the float32 matrix products of the giant step; use it with dtype=float32 and "
                   "without tf32"),
    Rule(lambda c: c.n <= MAX_SAMPLES,
         lambda c: f"n = ceil(n_scale·d^n_exp) = {c.n:.3g} samples is beyond any budget; lower n_exp or n_scale"),
    Rule(lambda c: not c.uses_estimate or c.ell_resolved < 3,
         lambda c: f"preprocess='{c.preprocess}' removes orders < 2 only (mean and linear part); "
                   f"ell={c.ell_resolved} needs preprocess='exact'"),
    Rule(lambda c: not c.preprocessed_readout or c.preprocess != Preprocess.NONE,
         lambda c: "readout_labels='preprocessed' fits the ridge to preprocessed labels; set preprocess "
                   "(exact, estimate or hermite) or use readout_labels='raw'"),
    Rule(lambda c: c.test_estimate == EstimateSource.TRAIN or (c.preprocessed_readout and c.uses_estimate),
         lambda c: "test_estimate='test' re-estimates the removed low orders on the test set; it needs "
                   "readout_labels='preprocessed' with preprocess 'estimate' or 'hermite'"),
    Rule(lambda c: c.engine != EngineName.REDUCED or reduced_unsupported(c) is None,
         lambda c: f"engine='reduced' cannot run this config exactly: {reduced_unsupported(c)}; use "
                   "engine='dense' or 'auto'"),
    Rule(lambda c: c.label_transform is None or c.preprocess != Preprocess.EXACT,
         lambda c: f"label_transform={c.label_transform!r} changes the labels' Hermite orders, so preprocess='exact' "
                   "(the target's own low orders) does not apply; use preprocess 'none' or 'hermite'"),
    Rule(lambda c: c.label_transform is None or not c.preprocessed_readout,
         lambda c: "label_transform changes the labels of the giant steps only; the readout fits the raw labels, "
                   "use readout_labels='raw'"),
    Rule(lambda c: not c.has_readout or (c.n_holdout >= 1 and c.n_fit >= 1),
         lambda c: f"n_ridge={c.n_ridge_resolved} with holdout={c.holdout} leaves an empty fit or held-out "
                   "split; raise n_ridge or change holdout"),
    Rule(lambda c: math.isfinite(c.lr),
         lambda c: f"learning rate η = η̃/s_p = lr0·{c.lr_rule}/s_p = {c.lr} is not finite; lower lr0 or ell"),
)


@dataclass(frozen=True)
class SimConfig(Config):
    """A giant-step experiment (THEORY.md §3); see the module docstring for the derived sizes.

    The teacher is ``W* = [e_1 … e_r]ᵀ`` (the first ``r`` coordinate axes of ``R^d``), so that
    ``x = z[:, :r]``: the data are rotation invariant, so this is no loss of generality.
    """

    kind: ClassVar[str] = KIND

    target: str = "x1"
    activation: str = "relu"
    d: int = 256
    p: int = 512
    n_exp: float = 1.0
    n_scale: float = 1.0
    n_round: NRound = NRound.CEIL
    steps: int = 1
    lr0: float = 1.0
    lr_rule: LrRule = LrRule.DIMENSION
    ell: int | None = None
    output_scale: OutputScale = OutputScale.INVERSE_P
    init: Init = Init.SYMMETRIC
    preprocess: Preprocess = Preprocess.NONE
    noise: float = 0.0
    normalize: bool = True
    overlap_scale: OverlapScale = OverlapScale.NORMALIZED
    batch: BatchUse = BatchUse.FRESH
    label_transform: str | None = None
    n_ridge: int | None = None
    n_test: int = 10_000
    ridge_lambdas: tuple[float, ...] = DEFAULT_LAMBDAS
    ridge_scale: RidgeScale = RidgeScale.MEAN
    holdout: float = 0.2
    readout: Readout = Readout.EVERY_STEP
    readout_data: ReadoutData = ReadoutData.FRESH
    readout_labels: ReadoutLabels = ReadoutLabels.RAW
    test_estimate: EstimateSource = EstimateSource.TRAIN
    step_cosines: bool = False
    engine: EngineName = EngineName.AUTO
    protocol: str | None = None
    device: str = "auto"
    dtype: DType = DType.FLOAT32
    tf32: bool = False
    bf16: bool = False
    max_memory: int | None = None
    block_size: int | None = None
    _r: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_r", _target_variables(self.target))
        validate(self, CONSTRAINTS, OPTIONAL, PARSERS, RULES)

    # -- derived sizes ----------------------------------------------------------------------------
    @property
    def r(self) -> int:
        """Number of teacher directions (largest variable index of the target)."""
        return self._r

    @property
    def n(self) -> int:
        """Samples per giant step, ``ceil(n_scale · d**n_exp)`` (``floor`` with ``n_round="floor"``; rounded
        first to 9 digits against float noise)."""
        value = round(self.n_scale * float(self.d) ** self.n_exp, 9)
        return max(1, math.floor(value) if self.n_round == NRound.FLOOR else math.ceil(value))

    @property
    def ell_resolved(self) -> int:
        """``ℓ``: the learning-rate exponent and the preprocessing order; default ``max(1, round(n_exp))``."""
        return self.ell if self.ell is not None else max(1, round(self.n_exp))

    @property
    def scale(self) -> float:
        """The output scale ``s_p`` of ``f = s_p Σ a_i σ(⟨w_i, z⟩)``: ``1/p`` or ``1/√p`` (THEORY §3)."""
        return 1.0 / self.p if self.output_scale == OutputScale.INVERSE_P else 1.0 / math.sqrt(self.p)

    @property
    def lr_per_neuron(self) -> float:
        """``η̃ = lr0 · d^{(ℓ−1)/2}`` (THEORY §3), ``lr0 · √(n/p)`` (``lr_rule="sqrt(n/p)"``, §3.2) or
        ``lr0 · n·s_p/d`` (``"n*s_p/d"``: [DTAPZK]'s ``W ← W − lr·∇ ½Σ_ν(y − f)²`` with pre-activations
        ``W x/√d``, §3.5)."""
        try:
            if self.lr_rule == LrRule.SQRT_N_OVER_P:
                return self.lr0 * math.sqrt(self.n / self.p)
            if self.lr_rule == LrRule.N_SCALE_OVER_D:
                return self.lr0 * self.n * self.scale / self.d
            return self.lr0 * float(self.d) ** ((self.ell_resolved - 1) / 2)
        except OverflowError:
            return math.inf

    @property
    def lr(self) -> float:
        """``η = η̃ / s_p``, the step of gradient descent on ``L`` (THEORY §3)."""
        return self.lr_per_neuron / self.scale

    @property
    def is_symmetric(self) -> bool:
        """Whether the network is the symmetric one (``init="symmetric"``: ``a = ±1`` halves, ``f(W⁰) = 0``, §3)."""
        return self.init == Init.SYMMETRIC

    @property
    def uses_estimate(self) -> bool:
        """Whether the low orders removed from the labels are estimated on a batch (``preprocess`` ``estimate``
        or ``hermite``, §3.2) rather than known (``exact``) or kept (``none``)."""
        return self.preprocess in LOW_ESTIMATES

    @property
    def has_readout(self) -> bool:
        """Whether the run does a ridge readout (``readout`` not ``none``)."""
        return self.readout != Readout.NONE

    @property
    def readouts(self) -> int:
        """How many readouts the run does: after every step and before the first (``T + 1``), after the last
        step only (1) or none (``readout``)."""
        return {Readout.EVERY_STEP: self.steps + 1, Readout.FINAL: 1, Readout.NONE: 0}[self.readout]

    def readout_after(self, t: int) -> bool:
        """Whether a readout is done after step ``t`` (``t = 0``: before the first step)."""
        return self.readout is Readout.EVERY_STEP or (self.readout is Readout.FINAL and t == self.steps)

    @property
    def preprocessed_readout(self) -> bool:
        """Whether the readout fits the preprocessed labels (``readout_labels="preprocessed"``, §3.2)."""
        return self.readout_labels == ReadoutLabels.PREPROCESSED

    @property
    def reuse_batch(self) -> bool:
        """Whether one batch serves every step (``batch="reuse"``)."""
        return self.batch == BatchUse.REUSE

    @property
    def n_ridge_resolved(self) -> int:
        return self.n_ridge if self.n_ridge is not None else max(2, self.n)

    @property
    def n_holdout(self) -> int:
        return int(round(self.holdout * self.n_ridge_resolved))

    @property
    def n_fit(self) -> int:
        """Samples the ridge is fitted on: the last step's batch (``readout_data="train_batch"``) or fresh ones."""
        return self.n if self.readout_data == ReadoutData.TRAIN_BATCH else self.n_ridge_resolved - self.n_holdout

    @property
    def engine_resolved(self) -> EngineName:
        """The engine that runs this config (``sim.giant_step.choice.resolve_engine``)."""
        return resolve_engine(self)[0]

    @property
    def engine_reason(self) -> str:
        """Why that engine (one line)."""
        return resolve_engine(self)[1]

    # -- (de)serialisation --------------------------------------------------------------------------
    def key_dict(self, device_type: str) -> dict[str, Any]:
        """What determines a result: all fields with defaults resolved, the device type in place of ``device``,
        and without ``max_memory`` (chunking does not change results, §3 reproducibility)."""
        out = self.to_dict()
        out.pop("max_memory")
        out["device"] = device_type
        out["ell"] = self.ell_resolved
        out["n_ridge"] = self.n_ridge_resolved
        out["target"] = self.target.strip()
        out["activation"] = self.activation.strip()
        out["engine"] = str(self.engine_resolved)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SimConfig:
        """Build from a mapping of fields; a ``protocol`` named there contributes its table first
        (``sim.giant_step.protocols``), every field given overrides it."""
        return super().from_dict(apply(data))


def load_config(path: str | Path, **overrides: Any) -> SimConfig:
    """``SimConfig`` from a YAML/JSON file, with ``overrides`` (e.g. from CLI flags) taking precedence."""
    data = read_mapping(path)
    data.update(overrides)
    return SimConfig.from_dict(data)


__all__ = ["CONSTRAINTS", "CUDA_BLOCK", "DEFAULT_BLOCK", "BatchUse", "DEFAULT_LAMBDAS", "INITS", "KIND", "LR_RULES", "MAX_SAMPLES",
           "OUTPUT_SCALES", "PREPROCESS", "READOUT", "RULES", "SimConfig", "load_config", "parse_memory"]
