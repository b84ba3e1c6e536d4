# Developer and CI entry points. Everything runs from the project's own .venv,
# which `make install` creates; nothing is installed outside it.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# The directory holding this Makefile. `sam build` runs the build-* target with
# another working directory (a scratch copy of CodeUri), so paths start here.
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

PYTHON ?= python3
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp

export SAM_CLI_TELEMETRY := 0

# The Lambda package: arm64, Python 3.13 (template.yaml). Wheels only, so the
# host's own Python version and architecture do not matter.
LAMBDA_PLATFORM := manylinux2014_aarch64
LAMBDA_PYTHON := 3.13
PACKAGE_DIR := $(ROOT)/macro/sfn_exact_version
# pip for the Lambda dependencies: the venv's when it exists, else the host's.
PIP := $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) -m pip

.PHONY: help install test lint build deploy demo bench fuzz clean distclean build-MacroFunction

help:
	@echo "make install   create .venv with the dev tools and SAM CLI"
	@echo "make lint      ruff, mypy, cfn-lint"
	@echo "make test      pytest"
	@echo "make build     sam build (offline)"
	@echo "make deploy    sam build + sam deploy (needs AWS credentials)"
	@echo "make demo      run the demo"
	@echo "make bench     benchmarks: ratios against a JSON round trip and the SAM translator"
	@echo "make fuzz      the long property-based run (FUZZ_EXAMPLES=10000 by default)"
	@echo "make clean     remove build output and caches"

install: $(STAMP)

$(STAMP): $(ROOT)/pyproject.toml $(ROOT)/requirements-lambda.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '$(ROOT)[dev]' 'aws-sam-cli>=1.170,<2'
	touch $@

test: install
	$(BIN)/python -m pytest -q

# Runs every check, then fails if any failed, so one run shows all problems.
lint: install
	@status=0; cd $(ROOT); \
	for check in "ruff check ." "ruff format --check ." "mypy" "cfn-lint template.yaml"; do \
		echo "$$check"; $(BIN)/$$check || { echo "FAILED: $$check"; status=1; }; \
	done; \
	exit $$status

build: install
	cd $(ROOT) && $(BIN)/sam build

deploy: build
	cd $(ROOT) && $(BIN)/sam deploy

demo: install
	bash $(ROOT)/scripts/demo.sh

bench: install
	$(BIN)/python $(ROOT)/benchmarks/run.py
	$(BIN)/python $(ROOT)/benchmarks/edges.py

FUZZ_EXAMPLES ?= 10000
fuzz: install
	cd $(ROOT) && SFN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -s -p no:cacheprovider \
		tests/hardening/test_fuzz.py tests/hardening/test_security.py

# Called by `sam build` (template.yaml: Metadata.BuildMethod makefile) with
# ARTIFACTS_DIR set. The Lambda package gets the core modules only (the
# top-level modules and the core's own subpackages, CORE_SUBPACKAGES): not the
# cli/, offline/ and lint_rules/ subpackages, which need PyYAML,
# aws-sam-translator and cfn-lint.
CORE_SUBPACKAGES := definitions

build-MacroFunction:
	test -n "$(ARTIFACTS_DIR)"
	mkdir -p "$(ARTIFACTS_DIR)/sfn_exact_version"
	cp $(PACKAGE_DIR)/*.py "$(ARTIFACTS_DIR)/sfn_exact_version/"
	for sub in $(CORE_SUBPACKAGES); do \
		mkdir -p "$(ARTIFACTS_DIR)/sfn_exact_version/$$sub" && \
		cp $(PACKAGE_DIR)/$$sub/*.py "$(ARTIFACTS_DIR)/sfn_exact_version/$$sub/" || exit 1; \
	done
	$(PIP) install --quiet --disable-pip-version-check --no-compile \
		--target "$(ARTIFACTS_DIR)" \
		--platform $(LAMBDA_PLATFORM) --python-version $(LAMBDA_PYTHON) \
		--implementation cp --only-binary=:all: \
		-r $(ROOT)/requirements-lambda.txt

clean:
	rm -rf $(ROOT)/.aws-sam $(ROOT)/.pytest_cache $(ROOT)/.mypy_cache $(ROOT)/.ruff_cache $(ROOT)/.hypothesis
	find $(ROOT)/macro $(ROOT)/tests -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(ROOT)/macro/*.egg-info
