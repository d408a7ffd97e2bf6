"""digitrec: recognise handwritten digits.

Where a pixel goes, by module: ``imaging`` turns a person's image into MNIST's 28x28 format,
``imaging.segmentation`` cuts a written number into digits, and ``recognizer`` runs the model
on them with ONNX Runtime. Models are made by ``models`` (the architectures) and ``training`` (the
recipes, ensembles, int8 copies) from ``datasets`` (the IDX files), into run folders whose
records ``files`` reads and writes; ``evaluation``, ``plots`` and ``report`` judge and show
them. ``tuning`` and ``scaling`` run searches and folds with Ray. ``cli`` and ``server`` (with
its page in ``web/``) are the command line and HTTP faces over the same functions.
"""

__version__ = "0.1.0"


def __getattr__(name):
    # Recognizer is imported on first use, so that `import digitrec` stays light.
    if name == "Recognizer":
        from digitrec.recognizer import Recognizer

        return Recognizer
    raise AttributeError(f"module 'digitrec' has no attribute {name!r}")


__all__ = ["Recognizer", "__version__"]
