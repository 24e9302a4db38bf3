"""Time and peak memory of one single-step + ridge run, ``sim`` or the numpy baseline, in this process.

``python bench/measure.py {sim,numpy} --d 512 --p 1024 --n-exp 2 --n-ridge 65536 --n-test 16384`` prints one
JSON line: ``seconds`` (wall time of the run, imports excluded), ``cpu_seconds`` (CPU time of all threads) and ``peak_bytes`` (peak resident memory
above the resident memory after imports, via ``VmHWM`` reset through ``/proc/self/clear_refs``), plus the
test error; for ``sim`` also the throughput (samples·d·p/s of the step), the device's float32 matrix-product
peak measured in the same process and the fraction ``4·throughput/peak`` (a step costs 4·d·p flops per
sample: the forward and the backward product). The benchmarks run it in fresh subprocesses so that the two peaks are measured alike.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.memory import PeakMemory  # noqa: E402


def matmul_peak(device: str, dtype: str = "float32", size: int = 2048, repeats: int = 5) -> float:
    """Best observed flop rate of a ``size³`` torch matrix product on ``device`` (flop/s)."""
    import torch

    a = torch.randn(size, size, dtype=getattr(torch, dtype), device=device)
    b = torch.randn(size, size, dtype=getattr(torch, dtype), device=device)
    best = float("inf")
    for _ in range(repeats + 1):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        a @ b
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2 * size**3 / best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("which", choices=["sim", "numpy"])
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--p", type=int, default=1024)
    ap.add_argument("--n-exp", type=float, default=2.0)
    ap.add_argument("--n-ridge", type=int, default=65536)
    ap.add_argument("--n-test", type=int, default=16384)
    ap.add_argument("--device", default="cpu")
    ns = ap.parse_args()
    n = math.ceil(ns.d**ns.n_exp)
    if ns.which == "sim":
        from sim import SimConfig, simulate

        cfg = SimConfig(target="x1 + x1*x2", d=ns.d, p=ns.p, n_exp=ns.n_exp, steps=1, readout="final",
                        n_ridge=ns.n_ridge, n_test=ns.n_test, device=ns.device)
        simulate(cfg.replace(d=64, p=64, n_ridge=256, n_test=256), 0)  # warm up kernels and caches
        with PeakMemory(ns.device) as peak:
            t0, c0 = time.perf_counter(), time.process_time()
            rec = simulate(cfg, 0)
            seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
        mm = matmul_peak(ns.device)
        out = {"which": "sim", "seconds": seconds, "peak_bytes": peak.bytes, "test_error": rec["test_error"],
               "throughput": rec["throughput"], "timings": rec["timings"], "device_name": rec["device_name"],
               "matmul_peak_flops": mm, "matmul_fraction": 4 * rec["throughput"] / mm,
               "cpu_seconds": cpu_seconds}
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from baseline import single_step_ridge

        single_step_ridge(64, 64, 4096, 256, 256)  # warm up
        with PeakMemory("cpu") as peak:
            t0, c0 = time.perf_counter(), time.process_time()
            res = single_step_ridge(ns.d, ns.p, n, ns.n_ridge, ns.n_test)
            seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
        out = {"which": "numpy", "seconds": seconds, "cpu_seconds": cpu_seconds, "peak_bytes": peak.bytes,
               "test_error": res["test_error"]}
    out.update(d=ns.d, p=ns.p, n=n, n_ridge=ns.n_ridge, n_test=ns.n_test)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
