# Two commands matter: `make demo` and `make test`. Every target creates or
# reuses the virtualenv in .venv and installs what it needs (idempotent).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CLI_STAMP := $(VENV)/.cli-installed
# PyPI cerulean 1.0.0 lives in its own virtualenv for side-by-side benchmarks.
OLD_VENV := .venv-cerulean-1.0.0
OLD_STAMP := $(OLD_VENV)/.installed
SERVERS := tests/servers/servers.sh
COMPAT := tests/compat/compat.sh
COMPAT_ARGS ?=
PYTEST_ARGS ?=

.PHONY: all venv cli-deps demo test compat lint typecheck docs bench servers-up servers-down servers-status clean

all: test

$(STAMP): setup.cfg setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,docs]'
	touch $@

venv: $(STAMP)

# The neuro command line for neuro-hpc's end-to-end tests (make test installs
# it): the 'cli' extra without the real neuro-sdk it would bring, so that
# nothing in .venv can import neuro_sdk but neuro-hpc.
CLI_DEPS := 'python-jose>=3.0.0' 'python-dateutil>=2.7.0' 'click>=8.0' 'humanize>=3.3' \
	certifi 'wcwidth>=0.1.7' 'prompt-toolkit>=3.0.13' 'rich>=11.0.0' 'jedi>=0.16' \
	'aiohttp>=3.8.1' 'aiodocker>=0.21.0' 'pyyaml>=5.0' async-timeout \
	'neuro-admin-client==22.7.2' 'neuro-config-client==22.7.11'

## cli-deps: neuro-cli 22.7.1 for neuro-hpc, without neuro-sdk
cli-deps: $(CLI_STAMP)

$(CLI_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q --no-deps 'neuro-cli==22.7.1' \
		'neuro-admin-client==22.7.2' 'neuro-config-client==22.7.11'
	$(BIN)/python -m pip install -q $(CLI_DEPS)
	touch $@

$(OLD_STAMP):
	test -x $(OLD_VENV)/bin/python || $(PYTHON) -m venv $(OLD_VENV)
	$(OLD_VENV)/bin/python -m pip install -q --upgrade pip
	$(OLD_VENV)/bin/python -m pip install -q 'cerulean==1.0.0'
	touch $@

## demo: the main job on the embedded local default, through cerulean and neuro_compat
demo: venv
	$(BIN)/python docs/examples/demo_cerulean.py
	$(BIN)/python docs/examples/demo_neuro.py

## lint: ruff on everything, mypy --strict on both packages
lint: venv
	$(BIN)/ruff check cerulean neuro_compat tests bench docs
	$(BIN)/mypy --strict cerulean neuro_compat

## docs: the Sphinx site, warnings as errors
docs: venv
	$(BIN)/sphinx-build -q -W --keep-going -b html docs docs/_build/html

## test: lint, docs, real servers up, Cerulean 1.0's suite (as make compat),
## every test of ours, servers down (even on failure)
test: venv cli-deps
	$(MAKE) lint
	$(MAKE) docs
	-$(MAKE) servers-up
	status=0; \
	{ bash $(COMPAT) up && bash $(COMPAT) run $(COMPAT_ARGS); } || status=$$?; \
	bash $(COMPAT) down; \
	$(BIN)/python -m pytest $(PYTEST_ARGS) || status=$$?; \
	$(MAKE) servers-down; exit $$status

## compat: Cerulean 1.0's own test suite (from its PyPI wheel, unmodified)
## against our package, on the loopback hosts its Docker images describe
compat: venv
	-$(MAKE) servers-up
	status=0; { bash $(COMPAT) up && bash $(COMPAT) run $(COMPAT_ARGS); } || status=$$?; \
	bash $(COMPAT) down; $(MAKE) servers-down; exit $$status

## bench: ours against PyPI cerulean 1.0.0 and OpenSSH, side by side
bench: venv $(OLD_STAMP)
	-$(MAKE) servers-up
	status=0; $(BIN)/python -m bench.run --old-python $(OLD_VENV)/bin/python $(BENCH_ARGS) || status=$$?; \
	$(MAKE) servers-down; exit $$status

## servers-up / servers-down: the real test servers on 127.0.0.1 (as root)
servers-up: venv
	bash $(SERVERS) up

servers-down:
	bash $(SERVERS) down

servers-status:
	bash $(SERVERS) status

clean:
	rm -rf build dist *.egg-info docs/_build .mypy_cache .ruff_cache .pytest_cache
