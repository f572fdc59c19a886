"""How much memory a computation may use: the one place the size checks ask.

The commands refuse problems that would not fit (a flow or co-estimation at a degree whose
matrices exceed the memory) before computing anything; they compare their own size
estimates with :func:`available_memory_bytes`.
"""

from __future__ import annotations

import os

__all__ = ["available_memory_bytes"]


def available_memory_bytes() -> int | None:
    """Memory available to a computation, in bytes.

    Returns
    -------
    int or None
        The free memory of JAX's first device when its backend reports a limit (GPU,
        TPU), else the host's ``MemAvailable`` (``/proc/meminfo``), else the free physical
        pages (``os.sysconf``); ``None`` when none of these is known.
    """
    import jax

    try:
        stats = jax.devices()[0].memory_stats() or {}
    except Exception:  # noqa: BLE001  (backends without memory statistics)
        stats = {}
    if stats.get("bytes_limit"):
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
