"""The ``bayescore`` command line.

* ``bayescore field``: a field model's Lowes spectra (field, SV, SA at the surface and the
  CMB) and dipole moment;
* ``bayescore flow``: frozen-flux core-flow inversion of a field model's SV (exact
  Gaussian posterior; ``--nuts`` also samples it with NUTS and checks the agreement);
* ``bayescore coestimate``: the NumPyro co-estimation of core field and flow on synthetic
  or user data (MAP, Laplace approximation or NUTS);
* ``bayescore forecast``: LSTM/GRU forecasters with Monte-Carlo dropout against baselines,
  for the 2 Myr dipole moment or core-surface velocities at five sites;
* ``bayescore lod``: the length of day predicted from core flows (COV-OBS) against the
  observed one (IERS C04).

Every command takes ``--out DIR`` where it writes a JSON summary, netCDF data and PNG
figures atomically, and ``--seed``.

Exit status and messages:

* 0: done. ``summary.json`` is written last and lists exactly the files this run wrote; a
  folder without it holds an unfinished run. When a run into a folder that already holds
  a ``summary.json`` starts writing, that summary is removed first, and after success the
  files it listed that this run did not write again are removed too (other files in the
  folder are left alone).
* 2: bad input, reported before any long computation as one line
  ``bayescore COMMAND: error: ...`` naming the option or file: unknown or invalid options,
  an ``--out`` that is empty, a file or not writable, input files that are missing,
  folders, unreadable or not text, and the package's errors
  (:mod:`bayescore.errors`, other ``ValueError``) and operating-system errors about the
  paths given on the command line. Any other exception is a bug and keeps its traceback
  (``BAYESCORE_TRACEBACK=1`` shows one for the errors above too).
* 130 (Ctrl-C), 143 (SIGTERM), 129 (SIGHUP): stopped, one line on stderr; temporary files
  are removed and no ``summary.json`` is written. An ``--out`` folder created by a run that
  wrote nothing into it is removed again.

The sub-commands are imported only when named: ``bayescore --help`` and
``bayescore field|flow|forecast --help`` do not import JAX.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Collection
from pathlib import Path

from bayescore.errors import BayescoreError

__all__ = ["COMMANDS", "main", "build_parser"]

#: Sub-command modules of :mod:`bayescore.cli`, in the order of ``bayescore --help``.
#: Each has ``add_parser(subparsers)`` and sets ``run`` as the parser default. A module
#: that is not part of this build (e.g. ``forecast`` before it is added) is skipped.
COMMANDS = ("field", "flow", "coestimate", "forecast", "lod")

#: Environment variable: when set (non-empty, not "0"), errors keep their traceback.
TRACEBACK_VARIABLE = "BAYESCORE_TRACEBACK"


class UsageError(BayescoreError, ValueError):
    """A command-line option is unknown, missing or has an invalid value."""

    def __init__(self, prog: str, message: str):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are raised (one line) instead of printing usage."""

    def error(self, message: str):
        raise UsageError(self.prog, message)


