"""How a giant-step run fits the machine: memory budget and chunking (THEORY.md §3).

``execution_plan(cfg)`` (an ``ExecutionPlan``: device, chunking, ridge mode, estimated time) resolves
``device="auto"`` (``sim.device``: CUDA when available, else CPU), estimates the memory the run needs — a
fixed part (weights, gradient and Gram accumulators, eigendecomposition) plus a part per resident block of
samples — and picks how many whole blocks a chunk holds so that the total stays within ``max_memory``
(default: a quarter of the host RAM, at most 4 GiB, on the CPU; 80 % of the GPU memory on CUDA). A budget
that cannot hold even one block fails here, before any compute, with one line saying what to change.

Compute is always done block by block with identical shapes, and every reduction
adds per-block partial sums in block order, so the chunk size (how many blocks
are generated and resident at once) never changes a single bit of the result.
A chunk holds at most ``MAX_CHUNK_BLOCKS`` blocks: since compute is per block,
more resident blocks would cost memory and buy no speed. The estimate is that of the engine that runs
(``sim.giant_step.choice``): the dense engine's samples have ``d`` coordinates, the reduced engine's at
most ``k_T`` (``max_coordinates``), plus its ``p × p`` covariance and eigendecomposition.

The memory includes the record the run keeps until it is stored (``record_bytes``: the per-step overlaps,
``p × r`` each); the plan carries the run's estimated time (``time_estimate``), which the drivers check
against ``--max-seconds`` before any compute (``sim.drivers``).

Pre-flight (``check_label_scale``): the labels' size ``√(E[g²] + Δ)`` is estimated on ``PILOT`` samples in
float64; a run whose sums of squared labels would overflow the compute dtype (per block) or float64
(per batch) is refused here, before any compute, with one line — e.g. ``target="1e30*x1"`` in float32 or
``noise=1e308``. What only shows up later (a too large step) is caught by the divergence checks of the
run (``sim.divergence``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.device import DType, default_budget, device_name, resolve_device
from sim.estimates import seconds_for
from sim.giant_step.choice import conditioning, max_coordinates
from sim.giant_step.config import SimConfig
from sim.giant_step.options import EngineName, RidgeMode

MAX_CHUNK_BLOCKS = 4
# the record a run keeps until it is stored (per-step overlaps p × r, …): bytes per number (a list slot, the
# float object, its JSON text and the store's packed copy) and per row (a list), measured ≤ 90 B per number
RECORD_NUMBER_BYTES, RECORD_ROW_BYTES = 100, 120
# the time estimate: floating-point operations per second (a generous lower bound: the 2-core AMD EPYC under
# load does 4.5e10 with one thread, an H100 or H200 far more), and operations per Gaussian number drawn
DRAW_FLOPS = 20
PILOT = 512  # samples of the label-scale pre-flight
FLOAT_MAX = {DType.FLOAT32: 3.4028234663852886e38, DType.FLOAT64: 1.7976931348623157e308}


@dataclass(frozen=True)
class ExecutionPlan:
    """How one config runs on this machine: device, memory (all sizes in bytes), chunking, ridge mode and
    estimated time."""

    device: str  # torch device string, e.g. "cpu", "cuda:0"
    device_type: str  # "cpu" or "cuda"
    device_name: str  # human-readable, e.g. the CPU model or GPU name
    dtype: str
    budget: int
    fixed_bytes: int
    block_bytes: int  # working memory of one block being processed
    resident_block_bytes: int  # memory of one generated block held in a chunk
    chunk_blocks: int
    ridge_mode: RidgeMode  # primal (p×p Gram) or dual (n_fit×n_fit kernel, when n_fit < p)
    seconds: float = 0.0  # the estimated time of the run (``time_estimate``)


def _fmt(nbytes: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= size:
            return f"{nbytes / size:.1f} {unit}"
    return f"{nbytes} B"


def memory_estimate(cfg: SimConfig) -> tuple[int, int, int, RidgeMode]:
    """``(fixed, block working memory, resident block, ridge mode)`` in bytes, a generous upper estimate.

    With ``k = d`` (dense engine) or ``k = k_T`` (reduced engine, ``sim.giant_step.choice.max_coordinates``).
    Fixed: the weights (float64 master, compute copy), the float64 step accumulator and one per-block
    partial (``p×k``); the reduced engine's ``p × p`` covariance, eigenvectors and factor and its new
    weights; the Gram matrix of the ``estimate`` preprocessing (``(k+1)²``); the ridge Gram and its
    eigendecomposition (``p×p``, float64), or in the dual the feature matrix and kernel (``n_fit×p``,
    ``n_fit²``). A reduced run that conditions on its batch (§3.4, ``sim.giant_step.conditioned``) holds the
    batch whole: ``Z_S``, its left and right probes and the step's work (``n × (3·k_T + 8·p + 4)`` float64
    numbers). Per block of ``B`` samples: inputs ``B×k``, pre-activations, activations, derivatives and
    the back-propagated factor (``B×p`` each; the reduced engine also a float64 copy), label and
    prediction columns.
    """
    e = cfg.dtype.bytes
    reduced = cfg.engine_resolved == EngineName.REDUCED
    B, p, L = cfg.block_size, cfg.p, len(cfg.ridge_lambdas)
    d = max_coordinates(cfg) if reduced else cfg.d
    fixed = p * d * (16 + 2 * e)
    if reduced:
        fixed += p * p * 8 * 4 + p * d * 8 * 2
        if conditioning(cfg):
            fixed += 8 * cfg.n * (3 * d + 8 * p + 4)
    if cfg.uses_estimate:
        fixed += (d + 1) ** 2 * (16 + e)
    mode = RidgeMode.PRIMAL
    if cfg.has_readout:
        if cfg.n_fit >= p:
            fixed += p * p * (32 + e) + p * L * 16
        else:
            m = cfg.n_fit
            fixed += m * p * 8 + m * m * 32 + p * L * 16
            mode = RidgeMode.DUAL
    fixed += record_bytes(cfg)
    fixed += 16 * 2**20  # small tensors, generator state, allocator slack
    block = e * B * (d + 5 * p + 6 * cfg.r + 2 * L + 16) + (8 * B * p if reduced else 0)
    resident = e * B * (d + 1)
    return fixed, block, resident, mode


def record_bytes(cfg: SimConfig) -> int:
    """The memory of the record a run keeps until it is stored: for ``t = 0..T`` and the final entry, the
    ``p × r`` overlaps (``RECORD_NUMBER_BYTES`` a number, ``RECORD_ROW_BYTES`` a row), the step cosines
    (``p``), the errors by λ; the store's compressed copy and the JSON line are included in the per-number
    bytes (a 20-step run with ``p = 65536`` keeps ≈ 120 MiB)."""
    rows = cfg.p * (RECORD_ROW_BYTES + RECORD_NUMBER_BYTES * (cfg.r + int(cfg.step_cosines)))
    return (cfg.steps + 2) * (rows + RECORD_NUMBER_BYTES * (4 * len(cfg.ridge_lambdas) + cfg.r + 16))


def time_estimate(cfg: SimConfig, device_type: str) -> float:
    """Seconds one run is expected to take on ``device_type``, from its floating-point work (``sim.estimates.seconds_for``):
    every step draws ``n`` samples of ``k`` coordinates (``k = d`` dense, ``k_T`` reduced) and multiplies
    them by the ``p × k`` weights twice; every readout (each step with ``readout="every_step"``, once with
    ``"final"``) draws and maps its ridge and test samples, forms the ``p × p`` Gram matrix (the
    ``n_fit × n_fit`` kernel when ``n_fit < p``) and decomposes it. An order of magnitude, not a promise:
    it is what ``--max-seconds`` is checked against before any compute. A reduced run that conditions on its
    batch (§3.4) also orthogonalises each step's ``p`` probes against the ``≤ k_T`` earlier ones."""
    reduced = cfg.engine_resolved == EngineName.REDUCED
    k = max_coordinates(cfg) if reduced else cfg.d
    p, n, steps = float(cfg.p), float(cfg.n), cfg.steps
    draws = n * k * (1 if cfg.reuse_batch else steps)
    work = steps * n * (4 * k * p + 10 * p) + DRAW_FLOPS * draws
    if reduced and conditioning(cfg):  # §3.4: each probe block against the earlier ones
        work += steps * n * (8 * k * p + 8 * p * p)
    readouts = cfg.readouts
    if readouts:
        m = float(cfg.n_fit)
        samples = float(cfg.n_ridge_resolved + cfg.n_test)
        solve = 2 * m * p * p + 10 * p**3 if m >= p else 2 * m * m * p + 10 * m**3
        work += readouts * (samples * (2 * k * p + DRAW_FLOPS * k + 10 * p) + solve)
    return seconds_for(work, device_type)


