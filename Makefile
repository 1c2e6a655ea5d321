# Quickstart: `make run` (the convergence suite + its report), `make test` (the test suite). Each sets itself up.
VENV ?= .venv
BIN := $(VENV)/bin
export OMP_NUM_THREADS ?= 2

.PHONY: run test setup setup-test report clean
run: setup
	$(BIN)/ganbench run --suite convergence
	$(BIN)/ganbench report results/convergence --out report/convergence

test: setup-test
	$(BIN)/python -m pytest -q

setup:
	@./scripts/setup.sh

setup-test:
	@WITH_TESTS=1 ./scripts/setup.sh

clean:
	rm -rf results/*/ report/*/
