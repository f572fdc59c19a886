"""The ``bayescore`` command line.

* ``bayescore field``: a field model's Lowes spectra (field, SV, SA at the surface and the
  CMB) and dipole moment;
* ``bayescore flow``: frozen-flux core-flow inversion of a field model's SV (exact
  Gaussian posterior; ``--nuts`` also samples it with NUTS and checks the agreement);
* ``bayescore coestimate``: the NumPyro co-estimation of core field and flow on synthetic
  or user data (MAP, Laplace approximation or NUTS);
* ``bayescore forecast``: LSTM/GRU forecasters with Monte-Carlo dropout against baselines,
  for the 2 Myr dipole moment or core-surface velocities at five sites.

Every command takes ``--out DIR`` where it writes a JSON summary, netCDF data and PNG
figures atomically, and ``--seed``. Bad input (options included) ends with exit status 2
and a one-line error naming the problem.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from bayescore.errors import BayescoreError

__all__ = ["COMMANDS", "main", "build_parser"]

#: Sub-command modules of :mod:`bayescore.cli`, in the order of ``bayescore --help``.
#: Each has ``add_parser(subparsers)`` and sets ``run`` as the parser default. A module
#: that is not part of this build (e.g. ``forecast`` before it is added) is skipped.
COMMANDS = ("field", "flow", "coestimate", "forecast")


class UsageError(BayescoreError, ValueError):
    """A command-line option is unknown, missing or has an invalid value."""

    def __init__(self, prog: str, message: str):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are raised (one line) instead of printing usage."""

    def error(self, message: str):
        raise UsageError(self.prog, message)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``bayescore`` command (one sub-parser a job)."""
    parser = _Parser(
        prog="bayescore",
        description="Bayesian geomagnetism on JAX: field models, core flows, co-estimation, "
        "forecasts.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in _command_modules():
        module.add_parser(sub)
    return parser


def _command_modules():
    modules = []
    for name in COMMANDS:
        qualified = f"{__name__}.{name}"
        try:
            modules.append(importlib.import_module(qualified))
        except ModuleNotFoundError as exc:
            if exc.name != qualified:  # a missing dependency, not a missing command
                raise
    return modules


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 on success, 2 on bad input)."""
    parser = build_parser()
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
    try:
        return int(args.run(args) or 0)
    except (BayescoreError, FileNotFoundError, ValueError) as exc:
        message = " ".join(str(exc).split())  # one line
        print(f"bayescore {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
