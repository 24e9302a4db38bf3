"""Write the benchmark report (``.benchmarks/report.md``; ``bench/report.md`` when asked) from the pytest-benchmark
JSON of the last ``make bench`` run.

``python bench/report.py [RUN.json] [--previous PREV.json] [--gpu-run GPU.json] [--out .benchmarks/report.md]``
(``--gpu-run``: a run of ``pytest bench -m gpu`` on a CUDA machine, appended as its own section): without arguments
the newest file saved by ``--benchmark-autosave`` under ``.benchmarks/`` is the run and the one before it
(same machine folder) the comparison. For every benchmark the report gives the size, the median time,
the throughput (samples·d·p/s of the giant step), the fraction of the device's matrix-product peak
measured in the same process, the peak memory, the ratio to the dense numpy baseline measured in the
same run, the load average while it ran, and the change of the median against the previous saved run.
The reduced-engine benchmarks (``bench/test_reduced_bench.py``, ``extra_info["section"] == "reduced"``)
get their own section: step times, the ratio to the dense step, the series over ``d``, and each step's
fraction of the limit (Gaussian samples at the measured ``torch.randn`` rate plus the matrix products at
the measured peaks).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def saved_runs(root: Path = ROOT / ".benchmarks") -> list[Path]:
    """Autosaved runs, oldest first (pytest-benchmark numbers them ``0001_…``, ``0002_…`` per machine folder)."""
    return sorted(root.glob("*/*.json"), key=lambda f: (f.stat().st_mtime, f.name))


def _fmt(x: Any, spec: str) -> str:
    return "–" if x is None else format(x, spec)


def _mib(x: Any) -> str:
    return "–" if x is None else f"{x / 2**20:,.0f} MiB"


def _gpu_measured(benches: list[dict[str, Any]]) -> bool:
    return any("gpu" in b["name"] or "cuda" in b["name"] for b in benches)


def render(run: dict[str, Any], previous: dict[str, Any] | None, run_name: str, prev_name: str | None,
           gpu_below: bool = False) -> str:
    """The report of one run; ``gpu_below``: a CUDA run is appended after it (``--gpu-run``)."""
    mi = run.get("machine_info", {})
    cpu = mi.get("cpu", {})
    brand = cpu.get("brand_raw") or platform.processor() or "unknown CPU"
    benches = run["benchmarks"]
    prev = {b["fullname"]: b for b in (previous or {}).get("benchmarks", [])}
    devices = sorted({str(b["extra_info"]["device"]) for b in benches if "device" in b.get("extra_info", {})})
    lines = [
        "# Benchmark report",
        "",
        f"Written by `bench/report.py` from `{run_name}` ({run.get('datetime', '?')}).",
        "",
        f"* Machine: {brand}, {cpu.get('count', os.cpu_count())} logical CPUs; torch devices: "
        f"{', '.join(devices) or 'n/a'}; Python {mi.get('python_version', platform.python_version())}.",
        f"* Commit: {run.get('commit_info', {}).get('id', '?')[:12]}"
        f"{' (dirty)' if run.get('commit_info', {}).get('dirty') else ''}.",
        "* Throughput = samples·d·p per second of the giant step; fraction of peak = 4·throughput / the "
        "float32 matrix-product peak measured in the same process (a step costs two products of b·d·p "
        "multiply-adds per block); numpy ratio = sim time / dense numpy float64 time, same run.",
        "* Load = the 1-minute load average when the measurement started (and ended); the machine has "
        f"{cpu.get('count', os.cpu_count())} logical CPUs, so a load above that means the measurement shared them.",
    ]
    if not _gpu_measured(benches):
        lines.append("* GPU sizes: measured in the CUDA run below." if gpu_below else
                     "* **GPU sizes were not measured** (no CUDA device in this run; the GPU benchmarks were skipped).")
    lines.append("* Only the benchmarks of this run are listed (`make bench BENCH_ARGS=-k …` selects some); earlier "
                 "numbers of the others are in `bench/RESULTS.md`.")
    lines += [
        "",
        f"Compared with: {prev_name or 'no earlier saved run'}.",
        "",
        "| benchmark | size | median s | throughput | fraction of peak | peak memory | numpy ratio | load | vs previous |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for b in benches:
        x = b.get("extra_info", {})
        med = b["stats"]["median"]
        old = prev.get(b["fullname"])
        change = f"{med / old['stats']['median']:.2f}×" if old else "–"
        load = x.get("load")
        load_s = " → ".join(f"{v:.1f}" for v in load) if isinstance(load, list) and load else "–"
        name = b["name"] + (f" ({x['kind']})" if "kind" in x else "")
        lines.append(
            f"| {name} | {x.get('size', '–')} | {med:.2f} | {_fmt(x.get('throughput'), '.3g')} | "
            f"{_fmt(x.get('matmul_fraction'), '.2f')} | {_mib(x.get('peak_memory_bytes'))} | "
            f"{_fmt(x.get('numpy_ratio'), '.2f')} | {load_s} | {change} |")
    peaks = {b["name"]: b["extra_info"]["matmul_peak_flops"] for b in benches
             if "matmul_peak_flops" in b.get("extra_info", {})}
    if peaks:
        lines += ["", "Matrix-product peaks measured in the same processes (flop/s): "
                  + "; ".join(f"{k}: {v:.3g}" for k, v in peaks.items()) + "."]
    reduced = [b for b in benches if b.get("extra_info", {}).get("section") == "reduced"]
    if reduced:
        lines += render_reduced(reduced, _gpu_measured(benches) or gpu_below)
    return "\n".join(lines) + "\n"


def _limit_row(name: str, x: dict[str, Any]) -> str:
    return (f"| {name} | {x.get('threads', '–')} | {x.get('load', 0):.1f} | {x.get('k', '–')} | {x['step_seconds']:.3g} | {x['generation_seconds']:.3g} | "
            f"{x['matmul_seconds']:.3g} | {x['limit_fraction']:.2f} | {x['randn_rate']:.3g} | "
            f"{x['matmul_peak_flops']:.3g} / {x['matmul_peak64_flops']:.3g} |")


def render_reduced(benches: list[dict[str, Any]], gpu: bool) -> list[str]:
    """The section of the reduced-engine benchmarks (THEORY §3.3)."""
    out = ["", "## Reduced-coordinate engine (THEORY.md §3.3)", "",
           "Limit of a step = its Gaussian samples `n·(k + 1)` at the `torch.randn` rate measured in the same "
           "process (one stream, as the seeded blocks draw them) + its matrix products (`4·n·p·k` float32 flops, "
           "and `2·n·p²` float64 flops for `C Cᵀ` in the reduced engine) at the measured float32 / float64 "
           "peaks; fraction = limit / step time (1 = at the limit).", "",
           "| step | threads | load | k | step s | samples s | products s | fraction of limit | randn samples/s | "
           "peak flop/s f32 / f64 |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for b in benches:
        x = b["extra_info"]
        load = " → ".join(f"{v:.1f}" for v in x.get("load", []))
        if "reduced" in x and "dense" in x:
            for r in x.get("reduced_runs", [x["reduced"]]):
                out.append(_limit_row(f"reduced, {x['size']} ({x['device']})", r))
            out.append(_limit_row(f"dense, {x['size']} ({x['device']})", x["dense"]))
            target = ("target ≤ 0.05" if x["device"] == "cpu" else
                      "target < 1 on CUDA, where the dense step is near its limit")
            notes.append(f"* {x['size']} ({x['device']}): reduced (faster thread count) / dense step time = **{x['ratio']:.4f}** "
                         f"({target}); load {load}.")
        elif "series" in x:
            for s in x["series"]:
                out.append(_limit_row(f"reduced, d={s['d']}, n=2^20 ({x['device']})", s))
            times = ", ".join(f"{s['step_seconds']:.2f}" for s in x["series"])
            notes.append(f"* {x['size']} ({x['device']}): step seconds {times} (max/min = {x['spread']:.2f}: flat in d); load {load}.")
        elif "detail" in x:
            for r in x["detail"].get("runs", [x["detail"]]):
                out.append(_limit_row(f"reduced, {x['size']} ({x['device']})", r))
            notes.append(f"* {x['size']} ({x['device']}): step {x['step_seconds']:.2f} s (target < 60 s); load {load}.")
    out += ["", *notes]
    if any(b["extra_info"].get("device") == "cuda" for b in benches):
        out.append("* On CUDA the seeded blocks hold 2^16 samples (`CUDA_BLOCK` in `bench/test_reduced_bench.py`): "
                   "with the default 4096 a reduced step is bound by its per-block kernel launches "
                   "(n = d³ at d = 1024: 90 s).")
    if not gpu:
        out.append("* CUDA: **not measured** (no GPU in this run); the `[cuda]` cases run the same and `n = d³` at "
                   "`d = 1024` on a CUDA machine.")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", nargs="?", help="pytest-benchmark JSON (default: the newest autosaved run)")
    ap.add_argument("--previous", help="JSON to compare with (default: the autosaved run before it)")
    ap.add_argument("--out", default=str(ROOT / ".benchmarks" / "report.md"),
                    help="where the report goes (default .benchmarks/report.md; the committed bench/report.md is "
                         "rewritten only when named here: make bench BENCH_REPORT=bench/report.md)")
    ap.add_argument("--gpu-run", help="JSON of a run on a CUDA machine (pytest bench -m gpu), appended as a section")
    ns = ap.parse_args(argv)
    runs = saved_runs()
    run_path = Path(ns.run) if ns.run else (runs[-1] if runs else None)
    if run_path is None:
        raise SystemExit("bench/report.py: no saved benchmark run; run `make bench` first")
    prev_path = Path(ns.previous) if ns.previous else None
    if prev_path is None and not ns.run:
        same = [r for r in runs if r.parent == run_path.parent and r != run_path]
        prev_path = same[-1] if same else None
    run = json.loads(run_path.read_text())
    previous = json.loads(prev_path.read_text()) if prev_path else None
    text = render(run, previous, str(run_path.relative_to(ROOT) if run_path.is_relative_to(ROOT) else run_path),
                  str(prev_path.relative_to(ROOT)) if prev_path and prev_path.is_relative_to(ROOT) else
                  (str(prev_path) if prev_path else None), gpu_below=bool(ns.gpu_run))
    if ns.gpu_run:
        gpu_path = Path(ns.gpu_run)
        gpu_text = render(json.loads(gpu_path.read_text()), None, gpu_path.name, None)
        text += "\n" + gpu_text.replace("# Benchmark report", "# CUDA run", 1).replace("\n## ", "\n### ")
    Path(ns.out).parent.mkdir(parents=True, exist_ok=True)
    Path(ns.out).write_text(text)
    print(f"wrote {ns.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
