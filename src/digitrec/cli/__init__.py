"""The ``digitrec`` command line: a thin face over datasets, training, evaluation and recognition.

The commands live in modules by job: :mod:`~digitrec.cli.recognise` (predict, read, serve, openapi),
:mod:`~digitrec.cli.train` (models, train, ensemble, quantize, cv, evaluate, tutorial, tune) and
:mod:`~digitrec.cli.plots` (show, plot, report, compare, plot-image), with what they share in
:mod:`~digitrec.cli.common` and their Rich tables in :mod:`~digitrec.cli.tables`. This module
makes the Typer ``app`` (the ``digitrec`` entry point) and registers them, in the order the help
lists them.

Heavy libraries are imported inside the commands that need them, so that ``digitrec predict``
starts in a fraction of a second and never loads Keras or TensorFlow.
"""

from __future__ import annotations

import typer
import typer.core

from digitrec.cli import plots, recognise, train

# Typer's Rich help labels every option with its type, flags too ("--json <bool>"), though a
# flag takes no value: flags get no label.
if hasattr(typer.core.TyperOption, "display_type_rich"):
    _display_type = typer.core.TyperOption.display_type_rich
    typer.core.TyperOption.display_type_rich = (
        lambda option, ctx: None if option.is_flag else _display_type(option, ctx))

app = typer.Typer(
    help="Recognise handwritten digits: train MNIST models, evaluate them, read your own images.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    rich_markup_mode="markdown")

def _print_version(value: bool) -> None:
    if value:
        from digitrec import __version__

        typer.echo(f"digitrec {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_print_version,
                                       is_eager=True, help="Print digitrec's version and exit.")
          ) -> None:
    pass


app.command("models")(train.models)
app.command("train")(train.train)
app.command("train-reader")(train.train_reader)
app.command("ensemble")(train.ensemble_command)
app.command("quantize")(train.quantize)
app.command("cv")(train.cv)
app.command("evaluate")(train.evaluate)
app.command("predict")(recognise.predict)
app.command("read")(recognise.read)
app.command("show")(plots.show)
app.command("plot")(plots.plot)
app.command("report")(plots.report)
app.command("compare")(plots.compare)
app.command("tutorial")(train.tutorial)
app.command("tune")(train.tune)
app.command("plot-image")(plots.plot_image)
app.command("serve")(recognise.serve)
app.command("openapi")(recognise.openapi)

__all__ = ["app"]
