"""Training the number reader (:mod:`digitrec.number_reader`): a CRNN with CTC loss, in Keras.

The training strings are synthetic (:mod:`digitrec.training.synthetic_strings`: real isolated
digits laid out as numbers are written) and, repeated with random changes of width, margins
and contrast, the real amounts of the fit half of ORAND-CAR-A's cheques and the lines holding
the numbers in the fit half of the register crops (found by the model itself half-way through
training, :func:`register_lines`); the validation numbers are the last of those amounts and
registers, held back from training. The weights of the epoch that reads most validation numbers
exactly are kept, exported to ONNX and checked against Keras.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import time
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from digitrec import datasets, imaging, run_folder
from digitrec.model_format import NUMBER_READER
from digitrec.number_reader import (BLANK, HEIGHT, NUM_CLASSES, STEP, edit_distance,
                                    pad_batch, reaches, read_each_line, read_lines,
                                    to_reader_input)
from digitrec.training import recomposed_amounts, synthetic_strings

TRAIN_WIDTH = 256  # training inputs are padded to this width (64 steps); wider ones are left out
MAX_LABEL = synthetic_strings.MAX_DIGITS
PAD = -1  # label padding
ORAND = "orand_car_a"
REGISTERS = "register_numbers"
WEIGHTS = "model.weights.h5"  # a reader run's Keras weights, to fine-tune from
OK_PRECISION = 0.98  # the share of "ok" readings that must be exactly right (issue 20's goal)
FILTERS = (32, 64, 96, 128)  # the shipped reader's widths (docs/reading.md, "What is not done yet")
UNITS = 192
EARLIER_WIDTHS = {"filters": [16, 32, 64, 96], "units": 128}  # runs whose config has none


def build_reader(filters: tuple[int, ...] = FILTERS, units: int = UNITS,
                 dropout: float = 0.2) -> keras.Model:
    """The CRNN: (N, HEIGHT, W, 1) float32 in [0, 1] -> (N, W / STEP, NUM_CLASSES) logits.

    Four convolution stages (3x3, batch normalisation, ReLU) pooled 2x2, 2x2, 2x1 and 2x1 leave
    a 2-row map whose columns, flattened, are the sequence; a dense layer and two residual 1-D
    convolutions (kernel 5, so each step sees about a digit on either side) read it in
    context, as the recurrent layers of Shi et al.'s CRNN do, but faster on a CPU. With the
    default widths it has 0.69 million parameters.
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


def _real_strings(real: list[tuple[Image.Image, str]], copies: int,
                  rng: np.random.Generator):
    """``copies`` varied copies (:func:`_varied`) of each real number, encoded."""
    inputs = [to_reader_input(_varied(image, rng)) for image, _ in real for _ in range(copies)]
    return _encode(inputs, [text for _, text in real for _ in range(copies)])


