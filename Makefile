# seccomp-gen: `make demo` records (and profiles) the bundled sample; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SG     := $(BIN)/seccomp-gen
DEMO   := build/demo
CC     ?= gcc

.PHONY: all venv demo test lint samples bench clean

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

test: venv
	$(BIN)/ruff check recorder generator seccomp_gen tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check recorder generator seccomp_gen tests benchmarks
	$(BIN)/mypy

bench: venv
	$(BIN)/python benchmarks/bench_record.py

clean:
	rm -rf build $(VENV) .pytest_cache .mypy_cache .ruff_cache
