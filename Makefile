# seccomp-gen: `make demo` records (and profiles) the bundled sample; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SG     := $(BIN)/seccomp-gen
DEMO   := build/demo
CC     ?= gcc

.PHONY: all venv demo test test-loaders lint samples bench clean

all: test

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(BIN)/.installed

# The sample workload, built statically so no loader fstat()s shared libraries.
$(DEMO)/nostat: samples/nostat/app.c
	mkdir -p $(DEMO)
	$(CC) -O2 -static -pthread -o $@ $<

demo: venv $(DEMO)/nostat
	$(SG) record -o $(DEMO)/nostat.recording.json -- $(DEMO)/nostat
	$(SG) show $(DEMO)/nostat.recording.json
	$(SG) generate $(DEMO)/nostat.recording.json --name seccomp-nostat --out $(DEMO)
	@echo "artifacts in $(DEMO)/:"; ls $(DEMO)/seccomp-nostat.*

# Regenerate the checked-in sample recording and artifacts (samples/nostat/).
samples: venv $(DEMO)/nostat
	$(SG) record -q -o samples/nostat/nostat.recording.json -- $(DEMO)/nostat
	$(SG) generate samples/nostat/nostat.recording.json --name seccomp-nostat --baseline crio --runtime crun \
		--out samples/nostat --format json > samples/nostat/seccomp-nostat.report.json

test: venv
	$(BIN)/ruff check recorder generator seccomp_gen tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/pytest -q

# Only the tests that start real containers in podman and dockerd (pytest marker `loaders`).
test-loaders: venv
	$(BIN)/pytest -q -m loaders

lint: venv
	$(BIN)/ruff check recorder generator seccomp_gen tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/pytest -q tests/test_layout.py  # the layer contract and size limits

bench: venv
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf build $(VENV) .pytest_cache .mypy_cache .ruff_cache
