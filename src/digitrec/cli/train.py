"""Commands that make and judge models: models, train, ensemble, quantize, cv, tutorial, tune
and evaluate.

Each is a thin call into :mod:`digitrec.training`, :mod:`digitrec.onnx_models`,
:mod:`digitrec.tuning` or :mod:`digitrec.evaluation`, imported inside the command: Keras and
TensorFlow load only for the commands that train.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from digitrec import run_folder
from digitrec.cli.common import (DATA_DIR_HELP, fail, missing_extra, need_plots, quiet_tensorflow,
                                 save_and_report, text_or_none, training_errors)
from digitrec.cli.tables import (print_comparison, print_evaluation, print_models,
                                 print_reading_evaluation, print_trials)


def models() -> None:
    """List the models that can be trained, with their parameter counts and recipes."""
    from digitrec.training.recipes import RECIPES

    print_models(RECIPES)


def _train_config(config_file, **options):
    """A TrainConfig from a JSON file (as written to run folders, or by `digitrec tune`), with
    the options given on the command line (those not None) taking precedence."""
    from digitrec.training.config import TrainConfig

    fields = {}
    if config_file is not None:
        try:
            fields = json.loads(Path(config_file).read_text())
        except (OSError, ValueError) as error:
            fail(f"{config_file}: cannot read the configuration ({error})")
        if not isinstance(fields, dict):
            fail(f"{config_file}: not a configuration (a JSON object of settings is expected)")
        known = {field.name for field in dataclasses.fields(TrainConfig)}
        # A quantized run's config records its source; training from it trains the float
        # model (run `digitrec quantize` on the result to make the int8 copy again).
        for recorded in ("precision", "weight_bits", "quantized_from"):
            fields.pop(recorded, None)
        unknown = set(fields) - known
        if unknown:
            fail(f"{config_file}: unknown settings {', '.join(sorted(unknown))}")
    fields.update({name: value for name, value in options.items() if value is not None})
    if "extra_data" in fields:
        fields["extra_data"] = tuple(str(folder) for folder in fields["extra_data"])
    if "data_dir" in fields:
        fields["data_dir"] = str(fields["data_dir"])
    return TrainConfig(**fields)


def train(
    model: Optional[str] = typer.Option(None, help="Model name (see `digitrec models`; "
                                                   "default cnn)."),
    architecture: Optional[str] = typer.Option(None, help="Train another network with the "
                                                          "model's recipe (softmax, mlp, cnn, "
                                                          "cnn-small, cnn-deep, robust, fast, "
                                                          "best; default: the recipe's)."),
    dataset: Optional[str] = typer.Option(None, help="mnist (default) or fashion-mnist."),
    epochs: Optional[float] = typer.Option(None, help="Epochs, may be fractional (default: "
                                           "the model's recipe)."),
    batch_size: Optional[int] = typer.Option(None, help="Batch size (default: the recipe's)."),
    optimizer: Optional[str] = typer.Option(None, help="sgd, nesterov (SGD with Nesterov "
                                                       "momentum), adam or rmsprop (default: "
                                                       "the recipe's)."),
    learning_rate: Optional[float] = typer.Option(None, help="Learning rate (default: the "
                                                             "recipe's)."),
    validation_split: Optional[float] = typer.Option(None, help="Fraction of the training set "
                                                                "held out for validation "
                                                                "(default 0.1)."),
    seed: Optional[int] = typer.Option(None, help="Random seed (default 0); the same seed gives "
                                                  "the same result on the same machine."),
    train_limit: Optional[int] = typer.Option(None, help="Train on only the first N training "
                                                         "images (for a quick try)."),
    augment: Optional[bool] = typer.Option(None, "--augment/--no-augment",
                                           help="Train on augmented images (default: the "
                                                "recipe's choice)."),
    hidden_units: Optional[int] = typer.Option(None, help="Units in each hidden layer (mlp, "
                                                          "mlp-dropout; default 128)."),
    dropout: Optional[float] = typer.Option(None, help="Dropout rate in [0, 1) (mlp: after "
                                                       "each hidden layer, default 0, 0.3 for "
                                                       "mlp-dropout; cnn: before its dense "
                                                       "layer, default 0.25)."),
    l2: Optional[float] = typer.Option(None, help="L2 weight penalty on every kernel (softmax, "
                                                  "mlp, cnn; default 0; the tutorials try "
                                                  "0.01)."),
    extra_data: Optional[List[Path]] = typer.Option(None, help="A folder of real handwriting "
                                                               "(labels.csv or digit_boxes.csv) "
                                                               "whose first half is added to "
                                                               "training; repeatable."),
    extra_repeat: Optional[int] = typer.Option(None, help="Times each --extra-data image is "
                                                          "seen per epoch (default 3)."),
    config: Optional[Path] = typer.Option(None, help="A JSON configuration (a run's "
                                                     "config.json, or tune's best.json); the "
                                                     "options above override it."),
    tensorboard: bool = typer.Option(False, help="Also write TensorBoard logs, into "
                                                 "RUN/tensorboard."),
    ensemble: int = typer.Option(1, help="Train this many models, seeds SEED, SEED+1..., and "
                                         "average them into one (2 or more)."),
    parallel: bool = typer.Option(False, help="With --ensemble: train the members as Ray "
                                              "tasks (local, or --address / $RAY_ADDRESS)."),
    address: Optional[str] = typer.Option(None, help="Ray cluster, ray://HOST:PORT."),
    out: Optional[Path] = typer.Option(None, help="Run folder to create (default: "
                                                  "runs/MODEL-DATASET-TIME); never overwritten."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Train a model and write a run folder (model.keras, model.onnx, history, metrics, config)."""
    quiet_tensorflow()
    from digitrec import datasets

    with training_errors(ValueError, TypeError, datasets.DatasetError, RuntimeError):
        train_config = _train_config(
            config, model=model, architecture=architecture, dataset=dataset, epochs=epochs,
            batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate,
            validation_split=validation_split, seed=seed, train_limit=train_limit,
            augment=augment, hidden_units=hidden_units, dropout=dropout, l2=l2,
            extra_data=extra_data or None, extra_repeat=extra_repeat, data_dir=data_dir)
        run = _train_run(train_config, out, ensemble, parallel, address, tensorboard)
    _print_run(run)
    if tensorboard:
        typer.echo(f"TensorBoard logs: tensorboard --logdir {run / 'tensorboard'}")


