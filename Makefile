# Quickstart: `make run` (the quick convergence suite + its report), `make test` (the docs site build and the test suite). Each sets itself up.
VENV ?= .venv
BIN := $(VENV)/bin
export OMP_NUM_THREADS ?= 2

.PHONY: run reference test test-slow setup setup-test clean
run: setup
	$(BIN)/ganbench run --suite convergence
	$(BIN)/ganbench report results/convergence --out report/convergence
	@echo "make run is the quick smoke run (3 seeds x 2 kimg); the reference result is 'make reference' (report/reference/)"

# The reference result (issue #24): every model and every claim arm, 10 seeds x 10 kimg (the TransGAN ablation arms 5;
# suite reference, profile standard; 170 runs), the budget table, the claims' verdicts and the report with one sample
# grid per arm. A GPU run: `make reference DEVICE=cuda WORKERS=4`. `ganbench budget` prints the exploratory budget
# table (seeds, pooled SD, MDE, pairs separated after Holm per evaluation); it chooses no budget.
WORKERS ?= 2
DEVICE ?= auto
reference: setup
	$(BIN)/ganbench resolve-suite reference --profile standard --out results/reference/suite.resolved.yaml
	$(BIN)/ganbench run --suite reference --profile standard --results results/reference --workers $(WORKERS) --device $(DEVICE) --quiet
	$(BIN)/ganbench budget results/reference
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
	find results report -mindepth 1 -maxdepth 1 -type d ! -name reference ! -name tune-standard -exec rm -rf {} +   # the committed reference and standard tuning stay
	rm -rf site/