def version() -> str:
    """The installed version of bayescore (package metadata, else ``__version__``)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version("bayescore")
    except PackageNotFoundError:
        from bayescore import __version__

        return __version__


def build_parser(full: Collection[str] | None = None) -> argparse.ArgumentParser:
    """Return the argument parser of the ``bayescore`` command (one sub-parser a job).

    Parameters
    ----------
    full : collection of str, optional
        The sub-commands whose options are registered (their modules' ``add_parser``);
        the others get a stub that only lists them in ``bayescore --help``, with the
        summary line of their module's docstring. Default: all of them.
    """
    parser = _Parser(
        prog="bayescore",
        description="Bayesian geomagnetism on JAX: field models, core flows, co-estimation, "
        "forecasts.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, module in _command_modules():
        if full is None or name in full:
            module.add_parser(sub)
        else:
            sub.add_parser(name, help=_summary_line(module))
    return parser


def _summary_line(module) -> str:
    """The text after the colon of a docstring's first paragraph, without the final stop."""
    first = (module.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(first.split(":", 1)[-1].split()).rstrip(".")


def _command_modules():
    modules = []
    for name in COMMANDS:
        qualified = f"{__name__}.{name}"
        try:
            modules.append((name, importlib.import_module(qualified)))
        except ModuleNotFoundError as exc:
            if exc.name != qualified:  # a missing dependency, not a missing command
                raise
    return modules


def _command_named(argv: list[str]) -> str | None:
    """The sub-command of ``argv``: its first word not starting with "-" (or None)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status.

    0 on success, 2 on bad input (one line on stderr), 128 + the signal number when
    stopped by SIGINT (130), SIGTERM (143) or SIGHUP (129). See :mod:`bayescore.cli`.
    """
    from bayescore.cli.interrupts import signals_as_interrupts

    argv = sys.argv[1:] if argv is None else [str(word) for word in argv]
    try:
        with signals_as_interrupts():
            return _main(argv)
    except KeyboardInterrupt as interrupt:
        return _interrupted(interrupt, argv)


def _main(argv: list[str]) -> int:
    command = _command_named(argv)
    parser = build_parser(full=() if command is None else (command,))
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            # name the sub-command (argparse would report them for "bayescore" itself)
            raise UsageError(
                f"{parser.prog} {args.command}", f"unrecognized arguments: {' '.join(unknown)}"
            )
    except UsageError as exc:
        print(f"{exc.prog}: error: {exc}", file=sys.stderr)
        return 2
    label = f"bayescore {args.command}"
    try:
        return _run(args)
    except (BayescoreError, FileNotFoundError, ValueError) as exc:
        if _wants_traceback():
            raise
        _error(label, str(exc))
        return 2
    except OSError as exc:
        if _wants_traceback() or not _about_user_path(exc, args):
            raise
        _error(label, _describe_os_error(exc))
        return 2


def _run(args: argparse.Namespace) -> int:
    """``args.run(args)`` with its ``--out`` folder checked first and its outputs tracked."""
    from bayescore.atomic import record_outputs
    from bayescore.cli.common import check_output_folder

    out = getattr(args, "out", None)
    if out is None:
        return int(args.run(args) or 0)
    folder = _OutputFolder(check_output_folder(out))
    try:
        with record_outputs(before_first_write=folder.retire_summary) as written:
            status = int(args.run(args) or 0)
    except BaseException:
        folder.remove_if_unused()
        raise
    if status == 0:
        folder.remove_stale(written)
    return status


class _OutputFolder:
    """The ``--out`` folder of one run: its earlier summary and whether this run made it."""

    def __init__(self, path: Path):
        self.path = path
        self.summary = path / "summary.json"
        self.created = []  # the folders this run creates: path and missing parents
        probe = path
        while not probe.exists() and probe != probe.parent:
            self.created.append(probe)
            probe = probe.parent
        self.previous: list[Path] = []

    def retire_summary(self) -> None:
        """Before this run writes anything: drop the earlier run's summary (kept listing)."""
        try:
            listing = json.loads(self.summary.read_text()).get("outputs", {})
        except (OSError, ValueError, AttributeError):
            listing = {}
        self.previous = [p for p in _paths_in(listing) if self._inside(p)]
        if self.summary.is_file():
            self.summary.unlink()

    def remove_stale(self, written: list[Path]) -> None:
        """After success: delete the earlier run's listed files that this run did not write."""
        mine = {os.path.abspath(p) for p in written}
        for path in self.previous:
            if os.path.abspath(path) not in mine and path.is_file():
                path.unlink(missing_ok=True)

    def remove_if_unused(self) -> None:
        """After a failure: remove the folders this run created if they are still empty."""
        for folder in self.created:
            try:
                folder.rmdir()
            except OSError:
                return

    def _inside(self, path: Path) -> bool:
        try:
            return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(self.path))
        except (TypeError, ValueError):
            return False


def _paths_in(listing) -> list[Path]:
    """Every string in a (nested) ``outputs`` listing of a summary, as a path."""
    if isinstance(listing, str):
        return [Path(listing)]
    if isinstance(listing, dict):
        listing = list(listing.values())
    if isinstance(listing, list):
        return [path for item in listing for path in _paths_in(item)]
    return []


def _interrupted(interrupt: KeyboardInterrupt, argv: list[str]) -> int:
    from bayescore.atomic import remove_temporaries
    from bayescore.cli.interrupts import exit_status

    remove_temporaries()
    status = exit_status(interrupt)
    name = getattr(interrupt, "name", "SIGINT")
    command = _command_named(argv)
    label = "bayescore" if command is None else f"bayescore {command}"
    sys.stdout.flush()
    print(
        f"{label}: stopped by {name}; temporary files removed, this run wrote no summary.json",
        file=sys.stderr,
        flush=True,
    )
    return status


def _error(label: str, message: str) -> None:
    print(f"{label}: error: {' '.join(message.split())}", file=sys.stderr)


def _wants_traceback() -> bool:
    return os.environ.get(TRACEBACK_VARIABLE, "") not in ("", "0")


def _user_paths(args: argparse.Namespace) -> list[str]:
    """Absolute forms of the paths given on the command line (and ``$BAYESCORE_DATA``)."""
    values = list(vars(args).values())
    if os.environ.get("BAYESCORE_DATA"):
        values.append(os.environ["BAYESCORE_DATA"])
    paths = []
    for value in values:
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, str | os.PathLike) and str(item):
                paths.append(os.path.abspath(os.path.expanduser(item)))
    return paths


def _about_user_path(exc: OSError, args: argparse.Namespace) -> bool:
    """Whether ``exc`` concerns a path given on the command line or a file inside one."""
    names = [exc.filename, getattr(exc, "filename2", None)]
    for name in names:
        if name is None:
            continue
        target = os.path.abspath(os.fsdecode(name))
        for user in _user_paths(args):
            if target == user or target.startswith(user.rstrip(os.sep) + os.sep):
                return True
    return False


def _describe_os_error(exc: OSError) -> str:
    import errno

    hints = {
        errno.EACCES: "check its permissions (ls -l) or choose another path",
        errno.EPERM: "check its permissions (ls -l) or choose another path",
        errno.EISDIR: "it is a folder; give a file",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.ENOSPC: "the disk is full; free some space or choose another --out",
        errno.EROFS: "the file system is read-only; choose another --out",
    }
    reason = exc.strerror or type(exc).__name__
    hint = hints.get(exc.errno, "")
    return f"{os.fsdecode(exc.filename)}: {reason.lower()}" + (f"; {hint}" if hint else "")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
