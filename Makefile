# Everything a fresh machine with Python >= 3.11 and make needs.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
GPU_RUN ?= bench/cuda_h200.json
BENCH_REPORT ?= .benchmarks/report.md
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install test verify bench clean

install: $(STAMP)

# The venv sees the base interpreter's packages, so a torch already importable
# there (a GPU machine's CUDA build) is used as it is; otherwise $(TORCH) is
# installed before the project, so nothing pulls a default CUDA torch.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv --system-site-packages $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install "$(TORCH)"
	$(PY) -m pip install -e ".[test]"
	touch $(STAMP)

test: install
	$(PY) -m pytest -q tests README.md --doctest-glob=README.md

verify: install
	$(PY) -m verify --profile quick

# Saves the run under .benchmarks/, compares it with the last saved run (if any) and writes the report to
# BENCH_REPORT (default .benchmarks/report.md, so the committed bench/report.md changes only when asked:
# make bench BENCH_REPORT=bench/report.md), with the CUDA run GPU_RUN appended (a pytest-benchmark JSON of
# `pytest bench -m gpu` on a GPU machine; bench/gpu_check.sh makes one). BENCH_ARGS adds pytest options,
# e.g. make bench BENCH_ARGS="-k step".
bench: install
	$(PY) -m pytest bench --benchmark-only --benchmark-columns=min,median,max,rounds --benchmark-autosave \
		$(if $(wildcard .benchmarks/*/*.json),--benchmark-compare,) $(BENCH_ARGS)
	$(PY) bench/report.py --out $(BENCH_REPORT) $(if $(wildcard $(GPU_RUN)),--gpu-run $(GPU_RUN),)

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
