"""The record of one giant-step run (THEORY.md §3): what ``sim.giant_step.run.simulate`` returns and the store
keeps.

``RunRecord`` is one run, ``StepRecord`` one entry of its ``per_step`` (``t = 0..T``; ``t = 0`` is the
random-features baseline, before any step). Both are frozen; their matrices are plain lists of lists at
float32 precision (what the store keeps, so a reload is identical), their lists of numbers plain lists.
``to_json`` gives the JSON object the store writes and ``from_json`` reads it back, field for field.

A run record holds:

* ``kind`` (``"giant_step"``), ``key`` (``sim.keys.run_key``: hash of the config with defaults resolved,
  the device type, the seed and the code version), ``config`` (every field, as given), ``seed``,
  ``code_version``, ``device``, ``device_type``, ``device_name``, ``dtype``;
* how it ran: ``engine`` (``"dense"`` or ``"reduced"``, the one that ran) and ``engine_reason`` (one line,
  ``sim.giant_step.choice``), ``init``, ``output_scale``, ``protocol`` (its name or ``None``),
  ``protocol_overrides`` (the fields given that differ from the protocol's table), ``deviations`` (every
  departure from THEORY §3 in words, ``sim.giant_step.protocols.deviations``);
* sizes: ``r``, ``n`` (per step), ``n_ridge``, ``n_fit``, ``n_holdout``, ``n_test``, ``ell``, ``lr`` (η, the
  step on ``L``), ``lr_per_neuron`` (η̃ = η·s_p);
* ``overlap_units`` (what ``overlaps`` are: cosines, or with ``overlap_scale="raw"`` the unnormalised
  ``⟨w_i, e_j⟩``, [DTAPZK]'s units, §3.5);
* ``per_step`` (``StepRecord`` s) and, of its last entry, ``coordinates`` (``k_T``: ``d`` for the dense
  engine, the reduced coordinates of §3.3 otherwise), ``overlaps`` (the final ``M = Ŵ W*ᵀ``, ``p × r``,
  neurons in index order — the first ``p/2`` have ``a_i = +1``), ``singular_values`` (of that ``M``),
  ``test_error`` (final, tuned λ; ``None`` without readout) and ``lambda_best``: properties, written to the
  JSON object too;
* ``ridge_lambdas``, ``ridge_mode``; ``timings`` (seconds: ``init``, ``steps``, ``readout``, ``total``),
  ``peak_memory_bytes`` and ``peak_memory_kind`` (see ``sim.memory``), ``throughput`` (samples·d·p per
  second of the steps — the dense-equivalent work, also for the reduced engine), ``chunk_blocks``,
  ``max_memory``, ``world_size`` (processes of a data-parallel run, ``sim.distributed``; 1 otherwise),
  ``num_threads``, ``created`` (unix time).

Everything except ``VOLATILE`` (timings, memory, throughput, chunking, processes, threads, creation time)
depends on (config, seed, code version, device type) only; ``strip_volatile`` leaves those out for comparing
runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from sim.packing import Provenance, field_json, field_values

Matrix = list[list[float]]
VOLATILE = ("timings", "peak_memory_bytes", "peak_memory_kind", "throughput", "chunk_blocks", "max_memory",
            "world_size", "num_threads", "created")


@dataclass(frozen=True)
class StepRecord:
    """The state after step ``t`` (THEORY §3): ``overlaps`` (``M``, ``p × r``), its ``singular_values``,
    ``batch_loss`` (the loss ``L`` on the batch of step ``t`` before the update; ``None`` at ``t = 0``),
    ``coordinates`` (``k_t``), ``step_cosines`` (``p × r``, ``cos(G_i, e_j)`` for the step
    ``G_i = w_i^t − w_i^{t−1}``, with ``cfg.step_cosines`` for ``t ≥ 1``; else ``None``) and, where a readout
    was done (else ``None``): ``test_error`` (tuned λ), ``test_error_by_lambda``, ``holdout_error_by_lambda``
    (one value per ridge λ), ``lambda_best``, ``train_error``."""

    t: int
    overlaps: Matrix
    singular_values: list[float]
    batch_loss: float | None
    coordinates: int
    step_cosines: Matrix | None = None
    test_error: float | None = None
    test_error_by_lambda: list[float] | None = None
    holdout_error_by_lambda: list[float] | None = None
    lambda_best: float | None = None
    train_error: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry as the JSON object the store keeps (one key per field, in field order)."""
        return field_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepRecord:
        """Inverse of ``to_json``."""
        return cls(**field_values(cls, data))


