# The two quick-start commands (see README.md), and the commands that make what the project ships.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The folder holding data/ and handwriting/: ../shared beside this checkout or, for a clean clone
# made elsewhere (a CI check in a temporary folder), beside the checkout it was cloned from.
DIGITREC_SHARED ?= $(or $(shell for checkout in . "$$(git config --get remote.origin.url \
	2>/dev/null)"; do [ -d "$$checkout/../shared" ] && cd "$$checkout/../shared" && pwd && break; \
	done), $(abspath ../shared))
DIGITREC_DATA ?= $(DIGITREC_SHARED)/data
export DIGITREC_SHARED DIGITREC_DATA

.PHONY: demo test setup setup-train browser default-model default-reader benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Recognition only: the light install (numpy, Pillow, ONNX Runtime, Typer, Rich).
setup: $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .

# Everything: training (Keras 3 on TensorFlow), serving, HEIC photos, Ray, and the test tools.
setup-train: $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e ".[train,serve,heif,scale,test]"

# Quick start 1: install, then read the example images with the shipped model.
demo: setup
	$(BIN)/digitrec predict examples/digits/
	$(BIN)/digitrec read examples/numbers/

# Debian's Chromium, which the browser test drives (tests/test_page.py). Installing it needs root,
# as on CI; elsewhere install the chromium package yourself first.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Quick start 2: install everything, then run the test suite on $(DIGITREC_SHARED).
test: setup-train browser
	$(BIN)/python -m pytest -q

# Re-train the shipped default model with the project's own commands (about 15 minutes here):
# the robust recipe on MNIST plus the first halves of ../shared/handwriting's USPS, optdigits
# and ORAND-CAR-A digit boxes (the second halves are kept for measuring), then its int8 copy,
# which is what ships (as accurate, twice the throughput).
HANDWRITING := ../shared/handwriting
default-model: setup-train
	rm -rf runs/default-model
	$(BIN)/digitrec train --model robust --seed 0 --out runs/default-model \
		--extra-data $(HANDWRITING)/usps --extra-data $(HANDWRITING)/optdigits \
		--extra-data $(HANDWRITING)/orand_car_a
	rm -rf runs/default-model-int8
	$(BIN)/digitrec quantize runs/default-model --out runs/default-model-int8
	rm -rf src/digitrec/default_model
	cp -r runs/default-model-int8 src/digitrec/default_model

# Re-train the shipped number reader (an hour to an hour and a quarter here): a CRNN on 30,000 new synthetic
# numbers of real digits each epoch, the first half of ORAND-CAR-A's amounts and the lines of the
# fit registers' numbers, validated on ORAND's last 50 fit amounts and the last fit registers' crops
# (docs/reading.md); benchmarks/reproduce_default_reader.py checks that this reproduces it.
default-reader: setup-train
	rm -rf runs/default-reader
	DIGITREC_HANDWRITING=$(HANDWRITING) $(BIN)/digitrec train-reader --out runs/default-reader \
		--seed 0
	rm -rf src/digitrec/default_reader
	cp -r runs/default-reader src/digitrec/default_reader

benchmark: setup-train
	$(BIN)/pip install --quiet -c constraints.txt -e ".[bench]"
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python benchmarks/server_load.py
	$(BIN)/python benchmarks/inference.py
	$(BIN)/python benchmarks/recipes.py
	$(BIN)/python benchmarks/handwriting.py
	$(BIN)/python benchmarks/ruled_paper.py
	$(BIN)/python benchmarks/reproduce_default_model.py
	$(BIN)/python benchmarks/reading.py
	$(BIN)/python benchmarks/reading_time.py
	$(BIN)/python benchmarks/bulk.py
	$(BIN)/python benchmarks/reproduce_default_reader.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
