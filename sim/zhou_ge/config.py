"""``ZGConfig``: one validated, frozen [ZG] experiment (THEORY.md §4); the stages are ``sim.zhou_ge.stages``.

Teacher: ``m_star`` unit directions in ``R^d`` (``teacher_directions``), second layer ``teacher_a``
(``None``: random signs ``±1`` from the seed). Student width ``m`` (even, for the symmetric
initialisation of stage 1). Defaults are the simplest reading of §4; every other reading is an option and
``variant()`` says in one line which one a config runs. Invalid input fails in ``__post_init__`` with one
line: bounds in ``CONSTRAINTS`` (``theory.validate``), cross-field conditions in ``RULES``. Device and memory,
which need the machine, are checked by ``sim.zhou_ge.plan.resource_plan`` (also before any compute).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from sim.device import DTYPES, DType, check_device
from sim.fields import Config, Range, Rule, validate
from sim.giant_step.config import parse_memory
from theory.validate import Boolean, Interval, Options, check_scalar

KIND = "zhou_ge"
ACTIVATIONS = {"relu": 0, "relu[2:]": 2}  # name → min_order (Hermite orders removed below it)


class TeacherDirections(StrEnum):
    """The teacher's directions ``w*_j``: orthonormal, or independent random unit vectors."""

    ORTHONORMAL = "orthonormal"
    RANDOM = "random"


class Stage1Gradient(StrEnum):
    """The gradient of the stage-1 giant step: the population one, or one on ``stage1_n`` samples."""

    POPULATION = "population"
    SAMPLES = "samples"


class Stage3Loss(StrEnum):
    """The loss of stage 3: the population loss, or an empirical one on ``n_samples`` inputs, fresh at
    every step or fixed."""

    POPULATION = "population"
    FRESH = "fresh"
    FIXED = "fixed"


DIRECTIONS = tuple(TeacherDirections)
LOSSES = tuple(Stage3Loss)
STAGE1_GRADIENTS = tuple(Stage1Gradient)
MAX_STAGE1_N = 10**9

CONSTRAINTS = {
    "d": Interval(int, 2, None),
    "m": Interval(int, 2, None),
    "m_star": Interval(int, 1, None),
    "activation": Options(tuple(ACTIVATIONS)),
    "teacher_directions": Options(DIRECTIONS),
    "stage1_gradient": Options(STAGE1_GRADIENTS),
    "stage1_lr0": Interval(float, 0, None, what="η0 of the stage-1 step"),
    "stage1_ell": Interval(int, 1, None),
    "stage1_n_scale": Interval(float, 0, None, closed="neither"),
    "balance": Boolean(),
    "lam0": Interval(float, 0, None, closed="neither", what="the first weight decay λ0"),
    "lam_factor": Range(float, 0, 1, closed="neither", what="so that λ decreases"),
    "phases": Interval(int, 1, None),
    "lr": Interval(float, 0, None, closed="neither", what="the stage-3 step size"),
    "grad_tol": Interval(float, 0, None),
    "check_every": Interval(int, 1, None),
    "max_steps_per_phase": Interval(int, 1, None),
    "loss": Options(LOSSES),
    "n_samples": Interval(int, 1, None),
    "near_angle": Range(float, 0, math.pi / 2, closed="right", what="radians"),
    "record_every": Interval(int, 1, None),
    "baseline": Boolean(),
    "dtype": Options(DTYPES),
    "block_size": Interval(int, 1, None),
}
OPTIONAL = ("stage1_ell",)  # None: the teacher's first non-zero Hermite order
TEACHER_A = Interval(float)


def _teacher_a(cfg: ZGConfig, value: object) -> tuple[float, ...] | None:
    """``None`` or a tuple of ``m_star`` non-zero numbers."""
    if value is None:
        return None
    wrong = f"teacher_a must be a list of m_star={cfg.m_star} non-zero numbers; got {value!r}"
    ta = (value,) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if isinstance(ta, str) or not hasattr(ta, "__iter__"):
        raise ValueError(wrong)
    out = tuple(check_scalar(x, "each teacher_a entry", TEACHER_A) for x in ta)
    if len(out) != cfg.m_star or any(x == 0 for x in out):
        raise ValueError(wrong)
    return out


PARSERS = {"teacher_a": _teacher_a, "device": lambda cfg, v: check_device(v),
           "max_memory": lambda cfg, v: parse_memory(v)}

RULES = (
    Rule(lambda c: c.m % 2 == 0,
         lambda c: f"m must be even (stage 1's symmetric initialisation pairs neuron i with i+m/2); got m={c.m}"),
    Rule(lambda c: c.m >= c.m_star,
         lambda c: f"student width m={c.m} must be at least the teacher width m_star={c.m_star}"),
    Rule(lambda c: c.teacher_directions is not TeacherDirections.ORTHONORMAL or c.m_star <= c.d,
         lambda c: f"{c.m_star} orthonormal teacher directions need d ≥ m_star; got d={c.d}"),
    Rule(lambda c: not c.samples_stage1 or c.stage1_n <= MAX_STAGE1_N,
         lambda c: f"stage-1 batch n = {c.stage1_n:.3g} is too large; lower stage1_n_scale or stage1_ell"),
)


