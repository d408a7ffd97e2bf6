"""The command line as a user runs it: real processes, real files, every bad input in one call."""

import csv
import json
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import HANDWRITING, REPOSITORY


def digitrec(*arguments, cwd=REPOSITORY, timeout=300):
    return subprocess.run([sys.executable, "-m", "digitrec.cli", *map(str, arguments)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout)


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height, with a tiny data chunk."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                                0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    good = REPOSITORY / "examples" / "digits" / "canvas-drawing-3.png"
    shutil.copy(good, folder / "good-3.png")
    (folder / "no-images").mkdir()
    (folder / "no-images" / "readme.txt").write_text("nothing to see")
    (folder / "not-an-image.png").write_text("this is text, not a PNG")
    (folder / "truncated.png").write_bytes(good.read_bytes()[:300])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "zero.png").write_bytes(png_declaring(0, 0))
    (folder / "bomb.png").write_bytes(png_declaring(10_000, 10_000))  # 100 megapixels
    Image.new("RGB", (640, 480), (250, 250, 245)).save(folder / "blank-page.jpg")
    Image.open(good).convert("RGB").save(folder / "scan.pdf")  # a scanner's PDF of a page
    paths = {name: folder / name for name in ("missing.png", "no-images", "not-an-image.png",
                                              "truncated.png", "empty.jpg", "zero.png",
                                              "bomb.png", "blank-page.jpg", "scan.pdf")}
    return folder / "good-3.png", paths


EXPECTED_REASONS = {
    "missing.png": "no such file",
    "no-images": "holds no image",
    "not-an-image.png": "cannot read image",
    "truncated.png": "cannot read image",
    "empty.jpg": "empty file",
    "zero.png": "0x0",
    "bomb.png": "megapixel limit",
    "blank-page.jpg": "no digit found",
    "scan.pdf": "a PDF, not an image: save its page as PNG or JPEG",
}


@pytest.mark.parametrize("command, folder", [("predict", "digits"), ("read", "numbers")])
def test_the_demo_reads_the_examples(command, folder):
    """`make demo`: each example digit and number is answered with what is written in it (its
    file name ends with it); a digit with its runner-up, a number "ok" (not "unsure")."""
    result = digitrec(command, f"examples/{folder}/")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(list((REPOSITORY / "examples" / folder).glob("*.[pj][np]g")))
    for line in lines:
        name, answer = line.split(": ", 1)
        assert answer.startswith(name.rsplit("-", 1)[1].split(".")[0] + " ("), line
        assert "runner-up" in answer if command == "predict" else "unsure" not in answer, line


def test_every_bad_input_gets_one_line_and_the_good_file_is_still_answered(bad_inputs):
    good, paths = bad_inputs
    result = digitrec("predict", *paths.values(), good)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout.startswith(f"{good}: 3 ")
    errors = result.stderr.strip().splitlines()
    assert len(errors) == len(paths)
    for (name, path), line in zip(paths.items(), errors):
        assert line.startswith(str(path)), line
        assert EXPECTED_REASONS[name] in line, line


def test_predict_json_lines(bad_inputs):
    good, paths = bad_inputs
    result = digitrec("predict", "--json", good, paths["truncated.png"])
    assert result.returncode == 1
    answer, error = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert answer["path"] == str(good) and answer["digit"] == 3
    assert len(answer["probabilities"]) == 10
    assert abs(sum(answer["probabilities"]) - 1) < 1e-4
    assert answer["confidence"] == pytest.approx(max(answer["probabilities"]), abs=1e-5)
    assert set(error) == {"path", "status", "error"} and error["status"] == "error"
    assert "cannot read image" in error["error"]
    assert answer["status"] in ("ok", "unsure") and "reason" in answer


def test_predict_json_reports_a_blank_page_as_no_digit(bad_inputs):
    _, paths = bad_inputs
    result = digitrec("predict", "--json", paths["blank-page.jpg"])
    assert result.returncode == 1
    answer = json.loads(result.stdout)
    assert answer["status"] == "no_digit" and answer["digit"] is None
    assert "no digit found" in answer["reason"]