def _train_run(train_config, out: Optional[Path], ensemble: int, parallel: bool,
               address: Optional[str], tensorboard: bool) -> Path:
    """Trains one model, or an ensemble of ``ensemble`` (2 or more); returns the run folder."""
    from digitrec.training import train as training

    # A progress bar on a terminal; one line per epoch in a log file.
    verbose = 1 if sys.stdout.isatty() else 2
    if ensemble > 1:
        if out is None:
            single = training.default_run_dir(train_config.resolved())
            out = single.with_name(f"ensemble{ensemble}-{single.name}")
        if parallel:
            from digitrec import scaling

            return Path(scaling.train_ensemble(train_config, ensemble, out, address))
        return training.train_ensemble(train_config, ensemble, out, verbose)
    return training.train(train_config, out, verbose=verbose, tensorboard=tensorboard)


def _print_run(run: Path) -> None:
    """A run's folder and test figures (and its members', for an ensemble)."""
    metrics = run_folder.read_record(run, run_folder.METRICS)
    typer.echo(f"run folder: {run}")
    line = (f"test accuracy {metrics['test_accuracy']:.2%}, loss {metrics['test_loss']:.4f}, "
            f"{metrics['training_seconds']:.1f} s training")
    if "seconds_per_epoch" in metrics and metrics.get("epochs", 1) >= 1:
        # Under one epoch, the time per epoch would extrapolate start-up costs (tracing).
        line += f" ({metrics['seconds_per_epoch']:.1f} s per epoch)"
    for member in metrics.get("members", []):
        line += f"\n  member {member['run']}: test accuracy {member['test_accuracy']:.2%}"
    typer.echo(line)


