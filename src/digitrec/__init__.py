"""digitrec: recognise handwritten digits.

Where a pixel goes, by module: ``imaging`` turns a person's image into MNIST's 28x28 format;
``recognizer`` runs the model on it with ONNX Runtime. Models are made by ``models`` (the
architectures) and ``training`` (the recipes) from ``datasets`` (the IDX files), and judged by
``evaluation``. ``cli`` is the command line over the same functions.
"""

__version__ = "0.1.0"


def __getattr__(name):
    # Recognizer is imported on first use, so that `import digitrec` stays light.
    if name == "Recognizer":
        from digitrec.recognizer import Recognizer

        return Recognizer
    raise AttributeError(f"module 'digitrec' has no attribute {name!r}")


__all__ = ["Recognizer", "__version__"]
