"""Fitting a network with Keras: the optimiser, the learning-rate schedule, the batches, and the
epoch kept (the best on validation)."""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from digitrec import datasets
from digitrec.model_format import NUM_CLASSES, to_model_input
from digitrec.training import architectures
from digitrec.training.augmentation import augmentation
from digitrec.training.config import TrainConfig
from digitrec.training.outliers import OUTLIERS, outlier_images

NESTEROV_MOMENTUM = 0.9  # "nesterov": SGD with Nesterov momentum, as in I. Sutskever et al.,
# "On the importance of initialization and momentum in deep learning" (ICML 2013)
EMA_MOMENTUM = 0.999
MAX_STEPS_PER_EXECUTION = 32  # training steps run in one TensorFlow call, at most
# Images per call when validating, evaluating or predicting: inference gives each image the same
# answer at any batch size, and Keras' default (32) spends most of a validation in Python.
INFERENCE_BATCH_SIZE = 1000


@dataclasses.dataclass
class Fitted:
    """What :func:`fit` returns: the model (weights of the best validation epoch) and a record.

    Attributes:
        model: the trained Keras model.
        history: per-epoch metrics as Keras records them, plus ``epoch`` (the epochs completed
            at each record: 1, 2, ... and, for a fractional last epoch, 1.25, say) and wall
            ``seconds``.
        image_counts: training images by source (the dataset, each extra folder, outliers).
        extra_data: for each extra folder, its image count and the MD5 of its labels file.
        training_seconds: wall time of ``model.fit``.
        best_epoch: the epoch kept, as in ``history["epoch"]``: the best validation accuracy,
            or the last.
    """

    model: object
    history: dict
    image_counts: dict
    extra_data: dict
    training_seconds: float
    best_epoch: int | float


def fit(config: TrainConfig, x_train: np.ndarray, y_train: np.ndarray,
        x_validation: np.ndarray, y_validation: np.ndarray, verbose: int = 1,
        log_dir: str | os.PathLike | None = None, callbacks=()) -> Fitted:
    """Trains ``config``'s model on the given images, keeping the best validation epoch.

    Args:
        config: a resolved configuration (:meth:`TrainConfig.resolved`).
        x_train, x_validation: (N, 28, 28) uint8 images, white ink on black.
        y_train, y_validation: (N,) integer labels in 0..9. The validation part may be empty.
        verbose: Keras' verbosity.
        log_dir: where to write TensorBoard logs (None: none).
        callbacks: more Keras callbacks (a search's reporting, say).

    Returns:
        A :class:`Fitted`.
    """
    import tensorflow as tf

    keras.utils.set_random_seed(config.seed)
    if keras.backend.backend() == "tensorflow":
        tf.config.experimental.enable_op_determinism()
    x_train, y_targets, image_counts, extra_record = training_images(config, x_train, y_train)
    model = architectures.build(config.architecture, **config.architecture_options())
    steps_per_epoch = max(1, len(x_train) // config.batch_size)
    total_steps = max(1, round(config.epochs * steps_per_epoch))
    model.compile(steps_per_execution=steps_per_execution(steps_per_epoch, total_steps),
                  optimizer=optimizer(config, steps_per_epoch, total_steps),
                  loss=keras.losses.CategoricalCrossentropy(
                      from_logits=True, label_smoothing=config.label_smoothing),
                  metrics=["accuracy"])
    validation_data = ((to_model_input(x_validation),
                        keras.utils.to_categorical(y_validation, NUM_CLASSES))
                       if len(x_validation) else None)
    epoch_seconds = []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: epoch_seconds.append(-time.perf_counter()),
        on_epoch_end=lambda epoch, logs: epoch_seconds.__setitem__(
            -1, epoch_seconds[-1] + time.perf_counter()))
    with tempfile.TemporaryDirectory() as selection:
        best_weights = Path(selection) / "best.weights.h5"
        all_callbacks = [timer, *_epoch_callbacks(config, steps_per_epoch, total_steps, log_dir)]
        if validation_data is not None:
            # The model kept is the epoch with the best validation accuracy (the test set is
            # not looked at until the end).
            all_callbacks.append(keras.callbacks.ModelCheckpoint(
                best_weights, monitor="val_accuracy", mode="max", save_best_only=True,
                save_weights_only=True))
        all_callbacks += list(callbacks)
        started = time.perf_counter()
        history = model.fit(batches(config, x_train, y_targets), steps_per_epoch=steps_per_epoch,
                            epochs=math.ceil(config.epochs), shuffle=False,
                            validation_data=validation_data,
                            validation_batch_size=INFERENCE_BATCH_SIZE,
                            verbose=verbose, callbacks=all_callbacks)
        training_seconds = time.perf_counter() - started
        if best_weights.exists():
            model.load_weights(best_weights)
    record = {key: [float(value) for value in values] for key, values in history.history.items()}
    # Epochs completed at each record: a fractional last epoch is 1.25, not 2.
    record["epoch"] = [min(epoch, config.epochs) for epoch in range(1, len(record["loss"]) + 1)]
    record["seconds"] = [round(seconds, 3) for seconds in epoch_seconds]
    kept = int(np.argmax(record["val_accuracy"])) if validation_data is not None else -1
    return Fitted(model, record, image_counts, extra_record, training_seconds,
                  record["epoch"][kept])