def ensemble_command(
    runs: List[Path] = typer.Argument(..., help="Run folders to average (two or more)."),
    out: Path = typer.Option(..., help="The ensemble's run folder to create."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Average several trained runs into one model (one ONNX graph), usable as any run."""
    from digitrec import datasets, onnx_models

    try:
        run = onnx_models.ensemble(runs, out, text_or_none(data_dir))
    except (ValueError, OSError, RuntimeError, datasets.DatasetError) as error:
        fail(str(error))
    _print_run(run)


def quantize(
    run: Path = typer.Argument(..., help="Run folder (or ensemble) to quantize."),
    out: Path = typer.Option(..., help="The int8 model's run folder to create."),
    full_range_weights: bool = typer.Option(
        False, "--full-range-weights",
        help="8-bit weights instead of 7. Only for CPUs with VNNI (Intel since Cascade Lake, "
             "AMD since Zen 4): on x86 CPUs without it ONNX Runtime's int8 products saturate "
             "and the model answers differently and worse there (the shipped model: 99.39% "
             "on MNIST's test set against 99.56%)."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Make an int8 copy of a model (ONNX Runtime static quantization) that answers the same on
    every CPU, and faster than the float model."""
    from digitrec import datasets, onnx_models

    try:
        made = onnx_models.quantize(run, out, text_or_none(data_dir),
                                    full_range_weights=full_range_weights)
    except (ValueError, OSError, datasets.DatasetError) as error:
        fail(str(error))
    _print_run(made)
    metrics = run_folder.read_record(made, run_folder.METRICS)
    source, agreement = metrics["quantized_from"], metrics["kernel_agreement"]
    typer.echo(f"  float model: test accuracy {source['test_accuracy']:.2%}, loss "
               f"{source['test_loss']:.4f}; largest probability difference "
               f"{metrics['max_probability_difference_to_float']:.3f}")
    typer.echo(f"  fast against reference kernels on this CPU ({agreement['cpu']}): largest "
               f"probability difference {agreement['max_probability_difference']:.4f}")
    if agreement["saturating_weights"]:
        typer.echo("  warning: its int8 products saturate on x86 CPUs without VNNI, where it "
                   "answers differently (made with --full-range-weights)", err=True)


def cv(
    model: str = typer.Option("cnn", help="Model name (see `digitrec models`)."),
    folds: int = typer.Option(4, help="Number of folds K."),
    dataset: str = typer.Option("mnist", help="mnist or fashion-mnist."),
    epochs: Optional[float] = typer.Option(None, help="Epochs, may be fractional (default: "
                                           "the model's recipe)."),
    train_limit: Optional[int] = typer.Option(None, help="Use only the first N training "
                                                         "images."),
    seed: int = typer.Option(0, help="Random seed for the folds and the training."),
    parallel: bool = typer.Option(False, help="Run the folds in parallel on Ray (local, or the "
                                              "cluster at --address / $RAY_ADDRESS)."),
    address: Optional[str] = typer.Option(None, help="Ray cluster, ray://HOST:PORT (with "
                                                     "--parallel)."),
    out: Optional[Path] = typer.Option(None, help="Folder for each fold's history and cv.json "
                                                  "(default: runs/cv-MODEL-TIME)."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Stratified K-fold cross-validation on the training set.

    Prints each fold's validation accuracy, and their mean and standard deviation.
    """
    quiet_tensorflow()
    from datetime import datetime, timezone

    from digitrec import datasets

    out = out if out is not None else Path("runs") / (
        f"cv-{model}-{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}")
    with training_errors(ValueError, datasets.DatasetError):
        from digitrec.training import cross_validation
        config = _train_config(None, model=model, dataset=dataset, epochs=epochs,
                               train_limit=train_limit, seed=seed, data_dir=data_dir)
        if parallel:
            from digitrec import scaling
            summary = scaling.cross_validate(config, folds, out, address)
        else:
            summary = cross_validation.cross_validate(config, folds, out,
                                              verbose=1 if sys.stdout.isatty() else 2)
    for fold in summary["folds"]:
        typer.echo(f"fold {fold['fold']}: validation accuracy {fold['validation_accuracy']:.2%} "
                   f"(best epoch {fold['best_epoch']}, {fold['validation_images']} images)")
    typer.echo(f"{summary['model']}, {len(summary['folds'])} folds: "
               f"{summary['mean']:.2%} +- {summary['std']:.2%}; histories in {out}")


def tutorial(
    out: Path = typer.Option(Path("runs/tutorial"), help="Folder for the runs (one per model)."),
    epochs: Optional[float] = typer.Option(None, help="Epochs for every model (default: each "
                                                    "recipe's; 1 gives a quick tour)."),
    train_limit: Optional[int] = typer.Option(None, help="Train on only the first N images."),
    models_to_train: List[str] = typer.Option(
        ["softmax", "mlp", "mlp-dropout", "cnn-small", "cnn", "cnn-deep", "robust"], "--model",
        help="Models, in order (repeatable; default: the tutorials' progression, then ours)."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Train the tutorials' progression, softmax to MLP to CNN to ours, and compare them.

    softmax (92%), MLP (97%), MLP with dropout and Adam, the CNNs (99%), and digitrec's robust
    model, one after another. Runs already in OUT are reused. With the recipes' epochs this
    takes about half an hour here; --epochs 1 takes a few minutes.
    """
    need_plots()
    quiet_tensorflow()
    from digitrec import datasets, plots
    from digitrec import report as reporting

    runs = []
    with training_errors(ValueError, datasets.DatasetError):
        from digitrec.training import train as training
        for name in models_to_train:
            run = out / name
            if not (run / run_folder.METRICS).is_file():
                typer.echo(f"training {name}...")
                training.train(_train_config(None, model=name, epochs=epochs,
                                             train_limit=train_limit, data_dir=data_dir), run,
                               verbose=1 if sys.stdout.isatty() else 0)
            runs.append(run)
        rows = reporting.compare(runs)
    print_comparison(rows)
    save_and_report(plots.compare(runs), out / "compare")


def tune(
    trials: int = typer.Option(20, help="Configurations to try."),
    epochs: int = typer.Option(5, help="The most epochs a trial trains (ASHA stops bad ones "
                                       "sooner)."),
    model: str = typer.Option("cnn", help="Model to tune (one taking filters, dense units and "
                                          "dropout)."),
    dataset: str = typer.Option("mnist", help="mnist or fashion-mnist."),
    train_limit: Optional[int] = typer.Option(None, help="Train each trial on only the first N "
                                                         "images."),
    seed: int = typer.Option(0, help="Seeds the sampler and the trials."),
    address: Optional[str] = typer.Option(None, help="Ray cluster, ray://HOST:PORT (default: "
                                                     "$RAY_ADDRESS, else this machine)."),
    workers: Optional[int] = typer.Option(None, help="Local Ray workers (default: all cores)."),
    out: Path = typer.Option(Path("runs/tune"), help="Folder of the search; an existing one is "
                                                     "resumed."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
) -> None:
    """Search hyperparameters with Ray Tune, Optuna and ASHA early stopping; resumable.

    The space: the architecture's options (the cnn's filters, dense units, dropout and L2
    penalty; the mlp's hidden units, dropout and L2 penalty), learning rate, batch size,
    optimizer and augmentation strength. Running the same command again resumes the search in OUT.
    """
    need_plots()
    quiet_tensorflow()
    from digitrec import datasets

    try:
        from digitrec import tuning
        rows = tuning.tune(trials, epochs, out, model, dataset, train_limit, seed, address,
                           workers, text_or_none(data_dir))
    except ImportError as error:
        missing_extra("tuning", "train,scale", error)
    except (ValueError, datasets.DatasetError) as error:
        fail(str(error))
    print_trials(rows, tuning.space(model))
    save_and_report(tuning.plot_trials(rows), out / "trials")
    failed = [row for row in rows if row["status"] == "error"]
    if failed:
        typer.echo(f"{len(failed)} of {len(rows)} trials failed; the first: {failed[0]['error']}",
                   err=True)
        if len(failed) == len(rows):
            raise typer.Exit(1)
    if (out / "best.json").is_file():
        typer.echo(f"best configuration: {out / 'best.json'}; train it with: "
                   f"digitrec train --config {out / 'best.json'}")


def evaluate(
    run: Optional[Path] = typer.Argument(None, help="Run folder (default: the shipped model)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as one JSON object."),
    data_dir: Optional[Path] = typer.Option(None, help=DATA_DIR_HELP),
    numbers: Optional[Path] = typer.Option(
        None, help="Instead of the test set: a folder of your own labelled numbers "
                   "(labels.csv: filename,label), each read as `digitrec read` reads it: exact, "
                   "per digit, \"ok\" precision and coverage, and the mistakes."),
    reader: Optional[str] = typer.Option(None, help="With --numbers: the number reader (as for "
                                                    "`digitrec read --reader`)."),
    digits: Optional[int] = typer.Option(None, help="With --numbers: each number's count of "
                                                     "digits, as for `digitrec read --digits`."),
    jobs: Optional[int] = typer.Option(None, min=1, help="With --numbers: processes reading, "
                                                         "this one included (default 1: the "
                                                         "time per image is one process's)."),
) -> None:
    """Test accuracy and loss, per-class precision and recall, and the confusion matrix; or,
    with --numbers, how well `read` reads your labelled numbers."""
    from digitrec import datasets, evaluation

    if (reader is not None or digits is not None or jobs is not None) and numbers is None:
        fail("--reader, --digits and --jobs need --numbers FOLDER: the digit model's test set "
             "has no numbers")
    try:
        result = (evaluation.evaluate(run, data_dir) if numbers is None
                  else evaluation.evaluate_reading(numbers, run, reader, digits, jobs or 1))
    except (ValueError, datasets.DatasetError) as error:
        fail(str(error))
    if as_json:
        typer.echo(json.dumps(result))
    elif numbers is None:
        print_evaluation(result)
    else:
        print_reading_evaluation(result)


def train_reader(
    out: Optional[Path] = typer.Option(None, help="Run folder to create (default: "
                                                  "runs/reader-DATE-TIME)."),
    handwriting: Optional[Path] = typer.Option(
        None, envvar="DIGITREC_HANDWRITING",
        help="The real handwriting folder (orand_car_a and the digit folders; "
             "$DIGITREC_HANDWRITING). Without it, MNIST's digits and your --extra-data "
             "numbers train (their last fifth validates)."),
    data_dir: Optional[Path] = typer.Option(None, envvar="DIGITREC_DATA",
                                            help="Where MNIST's IDX files are ($DIGITREC_DATA)."),
    synthetic: int = typer.Option(30_000, help="Synthetic numbers to generate."),
    recomposed: int = typer.Option(4_000, help="Numbers recomposed from the cheque amounts' "
                                               "pieces (orand_car_a's digit boxes), each "
                                               "epoch."),
    epochs: int = typer.Option(16, help="Epochs."),
    seed: int = typer.Option(0, help="Random seed."),
    extra_data: Optional[List[Path]] = typer.Option(None, help="A folder of your own numbers "
                                                               "(labels.csv: filename,label) "
                                                               "to train on as well; "
                                                               "repeatable."),
    extra_repeat: Optional[int] = typer.Option(None, help="Varied copies of each --extra-data "
                                                          "number in an epoch (default 12); "
                                                          "more weigh your numbers more."),
    start_from: Optional[Path] = typer.Option(None, "--from", help="A reader's run folder to "
                                              "fine-tune (start from its weights), or "
                                              "'shipped' for the shipped reader; with "
                                              "--extra-data and a few --epochs, it learns "
                                              "your numbers."),
) -> None:
    """Train a number reader (a CRNN with CTC loss) for `digitrec read --reader RUN`: synthetic
    numbers of real digits, ORAND-CAR-A's fit half of cheque amounts (and numbers recomposed
    from them) and the fit half of the register crops; an hour to an hour and a quarter on 2
    cores."""
    from datetime import datetime

    from digitrec import datasets

    quiet_tensorflow()
    out = out or Path("runs") / f"reader-{datetime.now():%Y%m%d-%H%M%S}"
    with training_errors(ValueError, OSError, datasets.DatasetError):
        from digitrec.training.number_reader import train_reader as train

        if start_from is not None and str(start_from) == "shipped":
            from digitrec.recognizer import DEFAULT_READER as start_from
        run = train(out, handwriting, data_dir=data_dir, synthetic=synthetic,
                    recomposed=recomposed, epochs=epochs, seed=seed,
                    extra_data=extra_data or (), start_from=start_from,
                    extra_copies=extra_repeat)
    typer.echo(f"Number reader written to {run}")
