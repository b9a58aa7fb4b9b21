# formcheck: one entry point for setup, the demo, the tests and the benchmarks.
# Every target creates/updates the virtual environment it needs first; nothing is installed by hand.

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.formcheck-installed
PYTEST_ARGS ?=

.PHONY: demo test bench app browser clean help fixtures

help:
	@echo "make demo   - set up and run the main job on the bundled fixture video"
	@echo "make test   - set up and run the test suite"
	@echo "make bench  - run the benchmarks and print figures for BENCHMARKS.md"
	@echo "make app    - start the Streamlit dashboard"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,synth]"
	touch $@

# Debian's Chromium for the browser end-to-end tests (a test tool's own browser download does not work
# offline). Best effort: without it the browser tests skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "note: could not install chromium; browser tests will skip"; \
	  else echo "note: chromium not installed; browser tests will skip"; fi; }

demo: $(STAMP)
	$(BIN)/formcheck demo

test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

REF_VENV  ?= .venv-ref
REF_STAMP := $(REF_VENV)/.formcheck-ref-installed

# Legacy MediaPipe Pose (needs numpy<2) for the pose speed/parity benchmark, in its own venv.
$(REF_STAMP):
	test -x $(REF_VENV)/bin/python || $(PYTHON) -m venv $(REF_VENV)
	$(REF_VENV)/bin/python -m pip install -q "mediapipe==0.10.21" "numpy<2"
	@$(REF_VENV)/bin/python -c "import mediapipe" 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgl1 libglib2.0-0 >/dev/null || true; fi; }
	@$(REF_VENV)/bin/python -c "import mediapipe" || echo "note: legacy MediaPipe unusable; pose comparison benchmarks will skip"
	touch $@

# Benchmarks and slow checks (figures go to BENCHMARKS.md).
# Both steps always run; the target fails if either did.
bench: $(STAMP) $(REF_STAMP) browser
	$(BIN)/python -m pytest -q -m slow -p no:xdist $(PYTEST_ARGS); s=$$?; \
	$(BIN)/python -m pytest -q -m bench -s -p no:xdist tests/bench $(PYTEST_ARGS); b=$$?; \
	exit $$(( s || b ))

app: $(STAMP)
	$(BIN)/formcheck db init
	$(BIN)/streamlit run streamlit_app.py

clean:
	rm -rf $(VENV) out .pytest_cache

# Regenerate the committed rendered fixtures (same bytes on the same software stack; ~12 min on one core).
fixtures: $(STAMP)
	$(BIN)/formcheck synth fixtures --out tests/fixtures/videos
