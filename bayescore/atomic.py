"""Atomic file output: write to a temporary name in the same directory, then rename.

A reader (or a crashed run) never sees a half-written file: either the old file or the
complete new one is there. Every writer in bayescore goes through :func:`atomic_path`.

* Finished files get the mode an ordinary ``open(path, "w")`` would give them,
  ``0o666 & ~umask`` (the temporary file of :func:`tempfile.mkstemp` is private, 0600).
* The temporaries being written are tracked: :func:`remove_temporaries` deletes them, for
  a signal handler that cannot wait for the writers' ``finally`` blocks.
* :func:`record_outputs` collects the files written inside a block, so that a command
  lists exactly the files of this run (not those an earlier run left in the folder).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_path",
    "json_ready",
    "output_mode",
    "record_outputs",
    "recorded_outputs",
    "remove_temporaries",
    "save_figure",
    "write_json",
]

#: Temporary files currently being written by :func:`atomic_path`.
_temporaries: set[Path] = set()
#: The active :func:`record_outputs` blocks: (files written, callback before the first).
_records: list[tuple[list[Path], list]] = []
_lock = threading.RLock()


def output_mode() -> int:
    """The permission bits of a new output file: ``0o666`` less the process umask."""
    with _lock:  # os.umask can only be read by setting it
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def remove_temporaries() -> list[Path]:
    """Delete the temporary files of writes still in progress; return their paths.

    For signal handlers and emergency exits: the writes themselves are not finished
    (their destinations keep the previous content, or do not exist).
    """
    with _lock:
        pending = sorted(_temporaries)
        _temporaries.clear()
    for tmp in pending:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return pending


@contextlib.contextmanager
def record_outputs(before_first_write=None) -> Iterator[list[Path]]:
    """Collect the destinations of every atomic write finished inside the block.

    Parameters
    ----------
    before_first_write : callable, optional
        Called once, without arguments, when the first write of the block starts (before
        its temporary file is created); e.g. to retire an earlier run's summary.

    Yields
    ------
    list of pathlib.Path
        Filled in while the block runs, in the order the files were finished (a file
        written twice appears once).
    """
    written: list[Path] = []
    entry = (written, [before_first_write] if before_first_write is not None else [])
    with _lock:
        _records.append(entry)
    try:
        yield written
    finally:
        with _lock:
            _records.remove(entry)


def recorded_outputs() -> list[Path] | None:
    """The files written so far in the innermost :func:`record_outputs` block, or None."""
    with _lock:
        return list(_records[-1][0]) if _records else None


def _starting() -> None:
    with _lock:
        callbacks = [c for _, pending in _records for c in pending]
        for _, pending in _records:
            pending.clear()
    for callback in callbacks:
        callback()


def _finished(path: Path) -> None:
    with _lock:
        for written, _ in _records:
            if path not in written:
                written.append(path)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    Parameters
    ----------
    path : str or path-like
        Final destination. Its parent directory is created if needed.
    suffix : str, optional
        Suffix of the temporary file (defaults to the destination's suffix, so that
        writers which infer the format from the extension keep working).

    Yields
    ------
    pathlib.Path
        The temporary file to write. If the block raises (``KeyboardInterrupt``
        included), it is removed and ``path`` is left untouched. On success ``path`` gets
        the mode :func:`output_mode`.
    """
    final = Path(path)
    _starting()
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{final.name}.",
            suffix=final.suffix if suffix is None else suffix,
            dir=final.parent,
        )
        tmp = Path(tmp_name)
        with _lock:
            _temporaries.add(tmp)
        os.close(fd)
        yield tmp
        os.chmod(tmp, output_mode())
        os.replace(tmp, final)
        _finished(final)
    finally:
        if tmp is not None:
            with _lock:
                _temporaries.discard(tmp)
            if tmp.exists():
                tmp.unlink()


def write_json(path: str | os.PathLike, payload: Any) -> Path:
    """Write ``payload`` as indented, strict JSON atomically and return the path.

    ``payload`` goes through :func:`json_ready` first: numpy/JAX values become plain
    numbers and lists, and NaN or infinite floats become ``null`` (strict JSON has no NaN).
    """
    with atomic_path(path) as tmp:
        text = json.dumps(json_ready(payload), indent=2, sort_keys=False, allow_nan=False)
        tmp.write_text(text + "\n")
    return Path(path)


def save_figure(fig, path: str | os.PathLike, **savefig_kwargs) -> Path:
    """Save a matplotlib figure atomically (``dpi=150, bbox_inches="tight"`` by default)."""
    savefig_kwargs.setdefault("dpi", 150)
    savefig_kwargs.setdefault("bbox_inches", "tight")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **savefig_kwargs)
    return Path(path)


def json_ready(value: Any) -> Any:
    """A copy of ``value`` that strict JSON can hold.

    Parameters
    ----------
    value : object
        Nested dicts, lists and tuples of numbers, strings, booleans, None, numpy or JAX
        scalars and arrays, and path-like objects.

    Returns
    -------
    object
        The same structure with dict keys as strings, arrays as (nested) lists, numpy
        scalars as Python numbers, paths as strings, and every NaN or infinite float
        replaced by ``None`` (JSON ``null``).

    Raises
    ------
    TypeError
        For an object of any other type.
    """
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "tolist"):  # numpy / JAX arrays and scalars
        return json_ready(value.tolist())
    raise TypeError(f"object of type {type(value).__name__} is not JSON serialisable")
