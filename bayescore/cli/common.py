"""Options, input checks and model selection shared by the ``bayescore`` sub-commands."""

from __future__ import annotations

import argparse
import codecs
import os
from pathlib import Path

from bayescore.errors import InputFileError, InvalidSettingError, OutputFolderError

__all__ = [
    "DEFAULT_EPOCHS",
    "add_common_options",
    "add_model_option",
    "add_sampling_options",
    "check_input_file",
    "check_output_folder",
    "default_epoch",
    "format_sampling",
    "input_file",
    "load_model",
    "non_negative_int",
    "output_folder",
    "outputs_written",
    "positive_float",
    "positive_int",
    "show_progress",
]

#: Suffixes of the text files the commands read (checked to decode as UTF-8 up front).
TEXT_SUFFIXES = (".csv", ".txt", ".dat", ".shc")

#: Epoch used when ``--epoch`` is not given, per built-in model (decimal years).
DEFAULT_EPOCHS = {"igrf": 2025.0, "gufm1": 1980.0}


def add_common_options(parser: argparse.ArgumentParser, default_out: str) -> None:
    """Add ``--out``, ``--seed`` and ``--quiet`` to a sub-command parser."""
    parser.add_argument(
        "--out",
        type=output_folder,
        default=Path(default_out),
        help=f"folder for JSON summary, netCDF data and PNG figures, created if needed "
        f"(default: {default_out}); summary.json is written last and lists this run's files",
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
    path = Path(name).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"--model {name!r} is neither 'igrf', 'gufm1' nor an existing .shc file"
        )
    if path.suffix.lower() != ".shc" and not path.is_dir():
        raise InvalidSettingError(f"--model {name!r}: only .shc files are supported as model files")
    check_input_file(path, "--model")
    return fields.load_shc(path)


def check_input_file(path: str | os.PathLike, option: str) -> Path:
    """Check that an input file can be read before any work starts.

    Parameters
    ----------
    path : str or path-like
        The file given to ``option``.
    option : str
        The command-line option, for the message (e.g. ``"--data"``).

    Returns
    -------
    pathlib.Path
        ``path`` (with ``~`` expanded).

    Raises
    ------
    FileNotFoundError
        If nothing exists at ``path`` (a :class:`bayescore.errors.InputFileError` is
        not used here so that callers keep telling "missing" from "unusable").
    bayescore.errors.InputFileError
        If ``path`` is a folder, cannot be opened (permissions), or (for ``.csv``,
        ``.txt``, ``.dat`` and ``.shc`` files) does not decode as UTF-8 text.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{option} {path}: no such file")
    if path.is_dir():
        raise InputFileError(f"{option} {path} is a folder; give the path of a file in it")
    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 16)
    except PermissionError:
        raise InputFileError(
            f"{option} {path}: permission denied; make the file readable (chmod u+r) or copy it"
        ) from None
    except OSError as error:
        raise InputFileError(f"{option} {path}: cannot be read ({error.strerror})") from None
    if path.suffix.lower() in TEXT_SUFFIXES:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError as error:
            raise InputFileError(
                f"{option} {path} is not a UTF-8 text file (byte {error.start} cannot be "
                "decoded); give the text (CSV) file, not a binary or compressed one"
            ) from None
        if b"\x00" in head:
            raise InputFileError(f"{option} {path} is a binary file, not a text (CSV) file")
    return path


def input_file(option: str):
    """argparse type: an existing, readable file (see :func:`check_input_file`)."""

    def check(text: str) -> Path:
        try:
            return check_input_file(text, option)
        except (FileNotFoundError, InputFileError) as error:
            raise argparse.ArgumentTypeError(str(error).removeprefix(f"{option} ")) from None

    return check


def output_folder(text: str) -> Path:
    """argparse type of ``--out``: a non-empty path that is not an existing file.

    Whether the folder can be created and written is checked by
    :func:`check_output_folder` when the command starts.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "is empty; name a folder for the outputs (e.g. --out results, or --out . for "
            "the current folder)"
        )
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text!r} is an existing file, not a folder; give a folder path"
        )
    return path


def check_output_folder(path: str | os.PathLike, option: str = "--out") -> Path:
    """Check, without creating anything, that ``path`` is or can become a writable folder.

    Parameters
    ----------
    path : str or path-like
        The output folder.
    option : str, default "--out"
        The command-line option, for the message.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    bayescore.errors.OutputFolderError
        If ``path`` is empty, is (or lies below) an existing file, or the folder (or the
        nearest existing folder above it, where it would be created) is not writable.
    """
    if not str(path).strip():
        raise OutputFolderError(f"{option} is empty; name a folder for the outputs")
    path = Path(path).expanduser()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputFolderError(
            f"{option} {path}: {existing} is a file, not a folder; choose another {option}"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "the folder" if existing == path else f"{existing}, where it would be created,"
        raise OutputFolderError(
            f"{option} {path}: {where} is not writable (permission denied); choose a "
            f"folder you can write to"
        )
    return path


def outputs_written(folder: str | os.PathLike, pattern: str = "*") -> list[str]:
    """The files matching ``pattern`` in ``folder`` that this run wrote, sorted.

    Inside :func:`bayescore.atomic.record_outputs` (as ``bayescore`` runs every command)
    only the files written in the block count, so files an earlier run left in the folder
    are not listed; outside, every matching file does.
    """
    from bayescore.atomic import recorded_outputs

    folder = Path(folder)
    matches = sorted(folder.glob(pattern))
    written = recorded_outputs()
    if written is not None:
        mine = {os.path.abspath(p) for p in written}
        matches = [p for p in matches if os.path.abspath(p) in mine]
    return [str(p) for p in matches]


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


def format_sampling(summary: dict) -> str:
    """One line: r_hat max, minimum bulk ESS, divergences and the smallest BFMI."""
    return (
        f"r_hat max {summary['r_hat_max']:.3f}, min bulk ESS {summary['ess_bulk_min']:.0f}, "
        f"{summary['divergences']} divergences, BFMI min {min(summary['bfmi']):.2f}"
    )