def check_label_scale(cfg: SimConfig) -> None:
    """Refuse (``ValueError``, one line) a config whose sums of squared labels overflow (module docstring)."""
    import torch

    from theory import Target

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(PILOT, cfg.r, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        y = Target.parse(cfg.target).evaluator("torch")(x).double()
    second = float((y * y).mean()) + cfg.noise
    size = f"√(E[g²] + Δ) ≈ {math.sqrt(second):.3g}" if math.isfinite(second) else "not finite in float64"
    limits = ((cfg.dtype, cfg.block_size, "a block of"), (DType.FLOAT64, cfg.n, "a batch of"))
    for dtype, rows, what in limits:
        if not math.isfinite(second) or rows * second > FLOAT_MAX[dtype] / 16:
            raise ValueError(f"the labels are too large to run: {size}, and their squares summed over {what} "
                             f"{rows} samples overflow {dtype} (max {FLOAT_MAX[dtype]:.3g}); rescale the target "
                             "or the noise" + (", or use --dtype float64" if dtype is not DType.FLOAT64 else ""))


def execution_plan(cfg: SimConfig) -> ExecutionPlan:
    """Resolve the device and chunking for ``cfg``; raises ``ValueError`` (one line) if it cannot run."""
    device, device_type = resolve_device(cfg.device)
    check_label_scale(cfg)
    budget = cfg.max_memory if cfg.max_memory is not None else default_budget(device)
    fixed, block, resident, mode = memory_estimate(cfg)
    need = fixed + block + resident
    if need > budget:
        record = record_bytes(cfg)
        lower = "--steps or --p (the record)" if record > block + resident else "--block-size"
        raise ValueError(
            f"max_memory={_fmt(budget)} is too small: this run needs {_fmt(fixed)} for weights, accumulators and "
            f"its record ({_fmt(record)} for {cfg.steps} steps) plus {_fmt(block + resident)} for one block of "
            f"{cfg.block_size} samples; raise --max-memory to at least {_fmt(need)} or lower {lower}")
    blocks_total = max(1, -(-max(cfg.n, cfg.n_ridge_resolved, cfg.n_test) // cfg.block_size))
    chunk = int(min(MAX_CHUNK_BLOCKS, blocks_total, max(1, (budget - fixed - block) // resident)))
    return ExecutionPlan(device, device_type, device_name(device), cfg.dtype, int(budget), fixed, block, resident,
                         chunk, mode, time_estimate(cfg, device_type))


__all__ = ["MAX_CHUNK_BLOCKS", "ExecutionPlan", "check_label_scale", "execution_plan", "memory_estimate", "record_bytes",
           "time_estimate"]
