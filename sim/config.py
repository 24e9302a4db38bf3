"""``SimConfig``: one validated, frozen description of a giant-step experiment (THEORY.md §3).

Every field is also a CLI flag of the same name (``--lr0``, ``--n-ridge``, …).
Invalid input fails in ``__post_init__`` — before any compute — with a
``ValueError`` whose one-line message says what to change. Device and memory
checks, which need the machine, are done by ``sim.plan.make_plan`` (also before
any compute).

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

import dataclasses
import json
import math
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

PREPROCESS = ("none", "exact", "estimate")
READOUT = ("every_step", "final", "none")
DTYPES = ("float32", "float64")
DEFAULT_LAMBDAS: tuple[float, ...] = tuple(10.0 ** (k / 2) for k in range(-12, 3))  # 1e-6 … 10
DEFAULT_BLOCK = 4096
MAX_SAMPLES = 10**12

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20,
          "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40, "tib": 2**40}


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


def _as_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{name} must be an integer ≥ {minimum}; got {value!r}")
    try:
        out = operator.index(value) if not isinstance(value, float) else int(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer ≥ {minimum}; got {value!r}") from None
    if out < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}; got {value!r}")
    return out


def _as_float(value: object, name: str, *, low: float | None = None, strict_low: bool = False,
              what: str = "") -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a finite number{what}; got {value!r}")
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number{what}; got {value!r}") from None
    if not math.isfinite(out):
        raise ValueError(f"{name} must be a finite number{what}; got {value!r}")
    if low is not None and (out < low or (strict_low and out == low)):
        raise ValueError(f"{name} must be a finite number{what}; got {value!r}")
    return out


def _as_bool(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"{name} must be true or false; got {value!r}")


def _choice(value: object, name: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return str(value)


@dataclass(frozen=True)
class SimConfig:
    """A giant-step experiment (THEORY.md §3); see the module docstring for the derived sizes.

    The teacher is ``W* = [e_1 … e_r]ᵀ`` (the first ``r`` coordinate axes of ``R^d``), so that
    ``x = z[:, :r]``: the data are rotation invariant, so this is no loss of generality.
    """

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
        from theory import Target, activation

        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        if not isinstance(self.target, str) or not self.target.strip():
            raise ValueError(f"target must be a non-empty expression such as 'x1 + x1*x2'; got {self.target!r}")
        try:
            tgt = Target.parse(self.target)
        except ValueError as exc:
            raise ValueError(f"target {self.target!r} cannot be read: {exc}") from None
        if not isinstance(self.activation, str):
            raise ValueError(f"activation must be a name such as 'relu'; got {self.activation!r}")
        try:
            activation(self.activation).torch_pair()
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        put("d", _as_int(self.d, "d", 1))
        put("p", _as_int(self.p, "p", 2))
        if self.p % 2:
            raise ValueError(f"p must be even (symmetric initialisation pairs neuron i with i+p/2); got p={self.p}")
        if self.d < tgt.r:
            raise ValueError(f"d={self.d} is smaller than the target's r={tgt.r} variables; use d ≥ {tgt.r}")
        put("_r", tgt.r)
        put("n_exp", _as_float(self.n_exp, "n_exp", low=0.0, strict_low=True, what=" > 0"))
        put("n_scale", _as_float(self.n_scale, "n_scale", low=0.0, strict_low=True, what=" > 0"))
        put("steps", _as_int(self.steps, "steps", 0))
        put("lr0", _as_float(self.lr0, "lr0", what=" (the learning-rate prefactor η0)"))
        if self.ell is not None:
            put("ell", _as_int(self.ell, "ell", 1))
        put("preprocess", _choice(self.preprocess, "preprocess", PREPROCESS))
        put("noise", _as_float(self.noise, "noise", low=0.0, what=" ≥ 0 (the label-noise variance Δ)"))
        put("normalize", _as_bool(self.normalize, "normalize"))
        put("reuse_batch", _as_bool(self.reuse_batch, "reuse_batch"))
        if self.n_ridge is not None:
            put("n_ridge", _as_int(self.n_ridge, "n_ridge", 2))
        put("n_test", _as_int(self.n_test, "n_test", 1))
        lams = self.ridge_lambdas
        if isinstance(lams, (int, float)) and not isinstance(lams, bool):
            lams = (lams,)
        if isinstance(lams, str) or not hasattr(lams, "__iter__"):
            raise ValueError(f"ridge_lambdas must be a list of positive numbers; got {self.ridge_lambdas!r}")
        lams = tuple(_as_float(x, "each ridge λ", low=0.0, strict_low=True, what=" > 0") for x in lams)
        if not lams:
            raise ValueError("ridge_lambdas must hold at least one positive λ")
        put("ridge_lambdas", lams)
        put("holdout", _as_float(self.holdout, "holdout", low=0.0, strict_low=True, what=" in (0, 1)"))
        if self.holdout >= 1:
            raise ValueError(f"holdout must be a fraction in (0, 1); got {self.holdout!r}")
        put("readout", _choice(self.readout, "readout", READOUT))
        if not isinstance(self.device, str) or not re.fullmatch(r"auto|cpu|cuda(:[0-9]+)?", self.device):
            raise ValueError(f"device must be auto, cpu, cuda or cuda:N; got {self.device!r}")
        put("dtype", _choice(self.dtype, "dtype", DTYPES))
        put("tf32", _as_bool(self.tf32, "tf32"))
        put("bf16", _as_bool(self.bf16, "bf16"))
        if self.bf16 and (self.tf32 or self.dtype != "float32"):
            raise ValueError("bf16 replaces the float32 matrix products of the giant step; use it with "
                             "dtype=float32 and without tf32")
        put("max_memory", parse_memory(self.max_memory))
        put("block_size", _as_int(self.block_size, "block_size", 1))
        # derived quantities
        n = self.n
        if n > MAX_SAMPLES:
            raise ValueError(f"n = ceil(n_scale·d^n_exp) = {n:.3g} samples is beyond any budget; lower n_exp or n_scale")
        if self.preprocess == "estimate" and self.ell_resolved >= 3:
            raise ValueError(f"preprocess='estimate' removes orders < 2 only (mean and linear fit); ell={self.ell_resolved} "
                             "needs preprocess='exact'")
        if self.readout != "none":
            if self.n_holdout < 1 or self.n_fit < 1:
                raise ValueError(f"n_ridge={self.n_ridge_resolved} with holdout={self.holdout} leaves an empty "
                                 "fit or held-out split; raise n_ridge or change holdout")
        eta = self.lr
        if not math.isfinite(eta):
            raise ValueError(f"learning rate η = lr0·√p·d^((ℓ−1)/2) = {eta} is not finite; lower lr0 or ell")

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
    def to_dict(self) -> dict[str, Any]:
        """All fields as plain JSON values (``ridge_lambdas`` as a list)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        out["ridge_lambdas"] = list(self.ridge_lambdas)
        return out

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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SimConfig:
        """Build from a mapping; unknown keys are refused with the list of known ones."""
        return from_mapping(cls, data)

    def replace(self, **changes: Any) -> SimConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def field_names(cls: type = SimConfig) -> tuple[str, ...]:
    """The fields of a config dataclass (default ``SimConfig``), in declaration order."""
    return tuple(f.name for f in fields(cls) if f.init)


def from_mapping(cls: type, data: Mapping[str, Any]) -> Any:
    """``cls(**data)`` for a config dataclass, with ``-`` read as ``_`` in keys; a non-mapping or an
    unknown key is refused in one line naming the known fields (validation proper is ``cls``'s own)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"a config must be a mapping of field names to values; got {type(data).__name__}")
    names = field_names(cls)
    unknown = [k for k in data if k.replace("-", "_") not in names]
    if unknown:
        raise ValueError(f"unknown config field {unknown[0]!r}; known fields are {', '.join(names)}")
    return cls(**{k.replace("-", "_"): v for k, v in data.items()})


def read_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML or JSON file as a dict (JSON is YAML, so one reader serves both)."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ValueError(f"cannot read config file {str(p)!r}: {exc.strerror}") from None
    try:
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"config file {str(p)!r} is not valid YAML/JSON: {first}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(p)!r} must hold a mapping of field names to values")
    return data


def load_config(path: str | Path, **overrides: Any) -> SimConfig:
    """``SimConfig`` from a YAML/JSON file, with ``overrides`` (e.g. from CLI flags) taking precedence."""
    data = read_mapping(path)
    data.update(overrides)
    return SimConfig.from_dict(data)
