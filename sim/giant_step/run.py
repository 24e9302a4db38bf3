"""One run of the giant-step protocol, end to end (THEORY.md §3); the drivers are ``sim.drivers``.

``simulate(cfg, seed)`` returns the run's ``RunRecord`` (``sim.giant_step.record``: its fields, and the JSON
object the store keeps). A run whose loss, weights, features or errors stop being finite raises
``sim.divergence.Diverged`` at that step (nothing is returned, so nothing non-finite is stored).

What is promised about bits: on one machine with a fixed number of threads (``num_threads``, torch's
intra-op thread count, recorded) a record is bitwise the same for every chunk size and every repetition.
Across thread counts (or CPU models) the matrix-product and eigendecomposition libraries may split their
sums differently, so records agree to rounding only: about 1e-6 relative for float32 runs, 1e-12 for
float64 (measured: ``holdout_error_by_lambda`` moved by 2.3e-6 between 1 and 2 threads on an AMD EPYC;
overlaps and losses did not move). The store key does not include the thread count, so a stored record is
reused by any thread count. A data-parallel run over ``w > 1`` processes adds the ranks' float64 sums in
another order and agrees with the single-process record to the same tolerance (not bitwise); the store
key does not include ``w`` either.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from sim.device import DType
from sim.distributed import DistContext, Shard
from sim.divergence import Diverged, check_finite, guarded
from sim.giant_step.common import State
from sim.giant_step.config import KIND, SimConfig
from sim.giant_step.engine import make_engine
from sim.giant_step.options import OverlapScale
from sim.giant_step.overlaps import overlap_matrix, singular_values, step_cosines
from sim.giant_step.plan import ExecutionPlan, execution_plan
from sim.giant_step.protocols import deviations
from sim.giant_step.record import RunRecord, StepRecord
from sim.keys import check_seed, run_key
from sim.memory import PeakMemory
from sim.progress import phase
from sim.version import code_version

OVERLAP_UNITS = {"normalized": "cosines ⟨ŵ_i, e_j⟩ of the normalised neurons (THEORY §3)",
                 "raw": "⟨w_i, e_j⟩ of the unnormalised neurons with ‖w_i⁰‖ = 1: [DTAPZK]'s m = ⟨w, w*⟩/D with "
                        "‖w⁰‖² = ‖w*‖² = D (THEORY §3.5), not normalised"}


@contextmanager
def _precision(device_type: str, tf32: bool) -> Iterator[None]:
    """TF32 matrix products on CUDA only when asked for; the CPU's precision is left alone."""
    if device_type != "cuda":
        yield
        return
    old = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(old)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(torch.device(device))


def _rounded(M: np.ndarray) -> list[list[float]]:
    """``M`` at float32 precision as plain lists (what the store keeps, so a reload is identical)."""
    return M.astype(np.float32).astype(np.float64).tolist()


def simulate(cfg: SimConfig, seed: int = 0, progress: bool = False, plan: ExecutionPlan | None = None,
             dist: DistContext | None = None) -> RunRecord:
    """Run the §3 protocol for ``cfg`` and ``seed`` and return its record (THEORY.md §3).

    Parameters
    ----------
    cfg : SimConfig
        The experiment: target, σ, ``d``, ``p``, batch size ``n``, ``T = steps``, readout, device.
    seed : int
        Seed of every random stream of the run (``sim.keys.stream_seed``): ``W⁰``, the batches, the
        ridge, held-out and test sets.
    progress : bool
        A progress bar (blocks) on stderr.
    plan : ExecutionPlan, optional
        Device and chunking (``sim.giant_step.plan.execution_plan(cfg)`` when ``None``).
    dist : DistContext, optional
        Run data-parallel over the ranks of that process group: every rank calls ``simulate`` with the
        same arguments and gets the same record (``sim.distributed``).

    Returns
    -------
    RunRecord
        The run's record (``sim.giant_step.record``); ``overlaps`` is ``M = Ŵ W*ᵀ`` of shape ``(p, r)``
        (list of lists), ``per_step`` has ``T + 1`` entries (``t = 0`` before any step), each
        ``test_error_by_lambda`` one value per ``cfg.ridge_lambdas``.

    Raises
    ------
    ValueError
        One line, before any compute, if the config cannot run here (device, memory, label scale).
    sim.divergence.Diverged
        When the loss, the weights, the features or an error stops being finite: names the quantity and
        the step, says what to change.
    """
    if not isinstance(cfg, SimConfig):
        raise ValueError(f"cfg must be a SimConfig; got {type(cfg).__name__}")
    seed = check_seed(seed)
    plan = plan or execution_plan(cfg)
    shard = Shard(dist.rank, dist.world_size) if dist is not None else Shard(0, 1)
    if dist is not None and plan.device_type == "cuda" and plan.device != dist.device_for("cuda"):
        plan = replace(plan, device=dist.device_for("cuda"))
    progress = progress and shard.rank == 0
    c = cfg
    timings = {"init": 0.0, "steps": 0.0, "readout": 0.0}
    t_start = time.perf_counter()
    per_step: list[StepRecord] = []
    with PeakMemory(plan.device) as peak, _precision(plan.device_type, c.tf32), torch.no_grad():
        engine = make_engine(c, seed, plan, progress, shard)
        try:
            state = engine.init()
            _sync(plan.device)
            timings["init"] = time.perf_counter() - t_start
            for t in range(c.steps + 1):
                loss, cosines = None, None
                if t > 0:
                    phase(engine, f"step {t}/{c.steps}")
                    t0 = time.perf_counter()
                    previous = state.W
                    state, loss = engine.step(state, t)
                    _sync(plan.device)
                    timings["steps"] += time.perf_counter() - t0
                    if c.step_cosines:
                        cosines = _rounded(step_cosines(previous, state.W, c.r))
                per_step.append(_entry(c, t, state, loss, cosines, engine, timings))
        except Diverged as exc:  # the engines name the quantity and the step; what to change comes from c
            raise exc.with_hint(divergence_hint(c)).with_traceback(exc.__traceback__) from None
        finally:
            engine.close()
    timings["total"] = time.perf_counter() - t_start
    return _record(c, seed, plan, per_step, timings, peak, shard.world_size)


