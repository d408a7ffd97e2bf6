"""``python -m digitrec.cli``: the command line, as the ``digitrec`` entry point runs it."""

from digitrec.cli import app

app()
