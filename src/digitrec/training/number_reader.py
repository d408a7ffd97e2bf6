"""Training the number reader (:mod:`digitrec.number_reader`): a CRNN with CTC loss, in Keras.

The training strings are synthetic (:mod:`digitrec.training.synthetic_strings`: real isolated
digits laid out as numbers are written) and, repeated with random changes of width, margins
and contrast, the real amounts of the fit half of ORAND-CAR-A's cheques; the validation strings
are the last of those real amounts, held back from training. The weights of the epoch that
reads most validation strings exactly are kept, exported to ONNX and checked against Keras.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from digitrec import datasets, imaging, run_folder
from digitrec.number_reader import (BLANK, HEIGHT, NUM_CLASSES, STEP, greedy_decode, pad_batch,
                                    to_reader_input)
from digitrec.training import synthetic_strings

TRAIN_WIDTH = 256  # training inputs are padded to this width (64 steps); wider ones are left out
MAX_LABEL = synthetic_strings.MAX_DIGITS
PAD = -1  # label padding
ORAND = "orand_car_a"
OK_PRECISION = 0.98  # the share of "ok" readings that must be exactly right (issue 20's goal)


def build_reader(filters: tuple[int, ...] = (16, 32, 64, 96), units: int = 128,
                 dropout: float = 0.2) -> keras.Model:
    """The CRNN: (N, HEIGHT, W, 1) float32 in [0, 1] -> (N, W / STEP, NUM_CLASSES) logits.

    Four convolution stages (3x3, batch normalisation, ReLU) pooled 2x2, 2x2, 2x1 and 2x1 leave
    a 2-row map whose columns, flattened, are the sequence; a dense layer and two residual 1-D
    convolutions (kernel 5, so each step sees about a digit on either side) read it in
    context, as the recurrent layers of Shi et al.'s CRNN do, but faster on a CPU.
    """
    inputs = keras.Input((HEIGHT, None, 1), name="image")
    x = inputs
    for stage, (count, pool) in enumerate(zip(filters, [(2, 2), (2, 2), (2, 1), (2, 1)])):
        for _ in range(2 if stage == 2 else 1):
            x = keras.layers.Conv2D(count, 3, padding="same", use_bias=False)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D(pool)(x)
    x = keras.layers.Permute((2, 1, 3))(x)  # (N, W / 4, 2, filters)
    x = keras.layers.Reshape((-1, 2 * filters[-1]))(x)
    x = keras.layers.Dense(units, activation="relu")(x)
    x = keras.layers.Dropout(dropout)(x)
    for _ in range(2):
        context = keras.layers.Conv1D(units, 5, padding="same", activation="relu")(x)
        x = keras.layers.Add()([x, keras.layers.Dropout(dropout)(context)])
    logits = keras.layers.Dense(NUM_CLASSES, name="logits")(x)
    return keras.Model(inputs, logits, name="number_reader")


def ctc_loss(labels, logits):
    """CTC loss per string: ``labels`` (N, MAX_LABEL) digits padded with :data:`PAD`,
    ``logits`` (N, T, NUM_CLASSES); every string's T steps count (the padding is paper)."""
    labels = keras.ops.cast(labels, "int32")
    label_length = keras.ops.sum(keras.ops.cast(labels != PAD, "int32"), axis=1)
    batch, steps = keras.ops.shape(logits)[0], keras.ops.shape(logits)[1]
    logit_length = keras.ops.full((batch,), steps, dtype="int32")
    return keras.ops.ctc_loss(keras.ops.where(labels == PAD, 0, labels), logits, label_length,
                              logit_length, mask_index=BLANK)


def labelled_numbers(folder: str | os.PathLike) -> list[tuple[Path, str]]:
    """(path, digits) for every row of a folder's ``labels.csv`` (``filename,label``).

    Raises:
        ValueError: no ``labels.csv``, or a label that is not a string of digits (the row
            says which).
    """
    try:
        numbers = datasets.folder_numbers(folder)
    except datasets.DatasetError as error:
        raise ValueError(str(error)) from None
    for line, (_, label) in enumerate(numbers, start=2):
        if not (label or "").isdigit() or len(label) > MAX_LABEL:
            raise ValueError(f"{Path(folder) / 'labels.csv'}, line {line}: the label must be 1 "
                             f"to {MAX_LABEL} digits, got {label!r}")
    return numbers


