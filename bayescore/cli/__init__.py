"""The ``bayescore`` command line.

``bayescore field`` reports a field model (Lowes spectra of field, SV and SA at the surface
and the CMB, dipole moment). Every command takes ``--out DIR`` where it writes a JSON
summary, netCDF data and PNG figures atomically, and ``--seed``. Bad input ends with a
non-zero exit status and a one-line error naming the problem.
"""

from __future__ import annotations

import argparse
import sys

from bayescore.errors import BayescoreError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``bayescore`` command (one sub-parser a job)."""
    parser = argparse.ArgumentParser(
        prog="bayescore",
        description="Bayesian geomagnetism on JAX: field models, core flows, forecasts.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in _command_modules():
        module.add_parser(sub)
    return parser


def _command_modules():
    from bayescore.cli import field

    modules = [field]
    try:
        from bayescore.cli import flow

        modules.append(flow)
    except ImportError:  # pragma: no cover - flow command not available in this build
        pass
    return modules


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 on success, 2 on bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (BayescoreError, FileNotFoundError, ValueError) as exc:
        print(f"bayescore {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
