"""Synthetic records for tests of what reads them (tables, verify's claims): a giant-step ``RunRecord`` or a
[ZG] ``ZGRecord`` with the fields a test gives and neutral values for the others."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim.giant_step.record import RunRecord, StepRecord
from sim.zhou_ge.record import (
    BaselineRecord,
    PhaseRecord,
    SnapshotRecord,
    Snapshots,
    Stage1Summary,
    Stage2Summary,
    TeacherSummary,
    Trajectory,
    ZGRecord,
)

STEP: dict[str, Any] = {"overlaps": [[0.0]], "singular_values": [0.0], "batch_loss": None, "coordinates": 1}
RUN: dict[str, Any] = {
    "kind": "giant_step", "key": "k", "config": {}, "seed": 0, "code_version": "test", "device": "cpu",
    "device_type": "cpu", "device_name": "cpu", "dtype": "float64", "engine": "dense", "engine_reason": "test",
    "init": "symmetric", "output_scale": "1/p", "overlap_units": "cosines", "protocol": None,
    "protocol_overrides": None, "deviations": [], "r": 1, "n": 1, "n_ridge": 2, "n_fit": 1, "n_holdout": 1,
    "n_test": 1, "ell": 1, "lr": 1.0, "lr_per_neuron": 1.0, "ridge_lambdas": [1.0], "ridge_mode": None,
    "timings": {"init": 0.0, "steps": 0.0, "readout": 0.0, "total": 0.0}, "peak_memory_bytes": None,
    "peak_memory_kind": "none", "throughput": None, "chunk_blocks": 1, "max_memory": 0, "world_size": 1,
    "num_threads": 1, "created": 0.0,
}


def run_record(steps: Sequence[Mapping[str, Any]] = ({},), **fields: Any) -> RunRecord:
    """A record whose ``per_step[t]`` has the entries of ``steps[t]`` (``t`` and ``STEP`` for the others) and
    whose other fields are ``fields`` over ``RUN``; the final overlaps and test error are the last step's."""
    per_step = tuple(StepRecord(**{**STEP, "t": t, **step}) for t, step in enumerate(steps))
    return RunRecord(**{**RUN, **fields, "per_step": per_step})


PHASE: dict[str, Any] = {
    "step": 0, "phase": 0, "lam": 1.0, "loss": 0.0, "reg_loss": 0.0, "grad_norm": 0.0, "far_mass": 0.0,
    "near_mass": [0.0], "signed_near_mass": [0.0], "total_mass": 0.0, "mean_angle": None, "near_mean_angle": None,
    "n_far": 0, "steps": 1, "converged": True,
}
ZG: dict[str, Any] = {
    "kind": "zhou_ge", "key": "k", "config": {}, "seed": 0, "code_version": "test", "device": "cpu",
    "device_type": "cpu", "device_name": "cpu", "variant": "test", "teacher": TeacherSummary([1.0], [[1.0]]),
    "stage1": Stage1Summary(1.0, 2, "population", 0.0), "stage2": Stage2Summary(0.0, 1.0),
    "trajectory": Trajectory(**{f: [] for f in Trajectory.__dataclass_fields__}),
    "snapshots": Snapshots(SnapshotRecord([], [], [], []), SnapshotRecord([], [], [], [])), "baseline": None,
    "steps": 0, "timings": {"stages12": 0.0, "stage3": 0.0, "baseline": 0.0, "total": 0.0}, "created": 0.0,
}


def zg_record(phases: Sequence[Mapping[str, Any]] = ({},), a_star: Sequence[float] | None = None,
              trajectory: Mapping[str, Sequence[Any]] | None = None, snapshot: Mapping[str, Sequence[Any]] | None = None,
              baseline: Mapping[str, Any] | None = None, stage2_loss: float = 0.0, **fields: Any) -> ZGRecord:
    """A [ZG] record whose ``phases[k]`` has the entries of ``phases[k]`` (``phase = k`` and ``PHASE`` for the
    others), teacher ``a_star``, trajectory columns ``trajectory`` (the others empty), ``snapshot`` at both the
    start and the end of stage 3, ``baseline`` (``loss_by_phase``, ``plateau``), stage-2 loss ``stage2_loss``,
    and other fields ``fields`` over ``ZG``."""
    values = {**ZG, **fields, "phases": tuple(PhaseRecord(**{**PHASE, "phase": k, **ph}) for k, ph in enumerate(phases)),
              "stage2": Stage2Summary(stage2_loss, 1.0)}
    if a_star is not None:
        r = range(len(a_star))
        values["teacher"] = TeacherSummary(list(a_star), [[float(i == j) for j in r] for i in r])
    if trajectory is not None:
        values["trajectory"] = Trajectory(**{f: list(trajectory.get(f, [])) for f in Trajectory.__dataclass_fields__})
    if snapshot is not None:
        snap = SnapshotRecord(**{k: list(v) for k, v in snapshot.items()})
        values["snapshots"] = Snapshots(snap, snap)
    if baseline is not None:
        values["baseline"] = BaselineRecord(**baseline)
    return ZGRecord(**values)
