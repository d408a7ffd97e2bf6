#!/usr/bin/env bash
# Re-makes the pictures in docs/ with digitrec's own commands (run from the repository root,
# after `make setup-train`; about ten minutes, most of it the tutorial and the search).
set -euo pipefail
shared=${DIGITREC_SHARED:-../shared}  # the folder holding data/ and handwriting/
export DIGITREC_DATA=${DIGITREC_DATA:-$shared/data}
bin=.venv/bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

$bin/digitrec show --index 200 --index 1220 --per-class 8 --out "$work/show"
cp "$work/show/mnist-per-class.png" docs/mnist-per-class.png
$bin/digitrec show --dataset fashion-mnist --per-class 6 --out "$work/show"
cp "$work/show/fashion-mnist-per-class.png" docs/fashion-mnist-per-class.png

$bin/digitrec plot --out "$work/plot"      # the shipped model's run
cp "$work/plot/curves.png" "$work/plot/confusion-matrix.png" "$work/plot/mistakes.png" docs/

$bin/digitrec plot-image "$shared/handwriting"/user_digits/aaronpan/3.jpg --out "$work/explained"
cp "$work/explained.png" docs/explained.png

$bin/digitrec report src/digitrec/default_model --out docs/report.html \
    --handwriting "$shared/handwriting"

$bin/digitrec tutorial --epochs 3 --out "$work/tutorial"
cp "$work/tutorial/compare.png" docs/compare.png

$bin/digitrec tune --trials 8 --epochs 3 --train-limit 12000 --out "$work/tune"
cp "$work/tune/trials.png" docs/trials.png

DIGITREC_SCREENSHOT=docs/page.png $bin/python -m pytest -q tests/test_page.py
