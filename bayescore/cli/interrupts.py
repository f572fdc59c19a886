"""Ctrl-C and termination signals for the ``bayescore`` command.

Python turns SIGINT (Ctrl-C) into :class:`KeyboardInterrupt`, but SIGTERM (``kill``,
``timeout``, batch schedulers) and SIGHUP end the process at once by default: no
``finally`` block runs, so the temporary files of :mod:`bayescore.atomic` stay behind.
:func:`signals_as_interrupts` makes all three raise :class:`Interrupted` (a
``KeyboardInterrupt``) in the main thread instead, so the command unwinds as for Ctrl-C.

Where the exception is raised matters. Python runs a signal handler at the next bytecode
of the main thread, which can be inside a callback that C++ calls: JAX's garbage-collector
callback (an exception there is printed as "Exception ignored" and lost, so Ctrl-C did
nothing), or Python code that XLA compilation and dispatch call back into (an exception
unwinding through C++ there can leave locks held or crash the process: the segmentation
fault seen when ``bayescore forecast`` was interrupted while compiling). So the handler
raises only when no frame of JAX, jaxlib or Flax is on the stack and it is not a
garbage-collector callback; otherwise it notes the signal and a helper thread delivers
it again every :data:`RETRY_S` seconds until the main thread is back in plain Python code
(at the latest when the compilation or computation in progress returns).

A second signal from outside while the first is pending or unwinding removes the
temporaries and ends the process at once (``os._exit``) with the same status.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

__all__ = ["Interrupted", "exit_status", "safe_to_raise", "signals_as_interrupts"]

#: Seconds between deliveries of a signal that arrived inside JAX code.
RETRY_S = 0.05
#: Path fragments of the packages whose frames must not see the exception.
_UNSAFE = tuple(
    f"{os.sep}{name}{os.sep}" for name in ("jax", "jaxlib", "flax", "jax_plugins", "optax")
)

#: Signals turned into :class:`Interrupted` (those that exist on this platform).
SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (Ctrl-C, ``kill``, the end of a time limit)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        """The signal's name, e.g. ``"SIGTERM"``."""
        return signal.Signals(self.signum).name


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """The shell's exit status for a run stopped by ``interrupt``: 128 + signal number."""
    return 128 + getattr(interrupt, "signum", signal.SIGINT)


def safe_to_raise(frame) -> bool:
    """Whether an exception may be raised in ``frame`` (the frame a handler interrupts).

    False inside a garbage-collector callback and whenever a frame of JAX, jaxlib, Flax or
    Optax is on the stack (C++ may be between those frames and the caller).
    """
    callbacks = {getattr(callback, "__code__", None) for callback in gc.callbacks}
    if frame is not None and frame.f_code in callbacks:
        return False
    while frame is not None:
        if any(part in frame.f_code.co_filename for part in _UNSAFE):
            return False
        frame = frame.f_back
    return True


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Inside the block, SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted`.

    The previous handlers are restored afterwards. Signals that were ignored when the
    block starts (e.g. SIGINT of a background job, SIGHUP under ``nohup``) stay ignored.
    Outside the main thread the block changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    state = {"signum": None, "raised": False, "retry": False, "active": True}

    main_thread = threading.main_thread().ident

    def redeliver():
        while state["active"] and not state["raised"]:
            time.sleep(RETRY_S)
            if state["active"] and not state["raised"]:
                state["retry"] = True  # a real signal, so that a blocking sleep wakes up
                signal.pthread_kill(main_thread, state["signum"])

    def handler(signum, frame):
        retry, state["retry"] = state["retry"], False
        if retry:  # delivered again by redeliver()
            if state["raised"] or not safe_to_raise(frame):
                return
        elif state["signum"] is not None:
            # a second signal while the first is pending or unwinding: stop now
            from bayescore.atomic import remove_temporaries

            remove_temporaries()
            name = signal.Signals(signum).name
            print(f"bayescore: stopped at once by a second {name}", file=sys.stderr, flush=True)
            os._exit(128 + state["signum"])
        else:
            state["signum"] = signum
            if not safe_to_raise(frame):
                threading.Thread(target=redeliver, name="bayescore-signal", daemon=True).start()
                return
        state["raised"] = True
        raise Interrupted(state["signum"])

    previous = {}
    for signum in SIGNALS:
        current = signal.getsignal(signum)
        if current is signal.SIG_IGN or current is None:
            continue
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
        if state["signum"] is not None and not state["raised"]:
            # the signal came during the last JAX call: report it now
            state["raised"] = True
            raise Interrupted(state["signum"])
    finally:
        state["active"] = False
        for signum, old in previous.items():
            signal.signal(signum, old)
