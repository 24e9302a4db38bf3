"""Speed and memory of ``sim``; run with ``make bench`` (pytest-benchmark, not part of ``make test``).

* ``test_side_by_side_cpu_d512``: the simulator and the dense numpy float64 baseline (``bench/baseline.py``)
  doing the same single step + ridge readout at ``d=512, p=1024, n=d²`` (ridge ``n₂ = 65536``, test
  ``16384``), each in a fresh process (``bench/measure.py``) so that both peaks are measured alike. Requires
  sim time < ½ baseline time and sim peak memory < ¼ baseline peak.
* ``test_sim_step_cpu_d256``: a quick in-process benchmark of the same protocol at ``d=256``.
* ``test_step_cpu``: one giant step (no readout) at ``d = p = 1024``, ``n = 262144`` in float32 and with
  ``bf16``, in fresh processes, next to the dense numpy float64 step (``baseline.giant_step``) on the
  same sizes; target ≥ 60 % of the float32 matmul peak measured in the same process (float32 only).
* ``test_sim_gpu``: ``d = 1024, 2048, 4096``, ``p = 2d``, ``n = d²`` on CUDA; ``test_step_gpu``: one step
  at ``d = p = 4096``, ``n = d²`` with TF32 against the measured TF32 peak (target ≥ 50 %); both skipped
  without a GPU.

Throughput is samples·d·p per second of the giant step, and its fraction of the float32 matrix-product
peak measured in the same run is ``4·throughput/peak``. Every benchmark stores what ``bench/report.py``
needs in ``extra_info`` (``kind``, ``size``, ``throughput``, ``matmul_fraction``, ``peak_memory_bytes``,
``numpy_ratio``, ``load``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sim import SimConfig, simulate

HERE = Path(__file__).resolve().parent


def _measure(which: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, str(HERE / "measure.py"), which, *args], capture_output=True, text=True,
                         check=True, timeout=1800)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_side_by_side_cpu_d512(benchmark) -> None:
    results: dict[str, dict] = {}

    def both() -> None:
        results["sim"] = _measure("sim", "--d", "512", "--p", "1024", "--n-exp", "2")
        results["numpy"] = _measure("numpy", "--d", "512", "--p", "1024", "--n-exp", "2")

    benchmark.pedantic(both, rounds=1, iterations=1)
    s, b = results["sim"], results["numpy"]
    time_ratio, mem_ratio = s["seconds"] / b["seconds"], s["peak_bytes"] / b["peak_bytes"]
    benchmark.extra_info.update(
        device=s["device_name"], sim_seconds=s["seconds"], numpy_seconds=b["seconds"],
        sim_cpu_seconds=s["cpu_seconds"], numpy_cpu_seconds=b["cpu_seconds"], sim_peak_bytes=s["peak_bytes"],
        numpy_peak_bytes=b["peak_bytes"], time_ratio=time_ratio, memory_ratio=mem_ratio,
        throughput=s["throughput"], matmul_peak_flops=s["matmul_peak_flops"], matmul_fraction=s["matmul_fraction"],
        sim_test_error=s["test_error"], numpy_test_error=b["test_error"],
        kind="step + ridge readout", size=f"d=512 p=1024 n={s['n']} n2=65536", peak_memory_bytes=s["peak_bytes"],
        numpy_ratio=time_ratio, load=[s["load_before"], b["load_after"]])
    print(json.dumps(benchmark.extra_info, indent=1))
    assert abs(s["test_error"] - b["test_error"]) < 0.05  # the same experiment (different random draws)
    assert time_ratio < 0.5, f"sim took {time_ratio:.2f} of the baseline's time"
    assert mem_ratio < 0.25, f"sim needed {mem_ratio:.2f} of the baseline's peak memory"


def test_sim_step_cpu_d256(benchmark) -> None:
    cfg = SimConfig(target="x1 + x1*x2", d=256, p=512, n_exp=2.0, steps=1, readout="final", n_ridge=16384,
                    n_test=4096, device="cpu")
    rec = benchmark.pedantic(simulate, args=(cfg, 0), rounds=2, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(device=rec.device_name, throughput=rec.throughput, timings=rec.timings,
                                peak_memory_bytes=rec.peak_memory_bytes, kind="step + ridge readout",
                                size="d=256 p=512 n=65536 n2=16384", load=[os.getloadavg()[0]])


STEP_D, STEP_N = 1024, 262144


@pytest.fixture(scope="module")
def numpy_step() -> dict:
    """The dense numpy float64 step at ``d = p = 1024``, ``n = 262144`` (fresh process, once per session)."""
    return _measure("numpy-step", "--d", str(STEP_D), "--p", str(STEP_D), "--n", str(STEP_N))


@pytest.mark.parametrize("precision", ["float32", "bf16"])
def test_step_cpu(benchmark, numpy_step: dict, precision: str) -> None:
    args = ["--d", str(STEP_D), "--p", str(STEP_D), "--n", str(STEP_N)] + (["--bf16"] if precision == "bf16" else [])
    runs: list[dict] = []
    benchmark.pedantic(lambda: runs.append(_measure("sim-step", *args)), rounds=2, iterations=1)
    best = min(runs, key=lambda r: r["timings"]["steps"])
    benchmark.extra_info.update(
        device=best["device_name"], kind=f"one giant step, {precision}", size=f"d={STEP_D} p={STEP_D} n={STEP_N}",
        throughput=best["throughput"], step_seconds=best["timings"]["steps"],
        matmul_peak_flops=best["matmul_peak_flops"], matmul_fraction=best["matmul_fraction"],
        peak_memory_bytes=best["peak_bytes"], numpy_seconds=numpy_step["seconds"],
        numpy_peak_bytes=numpy_step["peak_bytes"], numpy_ratio=best["timings"]["steps"] / numpy_step["seconds"],
        load=[r["load_before"] for r in runs] + [runs[-1]["load_after"]])
    print(json.dumps(benchmark.extra_info, indent=1))


@pytest.mark.gpu
def test_step_gpu(benchmark) -> None:
    """One step at ``d = p = 4096``, ``n = d²`` in float32 with TF32, against the measured TF32 peak."""
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA (none on this machine)")
    sys.path.insert(0, str(HERE))
    from measure import matmul_peak, step_config

    cfg = step_config(4096, 4096, 4096**2, device="cuda", tf32=True)
    simulate(cfg.replace(n_scale=16.0), 0)  # warm up kernels
    rec = benchmark.pedantic(simulate, args=(cfg, 0), rounds=1, iterations=1, warmup_rounds=0)
    peak = matmul_peak("cuda", tf32=True, size=8192)
    benchmark.extra_info.update(device=rec.device_name, kind="one giant step, float32 + TF32",
                                size="d=4096 p=4096 n=d²", throughput=rec.throughput,
                                matmul_peak_flops=peak, matmul_fraction=4 * rec.throughput / peak,
                                peak_memory_bytes=rec.peak_memory_bytes, load=[os.getloadavg()[0]])


@pytest.mark.gpu
@pytest.mark.parametrize("d", [1024, 2048, 4096])
def test_sim_gpu(benchmark, d: int) -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA (none on this machine)")
    sys.path.insert(0, str(HERE))
    from measure import matmul_peak

    cfg = SimConfig(target="x1 + x1*x2", d=d, p=2 * d, n_exp=2.0, steps=1, readout="final", n_ridge=8 * d,
                    n_test=16384, device="cuda")
    rec = benchmark.pedantic(simulate, args=(cfg, 0), rounds=1, iterations=1, warmup_rounds=0)
    peak = matmul_peak("cuda")
    benchmark.extra_info.update(device=rec.device_name, throughput=rec.throughput, timings=rec.timings,
                                peak_memory_bytes=rec.peak_memory_bytes, matmul_peak_flops=peak,
                                matmul_fraction=4 * rec.throughput / peak, kind="step + ridge readout",
                                size=f"d={d} p={2 * d} n=d²", load=[os.getloadavg()[0]])
