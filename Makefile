# Quickstart: `make run` (the quick convergence suite + its report), `make test` (the docs site build and the test suite). Each sets itself up.
VENV ?= .venv
BIN := $(VENV)/bin
export OMP_NUM_THREADS ?= 2

.PHONY: run reference test test-slow setup setup-test clean
run: setup
	$(BIN)/ganbench run --suite convergence
	$(BIN)/ganbench report results/convergence --out report/convergence
	@echo "make run is the quick smoke run (3 seeds x 2 kimg); the reference result is 'make reference' (report/reference/)"

# The reference result: the runs of the frozen, committed plan plans/reference.yaml (issue #32: arms and seeds sized
# by a power analysis on the exploratory reference, seeds no tuning or exploratory run used, 10 kimg evaluated every
# kimg, copying checks at the last evaluation), its claims and its report. `ganbench run --plan` refuses a dirty tree.
# A GPU run: `make reference DEVICE=cuda WORKERS=4`. The exploratory reference of 2026-12-05 is results/ and
# report/reference-exploratory (`ganbench run --suite reference --profile exploratory` reproduces its runs).
WORKERS ?= 2
DEVICE ?= auto
reference: setup
	$(BIN)/ganbench run --plan plans/reference.yaml --results results/reference --workers $(WORKERS) --device $(DEVICE) --quiet
	$(BIN)/ganbench claims results/reference
	$(BIN)/ganbench report results/reference --out report/reference --samples arm

test: setup-test
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site   # docs/ site; no -q (it hides the warnings --strict counts); the variable hides Material's end-of-life banner
	$(BIN)/python -m pytest -q -m "not slow" -n 2 --dist loadfile --durations=25

test-slow: setup-test   # every model's tiny preset trains on Fashion-MNIST and its fd_domain falls (~30 min on 2 cores)
	$(BIN)/python -m pytest -q -m slow

setup:
	@./scripts/setup.sh

setup-test:
	@WITH_TESTS=1 ./scripts/setup.sh

clean:
	find results report -mindepth 1 -maxdepth 1 -type d ! -name reference ! -name reference-exploratory ! -name tune-standard -exec rm -rf {} +   # the committed references and standard tuning stay
	rm -rf site/