def divergence_hint(c: SimConfig) -> str:
    """What to change when ``c`` diverges, built from its fields (``sim.divergence.Diverged.hint``)."""
    ways = [f"lower lr0 (now {c.lr0:g})"]
    if not c.normalize:
        ways.append("turn normalisation on (--normalize)")
    if c.dtype is not DType.FLOAT64:
        ways.append("use --dtype float64")
    ways.append("or rescale the target or the noise")
    return ", ".join(ways)


def _entry(c: SimConfig, t: int, state: State, loss: float | None, cosines: list[list[float]] | None,
           engine: Any, timings: dict[str, float]) -> StepRecord:
    """The ``per_step`` entry after step ``t``: overlaps, singular values, the readout if one is due."""
    W = state.W
    check_finite(W, "first-layer weight matrix W", t)
    M = overlap_matrix(W, c.r, c.overlap_scale is OverlapScale.NORMALIZED)
    with guarded("overlap matrix M = Ŵ W*ᵀ", t):
        sv = singular_values(M)
    readout: dict[str, Any] = {}
    if c.readout_after(t):
        phase(engine, f"readout after step {t}/{c.steps}")
        t0 = time.perf_counter()
        readout = engine.readout(state, t)
        _sync(str(W.device))
        timings["readout"] += time.perf_counter() - t0
    return StepRecord(t=t, overlaps=_rounded(M), singular_values=sv, batch_loss=loss, coordinates=int(W.shape[1]),
                      step_cosines=cosines, **readout)


def _overrides(c: SimConfig) -> list[str] | None:
    """The fields of ``c`` that differ from its protocol's table (``None`` without a protocol)."""
    if c.protocol is None:
        return None
    base = SimConfig.from_dict({"protocol": c.protocol}).to_dict()
    return [k for k, v in c.to_dict().items() if v != base[k]]


def _record(c: SimConfig, seed: int, plan: ExecutionPlan, per_step: list[StepRecord],
            timings: dict[str, float], peak: PeakMemory, world_size: int) -> RunRecord:
    """The record of a finished run (``sim.giant_step.record``), options as their text (as the store keeps them)."""
    steps_work = c.n * c.d * c.p * c.steps
    return RunRecord(
        kind=KIND,
        key=run_key(c, seed, plan.device_type),
        config=c.to_dict(),
        seed=seed,
        code_version=code_version(),
        device=plan.device,
        device_type=plan.device_type,
        device_name=plan.device_name,
        dtype=str(c.dtype),
        engine=str(c.engine_resolved),
        engine_reason=c.engine_reason,
        init=str(c.init),
        output_scale=str(c.output_scale),
        overlap_units=OVERLAP_UNITS[c.overlap_scale],
        protocol=c.protocol,
        protocol_overrides=_overrides(c),
        deviations=deviations(c),
        r=c.r,
        n=c.n,
        n_ridge=c.n_ridge_resolved,
        n_fit=c.n_fit,
        n_holdout=c.n_holdout,
        n_test=c.n_test,
        ell=c.ell_resolved,
        lr=c.lr,
        lr_per_neuron=c.lr_per_neuron,
        ridge_lambdas=list(c.ridge_lambdas),
        ridge_mode=str(plan.ridge_mode) if c.has_readout else None,
        per_step=tuple(per_step),
        timings=timings,
        peak_memory_bytes=peak.bytes,
        peak_memory_kind=peak.kind,
        throughput=steps_work / timings["steps"] if c.steps and timings["steps"] > 0 else None,
        chunk_blocks=plan.chunk_blocks,
        max_memory=plan.budget,
        world_size=world_size,
        num_threads=torch.get_num_threads(),
        created=time.time(),
    )


__all__ = ["divergence_hint", "simulate"]
