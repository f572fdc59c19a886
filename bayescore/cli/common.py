"""Options and model selection shared by the ``bayescore`` sub-commands."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = [
    "DEFAULT_EPOCHS",
    "add_common_options",
    "add_model_option",
    "add_sampling_options",
    "default_epoch",
    "format_sampling",
    "load_model",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "sampling_summary",
    "show_progress",
]

#: Epoch used when ``--epoch`` is not given, per built-in model (decimal years).
DEFAULT_EPOCHS = {"igrf": 2025.0, "gufm1": 1980.0}


def add_common_options(parser: argparse.ArgumentParser, default_out: str) -> None:
    """Add ``--out``, ``--seed`` and ``--quiet`` to a sub-command parser."""
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(default_out),
        help=f"directory for JSON summary, netCDF data and PNG figures (default: {default_out})",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def add_model_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--model`` (igrf, gufm1 or a path to a .shc file)."""
    parser.add_argument(
        "--model",
        default="igrf",
        help="field model: 'igrf' (IGRF-14, shipped by ppigrf; default), 'gufm1' "
        "(needs BAYESCORE_DATA or a download) or a path to a .shc file",
    )


def load_model(name: str):
    """Load a field model by CLI name.

    Parameters
    ----------
    name : str
        ``"igrf"``, ``"gufm1"`` or the path of a ``.shc`` file.

    Returns
    -------
    bayescore.fields.FieldModel
    """
    from bayescore import fields

    key = name.lower()
    if key in ("igrf", "igrf14", "igrf-14"):
        return fields.igrf()
    if key == "gufm1":
        return fields.load_gufm1()
    path = Path(name)
    if not path.exists():
        raise FileNotFoundError(
            f"--model {name!r} is neither 'igrf', 'gufm1' nor an existing .shc file"
        )
    if path.suffix.lower() != ".shc":
        raise ValueError(f"--model {name!r}: only .shc files are supported as model files")
    return fields.load_shc(path)


def default_epoch(model_name: str, model) -> float:
    """The epoch used when none is given: per built-in model, else the span's midpoint."""
    key = model_name.lower()
    if key.startswith("igrf"):
        return DEFAULT_EPOCHS["igrf"]
    if key in DEFAULT_EPOCHS:
        return DEFAULT_EPOCHS[key]
    start, end = model.span
    return 0.5 * (start + end)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def add_sampling_options(
    parser: argparse.ArgumentParser, chains: int, warmup: int, draws: int
) -> None:
    """Add ``--chains``, ``--warmup`` and ``--draws`` (NUTS settings) to a parser."""
    group = parser.add_argument_group("NUTS sampling")
    group.add_argument(
        "--chains",
        type=positive_int,
        default=chains,
        help=f"number of chains (default {chains}; they run in parallel when there are "
        "enough JAX devices, else one after another)",
    )
    group.add_argument(
        "--warmup", type=positive_int, default=warmup, help=f"warm-up draws per chain ({warmup})"
    )
    group.add_argument(
        "--draws", type=positive_int, default=draws, help=f"kept draws per chain ({draws})"
    )


def show_progress(args: argparse.Namespace) -> bool:
    """Whether to draw a sampler's progress bar: not ``--quiet`` and stderr a terminal."""
    import sys

    return not args.quiet and sys.stderr.isatty()


def sampling_summary(diagnostics: dict) -> dict:
    """The JSON-friendly headline numbers of :func:`bayescore.infer.sampling_diagnostics`."""
    import numpy as np

    bfmi = np.atleast_1d(np.asarray(diagnostics.get("bfmi", np.nan), dtype=float))
    return {
        "r_hat_max": float(diagnostics["r_hat_max"]),
        "ess_bulk_min": float(diagnostics["ess_bulk_min"]),
        "ess_tail_min": float(diagnostics["ess_tail_min"]),
        "ess_bulk_per_s": float(diagnostics["ess_bulk_per_s"]),
        "divergences": int(diagnostics.get("divergences", 0)),
        "bfmi": [float(v) for v in bfmi],
        "n_draws": int(diagnostics["n_draws"]),
    }


def format_sampling(summary: dict) -> str:
    """One line: r_hat max, minimum bulk ESS, divergences and the smallest BFMI."""
    return (
        f"r_hat max {summary['r_hat_max']:.3f}, min bulk ESS {summary['ess_bulk_min']:.0f}, "
        f"{summary['divergences']} divergences, BFMI min {min(summary['bfmi']):.2f}"
    )
