# Real time with Django Channels: the workshop's commands.
#   make lab         install the learner's set (once) and open JupyterLab on the lessons
#   make test        install the dev extra too (once) and run everything CI runs
#   make check       the preflight: is this laptop ready for the workshop?
#   make classroom   the evening's projector: every attendee's checks, live (LAN=1 serves the venue's network)
#   make rehearse    the night before: every lesson as JupyterLab runs it, the echo page in Chromium
#   make lint        ruff: lint and format check (CI runs it); `make format` rewrites
#   make exercises   regenerate exercises/ from solutions/
#   make bench       the benchmark (QUICK=1 for a smoke run, OPTIONS=1 to compare uvicorn's options)
#   make wheelhouse  every wheel, for offline installs; then `make lab OFFLINE=1` installs with no index
#   make slides      the lessons as reveal.js slides in slides/, viewable offline
#   make outputs     re-run notebooks (NB=path ... for some) and store their outputs, as the tests expect
#   make test-python PYTHON=python3.10 VENV=.venv-3.10   the lessons and the kit's tests on another Python
#   make test-offline-install   download this machine's wheels anew and install them with no index
#
# Installing is `pip install -e .` (pyproject.toml; versions in requirements.txt), the same as
# Binder, conda or a bare venv do: what a learner needs for every lesson. The maintainer's targets
# (test, lint, format) install `-e ".[dev]"` on top (tests, browser, lint; requirements-dev.txt).
# make first downloads this machine's wheels into .state/wheels (the only step that needs the
# network) and installs from there with no index; the tests that build fresh environments reuse
# that folder, so `make test` needs no network.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
INSTALLED := $(VENV)/.installed
INSTALLED_DEV := $(VENV)/.installed-dev
KERNEL := realtime-workshop
LAB_ARGS ?=
# Jupyter refuses to run as root (containers, CI) unless told.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
PYTEST_ARGS ?=
OFFLINE ?=
# OFFLINE=1: install from wheelhouse/ (made by `make wheelhouse`), downloading nothing.
WHEELS := $(if $(OFFLINE),$(CURDIR)/wheelhouse,$(CURDIR)/.state/wheels)

# Jupyter, IPython, matplotlib and the kit's logs keep their state inside the
# repo (ignored by git), so running the workshop writes nothing to your home.
STATE := $(CURDIR)/.state
export IPYTHONDIR := $(STATE)/ipython
export JUPYTER_CONFIG_DIR := $(STATE)/jupyter/config
# The workshop's own Jupyter settings (kernels get CurveZMQ keys: see the file); the folder above takes precedence.
export JUPYTER_CONFIG_PATH := $(CURDIR)/jupyter-config
export JUPYTER_DATA_DIR := $(STATE)/jupyter/data
export JUPYTER_RUNTIME_DIR := $(STATE)/jupyter/runtime
export JUPYTERLAB_SETTINGS_DIR := $(STATE)/jupyter/lab/user-settings
export JUPYTERLAB_WORKSPACES_DIR := $(STATE)/jupyter/lab/workspaces
export MPLCONFIGDIR := $(STATE)/matplotlib
export WORKSHOP_LOG_DIR := $(STATE)/logs
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: lab classroom test test-python test-offline-install lint format check rehearse exercises bench wheelhouse slides outputs setup setup-dev clean

# echo_project's rooms keep their history in echo_project/db.sqlite3: its tables first (quick when they exist).
# JupyterLab asks "Would you like to get notified about official Jupyter news?" over lesson 00 unless its
# setting says: answered no here (once; Settings > Notifications changes it), as the workshop runs offline.
NEWS_SETTINGS := $(JUPYTERLAB_SETTINGS_DIR)/@jupyterlab/apputils-extension/notification.jupyterlab-settings
lab: setup
	cd echo_project && $(abspath $(PY)) manage.py migrate --verbosity 0
	@test -f $(NEWS_SETTINGS) || { mkdir -p $(dir $(NEWS_SETTINGS)) && \
	  echo '{"fetchNews": "false", "checkForUpdates": false}' > $(NEWS_SETTINGS); }
	$(BIN)/jupyter lab --notebook-dir=$(CURDIR) --LabApp.default_url=/lab/tree/notebooks/00-welcome.ipynb $(ALLOW_ROOT) $(LAB_ARGS)

# The classroom (issue 26, docs/instructor-guide.md): echo_project with a random join code and instructor token,
# printed at start, on this machine only; LAN=1 serves the venue's network (0.0.0.0), an explicit choice. Not
# HOST=...: csh and tcsh export a HOST of their own, which make would take. PORT=8000 by default.
PORT ?= 8000
classroom: setup
	cd echo_project && $(abspath $(PY)) manage.py migrate --verbosity 0
	$(PY) -c 'from workshop.classroom import main; main()' --host $(if $(LAN),0.0.0.0,127.0.0.1) --port $(PORT)

