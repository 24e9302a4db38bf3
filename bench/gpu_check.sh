#!/usr/bin/env bash
# One call on a CUDA machine (issue 13 item 6), in the repository root, results under $OUT:
#   gpu_tests.txt   pytest -m gpu tests        (CUDA paths: chunk invariance, the reduced engine's law on CUDA)
#   gpu_bench.json  pytest bench -m gpu        (the reduced-engine benchmarks on CUDA; bench/report.py --gpu-run)
#   full.txt        python -m verify --profile full, stopped at the call's deadline; its report and store in
#                   full_report.tgz (what finished is in the store; the verdict table only if it finished)
# Usage: OUT=dir DEADLINE_S=540 bash bench/gpu_check.sh   (DEADLINE_S: seconds from start for everything)
set -u
start=$(date +%s)
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
left() { echo $(( ${DEADLINE_S:-540} - ($(date +%s) - start) )); }
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
timeout "$(left)" python3 -m pytest -q -p no:cacheprovider -m gpu tests > "$OUT/gpu_tests.txt" 2>&1
echo "tests rc=$? at $(( $(date +%s) - start )) s" | tee -a "$OUT/gpu_tests.txt"
timeout "$(left)" python3 -m pytest -q -p no:cacheprovider -m gpu bench --benchmark-only \
    --benchmark-json="$OUT/gpu_bench.json" > "$OUT/gpu_bench.txt" 2>&1
echo "bench rc=$? at $(( $(date +%s) - start )) s" | tee -a "$OUT/gpu_bench.txt"
t0=$(date +%s)
timeout "$(( $(left) - 20 ))" python3 -m verify --profile full --store /tmp/full.sqlite --out /tmp/full \
    > "$OUT/full.txt" 2> >(tail -c 30000 > "$OUT/full_err.txt")
echo "full rc=$? after $(( $(date +%s) - t0 )) s" | tee -a "$OUT/full.txt"
tar czf "$OUT/full_report.tgz" -C /tmp full full.sqlite 2>/dev/null
tail -n 5 "$OUT/gpu_tests.txt" "$OUT/gpu_bench.txt"; tail -n 30 "$OUT/full.txt"
