# Every target runs inside the project venv (.venv), created on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export MLFLOW_DISABLE_TELEMETRY := true
export DVC_NO_ANALYTICS := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: help install run repro test test-integration test-slow lint bench bench-tasks bench-serving bench-monitor bench-scaleout results clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0 -c constraints.txt
	$(BIN)/pip install -q -c constraints.txt -e ".[pipeline,dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install alien with the pipeline and dev extras (pinned)

run: install  ## run the retrain flow once on the default data and model (Prefect)
	$(BIN)/alien run

repro: install  ## run the same pipeline with DVC
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/dvc repro

test: install  ## the default test suite (fast, tiny models)
	$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider

test-integration: install  ## tests against real servers on 127.0.0.1: PostgreSQL + mlflow server, prefect server + worker, torchrun, Dask, Chromium
	$(BIN)/python -m pytest -q -p no:cacheprovider -m integration tests

test-slow: install  ## tests that need real pretrained assets (minutes)
	$(BIN)/python -m pytest -q -m slow -p no:cacheprovider

lint: install  ## ruff + mypy
	$(BIN)/ruff check alien tasks flows tests benchmarks
	$(BIN)/ruff format --check alien tasks flows tests benchmarks
	$(BIN)/mypy

bench: install  ## print the performance targets (inference overhead, grid time)
	$(BIN)/python benchmarks/bench_inference.py
	$(BIN)/python benchmarks/bench_grid.py

bench-tasks: install  ## NER (WNUT-16 + MiniLM) and decoder (SmolLM2 + LoRA) on real assets (~10 min)
	$(BIN)/python benchmarks/bench_tasks.py

bench-serving: install  ## mlflow models serve under 1/2/8/16 concurrent clients: errors, latency, outputs vs batch
	mkdir -p benchmarks/results
	$(BIN)/python benchmarks/bench_serving.py | tee benchmarks/results/serving.txt

bench-monitor: install  ## after deployment: the monitor's estimate vs realised error in distribution and under 4 shifts
	$(BIN)/python benchmarks/bench_monitor.py

bench-scaleout: install  ## Dask sweep vs sequential, and a no-op nightly run: ephemeral server vs deployment + worker
	$(BIN)/python benchmarks/bench_scaleout.py

results: install  ## regenerate every table in docs/results.md (hours on 2 cores; cells cached under benchmarks/runs/)
	mkdir -p benchmarks/results
	$(BIN)/python benchmarks/bench_inference.py | tee benchmarks/results/inference.txt
	$(BIN)/python benchmarks/bench_grid.py | tee benchmarks/results/grid.txt
	$(BIN)/python benchmarks/bench_tasks.py
	$(BIN)/python benchmarks/bench_calibration.py
	$(BIN)/python benchmarks/bench_selective.py
	$(BIN)/python benchmarks/bench_selection.py
	$(BIN)/python benchmarks/quality_matrix.py
	$(BIN)/python benchmarks/bench_pipeline.py
	$(BIN)/python benchmarks/bench_vs_temperature.py
	$(BIN)/python benchmarks/bench_monitor.py
	$(BIN)/python benchmarks/write_results.py

clean:  ## remove pipeline outputs (keeps the venv and the registry)
	rm -rf data/raw data/prepared models artifacts reports