def training_strings(bank, synthetic: int, real: list[tuple[Image.Image, str]],
                     real_copies: int, seed: int, workers: int = 2, recomposed: int = 0,
                     cut_amounts: list[recomposed_amounts.CutAmount] = ()):
    """The training set: ``synthetic`` generated strings, ``real_copies`` varied copies of
    each real number (image, digits) and ``recomposed`` new numbers made of ``cut_amounts``'
    pieces (:func:`recomposed_amounts.recompose`, varied as the real ones), as
    (N, HEIGHT, TRAIN_WIDTH, 1) uint8 and (N, MAX_LABEL) int32, shuffled."""
    chunks = [(bank, synthetic // (4 * workers) + 1, seed * 1000 + index)
              for index in range(4 * workers)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        parts = pool.map(_synthetic_chunk, chunks)
    rng = np.random.default_rng(seed)
    parts.append(_real_strings(real, real_copies, rng))
    if recomposed and cut_amounts:
        made = [recomposed_amounts.recompose(cut_amounts[index], rng)
                for index in rng.integers(0, len(cut_amounts), recomposed)]
        parts.append(_real_strings([(Image.fromarray(image), text) for image, text in made],
                                   1, rng))
    return _shuffled(parts, rng)


def _shuffled(parts, rng: np.random.Generator):
    """Encoded (images, labels) parts -> one set, in a random order."""
    images = np.concatenate([images for images, _ in parts])
    labels = np.concatenate([labels for _, labels in parts])
    order = rng.permutation(len(labels))
    return images[order], labels[order]


def _opened(numbers: list[tuple[Path, str]]) -> list[tuple[Image.Image, str]]:
    return [(imaging.open_image(path), text) for path, text in numbers]


def amount_split(handwriting: str | os.PathLike, validation: int
                 ) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """The fit half of ORAND-CAR-A's amounts as (training, validation): the last
    ``validation`` of them (0 or more) validate. Raises ValueError when there are not more
    amounts than that."""
    amounts = datasets.folder_numbers(Path(handwriting) / ORAND, "fit")
    if len(amounts) <= validation:
        raise ValueError(f"only {len(amounts)} real amounts, fewer than validation={validation}")
    cut = len(amounts) - validation
    return amounts[:cut], amounts[cut:]


def register_split(handwriting: str | os.PathLike, validation: int
                   ) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """The fit half of the register crops (``register_numbers``, split by register) as
    (training, validation): the last fit registers, whole, until they hold at least
    ``validation`` crops, validate. Both empty when the folder has no such crops."""
    folder = Path(handwriting) / REGISTERS
    if not (folder / "labels.csv").is_file():
        return [], []
    numbers = datasets.folder_numbers(folder, "fit")
    registers = datasets.folder_registers(folder)
    sizes = collections.Counter(registers[path] for path, _ in numbers)
    held: set[str] = set()
    for register in reversed(list(sizes)):
        if sum(sizes[name] for name in held) >= validation:
            break
        held.add(register)
    return ([number for number in numbers if registers[number[0]] not in held],
            [number for number in numbers if registers[number[0]] in held])


def keras_logits(model: keras.Model):
    """The Keras model as :func:`digitrec.number_reader.read_lines` takes it: a function from a
    (N, HEIGHT, W, 1) float32 batch to its (N, W / STEP, NUM_CLASSES) NumPy logits."""
    return lambda batch: keras.ops.convert_to_numpy(model(batch, training=False))


def exact_share(model: keras.Model, numbers: list[tuple[Image.Image, str]]) -> float:
    """The share of ``numbers`` (images and their digits) that the Keras model reads exactly,
    finding the number's line as recognition does (:func:`digitrec.number_reader.read_lines`;
    recognition also levels a leaning strip and reads a document's line twice,
    :func:`digitrec.number_reader.read_number`: not done here, so that the shipped reader's
    training stays as it was)."""
    logits_of = keras_logits(model)
    right = sum(read_lines(image, logits_of)["text"] == text for image, text in numbers)
    return right / max(1, len(numbers))


def register_lines(logits_of, numbers: list[tuple[Image.Image, str]]
                   ) -> list[tuple[Image.Image, str]]:
    """The line holding the number in each crop of a register (or any number's image: a
    cheque is one line), as a reader sees it
    (``logits_of``: the reader, as :func:`digitrec.number_reader.read_each_line` takes it): of
    the lines :func:`digitrec.imaging.find_lines` finds, the one whose reading is nearest its label
    (edit distance; the topmost of equals). A crop is left out when that reading gets
    none of its digits right (an edit distance as long as the label): the number's line was
    not found, or the model cannot read it yet.

    Args:
        logits_of: the reader.
        numbers: (image, digits) of each number, the image opened upright
            (:func:`digitrec.imaging.open_image`).

    Returns:
        (the line's image, the number's digits) for each crop kept.
    """
    kept = []
    for image, text in numbers:
        readings = read_each_line(image, logits_of)
        distance, index = min((edit_distance(reading["text"], text), index)
                              for index, reading in enumerate(readings))
        if distance < len(text):
            kept.append((image.crop(readings[index]["line"]), text))
    return kept


def single_lines(numbers: list[tuple[Image.Image, str]]) -> list[tuple[Image.Image, str]]:
    """The numbers in whose image :func:`digitrec.imaging.find_lines` finds one line, as that
    line (the whole image when it is one line, as a cheque is): no reader is needed to choose
    it, as :func:`register_lines` chooses among several.

    Args:
        numbers: (image, digits) of each number, the image opened upright.

    Returns:
        (the line's image, the number's digits) for each number with one line.
    """
    kept = []
    for image, text in numbers:
        lines = imaging.find_lines(image)
        if len(lines) == 1:
            kept.append((image.crop(lines[0]), text))
    return kept


def _found_lines(logits_of, registers: list[tuple[Path, str]],
                 own_numbers: list[tuple[Image.Image, str]]):
    """The number's line in each training crop of the registers and each of the user's
    numbers (:func:`register_lines`), as two lists, and says how many were found."""
    lines = register_lines(logits_of, _opened(registers))
    own_lines = register_lines(logits_of, own_numbers)
    found = []
    if registers:
        found.append(f"{len(lines)} of {len(registers)} register crops")
    if own_numbers:
        found.append(f"{len(own_lines)} of {len(own_numbers)} of your numbers")
    print("the number's line found in " + " and ".join(found), flush=True)
    return lines, own_lines


class _BestExact(keras.callbacks.Callback):
    """Keeps the weights of the epoch reading the most validation numbers exactly."""

    def __init__(self, numbers: list[tuple[Image.Image, str]]):
        super().__init__()
        self.numbers, self.best, self.weights, self.history = numbers, -1.0, None, []

    def on_epoch_end(self, epoch, logs=None):
        share = exact_share(self.model, self.numbers)
        self.history.append({"epoch": epoch + 1, "loss": float(logs["loss"]),
                             "validation_exact": share})
        print(f"epoch {epoch + 1}: loss {logs['loss']:.3f}, validation exact {share:.3f}",
              flush=True)
        if share > self.best:
            self.best, self.weights = share, self.model.get_weights()


def _fits(epochs: int, first: int, fresh_strings: bool) -> list[tuple[int, int]]:
    """(initial epoch, final epoch) of each ``model.fit`` of :func:`train_reader`: one per
    epoch with fresh strings, else one before the register lines join (at ``first``) and
    one after."""
    if fresh_strings:
        return [(epoch, epoch + 1) for epoch in range(epochs)]
    return [(start, stop) for start, stop in ((0, first), (first, epochs)) if start < stop]


def train_reader(out: str | os.PathLike, handwriting: str | os.PathLike, data_dir=None,
                 synthetic: int = 30_000, real_copies: int = 12, register_copies: int = 4,
                 validation: int = 50, register_validation: int = 150, epochs: int = 16,
                 batch_size: int = 64, learning_rate: float = 2e-3, seed: int = 0,
                 bank_size: int | None = None, extra_data: list[str | os.PathLike] = (),
                 start_from: str | os.PathLike | None = None,
                 filters: tuple[int, ...] | None = None, units: int | None = None,
                 fresh_strings: bool = True, recomposed: int = 4_000,
                 extra_copies: int | None = None) -> Path:
    """Trains a number reader and writes its run folder (``model.onnx``, its Keras weights
    ``model.weights.h5``, ``config.json``, ``history.json``, ``metrics.json``).

    The first half of the epochs train on synthetic strings and real amounts (and those of
    the user's numbers, ``extra_data``, that hold one line: :func:`single_lines`); then the
    model finds the number's line in each training crop of the registers and in each of the
    user's numbers (:func:`register_lines`: what recognition reads, a line of a document's
    crop or a whole cheque), and the second half train on those lines as well; starting from
    a reader's weights (``start_from``), every epoch does. With
    ``fresh_strings`` each epoch has strings of its own: new synthetic ones and new varied
    copies of the real ones. The epoch reading the most validation numbers exactly (ORAND's
    and the registers') is kept, and its "ok" threshold is calibrated on them
    (:func:`calibrate`).

    Args:
        out: the run folder to create (an existing one is refused).
        handwriting: the folder of real handwriting (``../shared/handwriting``'s layout; its
            ``register_numbers`` is used when there); None for a user without it (a bank with
            its own cheques): MNIST's digits alone make the synthetic numbers, and the last
            fifth of the ``extra_data`` numbers validate instead of ORAND's amounts.
        data_dir: where MNIST's IDX files are.
        synthetic: synthetic strings to generate.
        real_copies: varied copies of each real training amount (and each extra number).
        register_copies: varied copies of each register line found.
        validation: the last this many amounts of ORAND's fit half validate instead of train.
        register_validation: the last fit registers holding at least this many crops
            validate instead of train (:func:`register_split`).
        epochs, batch_size, learning_rate: for Adam with a cosine decay to 0.
        seed: seeds the strings, the weights and the batches.
        bank_size: at most this many real digits of each source to draw from (None: all; a
            quick trial takes fewer).
        extra_data: folders of a user's own numbers, each with a ``labels.csv``
            (``filename,label``, the label the number's digits): the line holding each
            number trains, in ``extra_copies`` varied copies (a number whose line the model
            reads none of the digits of is left out: ``own_lines`` in metrics.json counts
            those kept).
        extra_copies: varied copies of each of the user's numbers an epoch holds (None:
            ``real_copies``); more weigh them more against the synthetic strings.
        start_from: a reader's run folder whose weights (``model.weights.h5``) to start from
            (fine-tuning) instead of random ones; its config.json gives the architecture.
        filters, units: :func:`build_reader`'s widths (None: :data:`FILTERS` and
            :data:`UNITS`, or those of ``start_from``), recorded in config.json.
        recomposed: new numbers made each epoch of the training amounts' pieces, cut between
            their digit boxes (:mod:`recomposed_amounts`; none without the handwriting folder).
        fresh_strings: generate each epoch's strings anew (all before training starts: about
            270 MB an epoch for 30,000 strings) rather than train every epoch on the same.

    Raises:
        FileExistsError: ``out`` exists. ValueError: ``validation``, ``epochs``,
            ``batch_size`` or ``extra_copies`` under 1, another count or ``seed`` under 0, a
            learning rate not above 0, fewer real amounts than ``validation``,
            ``start_from`` without weights, widths other than ``start_from``'s, or no
            handwriting folder and fewer than 2 numbers in ``extra_data``.
    """
    out = Path(out)
    _check_counts(epochs=epochs, batch_size=batch_size, synthetic=synthetic,
                  recomposed=recomposed, real_copies=real_copies, register_copies=register_copies,
                  register_validation=register_validation, seed=seed)
    if not learning_rate > 0:
        raise ValueError(f"learning rate must be above 0, got {learning_rate}")
    if validation < 1:  # this recipe chooses its epoch on the cheques too
        raise ValueError(f"validation must be at least 1 amount, got {validation}")
    extra_copies = real_copies if extra_copies is None else extra_copies
    if extra_copies < 1:
        raise ValueError(f"extra copies must be at least 1, got {extra_copies}")
    if start_from is not None and not (Path(start_from) / WEIGHTS).is_file():
        # Checked before the strings are made (they take minutes), and before the widths are
        # looked for in a folder that may be no reader's (a digit model's run).
        raise ValueError(f"{start_from}: no {WEIGHTS} to start from; give a run folder made "
                         "by `digitrec train-reader`")
    filters, units = _widths(start_from, filters, units)
    config = {key: value for key, value in locals().items() if key not in ("out",)}
    config.update(handwriting=str(handwriting) if handwriting else None,
                  data_dir=str(data_dir) if data_dir else None,
                  extra_data=[str(folder) for folder in extra_data],
                  start_from=str(start_from) if start_from else None,
                  filters=list(filters), units=units)
    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    cut_amounts = []
    if handwriting is None:
        own_numbers, validation_numbers = _own_numbers_split(extra_data)
        train_amounts, train_registers, sources = [], [], ("mnist",)
    else:
        train_amounts, validation_numbers = amount_split(handwriting, validation)
        cut_amounts = recomposed_amounts.load_amounts(Path(handwriting) / ORAND,
                                                      [path for path, _ in train_amounts])
        train_registers, validation_registers = register_split(handwriting, register_validation)
        validation_numbers += validation_registers
        own_numbers = [number for folder in extra_data for number in labelled_numbers(folder)]
        sources = synthetic_strings.SOURCES
    bank = synthetic_strings.load_bank(sources, per_source=bank_size, data_dir=data_dir,
                                       handwriting=handwriting, seed=seed)
    # Each epoch's strings are made before TensorFlow trains: the pool that makes them forks.
    # A file that cannot be read is named now, not after the strings are made (minutes).
    real, own_numbers = _opened(train_amounts), _opened(own_numbers)
    validation_images = _opened(validation_numbers)
    epoch_strings = [training_strings(bank, synthetic, real, real_copies, seed + 1000 * epoch,
                                      recomposed=recomposed, cut_amounts=cut_amounts)
                     for epoch in range(epochs if fresh_strings else 1)]
    labels = epoch_strings[0][1]
    print(f"{len(labels)} training strings ({len(epoch_strings)} sets) in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    model = _starting_model(start_from, filters, units)
    # The epoch from which the lines the model finds train.
    if not (train_registers or own_numbers):
        first = epochs  # no crop to find them in
    elif start_from is not None:
        first = 0  # a reader's weights find them at once
    else:
        first = epochs // 2  # new weights, once they read
    # Until the model chooses the lines, the user's numbers that hold one line train as it.
    own_lines = single_lines(own_numbers) if 0 < first < epochs else []
    if own_lines:
        print(f"{len(own_lines)} of {len(own_numbers)} of your numbers hold one line: they "
              "train from the first epoch", flush=True)
    steps = (epochs * len(labels) + first * extra_copies * len(own_lines)
             + (epochs - first) * (register_copies * len(train_registers)
                                   + extra_copies * len(own_numbers)))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps // batch_size)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=ctc_loss)
    best = _BestExact(validation_images)
    lines, rng = [], np.random.default_rng(seed + 1)
    for epoch, until in _fits(epochs, first, fresh_strings):
        images, labels = epoch_strings[epoch if fresh_strings else 0]
        if epoch == first:
            lines, own_lines = _found_lines(keras_logits(model), train_registers, own_numbers)
        if epoch >= first or own_lines:
            images, labels = _shuffled([(images, labels),
                                        _real_strings(lines, register_copies, rng),
                                        _real_strings(own_lines, extra_copies, rng)], rng)
        model.fit(images.astype(np.float32) / 255, labels, batch_size=batch_size,
                  initial_epoch=epoch, epochs=until, callbacks=[best], verbose=2)
    model.set_weights(best.weights)
    kept = build_reader(filters, units)  # uncompiled: its weights file holds no Adam state
    kept.set_weights(best.weights)
    with run_folder.creating_folder(out) as folder:
        export_reader(model, folder / run_folder.MODEL)
        kept.save_weights(folder / WEIGHTS)
        metrics = {"validation_exact": best.best, "validation_numbers": len(validation_numbers),
                   "training_strings": int(len(labels)), "register_lines": len(lines),
                   "own_lines": len(own_lines),
                   "seconds": round(time.perf_counter() - started)}
        metrics.update(calibrate(folder, validation_numbers))
        for name, record in ((run_folder.CONFIG, config), (run_folder.HISTORY, best.history),
                             (run_folder.METRICS, metrics)):
            run_folder.write_record(folder, name, record)
    return out


def _own_numbers_split(extra_data) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """A user's numbers (the ``extra_data`` folders) as (training, validation) when there is no
    handwriting folder: the last fifth of them (at least one) validate."""
    numbers = [number for folder in extra_data for number in labelled_numbers(folder)]
    if len(numbers) < 2:
        raise ValueError("without the handwriting folder, train on your own numbers: give "
                         "--extra-data FOLDER(s) holding at least 2 labelled numbers (better, "
                         "a few hundred), or the handwriting folder")
    held = max(1, len(numbers) // 5)
    return numbers[:-held], numbers[-held:]


def _check_counts(**counts: int) -> None:
    """Raises ValueError, before any string is made, for the first of :func:`train_reader`'s
    counts under its least (epochs and batch size 1, the others 0)."""
    for name, count in counts.items():
        least = 1 if name in ("epochs", "batch_size") else 0
        if count < least:
            raise ValueError(f"{name.replace('_', ' ')} must be at least {least}, got {count}")


def _widths(start_from, filters, units) -> tuple[tuple[int, ...], int]:
    """The reader's (filters, units): those asked for, else those of the run ``start_from``
    (its config.json; :data:`EARLIER_WIDTHS` for a run made before it recorded them), else
    the shipped ones. Raises ValueError when asked for widths other than ``start_from``'s."""
    if start_from is None:
        return tuple(filters or FILTERS), units or UNITS
    config = run_folder.read_record(start_from, run_folder.CONFIG, required=False)
    start = {key: config.get(key, value) for key, value in EARLIER_WIDTHS.items()}
    asked = {"filters": list(filters) if filters else None, "units": units}
    for name in start:
        if asked[name] is not None and asked[name] != start[name]:
            raise ValueError(f"{start_from} has {name} {start[name]}; fine-tuning keeps a "
                             f"run's widths, so leave {name} out")
    return tuple(start["filters"]), start["units"]


def _starting_model(start_from: str | os.PathLike | None, filters: tuple[int, ...],
                    units: int) -> keras.Model:
    """A new reader of those widths, with the weights of the run ``start_from`` when given."""
    model = build_reader(filters, units)
    if start_from is not None:
        model.load_weights(Path(start_from) / WEIGHTS)
    return model


def calibrate(run: str | os.PathLike, amounts: list[tuple[Path, str]],
              precision: float = OK_PRECISION) -> dict:
    """The "ok" threshold of a reader: the lowest sequence confidence at which the readings of
    ``amounts`` that reach it are exactly right at least ``precision`` of the time.

    Args:
        run: the reader's run folder (or its ``model.onnx``).
        amounts: (path, digits) of real numbers the reader was not trained on.
        precision: the share, in (0, 1], of "ok" readings that must be right.

    Returns:
        ``ok_threshold`` in [0, 1] (1.0, every reading "unsure", when no threshold below 1
        reaches ``precision``), and the
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
    chosen = reaches(confidence, threshold)
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
    session = onnx_models.session(path, kind=NUMBER_READER)
    name = session.get_inputs()[0].name
    rng = np.random.default_rng(0)
    for width in (16, 100, 256, 400):
        batch = rng.random((2, HEIGHT, width - width % STEP, 1), dtype=np.float32)
        difference = np.abs(session.run(None, {name: batch})[0]
                            - keras.ops.convert_to_numpy(model(batch, training=False))).max()
        if difference > 1e-3:
            raise RuntimeError(f"the reader's ONNX export differs from Keras by {difference:.2e}"
                               f" at width {width}")