@dataclass(frozen=True)
class RunRecord(Provenance):
    """One giant-step run (module docstring; THEORY §3): the ``Provenance`` fields, then these."""

    dtype: str
    engine: str
    engine_reason: str
    init: str
    output_scale: str
    overlap_units: str
    protocol: str | None
    protocol_overrides: list[str] | None
    deviations: list[str]
    r: int
    n: int
    n_ridge: int
    n_fit: int
    n_holdout: int
    n_test: int
    ell: int
    lr: float
    lr_per_neuron: float
    ridge_lambdas: list[float]
    ridge_mode: str | None
    per_step: tuple[StepRecord, ...]
    timings: dict[str, float]
    peak_memory_bytes: int | None
    peak_memory_kind: str
    throughput: float | None
    chunk_blocks: int
    max_memory: int
    world_size: int
    num_threads: int
    created: float

    @property
    def coordinates(self) -> int:
        """``k_T``, the coordinates of the last step."""
        return self.per_step[-1].coordinates

    @property
    def overlaps(self) -> Matrix:
        """The final overlap matrix ``M = Ŵ W*ᵀ`` (``p × r``)."""
        return self.per_step[-1].overlaps

    @property
    def singular_values(self) -> list[float]:
        """The singular values of the final ``M``, descending."""
        return self.per_step[-1].singular_values

    @property
    def test_error(self) -> float | None:
        """The final test error at the tuned λ (``None`` without a final readout)."""
        return self.per_step[-1].test_error

    @property
    def lambda_best(self) -> float | None:
        """The tuned ridge λ of the final readout (``None`` without one)."""
        return self.per_step[-1].lambda_best

    def to_json(self) -> dict[str, Any]:
        """The record as the JSON object the store keeps: ``JSON_KEYS``, in that order."""
        out = {name: getattr(self, name) for name in JSON_KEYS}
        out["per_step"] = [step.to_json() for step in self.per_step]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunRecord:
        """Inverse of ``to_json`` (the final values are read from the last ``per_step`` entry)."""
        values = field_values(cls, data)
        values["per_step"] = tuple(StepRecord.from_json(step) for step in data["per_step"])
        return cls(**values)


_FINAL = ("overlaps", "singular_values", "test_error", "lambda_best")
_NAMES = tuple(f.name for f in fields(RunRecord))
_AT = _NAMES.index("ridge_lambdas")
_PER_STEP = _NAMES.index("per_step")
# the JSON object's keys, in its order: the fields, with the last step's values (``_FINAL``, ``coordinates``) among them
JSON_KEYS = (*_NAMES[:_AT], "coordinates", *_NAMES[_AT:_PER_STEP], *_FINAL, *_NAMES[_PER_STEP:])


def strip_volatile(rec: RunRecord) -> dict[str, Any]:
    """The JSON object of ``rec`` without ``VOLATILE`` and without ``config["max_memory"]`` (which changes the
    chunking, never the results) — for comparing runs."""
    out = {k: v for k, v in rec.to_json().items() if k not in VOLATILE}
    out["config"] = {k: v for k, v in rec.config.items() if k != "max_memory"}
    return out


__all__ = ["JSON_KEYS", "VOLATILE", "RunRecord", "StepRecord", "strip_volatile"]
