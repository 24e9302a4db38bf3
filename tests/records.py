"""Synthetic giant-step records for tests of what reads them (tables, verify's claims): a ``RunRecord`` with the
fields a test gives and neutral values for the others."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim.giant_step.record import RunRecord, StepRecord

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