def test_predict_explain_saves_the_28x28_image_the_model_saw(tmp_path):
    result = digitrec("predict", "--json", "--explain", tmp_path / "seen",
                      "examples/digits/canvas-drawing-3.png",
                      "examples/digits/canvas-drawing-3.png")
    assert result.returncode == 0, result.stderr
    saved = [json.loads(line)["model_input"] for line in result.stdout.splitlines()]
    assert len(set(saved)) == 2  # the second does not overwrite the first
    for path in saved:
        image = Image.open(path)
        assert image.size == (28, 28) and image.mode == "L"
        pixels = np.asarray(image)
        assert pixels.max() == 255 and pixels[0, 0] == 0  # white ink on black, as MNIST


def test_read_explain_draws_each_digits_box_on_the_image(tmp_path):
    """A real cheque 40 pixels high (its first digit, a 1 read as 7, to check) drawn enlarged
    with its boxes, red round the digit to check and green round the others; a file that
    cannot be read is answered and not drawn; nothing is drawn over an earlier drawing."""
    cheque = HANDWRITING / "orand_car_a" / "images" / "train_a_car_000164.jpg"  # 19133
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    for _ in range(2):
        result = digitrec("read", "--json", "--explain", tmp_path / "drawn", cheque, broken)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert sorted(path.name for path in (tmp_path / "drawn").iterdir()) == [
        "train_a_car_000164-2.read.png", "train_a_car_000164.read.png"]
    reading = json.loads(result.stdout.splitlines()[0])
    drawing = np.asarray(Image.open(tmp_path / "drawn" / "train_a_car_000164.read.png"))
    assert drawing.shape[0] >= 200 and drawing.shape[2] == 3
    red = (drawing[..., 0] > 200) & (drawing[..., 1] < 60) & (drawing[..., 2] < 60)
    green = (drawing[..., 1] > 100) & (drawing[..., 0] < 60) & (drawing[..., 2] < 60)
    to_check = [digit["status"] != "ok" for digit in reading["digits"]]
    assert red.any() == any(to_check) and green.any() == (not all(to_check))


def test_explain_folder_inside_the_folder_read_is_not_read_again(tmp_path):
    """The drawings saved in a folder being read are not inputs on the next run; a drawing
    named on its own is read."""
    shutil.copy(REPOSITORY / "examples" / "digits" / "canvas-drawing-3.png", tmp_path)
    for _ in range(2):
        result = digitrec("predict", "--json", "--explain", tmp_path / "seen", tmp_path)
        assert result.returncode == 0, result.stderr
        assert [json.loads(line)["path"] for line in result.stdout.splitlines()] == [
            str(tmp_path / "canvas-drawing-3.png")]
    assert len(list((tmp_path / "seen").iterdir())) == 2
    drawing = tmp_path / "seen" / "canvas-drawing-3.28x28.png"
    result = digitrec("read", "--json", "--explain", tmp_path / "seen", drawing)
    assert [json.loads(line)["path"] for line in result.stdout.splitlines()] == [str(drawing)]


def test_read_prints_the_number_and_json_boxes():
    path = HANDWRITING / "multi_digit" / "dfak0_2026.png"
    result = digitrec("read", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{path}: 2026 ")
    reading = json.loads(digitrec("read", "--json", path).stdout)
    assert set(reading) == {"path", "text", "status", "confidence", "digits"}
    assert reading["text"] == "2026" and len(reading["digits"]) == 4
    assert reading["status"] == "ok" and 0.8 <= reading["confidence"] <= 1
    boxes = [digit["box"] for digit in reading["digits"]]
    width, height = Image.open(path).size
    assert all(x >= 0 and y >= 0 and x + w <= width and y + h <= height for x, y, w, h in boxes)
    assert [box[0] for box in boxes] == sorted(box[0] for box in boxes)


def test_read_bad_and_blank_inputs(bad_inputs):
    _, paths = bad_inputs
    result = digitrec("read", paths["truncated.png"], paths["blank-page.jpg"])
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert "cannot read image" in lines[0] and "no digit" in lines[1]
    # In JSON, a blank image is "no_digit", as POST /v1/read says, and a bad file "error".
    result = digitrec("read", "--json", paths["truncated.png"], paths["blank-page.jpg"])
    error, blank = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1 and error["status"] == "error"
    assert blank["status"] == "no_digit" and blank["text"] == "" and "no digit" in blank["reason"]


def test_predict_real_handwriting_photos():
    photos = [HANDWRITING / "user_digits" / "aaronpan" / f"{digit}.jpg" for digit in (3, 5, 8)]
    result = digitrec("predict", "--json", *photos)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["digit"] for line in result.stdout.splitlines()] == [3, 5, 8]


