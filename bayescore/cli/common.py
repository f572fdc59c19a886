"""Options and model selection shared by the ``bayescore`` sub-commands."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = [
    "DEFAULT_EPOCHS",
    "add_common_options",
    "add_model_option",
    "default_epoch",
    "load_model",
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
