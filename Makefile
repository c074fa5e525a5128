# journeyml — two commands set everything up on a fresh machine:
#   make demo   simulate journeys, train the three models into ./mlflow, serve the API on :3000
#   make test   run the test suite
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 3000
STAMP := $(VENV)/.installed

.PHONY: demo test install train serve lint typecheck bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# Train only if no champion exists yet (a second `make demo` reuses the models).
train: $(STAMP)
	@if $(BIN)/python -m journeyml.demo check; then \
		echo "champions found in ./mlflow: reusing them (rm -rf mlflow/* to retrain)"; \
	else \
		$(BIN)/journeyml train pipelines/demo.yaml; \
	fi

demo: train
	@$(BIN)/python -m journeyml.demo store
	@$(BIN)/python -m journeyml.demo curl $(HOST) $(PORT)
	$(BIN)/journeyml serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q --durations=25

lint: $(STAMP)
	$(BIN)/ruff check src tests service benchmarks
	$(BIN)/ruff format --check src tests service benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
