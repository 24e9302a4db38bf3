"""The record of one [ZG] run (THEORY.md §4): what ``sim.zhou_ge.run.run_zhou_ge`` returns and the store keeps.

``ZGRecord`` is one run; its parts are small frozen records: ``TeacherSummary``, ``Stage1Summary``,
``Stage2Summary``, ``Trajectory`` (stage 3's measurements as columns), ``PhaseRecord`` (one λ phase of stage
3, at its end), ``SnapshotRecord`` / ``Snapshots`` (per-neuron state at the start and end of stage 3) and
``BaselineRecord`` (the fixed-feature baseline). Their lists are plain lists (what the store keeps, so a
reload is identical). ``to_json`` gives the JSON object the store writes and ``from_json`` reads it back,
field for field; the JSON keys are the field names, in field order.

A run record holds:

* ``kind`` (``"zhou_ge"``), ``key`` (``sim.keys.run_key``: hash of the config with defaults resolved, the
  device type, the seed and the code version), ``config`` (every ``ZGConfig`` field, as given), ``seed``,
  ``code_version``, ``device``, ``device_type``, ``device_name``;
* ``variant``: which reading of §4 ran, in one line (``ZGConfig.variant``);
* ``teacher``, ``stage1``, ``stage2``: the teacher and what stages 1 and 2 gave;
* ``trajectory`` and ``phases``: stage 3 (gradient descent on ``L_λ`` for ``λ_k = λ0·lam_factor^k``);
* ``snapshots``: the neurons at the start and the end of stage 3; ``baseline``: the fixed-feature baseline
  (``None`` without ``cfg.baseline``);
* ``steps`` (stage-3 steps in all), ``timings`` (seconds: ``stages12``, ``stage3``, ``baseline``,
  ``total``), ``created`` (unix time).

Everything except ``VOLATILE`` (timings, creation time) depends on (config, seed, code version, device type)
only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from sim.packing import Provenance, field_json, field_values

Matrix = list[list[float]]
VOLATILE = ("timings", "created")


@dataclass(frozen=True)
class TeacherSummary:
    """The teacher ``f* = Σ_j a*_j σ(⟨w*_j, x⟩)`` (THEORY §4): ``a_star`` (length ``m_star``) and ``cosines``
    (``m_star × m_star``, ``⟨w*_j, w*_k⟩`` of the unit directions; the identity for orthonormal teachers)."""

    a_star: list[float]
    cosines: Matrix

    def to_json(self) -> dict[str, Any]:
        """The summary as a JSON object."""
        return field_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TeacherSummary:
        """Inverse of ``to_json``."""
        return cls(**field_values(cls, data))


@dataclass(frozen=True)
class Stage1Summary:
    """Stage 1, the giant step (THEORY §4, §3): its learning rate ``lr`` (``η = lr0·√m·d^{(ℓ−1)/2}``), batch
    exponent ``ell`` (ℓ), ``gradient`` (``"population"`` or ``"samples"``) and ``span_overlap`` (mean norm of
    the projection of the unit stage-1 neurons on the teacher span, in [0, 1])."""

    lr: float
    ell: int
    gradient: str
    span_overlap: float

    def to_json(self) -> dict[str, Any]:
        """The summary as a JSON object."""
        return field_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Stage1Summary:
        """Inverse of ``to_json``."""
        return cls(**field_values(cls, data))


@dataclass(frozen=True)
class Stage2Summary:
    """Stage 2, the ridge second layer (THEORY §4): the population ``loss`` ``L`` after it and its weight
    decay ``lam`` (``λ0``)."""

    loss: float
    lam: float

    def to_json(self) -> dict[str, Any]:
        """The summary as a JSON object."""
        return field_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Stage2Summary:
        """Inverse of ``to_json``."""
        return cls(**field_values(cls, data))


@dataclass(frozen=True)
class Trajectory:
    """Stage 3 measured every ``record_every`` steps and at the end of each phase (THEORY §4), as columns of
    equal length (one entry per measurement; ``sim.zhou_ge.measure.measure`` gives the rows).

    ``step`` (stage-3 steps so far), ``phase`` (index ``k``), ``lam`` (``λ_k``), ``loss`` (population ``L``),
    ``reg_loss`` (``L_λ``), ``grad_norm`` (``‖∇L_λ‖``), ``far_mass`` (``Σ |a_i|‖w_i‖`` over the neurons
    farther than ``near_angle`` from every teacher), ``near_mass`` and ``signed_near_mass`` (per measurement
    a list of length ``m_star``: ``Σ |a_i|‖w_i‖`` and ``Σ a_i‖w_i‖`` of the neurons near teacher ``j``),
    ``total_mass``, ``mean_angle`` and ``near_mean_angle`` (mass-weighted mean angle to the nearest teacher,
    radians, of all neurons and of the near ones; ``None`` where there is no mass to average)."""

    step: list[int]
    phase: list[int]
    lam: list[float]
    loss: list[float]
    reg_loss: list[float]
    grad_norm: list[float]
    far_mass: list[float]
    near_mass: list[list[float]]
    signed_near_mass: list[list[float]]
    total_mass: list[float]
    mean_angle: list[float | None]
    near_mean_angle: list[float | None]

    @classmethod
    def from_rows(cls, rows: list[Mapping[str, Any]]) -> Trajectory:
        """The rows of ``sim.zhou_ge.measure.measure`` as columns."""
        return cls(**{f.name: [row[f.name] for row in rows] for f in fields(cls)})

    def to_json(self) -> dict[str, Any]:
        """The columns as a JSON object (one list per column, in field order)."""
        return field_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Trajectory:
        """Inverse of ``to_json``."""
        return cls(**field_values(cls, data))


TRAJECTORY = tuple(f.name for f in fields(Trajectory))  # the trajectory's columns, in order


@dataclass(frozen=True)
class PhaseRecord:
    """One λ phase of stage 3 at its end (THEORY §4): the last trajectory row of the phase (``Trajectory``
    gives what each of ``step`` … ``near_mean_angle`` is, here one value each), ``n_far`` (neurons with
    mass farther than ``near_angle`` from every teacher), ``steps`` (steps of this phase), ``converged``
    (the phase ended at approximate stationarity, not at ``max_steps_per_phase``) and ``baseline_loss``
    (population loss of the fixed-feature baseline at this ``λ``; ``None``, and no key in the JSON
    object, without the baseline)."""

    step: int
    phase: int
    lam: float
    loss: float
    reg_loss: float
    grad_norm: float
    far_mass: float
    near_mass: list[float]
    signed_near_mass: list[float]
    total_mass: float
    mean_angle: float | None
    near_mean_angle: float | None
    n_far: int
    steps: int
    converged: bool
    baseline_loss: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The phase as a JSON object (field order; ``baseline_loss`` only when there is one)."""
        out = field_json(self)
        if self.baseline_loss is None:
            del out["baseline_loss"]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PhaseRecord:
        """Inverse of ``to_json``."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name != "baseline_loss"}
        return cls(**values, baseline_loss=data.get("baseline_loss"))


@dataclass(frozen=True)
class SnapshotRecord:
    """Per-neuron state (THEORY §4 measurements), each a list of length ``m``: ``angle`` (radians, to the
    nearest teacher; for ``relu[2:]`` to ``±w*_j``), ``nearest`` (index of that teacher), ``norm``
    (``‖w_i‖``) and ``a`` (``a_i``)."""

    angle: list[float]
    nearest: list[int]
    norm: list[float]
    a: list[float]

    def to_json(self) -> dict[str, Any]:
        """The snapshot as a JSON object."""
        return field_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SnapshotRecord:
        """Inverse of ``to_json``."""
        return cls(**field_values(cls, data))


@dataclass(frozen=True)
class Snapshots:
    """The neurons at the ``start`` of stage 3 (after stage 2) and at its ``end``."""

    start: SnapshotRecord
    end: SnapshotRecord

    def to_json(self) -> dict[str, Any]:
        """``{"start": …, "end": …}``."""
        return {"start": self.start.to_json(), "end": self.end.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Snapshots:
        """Inverse of ``to_json``."""
        return cls(SnapshotRecord.from_json(data["start"]), SnapshotRecord.from_json(data["end"]))


@dataclass(frozen=True)
class BaselineRecord:
    """The fixed-feature baseline (THEORY §4): first layer frozen at the stage-1 ``W¹``, exact ridge second
    layer. ``loss_by_phase``: its population loss at each ``λ_k`` (one per phase); ``plateau``:
    ``min_a L(a, W¹)`` (λ → 0), the best that model can do."""

    loss_by_phase: list[float]
    plateau: float

    def to_json(self) -> dict[str, Any]:
        """The baseline as a JSON object."""
        return field_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BaselineRecord:
        """Inverse of ``to_json``."""
        return cls(**field_values(cls, data))


# the fields of ZGRecord that are records themselves, with their JSON readers
_PARTS = {"teacher": TeacherSummary.from_json, "stage1": Stage1Summary.from_json, "stage2": Stage2Summary.from_json,
          "trajectory": Trajectory.from_json, "snapshots": Snapshots.from_json}


@dataclass(frozen=True)
class ZGRecord(Provenance):
    """One [ZG] run (module docstring; THEORY §4): the ``Provenance`` fields, then these. ``phases`` holds one
    ``PhaseRecord`` per λ, in order."""

    variant: str
    teacher: TeacherSummary
    stage1: Stage1Summary
    stage2: Stage2Summary
    trajectory: Trajectory
    phases: tuple[PhaseRecord, ...]
    snapshots: Snapshots
    baseline: BaselineRecord | None
    steps: int
    timings: dict[str, float]
    created: float

    def to_json(self) -> dict[str, Any]:
        """The record as the JSON object the store keeps: one key per field, in field order."""
        out = field_json(self)
        for name in _PARTS:
            out[name] = out[name].to_json()
        out["phases"] = [ph.to_json() for ph in self.phases]
        out["baseline"] = None if self.baseline is None else self.baseline.to_json()
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ZGRecord:
        """Inverse of ``to_json``."""
        values = field_values(cls, data)
        for name, read in _PARTS.items():
            values[name] = read(data[name])
        values["phases"] = tuple(PhaseRecord.from_json(ph) for ph in data["phases"])
        values["baseline"] = None if data["baseline"] is None else BaselineRecord.from_json(data["baseline"])
        return cls(**values)


__all__ = ["TRAJECTORY", "VOLATILE", "BaselineRecord", "PhaseRecord", "SnapshotRecord", "Snapshots", "Stage1Summary",
           "Stage2Summary", "TeacherSummary", "Trajectory", "ZGRecord"]
