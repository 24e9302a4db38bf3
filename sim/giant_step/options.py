"""Option values and field conversions of ``SimConfig`` (THEORY.md §3, §3.2, §3.5).

* The options as ``StrEnum`` s — ``Init``, ``OutputScale``, ``LrRule``, ``Preprocess`` (``sim.data``, where the
  labels are preprocessed), ``Readout``, ``ReadoutData``, ``ReadoutLabels``, ``EstimateSource``, ``RidgeScale``,
  ``OverlapScale``, ``NRound``, ``RidgeMode``, ``EngineName``: a config field holds
  the member (``theory.validate.Options`` converts the text given), ``to_dict`` and the store its text.
* ``BatchUse``: how the steps use their samples — a fresh batch per step (§3) or one batch for all
  (``reuse``, §3.5).
* ``block_size_for``: the default block size by device — ``DEFAULT_BLOCK`` on the CPU (what every stored
  CPU record used), ``CUDA_BLOCK`` on CUDA, where 4096-sample blocks left the reduced engine launch-bound
  (0.04 of its limit). The resolved size is a field, so the key records it.
* ``parse_label_transform``: a label transformation ``T(y)`` checked by the safe parser (``sim.data``).
"""

from __future__ import annotations

from enum import StrEnum

from sim.data import Preprocess
from sim.device import resolve_device

DEFAULT_BLOCK = 4096
CUDA_BLOCK = 2**16


class BatchUse(StrEnum):
    """How the giant steps use their samples: a fresh batch per step, or one batch reused (§3.5)."""

    FRESH = "fresh"
    REUSE = "reuse"


class Init(StrEnum):
    """The initialisation of the network (§3, §3.5; ``sim.giant_step.init``)."""

    SYMMETRIC = "symmetric"
    GAUSSIAN = "gaussian"
    HYPERCUBE = "hypercube"
    ORTHOGONAL = "orthogonal"


class OutputScale(StrEnum):
    """The output scale ``s_p`` of ``f = s_p Σ a_i σ(⟨w_i, z⟩)`` (§3)."""

    INVERSE_P = "1/p"
    INVERSE_SQRT_P = "1/sqrt(p)"


class LrRule(StrEnum):
    """The rule of the per-neuron step ``η̃``: ``lr0·d^{(ℓ−1)/2}`` (§3), ``lr0·√(n/p)`` (§3.2) or
    ``lr0·n·s_p/d`` (§3.5)."""

    DIMENSION = "d^((ell-1)/2)"
    SQRT_N_OVER_P = "sqrt(n/p)"
    N_SCALE_OVER_D = "n*s_p/d"


class Readout(StrEnum):
    """When the ridge readout is done: after every step, after the last one, never (§3)."""

    EVERY_STEP = "every_step"
    FINAL = "final"
    NONE = "none"


class ReadoutData(StrEnum):
    """What the ridge readout is fitted on: fresh samples (§3) or the last step's batch (§3.2)."""

    FRESH = "fresh"
    TRAIN_BATCH = "train_batch"


class ReadoutLabels(StrEnum):
    """The labels the ridge readout fits: the raw noisy ones (§3) or the preprocessed ones (§3.2)."""

    RAW = "raw"
    PREPROCESSED = "preprocessed"


class EstimateSource(StrEnum):
    """Where the test-time estimate of the removed low orders comes from: the fit data (``train``) or the test
    labels themselves (``test``, the one-step notebook, §3.2)."""

    TRAIN = "train"
    TEST = "test"


class RidgeScale(StrEnum):
    """What the ridge penalty ``λ`` multiplies: the mean of squares (§3) or the sum (§3.2)."""

    MEAN = "mean"
    SUM = "sum"


class OverlapScale(StrEnum):
    """The overlaps' units: cosines of the normalised neurons (§3) or ``⟨w_i, e_j⟩`` unnormalised (§3.5)."""

    NORMALIZED = "normalized"
    RAW = "raw"


class NRound(StrEnum):
    """How ``n_scale · d^n_exp`` is rounded to the batch size ``n``: up (§3) or down (§3.2)."""

    CEIL = "ceil"
    FLOOR = "floor"


class RidgeMode(StrEnum):
    """How the ridge readout is solved: the ``p × p`` Gram matrix or the ``n_fit × n_fit`` kernel
    (``sim.giant_step.readout``)."""

    PRIMAL = "primal"
    DUAL = "dual"


class EngineName(StrEnum):
    """The engine that runs a config (``sim.giant_step.choice``): ``auto`` picks one of the others."""

    AUTO = "auto"
    DENSE = "dense"
    REDUCED = "reduced"


def block_size_for(device: str, value: object) -> int:
    """``value``, or the default block size of the device ``device`` resolves to (module docstring)."""
    if value is not None:
        return int(value)  # type: ignore[call-overload] - checked by the config's Interval first
    return CUDA_BLOCK if resolve_device(device)[1] == "cuda" else DEFAULT_BLOCK


def parse_label_transform(value: object) -> str | None:
    """``value`` (an expression in ``y``) stripped, after the safe parser has read it; ``None`` stays."""
    from sim.data import label_transform

    if value is None:
        return None
    label_transform(value)  # type: ignore[arg-type] - refuses, in one line, what the parser cannot read
    return str(value).strip()


__all__ = ["CUDA_BLOCK", "DEFAULT_BLOCK", "BatchUse", "EngineName", "EstimateSource", "Init", "LrRule",
           "NRound", "OutputScale", "OverlapScale", "Preprocess", "Readout", "ReadoutData", "ReadoutLabels", "RidgeMode",
           "RidgeScale", "block_size_for",
           "parse_label_transform"]
