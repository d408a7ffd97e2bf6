"""Pictures and reports: files exist, are valid images of the expected size, hold their parts."""

import re
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from digitrec import plots, run_folder
from digitrec.recognizer import DEFAULT_MODEL

from conftest import HANDWRITING, REPOSITORY


def assert_png(path, min_width=300, min_height=150):
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width >= min_width and image.height >= min_height, image.size


def test_samples_and_per_class_grid(tmp_path, data_dir):
    figure = plots.samples("mnist", [200, 1220], data_dir=data_dir)
    png, svg = plots.save(figure, tmp_path / "samples")
    assert_png(png, 250, 120)
    assert svg.read_text().lstrip().startswith("<?xml")
    assert "#200: 1" in svg.read_text() or "#200" in svg.read_text()
    grid = plots.save(plots.samples_per_class("fashion-mnist", 4, data_dir=data_dir),
                      tmp_path / "grid")[0]
    assert_png(grid, 250, 500)
    with pytest.raises(ValueError, match="outside"):
        plots.samples("mnist", [70000], data_dir=data_dir)


def test_run_plots_through_the_command(tmp_path):
    result = subprocess.run([sys.executable, "-m", "digitrec.cli", "plot", "--out",
                             str(tmp_path)], capture_output=True, text=True, cwd=REPOSITORY,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    for name in ("curves", "confusion-matrix", "predictions", "mistakes"):
        assert_png(tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.svg").stat().st_size > 1000
    with Image.open(tmp_path / "curves.png") as image:
        assert image.width > 2 * image.height  # two panels side by side


def test_a_number_readers_run_plots_its_training_curves(tmp_path):
    """`digitrec plot` on the shipped reader: its loss and the share of validation numbers
    read exactly per epoch (its history.json is a list of epochs), and nothing of MNIST's."""
    from digitrec.recognizer import DEFAULT_READER

    result = subprocess.run([sys.executable, "-m", "digitrec.cli", "plot", str(DEFAULT_READER),
                             "--out", str(tmp_path)], capture_output=True, text=True,
                            cwd=REPOSITORY, timeout=300)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["curves.png", "curves.svg"]
    assert "read exactly" in (tmp_path / "curves.svg").read_text()
    history = run_folder.read_history(DEFAULT_READER)
    assert set(history) == {"epoch", "loss", "validation_exact"} and history["epoch"][0] == 1


def test_explained_user_image(tmp_path):
    image = HANDWRITING / "user_digits" / "aaronpan" / "3.jpg"
    png = plots.save(plots.explain(image), tmp_path / "three")[0]
    assert_png(png, 600, 200)


def test_report_has_its_sections_and_embedded_images(tmp_path, data_dir):
    from digitrec.report import report

    out = report(DEFAULT_MODEL, tmp_path / "report.html", data_dir, handwriting=HANDWRITING)
    text = out.read_text()
    for section in ("configuration", "model", "curves", "test-metrics", "confusion-matrix",
                    "mistakes", "real-handwriting"):
        assert f'id="{section}"' in text
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) >= 3
    assert "Trainable params" in text and "precision" in text and "user_digits: photo" in text
    assert 'src="http' not in text  # self-contained


def test_report_of_a_folder_that_is_not_a_run(tmp_path):
    result = subprocess.run([sys.executable, "-m", "digitrec.cli", "report", str(tmp_path)],
                            capture_output=True, text=True, cwd=REPOSITORY, timeout=120)
    assert result.returncode == 2 and "not a run folder" in result.stderr
    # A run whose metrics.json is damaged, or lacks a field the command needs (an older or
    # hand-made record): named, no traceback, for report and compare alike.
    run = shutil.copytree(DEFAULT_MODEL, tmp_path / "run")
    for text, message in (('["not", "a", "record"]', "metrics.json: not a run's record"),
                          ('{"test_accuracy": 0.99}', "metrics.json: lacks model, parameters")):
        (run / "metrics.json").write_text(text)
        for command in ("report", "compare"):
            result = subprocess.run([sys.executable, "-m", "digitrec.cli", command, str(run)],
                                    capture_output=True, text=True, cwd=tmp_path, timeout=120)
            assert result.returncode == 2, result.stderr
            assert message in result.stderr
            assert "Traceback" not in result.stderr
