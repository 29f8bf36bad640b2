# The two set-up commands of the README: `make demo` and `make test`.
# Each creates .venv if missing, installs torch==2.13.0 first (so no CUDA build is pulled),
# installs the Debian packages earshot needs, installs earshot with its extras, then runs.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.earshot-installed
APT_PACKAGES := espeak-ng fluidsynth fluid-soundfont-gm chromium postgresql sox
BENCH_PEERS := encodec einops openunmix cdpam

.PHONY: demo test bench setup system recordings clean

demo: setup recordings
	$(VENV)/bin/earshot demo

test: setup recordings
	$(PY) -m pytest

bench: setup
	$(PY) -m pip install -q --no-deps $(BENCH_PEERS)
	$(PY) benchmarks/run_all.py

setup: system $(STAMP)

# The Debian packages of real recordings the corpus draws on (docs/data.md), cached once.
# Without them (offline, no apt), the corpus is synthetic only and the tests that need them skip.
recordings: $(STAMP)
	@$(VENV)/bin/earshot corpus fetch || echo "earshot: real recordings not fetched; the corpus will be synthetic only" >&2

system:
	@bash scripts/install_system.sh $(APT_PACKAGES)

$(PY):
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[all,dev]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) runs .pytest_cache build dist