def training_images(config: TrainConfig, x_train: np.ndarray, y_train: np.ndarray):
    """The training images with the extra folders' (repeated) and the outliers added.

    Returns:
        ``(images, targets, image_counts, extra_record)``: (N, 28, 28) uint8; (N, 10) float32
        one-hot targets (uniform for outliers); images by source; each extra folder's image
        count and labels file MD5.
    """
    image_counts = {config.dataset: int(len(x_train))}
    extra_record = {}
    for folder in config.extra_data:
        images, labels = datasets.load_folder(folder, "fit")
        labels_file = next(Path(folder) / name for name in ("digit_boxes.csv", "labels.csv")
                           if (Path(folder) / name).is_file())
        extra_record[Path(folder).name] = {"images": int(len(images)),
                                           "labels_md5": datasets.file_md5(labels_file)}
        image_counts[Path(folder).name] = int(len(images))
        x_train = np.concatenate([x_train] + [images] * config.extra_repeat)
        y_train = np.concatenate([y_train] + [labels] * config.extra_repeat)
    targets = keras.utils.to_categorical(y_train, NUM_CLASSES)
    if config.outlier_exposure:
        outliers = outlier_images(min(OUTLIERS, len(x_train) // 5), config.seed,
                                  config.data_dir, digits=x_train)
        image_counts["outliers"] = int(len(outliers))
        x_train = np.concatenate([x_train, outliers])
        targets = np.concatenate([
            targets, np.full((len(outliers), NUM_CLASSES), 1 / NUM_CLASSES, np.float32)])
    return x_train, targets, image_counts, extra_record


def optimizer(config: TrainConfig, steps_per_epoch: int, total_steps: int):
    """The Keras optimiser of ``config``, its learning rate following ``config.schedule``."""
    learning_rate = config.learning_rate
    if config.schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=max(steps_per_epoch, total_steps - steps_per_epoch),
            warmup_target=config.learning_rate, warmup_steps=steps_per_epoch)
    elif config.schedule == "one-cycle":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=total_steps - total_steps // 4, warmup_target=config.learning_rate,
            warmup_steps=total_steps // 4)
    averaging = {"use_ema": config.ema, "ema_momentum": EMA_MOMENTUM}
    if config.optimizer == "nesterov":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=NESTEROV_MOMENTUM,
                                    nesterov=True, **averaging)
    return {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam,
            "rmsprop": keras.optimizers.RMSprop}[config.optimizer](learning_rate=learning_rate,
                                                                   **averaging)


def batches(config: TrainConfig, images: np.ndarray, targets: np.ndarray):
    """The training batches as an endless ``tf.data.Dataset``: shuffled each epoch, scaled as
    :func:`digitrec.model_format.to_model_input` scales, augmented if ``config.augment``.

    Batches come from tf.data with .repeat() and steps_per_epoch: Keras' fit on numpy arrays
    stalls for seconds at the start of some epochs on this CPU, this does not. The uint8 images
    are held once in memory and shuffled indices gathered a batch at a time: no float copy of
    the training set and no shuffle buffer of images.
    """
    import tensorflow as tf

    images, targets = tf.constant(images), tf.constant(targets)
    data = (
        tf.data.Dataset.range(len(images)).shuffle(len(images), seed=config.seed).repeat()
        .batch(config.batch_size, drop_remainder=True)
        .map(lambda index: ((tf.cast(tf.gather(images, index), tf.float32) / 255.0)[..., None],
                            tf.gather(targets, index))))
    if config.augment:
        augmenter = augmentation(config.seed, config.augment_strength)
        # Prefetching overlaps augmentation with training; without augmentation there is too
        # little to overlap for the seconds its shutdown costs (too much for the fast recipe).
        data = data.map(
            lambda images, labels: (keras.ops.clip(augmenter(images, training=True), 0.0, 1.0),
                                    labels),
            num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    return data


def _epoch_callbacks(config: TrainConfig, steps_per_epoch: int, total_steps: int, log_dir):
    """Callbacks that stop a fractional last epoch, swap in the averaged weights (before the
    checkpoint: validation, selection and saving all see them), and write TensorBoard logs."""
    callbacks = []
    if total_steps < steps_per_epoch * math.ceil(config.epochs):
        callbacks.append(_FractionalLastEpoch(total_steps, steps_per_epoch))
    if config.ema:
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    if log_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir)))
    return callbacks


class _FractionalLastEpoch(keras.callbacks.ProgbarLogger):
    """Stops training after ``steps`` batches, part-way through the last epoch, and shows that
    epoch's progress out of the steps it runs (Keras' own bar would show a quarter epoch as
    360/360 steps, and its time per step over 360)."""

    def __init__(self, steps: int, steps_per_epoch: int):
        super().__init__()
        self.steps, self.steps_per_epoch, self.epoch = steps, steps_per_epoch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.target = min(self.steps_per_epoch, self.steps - epoch * self.steps_per_epoch)
        super().on_epoch_begin(epoch, logs)

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self.epoch * self.steps_per_epoch + batch + 1 >= self.steps:
            self.model.stop_training = True


def steps_per_execution(steps_per_epoch: int, total_steps: int) -> int:
    """How many training steps Keras runs in one compiled call: the largest number up to
    :data:`MAX_STEPS_PER_EXECUTION` that divides both the steps of an epoch and the steps of the
    whole run, so that every epoch, and a fractional last one, ends where it should.

    Running steps in one call instead of one at a time spends less of each step in Python and
    in TensorFlow's dispatch: about a fifth of the fast recipe's time on a 2-core CPU. The
    weights come out the same.
    """
    common = math.gcd(steps_per_epoch, total_steps)
    return max(divisor for divisor in range(1, MAX_STEPS_PER_EXECUTION + 1)
               if common % divisor == 0)