def _varied(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A real amount with its width scaled by 0.85 to 1.15 and up to 8% of each side cut or
    added as paper, so that its copies differ."""
    image = image.convert("L")
    width = max(1, round(image.width * rng.uniform(0.85, 1.15)))
    image = image.resize((width, image.height), Image.Resampling.BILINEAR)
    paper = int(np.median(np.asarray(image)))
    sides = rng.uniform(-0.08, 0.08, 4) * [image.width, image.height, image.width, image.height]
    left, top = int(sides[0]), int(sides[1])
    right, bottom = image.width - int(sides[2]), image.height - int(sides[3])
    canvas = Image.new("L", (right - left, bottom - top), paper)
    canvas.paste(image, (-left, -top))
    return canvas


def _encode(inputs: list[np.ndarray], texts: list[str]):
    """Reader inputs and their digits -> (N, HEIGHT, TRAIN_WIDTH, 1) uint8 and (N, MAX_LABEL)
    int32, leaving out those wider than :data:`TRAIN_WIDTH`."""
    kept = [index for index, array in enumerate(inputs) if array.shape[1] <= TRAIN_WIDTH]
    images = np.round(pad_batch([inputs[index] for index in kept], TRAIN_WIDTH) * 255)
    labels = np.full((len(kept), MAX_LABEL), PAD, dtype=np.int32)
    for row, index in enumerate(kept):
        labels[row, :len(texts[index])] = [int(digit) for digit in texts[index]]
    return images.astype(np.uint8), labels


def _synthetic_chunk(arguments) -> tuple[np.ndarray, np.ndarray]:
    bank, count, seed = arguments
    strings = synthetic_strings.generate(bank, count, seed=seed)
    return _encode([to_reader_input(Image.fromarray(string.image)) for string in strings],
                   [string.digits for string in strings])


def training_strings(bank, synthetic: int, real: list[tuple[Path, str]], real_copies: int,
                     seed: int, workers: int = 2):
    """The training set: ``synthetic`` generated strings and ``real_copies`` varied copies of
    each real amount, as (N, HEIGHT, TRAIN_WIDTH, 1) uint8 and (N, MAX_LABEL) int32."""
    chunks = [(bank, synthetic // (4 * workers) + 1, seed * 1000 + index)
              for index in range(4 * workers)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        parts = pool.map(_synthetic_chunk, chunks)
    rng = np.random.default_rng(seed)
    real_inputs, real_texts = [], []
    for path, text in real:
        image = imaging.open_image(path)
        for _ in range(real_copies):
            real_inputs.append(to_reader_input(_varied(image, rng)))
            real_texts.append(text)
    parts.append(_encode(real_inputs, real_texts))
    images = np.concatenate([images for images, _ in parts])
    labels = np.concatenate([labels for _, labels in parts])
    order = rng.permutation(len(labels))
    return images[order], labels[order]


def exact_share(model: keras.Model, amounts: list[tuple[Path, str]]) -> float:
    """The share of ``amounts`` whose digits the Keras model reads exactly (greedy decoding)."""
    right = 0
    for path, text in amounts:
        batch = pad_batch([to_reader_input(imaging.open_image(path))])
        logits = model(batch, training=False)
        right += greedy_decode(keras.ops.convert_to_numpy(logits)[0])[0] == text
    return right / max(1, len(amounts))


class _BestExact(keras.callbacks.Callback):
    """Keeps the weights of the epoch reading the most validation amounts exactly."""

    def __init__(self, amounts):
        super().__init__()
        self.amounts, self.best, self.weights, self.history = amounts, -1.0, None, []

    def on_epoch_end(self, epoch, logs=None):
        share = exact_share(self.model, self.amounts)
        self.history.append({"epoch": epoch + 1, "loss": float(logs["loss"]),
                             "validation_exact": share})
        print(f"epoch {epoch + 1}: loss {logs['loss']:.3f}, validation exact {share:.3f}",
              flush=True)
        if share > self.best:
            self.best, self.weights = share, self.model.get_weights()


def train_reader(out: str | os.PathLike, handwriting: str | os.PathLike, data_dir=None,
                 synthetic: int = 30_000, real_copies: int = 12, validation: int = 50,
                 epochs: int = 10, batch_size: int = 64, learning_rate: float = 2e-3,
                 seed: int = 0, bank_size: int | None = None,
                 extra_data: list[str | os.PathLike] = ()) -> Path:
    """Trains a number reader and writes its run folder (``model.onnx``, ``config.json``,
    ``history.json``, ``metrics.json``).

    Args:
        out: the run folder to create (an existing one is refused).
        handwriting: the folder of real handwriting (``../shared/handwriting``'s layout).
        data_dir: where MNIST's IDX files are.
        synthetic: synthetic strings to generate.
        real_copies: varied copies of each real training amount.
        validation: the last this many amounts of ORAND's fit half validate instead of train.
        epochs, batch_size, learning_rate: for Adam with a cosine decay to 0.
        seed: seeds the strings, the weights and the batches.
        bank_size: at most this many real digits of each source to draw from (None: all; a
            quick trial takes fewer).
        extra_data: folders of a user's own numbers, each with a ``labels.csv``
            (``filename,label``, the label the number's digits): all of them train, with
            ``real_copies`` varied copies each, beside ORAND's amounts.

    Raises:
        FileExistsError: ``out`` exists. ValueError: fewer real amounts than ``validation``.
    """
    out = Path(out)
    config = {key: value for key, value in locals().items() if key not in ("out",)}
    config.update(handwriting=str(handwriting), data_dir=str(data_dir) if data_dir else None,
                  extra_data=[str(folder) for folder in extra_data])
    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    amounts = datasets.folder_numbers(Path(handwriting) / ORAND, "fit")
    if len(amounts) <= validation:
        raise ValueError(f"only {len(amounts)} real amounts, fewer than validation={validation}")
    train_amounts, validation_amounts = amounts[:-validation], amounts[-validation:]
    for folder in extra_data:
        train_amounts += labelled_numbers(folder)
    bank = synthetic_strings.load_bank(per_source=bank_size, data_dir=data_dir,
                                       handwriting=handwriting, seed=seed)
    images, labels = training_strings(bank, synthetic, train_amounts, real_copies, seed)
    print(f"{len(labels)} training strings in {time.perf_counter() - started:.0f} s", flush=True)
    model = build_reader()
    steps = epochs * (len(labels) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=ctc_loss)
    best = _BestExact(validation_amounts)
    model.fit(images.astype(np.float32) / 255, labels, batch_size=batch_size, epochs=epochs,
              callbacks=[best], verbose=2)
    model.set_weights(best.weights)
    with run_folder.creating_folder(out) as folder:
        export_reader(model, folder / run_folder.MODEL)
        metrics = {"validation_exact": best.best, "validation_amounts": len(validation_amounts),
                   "training_strings": int(len(labels)),
                   "seconds": round(time.perf_counter() - started)}
        metrics.update(calibrate(folder, validation_amounts))
        for name, record in ((run_folder.CONFIG, config), (run_folder.HISTORY, best.history),
                             (run_folder.METRICS, metrics)):
            run_folder.write_record(folder, name, record)
    return out


def calibrate(run: str | os.PathLike, amounts: list[tuple[Path, str]],
              precision: float = OK_PRECISION) -> dict:
    """The "ok" threshold of a reader: the lowest sequence confidence at which the readings of
    ``amounts`` that reach it are exactly right at least ``precision`` of the time.

    Args:
        run: the reader's run folder (or its ``model.onnx``).
        amounts: (path, digits) of real numbers the reader was not trained on.
        precision: the share, in (0, 1], of "ok" readings that must be right.

    Returns:
        ``ok_threshold`` in [0, 1] (1.0 when no threshold reaches ``precision``), and the
        ``calibration_coverage`` (share of ``amounts`` read "ok") and ``calibration_precision``
        it gives on them, with ``calibration_amounts``.
    """
    from digitrec.number_reader import NumberReader

    reader = NumberReader(run)
    readings = [reader.read(imaging.open_image(path)) for path, _ in amounts]
    confidence = np.array([reading["sequence_confidence"] for reading in readings])
    right = np.array([reading["text"] == text for reading, (_, text) in zip(readings, amounts)])
    threshold = 1.0
    for candidate in sorted(set(confidence.tolist()), reverse=True):
        chosen = confidence >= candidate
        if right[chosen].mean() < precision:
            break
        threshold = candidate
    chosen = confidence >= threshold
    return {"ok_threshold": threshold, "calibration_amounts": len(amounts),
            "calibration_coverage": float(chosen.mean()),
            "calibration_precision": float(right[chosen].mean()) if chosen.any() else None}


def export_reader(model: keras.Model, path: Path) -> None:
    """Writes the reader as ONNX (any input width) and checks ONNX Runtime's logits against
    Keras' on a few widths.

    Raises:
        RuntimeError: the two differ by more than 1e-3 in any logit.
    """
    from digitrec import onnx_models

    model.export(str(path), format="onnx", verbose=False)
    session = onnx_models.session(path)
    name = session.get_inputs()[0].name
    rng = np.random.default_rng(0)
    for width in (16, 100, 256, 400):
        batch = rng.random((2, HEIGHT, width - width % STEP, 1), dtype=np.float32)
        difference = np.abs(session.run(None, {name: batch})[0]
                            - keras.ops.convert_to_numpy(model(batch, training=False))).max()
        if difference > 1e-3:
            raise RuntimeError(f"the reader's ONNX export differs from Keras by {difference:.2e}"
                               f" at width {width}")