# Chromium (the browser tests) keeps its crash reports and caches under XDG folders: in .state/ too.
test: setup-dev
	XDG_CONFIG_HOME=$(STATE)/config XDG_CACHE_HOME=$(STATE)/cache WORKSHOP_WHEELS=$(WHEELS) $(PY) -m pytest $(PYTEST_ARGS)

# CI runs this on the oldest and the newest supported Python: the lessons (strict nbval) and the kit's
# and echo_project's tests; the rest (browser, slides, make, Binder) runs once, on the default Python.
# On the other Pythons: the lessons, the kit's servers, and echo_project's behaviour suite and values (its
# consumers, both flavours). Its load, database and Redis-outage tests exercise the servers around it, not the
# Python: they run once, in make test (CI's whole run stays near 15 minutes).
PYTHON_SUBSET ?= notebooks tests/test_serving.py echo_project/echo/tests/test_behaviour.py tests/echo_project/test_values.py
test-python: setup-dev
	$(PY) -m pytest $(PYTHON_SUBSET) $(PYTEST_ARGS)

# The one test that needs the network: a fresh download of this machine's wheels, then an install from them.
test-offline-install: setup-dev
	$(PY) -m pytest tests/test_offline_install.py --run-download $(PYTEST_ARGS)

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: setup
	$(PY) -m workshop.preflight

# NB=notebooks/04-echo-chamber.ipynb for some lessons; PAGE=0 skips the echo page in Chromium.
rehearse: setup
	$(PY) -m tools.rehearse $(if $(filter 0,$(PAGE)),--no-page) $(filter notebooks/%,$(NB))

exercises: setup
	$(PY) -m tools.exercises solutions exercises

bench: setup
	$(PY) -m tools.bench $(if $(QUICK),--quick) $(if $(OPTIONS),--server-options)

wheelhouse: setup
	$(PY) -m tools.wheelhouse

slides: setup
	$(PY) -m tools.slides build slides

# Each notebook runs top to bottom in a fresh kernel from its own folder, as nbval runs it; then the
# slide marks and exercises/ are brought in step with what changed. A kernel sends what a cell prints
# in chunks cut where the timing falls: nbconvert's CoalesceStreamsPreprocessor, run after the
# execution, stores adjacent chunks of one stream as one output, so a re-run rewrites a notebook
# byte for byte.
NB ?= notebooks/*.ipynb solutions/*.ipynb
COALESCE := --NotebookExporter.preprocessors=nbconvert.preprocessors.CoalesceStreamsPreprocessor
outputs: setup
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.record_timing=False $(COALESCE) $(NB)
	$(PY) -m tools.slides mark
	$(PY) -m tools.exercises solutions exercises

STATE_DIRS := $(IPYTHONDIR) $(JUPYTER_CONFIG_DIR) $(JUPYTER_DATA_DIR) $(JUPYTER_RUNTIME_DIR) $(MPLCONFIGDIR) $(WORKSHOP_LOG_DIR)
setup: $(INSTALLED)
	@mkdir -p $(STATE_DIRS)

# The maintainer's install: the learner's, plus the dev extra.
setup-dev: $(INSTALLED_DEV)
	@mkdir -p $(STATE_DIRS)

# Re-installs only when the requirements or the project's metadata change (or the venv is new).
$(INSTALLED): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 10) <= v <= (3, 13) else 1)' || \
	  { echo "This workshop needs Python 3.10 to 3.13; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)."; \
	    echo "Run it with another one, e.g. make lab PYTHON=python3.12"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# As Python 3.13's venv does: git ignores the venv, whatever its name (.venv-3.10, ...).
	@echo '*' > $(VENV)/.gitignore
	$(if $(OFFLINE),,$(PY) -m pip install --quiet --upgrade pip)
	$(if $(OFFLINE),,$(PY) -m tools.wheelhouse --here --dest $(WHEELS))
	$(PY) -m pip install --quiet --no-index --find-links $(WHEELS) -e .
	@# Venvs made before pyproject.toml put the repo on the path with a .pth file: no longer needed.
	rm -f "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/realtime-workshop.pth"
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (realtime workshop)" > /dev/null
	touch $@

$(INSTALLED_DEV): $(INSTALLED) requirements-dev.txt
	$(if $(OFFLINE),,$(PY) -m tools.wheelhouse --here --dev --dest $(WHEELS))
	$(PY) -m pip install --quiet --no-index --find-links $(WHEELS) -e ".[dev]"
	touch $@

clean:
	rm -rf $(STATE) .pytest_cache .pytest-tmp
