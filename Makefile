# Quick start: `make demo` and `make test`. Both install first (fast when nothing changed).
#
# The virtual environment (torch + CUDA wheels, ~7 GB) lives in a cache folder outside the
# clone, keyed on requirements.txt, so fresh clones, CI runs and later sessions reuse it.
# `.venv` in the clone is a link to it.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
CACHE ?= $(HOME)/.cache/aecodec
REQ_KEY := $(shell sha256sum requirements.txt | cut -c1-12)
VENV := $(CACHE)/venv-$(REQ_KEY)
STAMP := $(VENV)/.installed
PY := .venv/bin/python
DEMO := build/demo

.PHONY: install demo test clean

define EDITABLE_IS_CURRENT
import aecodec, os, sys, tomllib, importlib.metadata as md
scripts = tomllib.load(open("pyproject.toml", "rb"))["project"]["scripts"]
installed = {e.name: e.value for e in md.distribution("aecodec").entry_points if e.group == "console_scripts"}
sys.exit(os.path.dirname(aecodec.__file__) != os.path.realpath("aecodec") or scripts != installed)
endef
export EDITABLE_IS_CURRENT

install: $(STAMP)
	@ln -sfn $(VENV) .venv
	@# The editable install maps `aecodec` to one folder for the whole shared venv: (re)point it
	@# here when another clone (or a deleted CI clone) holds it, or when pyproject's entry points
	@# changed. `-I` keeps the cwd off sys.path.
	@$(PY) -I -c "$$EDITABLE_IS_CURRENT" 2>/dev/null || $(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@# Byte-code, as a regular install has it: without it every run compiles the CLI's modules again
	@# (30 ms a process where PYTHONDONTWRITEBYTECODE is set).
	@$(PY) -m compileall -q aecodec

# The venv's path carries the hash of requirements.txt, so it only has to exist once.
$(STAMP):
	@mkdir -p $(CACHE)
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet -r requirements.txt
	@touch $@

demo: install
	@mkdir -p $(DEMO)
	$(PY) -m aecodec encode tests/data/images/canyon_wren.png -o $(DEMO)/canyon_wren.aec --quality 75 --force
	$(PY) -m aecodec decode $(DEMO)/canyon_wren.aec -o $(DEMO)/canyon_wren.png --force
	$(PY) -m aecodec.bench.demo tests/data/images/canyon_wren.png $(DEMO)/canyon_wren.aec $(DEMO)/canyon_wren.png

test: install
	$(PY) -m pytest -q

clean:
	rm -rf build .venv *.egg-info
