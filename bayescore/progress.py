"""Progress reporting for long runs that degrades to plain lines off a terminal.

On an interactive terminal a tqdm bar is shown; otherwise (CI, log files, pipes) a plain
line is printed every ``every`` steps and at the end, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["progress"]

T = TypeVar("T")


def progress(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str = "",
    enabled: bool = True,
    every: int | None = None,
    stream=None,
) -> Iterator[T]:
    """Iterate over ``iterable`` while reporting progress.

    Parameters
    ----------
    iterable : iterable
        Items to iterate over.
    total : int, optional
        Number of items (taken from ``len(iterable)`` when available).
    desc : str
        Label printed before the counts.
    enabled : bool, default True
        If False, iterate silently.
    every : int, optional
        Off a terminal, print one line every ``every`` items (default: about 10 lines).
    stream : file-like, optional
        Where to write (default ``sys.stderr``).
    """
    stream = sys.stderr if stream is None else stream
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if not enabled:
        yield from iterable
        return
    if getattr(stream, "isatty", lambda: False)():
        try:
            from tqdm.auto import tqdm

            yield from tqdm(iterable, total=total, desc=desc, file=stream)
            return
        except ImportError:
            pass
    step = every or max(1, (total or 10) // 10)
    start = time.perf_counter()
    count = 0
    for count, item in enumerate(iterable, start=1):
        yield item
        if count % step == 0 or (total is not None and count == total):
            elapsed = time.perf_counter() - start
            of_total = f"/{total}" if total is not None else ""
            print(f"{desc}: {count}{of_total} ({elapsed:.1f} s)", file=stream, flush=True)
