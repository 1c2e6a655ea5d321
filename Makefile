# Quickstart: `make run` (the convergence suite + its report), `make test` (the test suite). Each sets itself up.
VENV ?= .venv
BIN := $(VENV)/bin
export OMP_NUM_THREADS ?= 2

.PHONY: run test test-slow setup setup-test clean
run: setup
	$(BIN)/ganbench run --suite convergence
	$(BIN)/ganbench report results/convergence --out report/convergence

test: setup-test
	$(BIN)/python -m pytest -q -m "not slow" -n 2 --dist loadfile --durations=25

test-slow: setup-test   # every model's tiny preset trains on Fashion-MNIST and its fd_domain falls (~30 min on 2 cores)
	$(BIN)/python -m pytest -q -m slow

setup:
	@./scripts/setup.sh

setup-test:
	@WITH_TESTS=1 ./scripts/setup.sh

clean:
	rm -rf results/*/ report/*/
