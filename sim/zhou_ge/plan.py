"""How a [ZG] run fits the machine: its device, memory and time, estimated before anything is allocated
(THEORY.md §4).

``resource_plan(cfg)`` resolves the device (``sim.device``), estimates the memory the run needs
(``memory_estimate``) and refuses, in one line before any compute, a run that needs more than its budget —
``cfg.max_memory``, or by default ``sim.device.default_budget`` (a quarter of the host's memory, at most
4 GiB, on the CPU; 80 % of the GPU's memory on CUDA). The budget itself is checked against the machine by
the kinds registry (``sim.kinds.Kind.plan``), as for every kind. The :class:`ResourcePlan` carries the run's estimated time
(``time_estimate``), which the drivers check against ``--max-seconds`` before any compute.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.device import default_budget, format_bytes, resolve
from sim.estimates import seconds_for
from sim.zhou_ge.config import ZGConfig

SLACK_BYTES = 16 * 2**20  # small tensors, generator state, allocator slack
# the time estimate (as ``sim.giant_step.plan``): floating-point operations per second, a generous lower bound,
# and operations per pair (student, teacher) of the population loss (arc-cosine kernel: acos, sqrt, …)
PAIR_FLOPS = 60


@dataclass(frozen=True)
class ResourcePlan:
    """Where a [ZG] run computes, its memory (bytes: ``need`` of ``budget``) and its estimated time."""

    device: str  # torch device string, e.g. "cpu", "cuda:0"
    device_type: str  # "cpu" or "cuda"
    device_name: str  # the CPU model or the GPU's name
    budget: int
    need: int
    seconds: float = 0.0  # the estimated time of the run (``time_estimate``)


def memory_estimate(cfg: ZGConfig) -> dict[str, int]:
    """A generous upper estimate of a [ZG] run's memory in bytes, by part (THEORY.md §4 stages).

    With ``e`` bytes per number (``dtype``), ``M = m + m*``:

    * ``population``: the ``m × M`` cosine and angle buffers of ``PopulationLoss`` (two), the ``M × d``
      stacked weights (four copies) and the ``m × d`` student, gradients and steps (eight copies);
    * ``gram``: the ``m × m`` kernel matrix of stages 2 and the baseline with its temporaries, the solve
      and the eigendecomposition (twelve ``m × m``);
    * ``teacher``: the ``d × m*`` Gaussian draw and its QR in float64 on the CPU (four copies);
    * ``samples``: stage 1 on samples (``stage1_gradient="samples"``): a block of ``block_size`` inputs
      with its ``m`` pre-activations (``block_size × (d + 2m + 4m*)``) and the float64 ``m × d``
      accumulators; the empirical stage-3 loss (``loss="fresh"`` or ``"fixed"``): ``n_samples`` inputs
      (twice, while they are joined) and six ``n_samples × m`` work arrays.
    """
    e = cfg.dtype.bytes
    m, d, ms = cfg.m, cfg.d, cfg.m_star
    M = m + ms
    parts = {
        "population": e * (2 * m * M + 4 * M * d + 8 * m * d),
        "gram": e * 12 * m * m,
        "teacher": 8 * 4 * d * ms,
        "samples": 0,
    }
    if cfg.samples_stage1:
        parts["samples"] += e * cfg.block_size * (d + 2 * m + 4 * ms) + 16 * m * d
    if cfg.empirical_loss:
        parts["samples"] += e * cfg.n_samples * (2 * d + 6 * m + 2)
    return parts


def time_estimate(cfg: ZGConfig, device_type: str) -> float:
    """Seconds one [ZG] run is expected to take at most on ``device_type`` (an order of magnitude, checked
    against ``--max-seconds`` before any compute): stage 1 (``stage1_n`` samples with
    ``stage1_gradient="samples"``), the ridge of stage 2 (``m³``) and every phase running its
    ``max_steps_per_phase`` steps of gradient descent, each a product of the ``m × d`` student with the
    ``M × d`` weights and the kernel of every pair (``PAIR_FLOPS``), plus ``n_samples`` inputs for an
    empirical loss."""
    m, d, M = float(cfg.m), float(cfg.d), float(cfg.m + cfg.m_star)
    work = 4 * m * M * d + 20 * m**3
    if cfg.samples_stage1:
        work += float(cfg.stage1_n) * d * (4 * m + 20)
    step = 4 * m * M * d + PAIR_FLOPS * m * M
    if cfg.empirical_loss:
        step += float(cfg.n_samples) * (6 * d * m + 20 * d)
    work += float(cfg.phases) * float(cfg.max_steps_per_phase) * step
    return seconds_for(work, device_type)


def resource_plan(cfg: ZGConfig) -> ResourcePlan:
    """Device and memory of ``cfg``; ``ValueError`` in one line, before any compute, when the device is not
    there or the run needs more memory than its budget.

    Parameters
    ----------
    cfg : ZGConfig
        The experiment (its ``device``, ``dtype``, sizes ``d``, ``m``, ``m_star``, ``n_samples`` and
        ``max_memory``).

    Returns
    -------
    ResourcePlan
        The resolved device, the budget and the estimated need (``memory_estimate``, plus ``SLACK_BYTES``).
    """
    where = resolve(cfg.device)
    budget = cfg.max_memory if cfg.max_memory is not None else default_budget(where.device)
    parts = memory_estimate(cfg)
    need = sum(parts.values()) + SLACK_BYTES
    if need > budget:
        biggest = max(parts, key=parts.__getitem__)
        raise ValueError(f"this [ZG] run needs about {format_bytes(need)} (most for {biggest}: "
                         f"{format_bytes(parts[biggest])} with d={cfg.d}, m={cfg.m}, m_star={cfg.m_star}) but "
                         f"max_memory={format_bytes(budget)}; lower --m, --d or --n-samples, or raise --max-memory")
    return ResourcePlan(where.device, where.device_type, where.device_name, int(budget), int(need),
                time_estimate(cfg, where.device_type))


__all__ = ["PAIR_FLOPS", "ResourcePlan", "SLACK_BYTES", "memory_estimate", "resource_plan", "time_estimate"]
