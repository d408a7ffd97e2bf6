"""Trained models as ONNX files, without Keras: sessions, ensembles and int8 copies.

- :func:`session` opens a model in ONNX Runtime, with its fastest kernels or its reference ones;
- :func:`kernel_agreement` and :func:`saturating_weights` check that a model answers the same
  on every CPU;
- :func:`ensemble` averages several runs into one graph; :func:`quantize` makes an int8 copy.

Both write run folders that :class:`digitrec.recognizer.Recognizer` loads as any run. They need
ONNX Runtime and the ``onnx`` package, both in the base install.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from digitrec import __version__, datasets, run_folder
from digitrec.model_format import (DIGIT_MODEL, NUM_CLASSES, NUMBER_READER, model_kind, softmax,
                                   to_model_input)

ONNX_TOLERANCE = 1e-5  # largest allowed |p_merged - p_mean of members| over the test images
CALIBRATION_IMAGES = 1000  # training images whose activations set the int8 ranges
# Largest |p_reference - p_optimised| allowed over a model's check images. An int8 model's
# optimised kernels compute its integer products exactly and re-quantise once per layer; the
# reference kernels compute them in float, so an activation can land one quantisation step
# apart. That moved no probability by more than 0.003 for the shipped model (docs/speed.md);
# saturating products moved them by up to 0.98.
KERNEL_TOLERANCE = 0.02
# Largest |weight| (in int8 steps) whose products with uint8 activations cannot saturate
# ONNX Runtime's x86 U8S8 kernels without VNNI: they add pairs of u8 x s8 products in 16 bits
# (VPMADDUBSW), and 2 x 255 x 64 = 32,640 fits in [-32,768, 32,767], 2 x 255 x 127 does not.
# ONNX Runtime's quantization guide: "reduce_range ... on x86-64 machines with AVX2 and AVX512
# extensions without VNNI", and quant_utils.py's reduced int8 range (-64, 64).
UNSATURATED_WEIGHT = 64


THREADS = 0  # threads per ONNX Runtime session (0: one per core); digitrec.bulk's worker
# processes set 1, as their parallelism is the processes

def session(model_path: str | os.PathLike, optimized: bool = True, kind: str | None = DIGIT_MODEL):
    """An ONNX Runtime session on the CPU for ``model_path``.

    Args:
        model_path: an ``.onnx`` file.
        optimized: all graph optimisations (fused int8 kernels, the CPU's fastest instructions),
            as recognition runs; False turns them off, so each operator runs ONNX Runtime's
            reference kernel (for an int8 model in QDQ format: dequantise, float, quantise).
        kind: the model it must be (:func:`digitrec.model_format.model_kind`):
            ``DIGIT_MODEL`` or ``NUMBER_READER``; None: any.

    Raises:
        ValueError: the file is not a valid ONNX model, or not of ``kind`` (the message says
            what it is and where it belongs).
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = THREADS
    options.graph_optimization_level = (
        onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL if optimized
        else onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL)
    try:
        model_session = onnxruntime.InferenceSession(str(model_path), options,
                                                     providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - onnxruntime raises several private types
        raise ValueError(f"{model_path}: not a valid ONNX model ({error})") from None
    if kind is not None:
        input_shape = model_session.get_inputs()[0].shape
        output_shape = model_session.get_outputs()[0].shape
        found = model_kind(input_shape, output_shape)
        if found != kind:
            raise ValueError(_wrong_kind(model_path, kind, found, input_shape, output_shape))
    return model_session


def _wrong_kind(model_path, kind: str, found: str | None, input_shape, output_shape) -> str:
    """What :func:`session` says of a model that is not the ``kind`` asked for."""
    if found == NUMBER_READER:
        return (f"{model_path}: a number reader (made by `digitrec train-reader`), not a digit "
                "model: give it as the reader (`digitrec read --reader`, `Recognizer("
                "reader=...)`); a digit model is a run folder made by `digitrec train`")
    if found == DIGIT_MODEL:
        return (f"{model_path}: a digit model (made by `digitrec train`), not a number reader: "
                "give it as the model (`--model`, `Recognizer(model=...)`); a number reader is "
                "a run folder made by `digitrec train-reader`")
    wanted = ("(N, 28, 28, 1) float32 images in [0, 1] -> (N, 10) logits" if kind == DIGIT_MODEL
              else "(N, 32, W, 1) float32 lines -> (N, W / 4, 11) logits")
    return (f"{model_path}: takes {input_shape} and gives {output_shape}, not a digitrec {kind} "
            f"({wanted}); give a run folder made by `digitrec "
            f"{'train' if kind == DIGIT_MODEL else 'train-reader'}` or its model.onnx")


def probabilities(model_session, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """(N, 10) float32 probabilities of a session for (N, 28, 28) uint8 images."""
    name = model_session.get_inputs()[0].name
    inputs = to_model_input(images)
    return softmax(np.concatenate([
        model_session.run(None, {name: inputs[start:start + batch_size]})[0]
        for start in range(0, len(inputs), batch_size)]))


def kernel_agreement(model_path: str | os.PathLike, images: np.ndarray) -> float:
    """The largest difference in probability, over ``images`` ((N, 28, 28) uint8) and the ten
    digits, between the model's answers with ONNX Runtime's fastest kernels on this CPU and
    with its reference kernels (see :func:`session`).

    A float model agrees to about 1e-6 on any CPU. An int8 model agrees within
    :data:`KERNEL_TOLERANCE` where its integer products are exact; where they saturate (see
    :func:`saturating_weights`) it does not, but only on CPUs whose kernels saturate.
    """
    return float(np.abs(probabilities(session(model_path, optimized=True), images)
                        - probabilities(session(model_path, optimized=False), images)).max())


def saturating_weights(model_path: str | os.PathLike) -> list[str]:
    """The int8 weight tensors whose products ONNX Runtime may compute with saturation.

    On x86 CPUs without VNNI (AVX2, or AVX-512 without VNNI: AMD before Zen 4, Intel before
    Cascade Lake), ONNX Runtime multiplies uint8 activations by int8 weights with VPMADDUBSW,
    which saturates unless the weights stay within +-:data:`UNSATURATED_WEIGHT` (7 bits). The
    answers then depend on the CPU. This reads the graph, so it holds on any machine.

    Returns:
        The names of int8 weights beyond that range in a graph with uint8 activations; empty
        for a float model, a 7-bit-weight int8 model or one with int8 activations.
    """
    import onnx
    from onnx import TensorProto, numpy_helper

    graph = onnx.load(str(model_path)).graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    activation_types = {initializers[node.input[2]].data_type for node in graph.node
                        if node.op_type == "QuantizeLinear" and len(node.input) > 2
                        and node.input[2] in initializers}
    if TensorProto.UINT8 not in activation_types:
        return []
    return [node.input[0] for node in graph.node
            if node.op_type == "DequantizeLinear" and node.input[0] in initializers
            and initializers[node.input[0]].data_type == TensorProto.INT8
            and np.abs(numpy_helper.to_array(initializers[node.input[0]]).astype(np.int32)).max()
            > UNSATURATED_WEIGHT]


def combine_onnx(paths, out: str | os.PathLike) -> None:
    """Merges several models' ONNX graphs into one that averages their probabilities.

    The merged graph takes the same (N, 28, 28, 1) float32 input and outputs, as "logits", the
    log of the mean of the members' softmax probabilities (so that a softmax of it gives back
    the mean probabilities, and the recognizer treats it as any model).

    Args:
        paths: the members' ``model.onnx`` files (two or more).
        out: the ``.onnx`` file to write.

    Raises:
        ValueError: fewer than two members, or members with different inputs.
    """
    import onnx
    import onnx.compose
    from onnx import TensorProto, helper

    if len(paths) < 2:
        raise ValueError("an ensemble needs at least two models")
    members = [onnx.load(str(path)) for path in paths]
    input_value = members[0].graph.input[0]
    nodes, initializers, probabilities = [], [], []
    for index, member in enumerate(members):
        member = onnx.compose.add_prefix(member, f"member{index}_")
        graph = member.graph
        if len(graph.input) != 1:
            raise ValueError(f"{paths[index]}: expected one input, found {len(graph.input)}")
        own_input = graph.input[0].name
        for node in graph.node:
            node.input[:] = [input_value.name if name == own_input else name
                             for name in node.input]
        nodes.extend(graph.node)
        initializers.extend(graph.initializer)
        probability = f"member{index}_probabilities"
        nodes.append(helper.make_node("Softmax", [graph.output[0].name], [probability],
                                      axis=-1))
        probabilities.append(probability)
    epsilon = helper.make_tensor("epsilon", TensorProto.FLOAT, [], [1e-12])
    nodes += [helper.make_node("Mean", probabilities, ["mean_probabilities"]),
              helper.make_node("Add", ["mean_probabilities", "epsilon"], ["positive"]),
              helper.make_node("Log", ["positive"], ["logits"])]
    output = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, NUM_CLASSES])
    graph = helper.make_graph(nodes, "ensemble", [input_value], [output],
                              initializers + [epsilon])
    model = helper.make_model(graph, opset_imports=members[0].opset_import,
                              producer_name="digitrec")
    model.ir_version = members[0].ir_version
    onnx.checker.check_model(model)
    with run_folder.replacing(out) as temporary:
        onnx.save(model, str(temporary))


def ensemble(runs, out: str | os.PathLike, data_dir: str | None = None) -> Path:
    """Makes one run folder from several: their averaged model, evaluated on the test set.

    The folder holds ``model.onnx`` (:func:`combine_onnx`), ``metrics.json`` (the ensemble's
    and each member's test accuracy), ``config.json`` (the members) and, if the members have
    one, ``rejection.json`` with the mean of their thresholds. It is loaded and used as any run.

    Args:
        runs: run folders trained on the same dataset.
        out: the folder to create; it must not exist.

    Raises:
        ValueError: fewer than two runs, runs of different datasets, or ``out`` exists.
        RuntimeError: the merged graph disagrees with the members' averaged probabilities.
    """
    runs = [Path(run) for run in runs]
    if len(runs) < 2:
        raise ValueError("an ensemble needs at least two run folders")
    for run in runs:
        if not (run / run_folder.MODEL).is_file():
            raise ValueError(f"{run}: not a run folder (no model.onnx); give folders made by "
                             "`digitrec train`")
    with run_folder.creating_folder(out) as building:
        write_ensemble(runs, [str(run) for run in runs], building, data_dir)
    return Path(out)


def write_ensemble(runs, names, building: Path, data_dir) -> None:
    """Writes an ensemble's files into ``building`` (see :func:`ensemble`); ``names`` are how
    config.json refers to the members."""
    from digitrec.evaluation import classification_metrics
    from digitrec.recognizer import Recognizer

    configs = [run_folder.read_record(run, run_folder.CONFIG) for run in runs]
    member_metrics = [run_folder.read_record(run, run_folder.METRICS,
                                             keys=run_folder.METRICS_FIELDS) for run in runs]
    dataset = configs[0].get("dataset", "mnist")
    if any(config.get("dataset", "mnist") != dataset for config in configs):
        raise ValueError("the runs were trained on different datasets")
    _, (x_test, y_test) = datasets.load(dataset, data_dir)
    combine_onnx([run / run_folder.MODEL for run in runs], building / run_folder.MODEL)
    members = [Recognizer.load(run) for run in runs]
    member_probabilities = [member.predict_proba(x_test) for member in members]
    probabilities = Recognizer.load(building / run_folder.MODEL).predict_proba(x_test)
    difference = float(np.abs(probabilities - np.mean(member_probabilities, axis=0)).max())
    if difference > ONNX_TOLERANCE:
        raise RuntimeError(f"the merged graph differs from the members' average by "
                           f"{difference:.2e}")
    result = classification_metrics(y_test, probabilities)
    metrics = {
        "model": "ensemble", "dataset": dataset, "test_accuracy": result["accuracy"],
        "test_loss": result["loss"], "test_images": int(len(y_test)),
        "parameters": int(sum(metrics["parameters"] for metrics in member_metrics)),
        "training_seconds": round(sum(metrics["training_seconds"]
                                      for metrics in member_metrics), 3),
        "epochs": max(metrics["epochs"] for metrics in member_metrics),
        "members": [{"run": name, "model": metrics["model"], "seed": metrics.get("seed"),
                     "test_accuracy": metrics["test_accuracy"]}
                    for name, metrics in zip(names, member_metrics)],
        "onnx_max_probability_difference": difference,
        "dataset_md5": datasets.checksum(dataset), "versions": {"digitrec": __version__},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    run_folder.write_record(building, run_folder.METRICS, metrics)
    run_folder.write_record(building, run_folder.CONFIG,
                            {"model": "ensemble", "dataset": dataset, "members": list(names)})
    thresholds = [member.threshold_ for run, member in zip(runs, members)
                  if (run / run_folder.REJECTION).is_file()]
    if len(thresholds) == len(runs):
        run_folder.write_record(building, run_folder.REJECTION, {
            "method": "mean of the members' calibrated thresholds",
            "threshold": float(np.mean(thresholds))})


def quantize(run, out: str | os.PathLike, data_dir: str | None = None,
             full_range_weights: bool = False) -> Path:
    """Makes an int8 copy of a run folder's model, for throughput on a CPU.

    ONNX Runtime's static quantization (``onnxruntime.quantization.quantize_static``) in QDQ
    format: weights int8 per output channel, activations uint8 with ranges from the minimum and
    maximum seen on :data:`CALIBRATION_IMAGES` images drawn from the dataset's training set.
    Weights keep 7 bits (``reduce_range``, range +-64) unless ``full_range_weights``, so that
    the products cannot saturate on any x86 CPU and the copy gives the same answers on every
    one (see :func:`saturating_weights`).

    The new folder holds the int8 ``model.onnx``; ``metrics.json``, the source's with the int8
    model's own test loss and accuracy, ``"precision": "int8"``, ``"weight_bits"``, the float
    model's figures under ``quantized_from``, the largest difference in probability from the
    float model on the test set, and ``kernel_agreement`` (:func:`kernel_agreement` on the test
    set, measured on this machine's CPU, with the names of any saturating weights);
    ``config.json``, the source's recipe with ``precision``, ``weight_bits`` and
    ``quantized_from`` added (so the pair of commands that made it can be run again); and the
    source's ``history.json``, ``summary.txt`` and ``rejection.json`` where it has them. It is
    loaded and used as any run.

    Args:
        run: a run folder holding ``model.onnx`` and ``config.json`` (a trained model or an
            ensemble).
        out: the folder to create; it must not exist.
        data_dir: where the dataset's IDX files are (see :func:`digitrec.datasets.find_files`).
        full_range_weights: 8-bit weights (range +-127). On CPUs with VNNI they can be a little
            closer to the float model; on x86 CPUs without VNNI ONNX Runtime's products
            saturate and the copy loses accuracy there (the shipped model's full-range copy:
            99.39% on MNIST's test set against 99.56%, docs/speed.md).

    Raises:
        ValueError: ``run`` is not a run folder, or ``out`` exists.
    """
    run = Path(run)
    if not (run / run_folder.MODEL).is_file() or not (run / run_folder.CONFIG).is_file():
        raise ValueError(f"{run}: not a run folder (model.onnx and config.json are needed)")
    source_config = run_folder.read_record(run, run_folder.CONFIG)
    source_metrics = run_folder.read_record(run, run_folder.METRICS)
    (x_train, _), (x_test, y_test) = datasets.load(source_config.get("dataset", "mnist"),
                                                   data_dir)
    chosen = np.random.default_rng(0).choice(len(x_train), CALIBRATION_IMAGES, replace=False)
    weight_bits = 8 if full_range_weights else 7
    with run_folder.creating_folder(out) as building:
        _quantize_graph(run / run_folder.MODEL, building / run_folder.MODEL, x_train[chosen],
                        full_range_weights)
        metrics = {**source_metrics, **_int8_metrics(run, building, x_test, y_test),
                   "weight_bits": weight_bits}
        metrics.pop("onnx_max_probability_difference", None)  # the float export's check
        config = {**source_config, "precision": "int8", "weight_bits": weight_bits,
                  "quantized_from": str(run)}
        run_folder.write_record(building, run_folder.METRICS, metrics)
        run_folder.write_record(building, run_folder.CONFIG, config)
        for name in (run_folder.HISTORY, run_folder.SUMMARY, run_folder.REJECTION):
            if (run / name).is_file():
                (building / name).write_text((run / name).read_text())
    return Path(out)


def _int8_metrics(run: Path, building: Path, x_test: np.ndarray, y_test: np.ndarray) -> dict:
    """The int8 copy's figures on the test set, the float model's under ``quantized_from``, and
    :func:`kernel_agreement` on this machine's CPU (see :func:`quantize`)."""
    from digitrec.evaluation import classification_metrics

    int8_model = building / run_folder.MODEL
    int8_probabilities = probabilities(session(int8_model), x_test)
    float_probabilities = probabilities(session(run / run_folder.MODEL), x_test)
    result = classification_metrics(y_test, int8_probabilities)
    # Both losses as plain cross-entropy (a run's own test_loss includes label smoothing).
    float_result = classification_metrics(y_test, float_probabilities)
    return {
        "test_accuracy": result["accuracy"], "test_loss": result["loss"],
        "test_images": int(len(y_test)), "precision": "int8",
        "quantized_from": {"run": str(run), "test_accuracy": float_result["accuracy"],
                           "test_loss": float_result["loss"]},
        "max_probability_difference_to_float": float(
            np.abs(int8_probabilities - float_probabilities).max()),
        "kernel_agreement": {
            "max_probability_difference": kernel_agreement(int8_model, x_test),
            "tolerance": KERNEL_TOLERANCE, "images": int(len(x_test)), "cpu": cpu_name(),
            "saturating_weights": saturating_weights(int8_model)},
        "calibration_images": CALIBRATION_IMAGES,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _quantize_graph(source: Path, target: Path, calibration_images: np.ndarray,
                    full_range_weights: bool) -> None:
    """Writes the int8 QDQ graph of ``source`` to ``target``, its activation ranges set by
    ``calibration_images`` ((N, 28, 28) uint8)."""
    from onnxruntime import quantization

    input_name = session(source).get_inputs()[0].name
    calibration = to_model_input(calibration_images)

    class Calibration(quantization.CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{input_name: calibration[start:start + 100]}
                                 for start in range(0, len(calibration), 100)])

        def get_next(self):
            return next(self.batches, None)

    prepared = target.with_name("prepared.onnx")
    quantization.quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    quantization.quantize_static(
        str(prepared), str(target), Calibration(),
        quant_format=quantization.QuantFormat.QDQ, per_channel=True,
        reduce_range=not full_range_weights,
        activation_type=quantization.QuantType.QUInt8,
        weight_type=quantization.QuantType.QInt8)
    prepared.unlink()


def cpu_name() -> str:
    """This machine's processor and whether it has VNNI, as "AMD EPYC (AVX2, no VNNI)": the
    facts that decide ONNX Runtime's int8 kernels and speed (from /proc/cpuinfo on Linux)."""
    import platform

    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    fields = dict(line.split(":", 1) for line in cpuinfo.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    vector = ("AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags
              else "no AVX2")
    vnni = "VNNI" if {"avx512_vnni", "avx_vnni"} & flags else "no VNNI"
    return f"{fields.get('model name', platform.machine())} ({vector}, {vnni})"