def test_predict_with_a_model_that_does_not_exist(tmp_path):
    result = digitrec("predict", "--model", tmp_path / "nothing", "examples/digits/")
    assert result.returncode == 2
    assert result.stderr.startswith("digitrec: error:") and "no model found" in result.stderr


def test_evaluate_json_matches_the_shipped_metrics():
    result = digitrec("evaluate", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    matrix = np.array(report["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 10000
    assert report["accuracy"] == pytest.approx(np.trace(matrix) / 10000)
    assert report["accuracy"] >= 0.99
    recalls = [row["recall"] for row in report["per_class"]]
    assert recalls == pytest.approx(np.diag(matrix) / matrix.sum(axis=1))


def test_evaluate_prints_tables():
    result = digitrec("evaluate")
    assert result.returncode == 0, result.stderr
    for text in ("accuracy", "loss", "precision", "recall", "confusion matrix"):
        assert text in result.stdout


def test_evaluate_without_data_says_where_to_put_it(tmp_path):
    env_result = subprocess.run(
        [sys.executable, "-m", "digitrec.cli", "evaluate"], capture_output=True, text=True,
        cwd=REPOSITORY, timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DIGITREC_DATA": str(tmp_path),
             "XDG_CACHE_HOME": str(tmp_path / "cache"), "http_proxy": "http://127.0.0.1:9",
             "https_proxy": "http://127.0.0.1:9"})
    assert env_result.returncode == 2
    assert "DIGITREC_DATA" in env_result.stderr and "Traceback" not in env_result.stderr


def test_train_then_predict_with_the_run(tmp_path):
    run = tmp_path / "run"
    result = digitrec("train", "--model", "softmax", "--epochs", "1", "--train-limit", "2000",
                      "--out", run)
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout and (run / "model.onnx").is_file()
    assert "s per epoch" in result.stdout
    again = digitrec("train", "--model", "softmax", "--epochs", "1", "--out", run)
    assert again.returncode == 2 and "exists already" in again.stderr
    prediction = digitrec("predict", "--json", "--model", run,
                          "examples/digits/canvas-drawing-3.png")
    assert prediction.returncode == 0 and "digit" in json.loads(prediction.stdout)


def test_train_with_a_bad_option_is_a_one_line_error(tmp_path):
    result = digitrec("train", "--model", "resnet", "--out", tmp_path / "x")
    assert result.returncode == 2 and "unknown model" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    for seed in (0, 1):
        result = digitrec("train", "--model", "softmax", "--epochs", "1", "--train-limit", "1500",
                          "--seed", seed, "--out", folder / f"seed-{seed}")
        assert result.returncode == 0, result.stderr
    return [folder / "seed-0", folder / "seed-1"]


def test_ensemble_and_compare_commands(tiny_runs, tmp_path):
    result = digitrec("ensemble", *tiny_runs, "--out", tmp_path / "both")
    assert result.returncode == 0, result.stderr
    assert "member" in result.stdout and (tmp_path / "both" / "model.onnx").is_file()
    answer = digitrec("predict", "--json", "--model", tmp_path / "both",
                      "examples/digits/canvas-drawing-3.png")
    assert answer.returncode == 0 and len(json.loads(answer.stdout)["probabilities"]) == 10
    compared = digitrec("compare", *tiny_runs, "--out", tmp_path / "plots")
    assert compared.returncode == 0, compared.stderr
    assert "seed-0" in compared.stdout and (tmp_path / "plots" / "compare.png").is_file()


def test_an_ensemble_is_plotted_reported_and_compared_as_a_run(tiny_runs, tmp_path):
    members = [shutil.copytree(run, tmp_path / "members" / run.name) for run in tiny_runs]
    ensemble = tmp_path / "both"
    assert digitrec("ensemble", *members, "--out", ensemble).returncode == 0
    damaged = shutil.copytree(members[0], tmp_path / "damaged")
    (damaged / "config.json").write_text("{not json")
    for bad, message in ((tmp_path / "members", "not a run folder (no model.onnx)"),
                         (damaged, "config.json: cannot be read as JSON")):
        refused = digitrec("ensemble", members[0], bad, "--out", tmp_path / "refused")
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr and not (tmp_path / "refused").exists()
    plotted = digitrec("plot", ensemble, "--out", tmp_path / "plots")
    assert plotted.returncode == 0, plotted.stderr
    # An ensemble has no epochs of its own: its curves are its members'.
    assert {"curves.png", "confusion-matrix.png", "mistakes.png"} <= {
        path.name for path in (tmp_path / "plots").iterdir()}
    reported = digitrec("report", ensemble, "--out", tmp_path / "report.html")
    assert reported.returncode == 0, reported.stderr
    page = (tmp_path / "report.html").read_text()
    assert 'id="members"' in page and str(members[1]) in page and "<img" in page
    compared = digitrec("compare", ensemble, *members, "--out", tmp_path / "compared")
    assert compared.returncode == 0, compared.stderr
    assert "ensemble" in compared.stdout and "Traceback" not in compared.stderr
    # With its members gone, the ensemble still plots everything but the curves.
    shutil.rmtree(tmp_path / "members")
    alone = digitrec("plot", ensemble, "--out", tmp_path / "alone")
    assert alone.returncode == 0 and "no training curves" in alone.stderr
    assert (tmp_path / "alone" / "mistakes.png").is_file()
    assert not (tmp_path / "alone" / "curves.png").exists()


def test_train_from_a_config_file(tiny_runs, tmp_path):
    result = digitrec("train", "--config", tiny_runs[0] / "config.json", "--seed", "5",
                      "--epochs", "0.5", "--out", tmp_path / "again")
    assert result.returncode == 0, result.stderr
    # Half an epoch's time is mostly start-up: no time per epoch is extrapolated from it.
    assert "test accuracy" in result.stdout and "per epoch" not in result.stdout
    config = json.loads((tmp_path / "again" / "config.json").read_text())
    assert config["model"] == "softmax" and config["seed"] == 5 and config["train_limit"] == 1500
    assert config["epochs"] == 0.5
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": "softmax", "colour": "blue"}')
    refused = digitrec("train", "--config", bad, "--out", tmp_path / "never")
    assert refused.returncode == 2 and "unknown settings colour" in refused.stderr
    for text, message in (("[1, 2]", "not a configuration"), ("{not", "cannot read")):
        bad.write_text(text)
        refused = digitrec("train", "--config", bad, "--out", tmp_path / "never")
        # One line naming the file (click's Exit once slipped through as "error: 2").
        assert refused.returncode == 2 and refused.stderr.count("digitrec: error:") == 1
        assert message in refused.stderr and "Traceback" not in refused.stderr


def test_cv_and_show_commands(tmp_path):
    result = digitrec("cv", "--model", "softmax", "--folds", "2", "--epochs", "1",
                      "--train-limit", "800", "--out", tmp_path / "cv")
    assert result.returncode == 0, result.stderr
    assert "fold 2:" in result.stdout and "+-" in result.stdout
    assert json.loads((tmp_path / "cv" / "cv.json").read_text())["folds"][1]["fold"] == 2
    # Two indices after one --index, as users write it.
    shown = digitrec("show", "--index", "200", "1220", "--per-class", "0",
                     "--out", tmp_path / "show")
    assert shown.returncode == 0, shown.stderr
    assert (tmp_path / "show" / "mnist-samples.png").is_file()


def test_quantize_command_makes_a_model_predict_can_use(tiny_runs, tmp_path):
    result = digitrec("quantize", tiny_runs[0], "--out", tmp_path / "int8")
    assert result.returncode == 0, result.stderr
    assert "float model: test accuracy" in result.stdout
    answer = digitrec("predict", "--json", "--model", tmp_path / "int8",
                      "examples/digits/canvas-drawing-3.png")
    assert answer.returncode == 0 and len(json.loads(answer.stdout)["probabilities"]) == 10
    refused = digitrec("quantize", tmp_path, "--out", tmp_path / "never")
    assert refused.returncode != 0 and "not a run folder" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_the_shipped_int8_models_config_gives_its_float_training_recipe():
    from digitrec.cli import train as train_commands
    from digitrec.recognizer import DEFAULT_MODEL

    recorded = json.loads((DEFAULT_MODEL / "config.json").read_text())
    assert recorded["precision"] == "int8"
    config = train_commands._train_config(DEFAULT_MODEL / "config.json")
    assert config.model == "robust" and config.epochs == recorded["epochs"]
    assert list(config.extra_data) == recorded["extra_data"]


@pytest.mark.parametrize("blocked, arguments, extra", [
    ("fastapi", ["serve"], "serve"),
    ("keras", ["train", "--model", "softmax", "--epochs", "1"], "train"),
    ("matplotlib", ["show", "0"], "plots"),
])
def test_a_missing_extra_is_named_with_its_install_command(blocked, arguments, extra):
    """As on a machine where only the core was installed: the module cannot be imported."""
    script = (f"import sys; sys.modules[{blocked!r}] = None; sys.argv[0] = 'digitrec'; "
              "from digitrec.cli import app; app()")
    result = subprocess.run([sys.executable, "-c", script, *arguments], capture_output=True,
                            text=True, cwd=REPOSITORY, timeout=120)
    assert result.returncode == 2
    assert f"pip install 'digitrec[{extra}]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_port_that_cannot_be():
    """Before this was checked, uvicorn said it ran on port 99999 and served nothing there."""
    result = digitrec("serve", "--port", "99999", timeout=60)
    assert result.returncode == 2 and "65535" in result.stderr, result.stderr


def without_keras(*arguments):
    """The command line in a process where Keras and TensorFlow cannot be imported, as with the
    base install (`pip install digitrec`, no train extra)."""
    blocker = ("import sys; sys.modules.update(keras=None, tensorflow=None, tf2onnx=None); "
               "sys.argv[0] = 'digitrec'; from digitrec.cli import app; app()")
    return subprocess.run([sys.executable, "-c", blocker, *map(str, arguments)],
                          capture_output=True, text=True, cwd=REPOSITORY, timeout=300)


def test_models_ensemble_and_quantize_need_no_keras(tiny_runs, tmp_path):
    listed = without_keras("models")
    assert listed.returncode == 0, listed.stderr
    assert "robust" in listed.stdout and "242,602" in listed.stdout
    averaged = without_keras("ensemble", *tiny_runs, "--out", tmp_path / "both")
    assert averaged.returncode == 0, averaged.stderr
    quantized = without_keras("quantize", tiny_runs[0], "--out", tmp_path / "int8")
    assert quantized.returncode == 0, quantized.stderr
    for run in (tmp_path / "both", tmp_path / "int8"):
        answer = without_keras("predict", "--json", "--model", run,
                               "examples/digits/canvas-drawing-3.png")
        assert answer.returncode == 0, answer.stderr


def test_mlp_options_are_trained_and_recorded(tmp_path):
    run = tmp_path / "mlp"
    result = digitrec("train", "--model", "mlp", "--hidden-units", "256", "--dropout", "0.3",
                      "--l2", "0.01", "--epochs", "0.5", "--train-limit", "1000", "--out", run)
    assert result.returncode == 0, result.stderr
    config = json.loads((run / "config.json").read_text())
    assert (config["hidden_units"], config["dropout"], config["l2"]) == (256, 0.3, 0.01)
    assert json.loads((run / "metrics.json").read_text())["parameters"] == (
        784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10)
    refused = digitrec("train", "--model", "robust", "--hidden-units", "64", "--out",
                       tmp_path / "never")
    assert refused.returncode == 2 and "does not take hidden_units" in refused.stderr
    assert not (tmp_path / "never").exists()


def test_a_runs_config_trains_the_same_run_again(tmp_path):
    """`digitrec train --config RUN/config.json` reproduces RUN: the same weights (same seed,
    same machine), every setting of the recipe recorded."""
    import onnx
    from onnx import numpy_helper

    first = tmp_path / "first"
    assert digitrec("train", "--model", "mlp-dropout", "--epochs", "0.5", "--train-limit",
                    "1000", "--seed", "3", "--out", first).returncode == 0
    again = digitrec("train", "--config", first / "config.json", "--out", tmp_path / "again")
    assert again.returncode == 0, again.stderr

    def weights(run):
        return [numpy_helper.to_array(tensor).tobytes()
                for tensor in onnx.load(str(run / "model.onnx")).graph.initializer]

    assert weights(first) == weights(tmp_path / "again")
    config = json.loads((first / "config.json").read_text())
    assert config["architecture"] == "mlp" and config["dropout"] == 0.3
    assert {"label_smoothing", "schedule", "ema", "outlier_exposure"} <= set(config)


def test_read_with_either_reader_and_a_missing_one(tmp_path):
    cheque = HANDWRITING / "orand_car_a" / "images" / "train_a_car_000160.jpg"  # 25.441
    for reader in ([], ["--reader", "segmentation"]):
        result = digitrec("read", cheque, "--json", *reader)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["text"] == "25441"
    result = digitrec("read", cheque, "--reader", tmp_path / "no-such-run")
    assert result.returncode == 2 and "no number reader there" in result.stderr
    assert "Traceback" not in result.stderr
    result = digitrec("train-reader", "--handwriting", tmp_path, "--out", tmp_path / "run")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr


def test_a_number_reader_and_a_digit_model_given_in_each_others_place():
    """A reader's run where a digit model is asked for (and the other way round) is named as
    what it is, with where it belongs, not an ONNX Runtime traceback at the first image."""
    reader = REPOSITORY / "src/digitrec/default_reader"
    model = REPOSITORY / "src/digitrec/default_model"
    number = REPOSITORY / "examples/numbers/canvas-number-2357.png"
    for arguments, wrong, right in (
            (["read", number, "--model", reader], "a number reader", "--reader"),
            (["read", number, "--reader", model], "a digit model", "--model"),
            (["predict", REPOSITORY / "examples/digits/small-28x28-5.png", "--model", reader],
             "a number reader", "--reader"),
            (["report", reader, "--out", REPOSITORY / "no-report.html"], "a number reader",
             "--reader")):
        result = digitrec(*arguments)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert wrong in result.stderr and right in result.stderr, result.stderr
    assert not (REPOSITORY / "no-report.html").exists()


def test_evaluate_scores_read_on_a_folder_of_labelled_numbers(tmp_path):
    """`digitrec evaluate --numbers`: real cheques and a file that is no image, each answer
    scored against its label; the figures agree with the mistakes listed."""
    from digitrec.evaluation import reading_figures

    folder = tmp_path / "mine"
    folder.mkdir()
    rows = list(csv.DictReader(open(HANDWRITING / "orand_car_a" / "labels.csv")))[:6]
    lines = ["filename,label"]
    for row in rows:
        shutil.copy(HANDWRITING / "orand_car_a" / row["filename"], folder)
        lines.append(f"{Path(row['filename']).name},{row['label']}")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    (folder / "labels.csv").write_text("\n".join(lines + ["broken.jpg,123"]) + "\n")
    result = digitrec("evaluate", "--numbers", folder, "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["numbers"] == 7 and figures["reader"] is None
    assert figures["exact"] == pytest.approx(1 - len(figures["mistakes"]) / 7)
    broken = [mistake for mistake in figures["mistakes"] if mistake["path"].endswith("broken.jpg")]
    assert broken and broken[0]["status"] == "error" and "cannot read image" in broken[0]["error"]
    text = digitrec("evaluate", "--numbers", folder)
    assert text.returncode == 0, text.stderr
    assert "not read exactly" in text.stdout and "broken.jpg" in text.stdout
    on_two = json.loads(digitrec("evaluate", "--numbers", folder, "--jobs", "2", "--json").stdout)
    assert {key: value for key, value in on_two.items() if key != "ms_per_image"} == {
        key: value for key, value in figures.items() if key != "ms_per_image"}
    assert digitrec("evaluate", "--jobs", "2").returncode == 2  # no --numbers
    held = json.loads(digitrec("evaluate", "--numbers", folder, "--digits", "5", "--json").stdout)
    assert held["digits"] == 5 and all(len(mistake["text"]) in (0, 5)
                                       for mistake in held["mistakes"])
    assert digitrec("evaluate", "--numbers", folder, "--digits", "0").returncode == 2
    (folder / "labels.csv").write_text("filename,label\nbroken.jpg,12a\n")
    bad = digitrec("evaluate", "--numbers", folder)
    assert bad.returncode == 2 and "must be the number's digits" in bad.stderr
    # Edit distance per digit: "1234" for "1243" is 2 edits of 4; "ok" precision 1 of 2.
    assert reading_figures(["1243", "55"], ["1234", "55"], ["ok", "ok"]) == {
        "numbers": 2, "exact": 0.5, "text_or_alternative": 0.5, "per_digit": 1 - 2 / 6,
        "ok_coverage": 1.0, "ok_precision": 0.5, "wrong_ok": 1}


def test_read_held_to_a_number_of_digits():
    """--digits: the cheque whose 1 the greedy path leaves out, read whole; a number of digits
    out of range, or with segmentation alone, is a one-line error before any work."""
    cheque = HANDWRITING / "orand_car_a" / "images" / "train_a_car_000384.jpg"  # 2.510
    result = digitrec("read", cheque, "--json", "--digits", "4", "--jobs", "2")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["text"] == "2510"
    for arguments in (["--digits", "0"], ["--digits", "4", "--reader", "segmentation"]):
        result = digitrec("read", cheque, *arguments)
        assert result.returncode == 2 and "digits" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_version():
    from digitrec import __version__

    result = digitrec("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"digitrec {__version__}"


def test_help_labels_no_flag_with_a_type():
    """Flags take no value: no command's help shows a <bool> label beside them (Typer's Rich
    help does by default), while options that take one keep theirs."""
    from typer.testing import CliRunner

    from digitrec.cli import app

    runner = CliRunner()
    commands = [command.name for command in app.registered_commands]
    assert {"predict", "read", "train-reader", "openapi"} <= set(commands)
    for command in [None, *commands]:
        result = runner.invoke(app, [command, "--help"] if command else ["--help"],
                               env={"COLUMNS": "120"})
        assert result.exit_code == 0, (command, result.output)
        assert "<bool>" not in result.output, command
    assert "<path>" in runner.invoke(app, ["predict", "--help"], env={"COLUMNS": "120"}).output


@pytest.fixture(scope="module")
def many_files(bad_inputs, tmp_path_factory, mnist):
    """A folder of 150 MNIST test digits as PNG files (three chunks of work) with the bad files
    of ``bad_inputs`` among them."""
    folder = tmp_path_factory.mktemp("many")
    (_, _), (digits, labels) = mnist
    for index in range(150):
        Image.fromarray(digits[index]).save(folder / f"{index:04d}-{labels[index]}.png")
    _, paths = bad_inputs
    for name in ("not-an-image.png", "truncated.png", "empty.jpg", "zero.png", "bomb.png",
                 "blank-page.jpg"):
        shutil.copy(paths[name], folder / f"0070-{name}")
    return folder


def test_two_jobs_answer_as_one_job_does_bad_files_included(many_files):
    """--jobs 2 (worker processes) prints the same lines in the same order as --jobs 1, text and
    JSON, every bad file with its own line, and the same exit status."""
    for output in ([], ["--json"]):
        one, two = (digitrec("predict", *output, "--jobs", jobs, many_files) for jobs in (1, 2))
        assert one.returncode == two.returncode == 1
        assert one.stdout == two.stdout and one.stderr == two.stderr
        assert "Traceback" not in two.stderr
    lines = one.stdout.splitlines()
    assert len(lines) == 156
    errors = [json.loads(line) for line in lines if '"error"' in line]
    assert len(errors) == 5 and all(error["path"].split("/")[-1].startswith("0070-")
                                    for error in errors)
    answers = [json.loads(line) for line in lines]
    digits = [answer for answer in answers if answer["path"].endswith(".png")
              and answer["path"].rsplit("-", 1)[1][:-4].isdigit()]
    assert len(digits) == 150
    assert sum(answer["digit"] == int(answer["path"][-5]) for answer in digits) >= 147


def test_predict_and_read_write_csv(many_files):
    import csv
    import io

    result = digitrec("predict", "--format", "csv", "--jobs", 2, many_files)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.returncode == 1 and len(rows) == 156
    assert list(rows[0]) == ["path", "digit", "confidence", "status", "reason", "error"]
    assert {row["status"] for row in rows} <= {"ok", "unsure", "no_digit", "error"}
    bad = [row for row in rows if row["status"] == "error"]
    assert len(bad) == 5 and all(row["error"] and not row["digit"] for row in bad)
    path = HANDWRITING / "multi_digit" / "dfak0_2026.png"
    reading = list(csv.DictReader(io.StringIO(digitrec("read", "--format", "csv", path).stdout)))
    assert reading[0]["text"] == "2026" and 0 < float(reading[0]["confidence"]) <= 1
    as_json = json.loads(digitrec("read", "--json", path).stdout)  # the number's, as in JSON
    assert float(reading[0]["confidence"]) == pytest.approx(as_json["confidence"], abs=1e-6)


def test_read_with_two_jobs_reads_as_one_job(bad_inputs, tmp_path):
    folder = tmp_path / "cheques"
    folder.mkdir()
    from digitrec import datasets

    for path, _ in datasets.folder_numbers(HANDWRITING / "orand_car_a", "holdout")[:70]:
        (folder / path.name).symlink_to(path)
    _, paths = bad_inputs
    shutil.copy(paths["truncated.png"], folder / "truncated.png")
    one, two = (digitrec("read", "--json", "--jobs", jobs, folder) for jobs in (1, 2))
    assert one.returncode == two.returncode == 1 and one.stdout == two.stdout
    assert len(one.stdout.splitlines()) == 71


def test_two_jobs_report_a_bad_model_once_without_a_traceback(many_files):
    """With worker processes, a model or reader that cannot be loaded is one clear error line
    (the workers' own failure to load it is not printed)."""
    for command, option in (("predict", "--model"), ("read", "--reader")):
        result = digitrec(command, option, many_files / "missing-run", "--jobs", 2, many_files)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.count("missing-run") == 1 and not result.stdout


def test_uris_are_read_through_pyarrow_as_local_paths_are(many_files):
    """A folder given as a URI (file:// here; s3:// and gs:// take the same path through
    pyarrow's filesystems) answers as the local folder does, bad files included, with --jobs 2;
    a URI that names nothing, or no filesystem, gets its own error line."""
    local = digitrec("predict", "--json", "--jobs", 1, many_files)
    remote = digitrec("predict", "--json", "--jobs", 2, f"file://{many_files}",
                      f"file://{many_files}/missing.png", "nofs://bucket/key.png")
    assert remote.returncode == 1 and "Traceback" not in remote.stderr
    lines = remote.stdout.splitlines()
    assert "\n".join(lines[:-2]) + "\n" == local.stdout.replace(str(many_files),
                                                                f"file://{many_files}")
    assert [json.loads(line)["error"] for line in lines[-2:]] == [
        f"file://{many_files}/missing.png: no such file or folder",
        "nofs://bucket/key.png: cannot open (Unrecognized filesystem type in URI: "
        "nofs://bucket/key.png)"]


def test_an_unsure_reading_says_what_to_check(capsys):
    """digitrec read prints an "unsure" reading's reason (answers.unsure_reason): the digits
    that are unsure, counted from the left, or else the whole number, and the other reader's
    reading; and the number's confidence where a number reader gave one."""
    from digitrec.answers import explained
    from digitrec.cli.recognise import _print_reading

    def reading(statuses, alternative=None):
        answer = {"text": "123", "status": "unsure", "digits": [
            {"digit": index + 1, "confidence": 0.9, "box": [0, 0, 1, 1], "status": status}
            for index, status in enumerate(statuses)]}
        return explained({**answer, "alternative": alternative} if alternative else answer)

    _print_reading("a.png", reading(["ok", "unsure", "ok"]))
    _print_reading("b.png", reading(["unsure", "ok", "unsure"]))
    _print_reading("c.png", reading(["unsure", "unsure", "unsure"], ""))
    _print_reading("d.png", reading(["ok", "ok", "ok"], "1283"))
    _print_reading("e.png", reading(["ok", "ok", "ok"], "123"))
    _print_reading("f.png", reading(["unsure", "ok", "ok"], "723"))
    _print_reading("g.png", {**reading(["ok", "ok", "ok"]), "status": "ok"})
    _print_reading("h.png", {**reading(["ok", "ok", "ok"]), "status": "ok", "confidence": 0.968})
    assert capsys.readouterr().out.splitlines() == [
        "a.png: 123 (1:90% 2:90% 3:90%) - unsure: check digit 2 (counted from the left)",
        "b.png: 123 (1:90% 2:90% 3:90%) - unsure: check digits 1, 3 (counted from the left)",
        "c.png: 123 (1:90% 2:90% 3:90%) - unsure: check the whole number",
        "d.png: 123 (1:90% 2:90% 3:90%) - unsure: check the whole number; another reading: "
        "1283",
        "e.png: 123 (1:90% 2:90% 3:90%) - unsure: check the whole number",
        "f.png: 123 (1:90% 2:90% 3:90%) - unsure: check digit 1 (counted from the left); "
        "another reading: 723",
        "g.png: 123 (1:90% 2:90% 3:90%)",  # no number reader (--reader segmentation)
        "h.png: 123 (the number at 97%; 1:90% 2:90% 3:90%)"]
