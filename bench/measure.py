"""Time and peak memory of one run, ``sim`` or the dense numpy baseline, in this process.

``python bench/measure.py {sim,numpy} --d 512 --p 1024 --n-exp 2 --n-ridge 65536 --n-test 16384``: one
single-step + ridge run. ``python bench/measure.py {sim-step,numpy-step} --d 1024 --p 1024 --n 262144
[--bf16]``: one giant step only (no readout). Prints one JSON line: ``seconds`` (wall time of the run,
imports excluded), ``cpu_seconds`` (CPU time of all threads), ``peak_bytes`` (peak resident memory above
the resident memory after imports, via ``VmHWM`` reset through ``/proc/self/clear_refs``), the load
average before and after, plus for ``sim`` the throughput (samples·d·p/s of the step), the device's
float32 matrix-product peak measured in the same process (``matmul_peak``) and the fraction
``4·throughput/peak`` (a step costs 4·d·p flops per sample: the forward and the backward product). The
benchmarks run it in fresh subprocesses so that the peaks are measured alike.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.memory import PeakMemory  # noqa: E402


def matmul_peak(device: str, dtype: str = "float32", size: int = 4096, repeats: int = 3, tf32: bool = False) -> float:
    """Best observed flop rate of a ``size³`` torch matrix product on ``device`` (flop/s), ``out=`` a
    preallocated result; ``tf32`` allows TF32 on CUDA (the reference for runs with ``tf32``)."""
    import torch

    old = torch.get_float32_matmul_precision()
    if device.startswith("cuda"):
        torch.set_float32_matmul_precision("high" if tf32 else "highest")
    try:
        a = torch.randn(size, size, device=device).to(getattr(torch, dtype))
        b = torch.randn(size, size, device=device).to(getattr(torch, dtype))
        c = torch.empty(size, size, dtype=a.dtype, device=device)
        best = float("inf")
        for _ in range(repeats + 1):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            torch.mm(a, b, out=c)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
    finally:
        torch.set_float32_matmul_precision(old)
    return 2 * size**3 / best


def step_config(d: int, p: int, n: int, device: str = "cpu", bf16: bool = False, tf32: bool = False):  # noqa: ANN201
    """The ``SimConfig`` of a one-step benchmark: ``n`` samples, relu, target ``x1 + x1*x2``, no readout."""
    from sim import SimConfig

    return SimConfig(target="x1 + x1*x2", d=d, p=p, n_exp=1.0, n_scale=n / d, steps=1, readout="none",
                     device=device, bf16=bf16, tf32=tf32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("which", choices=["sim", "numpy", "sim-step", "numpy-step"])
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--p", type=int, default=1024)
    ap.add_argument("--n-exp", type=float, default=2.0)
    ap.add_argument("--n", type=int, default=None, help="samples of the step (default ceil(d^n_exp))")
    ap.add_argument("--n-ridge", type=int, default=65536)
    ap.add_argument("--n-test", type=int, default=16384)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--bf16", action="store_true")
    ns = ap.parse_args()
    n = ns.n if ns.n is not None else math.ceil(ns.d**ns.n_exp)
    load0 = os.getloadavg()[0]
    if ns.which in ("sim", "sim-step"):
        from sim import SimConfig, simulate

        if ns.which == "sim":
            cfg = SimConfig(target="x1 + x1*x2", d=ns.d, p=ns.p, n_exp=ns.n_exp, steps=1, readout="final",
                            n_ridge=ns.n_ridge, n_test=ns.n_test, device=ns.device)
        else:
            cfg = step_config(ns.d, ns.p, n, ns.device, ns.bf16)
        simulate(cfg.replace(d=64, p=64, n_exp=1.0, n_scale=64.0, n_ridge=256, n_test=256), 0)  # warm up
        with PeakMemory(ns.device) as peak:
            t0, c0 = time.perf_counter(), time.process_time()
            rec = simulate(cfg, 0)
            seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
        mm = matmul_peak(ns.device)
        out = {"which": ns.which, "seconds": seconds, "peak_bytes": peak.bytes, "test_error": rec.test_error,
               "throughput": rec.throughput, "timings": rec.timings, "device_name": rec.device_name,
               "matmul_peak_flops": mm, "matmul_fraction": 4 * rec.throughput / mm, "cpu_seconds": cpu_seconds}
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from baseline import giant_step, single_step_ridge

        if ns.which == "numpy":
            single_step_ridge(64, 64, 4096, 256, 256)  # warm up
        else:
            giant_step(64, 64, 4096)
        with PeakMemory("cpu") as peak:
            t0, c0 = time.perf_counter(), time.process_time()
            res = single_step_ridge(ns.d, ns.p, n, ns.n_ridge, ns.n_test) if ns.which == "numpy" \
                else {"test_error": None, "W": giant_step(ns.d, ns.p, n)}
            seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
        out = {"which": ns.which, "seconds": seconds, "cpu_seconds": cpu_seconds, "peak_bytes": peak.bytes,
               "test_error": res["test_error"]}
    out.update(d=ns.d, p=ns.p, n=n, n_ridge=ns.n_ridge, n_test=ns.n_test, bf16=ns.bf16,
               load_before=load0, load_after=os.getloadavg()[0])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
