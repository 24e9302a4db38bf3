"""Speed and memory of ``sim`` (issue item 9); run with ``make bench`` (pytest-benchmark, not part of ``make test``).

* ``test_side_by_side_cpu_d512``: the simulator and the dense numpy float64 baseline (``bench/baseline.py``)
  doing the same single step + ridge readout at ``d=512, p=1024, n=d²`` (ridge ``n₂ = 65536``, test
  ``16384``), each in a fresh process (``bench/measure.py``) so that both peaks are measured alike. Requires
  sim time < ½ baseline time and sim peak memory < ¼ baseline peak.
* ``test_sim_step_cpu_d256``: a quick in-process benchmark of the same protocol at ``d=256``.
* ``test_sim_gpu``: ``d = 1024, 2048, 4096``, ``p = 2d``, ``n = d²`` on CUDA (skipped without a GPU).

Throughput is samples·d·p per second of the giant step, and its fraction of the float32 matrix-product
peak measured in the same run is ``4·throughput/peak``.
"""

from __future__ import annotations

import json
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
        sim_test_error=s["test_error"], numpy_test_error=b["test_error"])
    print(json.dumps(benchmark.extra_info, indent=1))
    assert abs(s["test_error"] - b["test_error"]) < 0.05  # the same experiment (different random draws)
    assert time_ratio < 0.5, f"sim took {time_ratio:.2f} of the baseline's time"
    assert mem_ratio < 0.25, f"sim needed {mem_ratio:.2f} of the baseline's peak memory"


def test_sim_step_cpu_d256(benchmark) -> None:
    cfg = SimConfig(target="x1 + x1*x2", d=256, p=512, n_exp=2.0, steps=1, readout="final", n_ridge=16384,
                    n_test=4096, device="cpu")
    rec = benchmark.pedantic(simulate, args=(cfg, 0), rounds=2, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(device=rec["device_name"], throughput=rec["throughput"], timings=rec["timings"],
                                peak_memory_bytes=rec["peak_memory_bytes"])


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
    benchmark.extra_info.update(device=rec["device_name"], throughput=rec["throughput"], timings=rec["timings"],
                                peak_memory_bytes=rec["peak_memory_bytes"], matmul_peak_flops=peak,
                                matmul_fraction=4 * rec["throughput"] / peak)
