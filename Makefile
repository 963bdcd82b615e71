# The two set-up commands of the README:
#   make demo  -> virtual environment, install, train GTRPPO on Pendulum-v1 (about a minute), evaluate, plot, print
#   make test  -> virtual environment, install, the whole test suite (docs build and lint included)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.sb3-gtr-installed
# The CPU build of torch that lies on these machines' disk; a bare `torch` may pull a CUDA build.
TORCH_PIN ?= torch==2.13.0
DEMO_ENV ?= Pendulum-v1
DEMO_TIMESTEPS ?= 49152
DEMO_SEED ?= 0
# One torch thread: fastest for MLP-sized networks on a CPU, and never oversubscribing a shared machine
DEMO_THREADS ?= 1
PYTEST_ARGS ?=

.PHONY: install demo test lint format docs bench clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install "$(TORCH_PIN)"
	$(BIN)/python -m pip install -e ".[all]" "$(TORCH_PIN)"
	# procgen (the procgen-starpilot suite): only procgen-mirror has a Python 3.11 wheel, and its numpy<2 pin would
	# downgrade numpy, so it goes in without dependencies, next to the ones it really needs.
	# gym itself is never used, but SB3 imports it when installed; without gym_notices it prints no "unmaintained" notice.
	$(BIN)/python -m pip install --no-deps procgen-mirror==0.10.7 gym3 gym==0.26.2 cffi pycparser imageio
	$(BIN)/python -m pip uninstall --yes --quiet gym_notices
	# craftax pulls pygame, whose files replace pygame-ce's (the same `pygame` module); only craftax's play scripts use
	# it, gymnasium's renderer wants pygame-ce: put pygame-ce back.
	$(BIN)/python -m pip uninstall --yes --quiet pygame
	$(BIN)/python -m pip install --force-reinstall --no-deps "pygame-ce==2.5.8"
	touch $(STAMP)

demo: install
	$(BIN)/python -m sb3_gtr.demo --env $(DEMO_ENV) --timesteps $(DEMO_TIMESTEPS) --seed $(DEMO_SEED) \
		--num-threads $(DEMO_THREADS)

test: install
	$(BIN)/python -m ruff check sb3_gtr tests zoo_scripts
	$(BIN)/python -m ruff format --check sb3_gtr tests zoo_scripts
	$(BIN)/python -m pytest -n 2 --durations=15 $(PYTEST_ARGS)

lint: install
	$(BIN)/python -m ruff check sb3_gtr tests zoo_scripts

format: install
	$(BIN)/python -m ruff format sb3_gtr tests zoo_scripts
	$(BIN)/python -m ruff check --fix sb3_gtr tests zoo_scripts

docs: install
	$(BIN)/python -m sphinx -W -b html docs docs/_build/html

bench: install
	$(BIN)/python -m sb3_gtr.benchmarks.overhead

clean:
	rm -rf $(VENV) docs/_build build dist *.egg-info
