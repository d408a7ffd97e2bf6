"""digitrec: recognise handwritten digits.

Where a pixel goes, by module (docs/architecture.md is the map): ``imaging`` (a package, one
stage per module) turns a person's image into MNIST's 28x28 format and
``imaging.segmentation`` cuts a written number into digits; ``model_format`` says what the
models take and give, ``onnx_models`` runs them with ONNX Runtime (and makes ensembles and int8
copies), and ``recognizer`` is the one path from an input to an ``answers`` dict. Models are
made by ``training`` (recipes, configuration, architectures, fitting) from ``datasets`` (the
IDX files), into run folders (``run_folder``); ``evaluation``, ``plots`` and ``report`` judge
and show them. ``tuning`` and ``scaling`` run searches, folds and ensemble members with Ray.
``cli`` and ``server`` (with its page in ``web/``) are the command line and HTTP faces over the
same functions.
"""

__version__ = "0.1.0"


def __getattr__(name):
    # Recognizer is imported on first use, so that `import digitrec` stays light.
    if name == "Recognizer":
        from digitrec.recognizer import Recognizer

        return Recognizer
    raise AttributeError(f"module 'digitrec' has no attribute {name!r}")


__all__ = ["Recognizer", "__version__"]
