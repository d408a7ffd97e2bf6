# The two quick-start commands (see README.md), and the commands that make what the project ships.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DIGITREC_DATA ?= $(abspath ../shared/data)
export DIGITREC_DATA

.PHONY: demo test setup setup-train default-model benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Recognition only: the light install (numpy, Pillow, ONNX Runtime, Typer, Rich).
setup: $(BIN)/python
	$(BIN)/pip install --quiet -e .

# Training and tests too: Keras 3 on TensorFlow, tf2onnx, pytest.
setup-train: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[train,test]"

# Quick start 1: install, then read the example images with the shipped model.
demo: setup
	$(BIN)/digitrec predict examples/

# Quick start 2: install everything, then run the test suite on ../shared/data.
test: setup-train
	$(BIN)/python -m pytest -q

# Re-train the shipped default model with the project's own command (about a minute).
default-model: setup-train
	rm -rf runs/default-model
	$(BIN)/digitrec train --model cnn --seed 0 --out runs/default-model
	rm -rf src/digitrec/default_model
	cp -r runs/default-model src/digitrec/default_model

benchmark: setup-train
	$(BIN)/python benchmarks/epoch_time.py
	$(BIN)/python benchmarks/accuracy.py
	$(BIN)/python benchmarks/reproduce_default_model.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
