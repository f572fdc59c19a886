"""Atomic file output: write to a temporary name in the same directory, then rename.

A reader (or a crashed run) never sees a half-written file: either the old file or the
complete new one is there. Every writer in bayescore goes through :func:`atomic_path`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "write_json", "save_figure", "json_ready"]


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
        The temporary file to write. If the block raises, it is removed and ``path`` is
        left untouched.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{final.name}.",
        suffix=final.suffix if suffix is None else suffix,
        dir=final.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
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
