"""Writing files safely: to a temporary file beside the target, renamed into place when complete,
so that an interrupted write never leaves a half-written file or destroys an existing one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def replacing(target: str | os.PathLike, overwrite: bool = True):
    """Yields a temporary path beside ``target``; when the block ends without an error, the file
    written there becomes ``target`` (permissions 0644, as a normally created file).

    Args:
        target: the file to create.
        overwrite: whether an existing ``target`` may be replaced; if not, FileExistsError is
            raised rather than replacing it (also when it appears while writing).

    Raises:
        FileExistsError: ``target`` exists and ``overwrite`` is False.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".part")
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o644)
        if overwrite:
            os.replace(temporary, target)
        else:
            os.link(temporary, target)  # fails, rather than replaces, if target exists
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