@dataclass(frozen=True)
class ZGConfig(Config):
    """One [ZG] experiment (THEORY.md §4); validated in ``__post_init__`` before any compute.

    Teacher: ``m_star`` unit directions in ``R^d`` (``teacher_directions``), second layer ``teacher_a``
    (``None``: random signs ``±1`` from the seed). Student width ``m`` (even, for the symmetric
    initialisation of stage 1). See ``sim.zhou_ge`` for the stages and the meaning of each option.
    """

    kind: ClassVar[str] = KIND

    d: int = 64
    m: int = 256
    m_star: int = 4
    activation: str = "relu[2:]"
    teacher_directions: TeacherDirections = TeacherDirections.ORTHONORMAL
    teacher_a: tuple[float, ...] | None = None
    # stage 1 (THEORY §3 giant step)
    stage1_gradient: Stage1Gradient = Stage1Gradient.POPULATION
    stage1_lr0: float = 1.0
    stage1_ell: int | None = None
    stage1_n_scale: float = 1.0
    # stage 2 / 3
    balance: bool = True
    lam0: float = 1e-2
    lam_factor: float = 0.5
    phases: int = 6
    lr: float = 0.1
    grad_tol: float = 0.1
    check_every: int = 25
    max_steps_per_phase: int = 4000
    loss: Stage3Loss = Stage3Loss.POPULATION
    n_samples: int = 4096
    # measurement
    near_angle: float = 0.2
    record_every: int = 100
    baseline: bool = True
    device: str = "auto"
    dtype: DType = DType.FLOAT64
    block_size: int = 4096
    max_memory: int | None = None  # memory budget (``sim.zhou_ge.plan``); never changes a result

    def __post_init__(self) -> None:
        validate(self, CONSTRAINTS, OPTIONAL, PARSERS, RULES)

    # -- derived ----------------------------------------------------------------------------------
    @property
    def min_order(self) -> int:
        """Hermite orders of relu removed below this (0 for relu, 2 for relu[2:])."""
        return ACTIVATIONS[self.activation]

    @property
    def even(self) -> bool:
        """``relu[2:] = |u|/2 − 1/√(2π)`` is even: ``w`` and ``−w`` are the same neuron."""
        return self.min_order >= 2

    @property
    def samples_stage1(self) -> bool:
        """Stage 1 steps on ``stage1_n`` samples (not on the population gradient)."""
        return self.stage1_gradient is Stage1Gradient.SAMPLES

    @property
    def empirical_loss(self) -> bool:
        """Stage 3 descends an empirical loss on ``n_samples`` inputs (not the population loss)."""
        return self.loss is not Stage3Loss.POPULATION

    @property
    def stage1_ell_resolved(self) -> int:
        """ℓ of the stage-1 step: the teacher's first non-zero Hermite order (1 for relu, 2 for relu[2:])."""
        return self.stage1_ell if self.stage1_ell is not None else max(1, self.min_order)

    @property
    def stage1_lr(self) -> float:
        """``η = lr0·√m·d^{(ℓ−1)/2}`` (THEORY §3; per-neuron step ``lr0·d^{(ℓ−1)/2}``)."""
        return self.stage1_lr0 * math.sqrt(self.m) * float(self.d) ** ((self.stage1_ell_resolved - 1) / 2)

    @property
    def stage1_n(self) -> int:
        """Stage-1 batch ``n = ceil(stage1_n_scale · d^ℓ)`` (``stage1_gradient="samples"``)."""
        return max(1, math.ceil(round(self.stage1_n_scale * float(self.d) ** self.stage1_ell_resolved, 9)))

    @property
    def lambdas(self) -> tuple[float, ...]:
        """``λ_k = λ0·lam_factor^k``, ``k = 0..phases−1``."""
        return tuple(self.lam0 * self.lam_factor**k for k in range(self.phases))

    def variant(self) -> str:
        """One line saying which reading of §4 this config runs (printed in reports)."""
        s1 = (f"stage 1: one §3 giant step ({self.stage1_gradient} gradient, ℓ={self.stage1_ell_resolved}, "
              f"η0={self.stage1_lr0:g}{', n=' + str(self.stage1_n) if self.samples_stage1 else ''}, "
              f"unit rows)")
        s2 = f"stage 2: exact ridge at λ0{' + rebalance |a_i|=‖w_i‖' if self.balance else ''}"
        stop = (f"until ‖∇L_λ‖ ≤ {self.grad_tol:g}·λ·‖θ‖ (checked every {self.check_every}) or "
                f"{self.max_steps_per_phase} steps")
        s3 = (f"stage 3: GD lr={self.lr:g} on L_λ ({self.loss} loss{', n=' + str(self.n_samples) if self.empirical_loss else ''}), "
              f"λ0={self.lam0:g}·{self.lam_factor:g}^k for {self.phases} phases, {stop}")
        return (f"[ZG] σ={self.activation} ({'1-homogeneous, even' if self.even else 'plain relu'}), "
                f"teacher {self.m_star} {self.teacher_directions} directions; {s1}; {s2}; {s3}; "
                f"near = angle ≤ {self.near_angle:g} rad")

    def key_dict(self, device_type: str) -> dict[str, Any]:
        """What determines a result: the fields, ``device`` replaced by the device type, without
        ``max_memory`` (a budget is checked before the run, it never changes one)."""
        out = self.to_dict()
        out.pop("max_memory")
        out["device"] = device_type
        out["stage1_ell"] = self.stage1_ell_resolved
        return out


__all__ = ["ACTIVATIONS", "CONSTRAINTS", "DIRECTIONS", "KIND", "LOSSES", "RULES", "STAGE1_GRADIENTS", "Stage1Gradient",
           "Stage3Loss", "TeacherDirections", "ZGConfig"]
