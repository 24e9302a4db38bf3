"""``SimConfig``: one validated, frozen description of a giant-step experiment (THEORY.md §3).

Every field is also a CLI flag of the same name (``--lr0``, ``--n-ridge``, …). Invalid input fails in
``__post_init__`` — before any compute — with a ``ValueError`` whose one-line message says what to change:
the bounds are the ``CONSTRAINTS`` table (``theory.validate``, which writes the message from the bound it
checks), the cross-field conditions the ``RULES`` (``sim.fields``). Device and memory checks, which need
the machine, are done by ``sim.giant_step.plan.make_plan`` (also before any compute).

Derived sizes (all deterministic functions of the fields):

* ``n = ceil(n_scale · d**n_exp)`` samples per giant step;
* ``ell`` (learning-rate exponent and preprocessing order) defaults to ``max(1, round(n_exp))``;
* ``η = lr0 · √p · d^{(ℓ−1)/2}`` (§3), so the per-neuron step is ``lr0 · d^{(ℓ−1)/2}``;
* ``n_ridge`` defaults to ``n``; ``round(holdout · n_ridge)`` of them are the held-out split used to
  pick λ, the rest fit the ridge readout.

Options that change numerics are off by default and part of the store key: ``tf32`` (TF32 matrix products
on CUDA) and ``bf16`` (the two matrix products per block of the giant step — ``H = z Wᵀ`` and ``Qᵀ z`` —
with bfloat16 inputs and float32 accumulation; on the CPU the product's output is rounded to bfloat16
before it is added to the float64 accumulator, on CUDA it is kept in float32 where torch supports
``out_dtype``). Their effect on the overlaps is measured by running the same config with and without them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from sim.device import DTYPES, check_device
from sim.fields import Config, Range, Rule, read_mapping, validate
from theory.validate import Boolean, Interval, Options, check_scalar

KIND = "giant_step"
PREPROCESS = ("none", "exact", "estimate")
READOUT = ("every_step", "final", "none")
DEFAULT_LAMBDAS: tuple[float, ...] = tuple(10.0 ** (k / 2) for k in range(-12, 3))  # 1e-6 … 10
DEFAULT_BLOCK = 4096
MAX_SAMPLES = 10**12
RIDGE_LAMBDA = Interval(float, 0, None, closed="neither")

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20,
          "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40, "tib": 2**40}

CONSTRAINTS = {
    "d": Interval(int, 1, None),
    "p": Interval(int, 2, None),
    "n_exp": Interval(float, 0, None, closed="neither"),
    "n_scale": Interval(float, 0, None, closed="neither"),
    "steps": Interval(int, 0, None),
    "lr0": Interval(float, what="the learning-rate prefactor η0"),
    "ell": Interval(int, 1, None),
    "preprocess": Options(PREPROCESS),
    "noise": Interval(float, 0, None, what="the label-noise variance Δ"),
    "normalize": Boolean(),
    "reuse_batch": Boolean(),
    "n_ridge": Interval(int, 2, None),
    "n_test": Interval(int, 1, None),
    "holdout": Range(float, 0, 1, closed="neither", noun="a fraction"),
    "readout": Options(READOUT),
    "dtype": Options(DTYPES),
    "tf32": Boolean(),
    "bf16": Boolean(),
    "block_size": Interval(int, 1, None),
}
OPTIONAL = ("ell", "n_ridge")  # None: the default derived from the other fields


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
}

RULES = (
    Rule(lambda c: c.p % 2 == 0,
         lambda c: f"p must be even (symmetric initialisation pairs neuron i with i+p/2); got p={c.p}"),
    Rule(lambda c: c.d >= c.r, lambda c: f"d={c.d} is smaller than the target's r={c.r} variables; use d ≥ {c.r}"),
    Rule(lambda c: not c.bf16 or (not c.tf32 and c.dtype == "float32"),
         lambda c: "bf16 replaces the float32 matrix products of the giant step; use it with dtype=float32 and "
                   "without tf32"),
    Rule(lambda c: c.n <= MAX_SAMPLES,
         lambda c: f"n = ceil(n_scale·d^n_exp) = {c.n:.3g} samples is beyond any budget; lower n_exp or n_scale"),
    Rule(lambda c: c.preprocess != "estimate" or c.ell_resolved < 3,
         lambda c: f"preprocess='estimate' removes orders < 2 only (mean and linear fit); ell={c.ell_resolved} "
                   "needs preprocess='exact'"),
    Rule(lambda c: c.readout == "none" or (c.n_holdout >= 1 and c.n_fit >= 1),
         lambda c: f"n_ridge={c.n_ridge_resolved} with holdout={c.holdout} leaves an empty fit or held-out "
                   "split; raise n_ridge or change holdout"),
    Rule(lambda c: math.isfinite(c.lr),
         lambda c: f"learning rate η = lr0·√p·d^((ℓ−1)/2) = {c.lr} is not finite; lower lr0 or ell"),
)


@dataclass(frozen=True)
class SimConfig(Config):
    """A giant-step experiment (THEORY.md §3); see the module docstring for the derived sizes.

    The teacher is ``W* = [e_1 … e_r]ᵀ`` (the first ``r`` coordinate axes of ``R^d``), so that
    ``x = z[:, :r]``: the data are rotation invariant, so this is no loss of generality.
    """

    kind: ClassVar[str] = KIND
    keyed_by_kind: ClassVar[bool] = False  # giant-step keys predate kinds (``sim.keys``)

    target: str = "x1"
    activation: str = "relu"
    d: int = 256
    p: int = 512
    n_exp: float = 1.0
    n_scale: float = 1.0
    steps: int = 1
    lr0: float = 1.0
    ell: int | None = None
    preprocess: str = "none"
    noise: float = 0.0
    normalize: bool = True
    reuse_batch: bool = False
    n_ridge: int | None = None
    n_test: int = 10_000
    ridge_lambdas: tuple[float, ...] = DEFAULT_LAMBDAS
    holdout: float = 0.2
    readout: str = "every_step"
    device: str = "auto"
    dtype: str = "float32"
    tf32: bool = False
    bf16: bool = False
    max_memory: int | None = None
    block_size: int = DEFAULT_BLOCK
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
        """Samples per giant step, ``ceil(n_scale · d**n_exp)`` (rounded first to 9 digits against float noise)."""
        return max(1, math.ceil(round(self.n_scale * float(self.d) ** self.n_exp, 9)))

    @property
    def ell_resolved(self) -> int:
        """``ℓ``: the learning-rate exponent and the preprocessing order; default ``max(1, round(n_exp))``."""
        return self.ell if self.ell is not None else max(1, round(self.n_exp))

    @property
    def lr(self) -> float:
        """``η = lr0 · √p · d^{(ℓ−1)/2}`` (THEORY §3)."""
        try:
            return self.lr0 * math.sqrt(self.p) * float(self.d) ** ((self.ell_resolved - 1) / 2)
        except OverflowError:
            return math.inf

    @property
    def n_ridge_resolved(self) -> int:
        return self.n_ridge if self.n_ridge is not None else max(2, self.n)

    @property
    def n_holdout(self) -> int:
        return int(round(self.holdout * self.n_ridge_resolved))

    @property
    def n_fit(self) -> int:
        return self.n_ridge_resolved - self.n_holdout

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
        return out


def load_config(path: str | Path, **overrides: Any) -> SimConfig:
    """``SimConfig`` from a YAML/JSON file, with ``overrides`` (e.g. from CLI flags) taking precedence."""
    data = read_mapping(path)
    data.update(overrides)
    return SimConfig.from_dict(data)


__all__ = ["CONSTRAINTS", "DEFAULT_BLOCK", "DEFAULT_LAMBDAS", "KIND", "MAX_SAMPLES", "PREPROCESS", "READOUT",
           "RULES", "SimConfig", "load_config", "parse_memory"]
