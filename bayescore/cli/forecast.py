"""``bayescore forecast``: recurrent forecasters with Monte-Carlo dropout against baselines.

Two studies, chosen by ``--series``:

* a dipole-moment series (``synthetic``, the default, a simulated reversing series that
  needs no data; ``padm2m``, ``sint2000`` or the path of a CSV file with columns
  ``time_Ma`` and ``axial_dipole_moment_1e22Am2``): an LSTM or GRU trained on the first
  part (``--train-fraction``, 0.65 as in the reference study) predicts the rest one step
  ahead and free-running, with MC-dropout intervals, next to persistence, climatology,
  AR(p) and Ornstein-Uhlenbeck baselines (:func:`bayescore.studies.dipole.run_dipole_study`);
* ``velocity``: the core-surface velocity (u_theta, u_phi) at (40 N, 130 W) and its four
  neighbours from gufm1 flows 1935-1990 (``--train-fraction`` 0.9 as in the reference
  study), 10 input vectors to the next 2, temporal (per site) or spatial (all sites)
  approach (:func:`bayescore.studies.site_velocity.run_velocity_study`).

Outputs in ``--out``: ``summary.json`` (configuration, score table and the list of the
files written, written last), the study's netCDF files, and PNG figures (predictions with
intervals; for the dipole also the power-spectral comparison of predicted and held-out
series). A series file is checked (readable text, a header and data rows, the columns,
even sampling) before anything is trained or written.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bayescore.cli.common import (
    add_common_options,
    check_input_file,
    outputs_written,
    positive_float,
    positive_int,
    show_progress,
)
from bayescore.errors import InputFileError

__all__ = ["add_parser", "run"]

_DIPOLE_SERIES = ("synthetic", "padm2m", "sint2000")


def _fraction(text: str) -> float:
    value = positive_float(text)
    if not value < 1.0:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1), got {text}")
    return value


def _dropout(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), got {text}")
    return value


def add_parser(sub) -> argparse.ArgumentParser:
    """Register the ``forecast`` sub-command."""
    parser = sub.add_parser(
        "forecast",
        help="forecast the dipole moment or core-surface velocities (LSTM/GRU, MC dropout)",
        description="Train a recurrent forecaster (LSTM or GRU with Monte-Carlo dropout) on "
        "the first part of a series and score its predictions of the rest against "
        "persistence, climatology, AR(p) and Ornstein-Uhlenbeck baselines.",
    )
    parser.add_argument(
        "--series",
        default="synthetic",
        help="'synthetic' (default: a simulated 2 Myr signed axial dipole moment with "
        "reversals, needs no data), 'padm2m' or 'sint2000' (the palaeomagnetic 2 Myr "
        "series; need the data files, see the data page of the docs), the path of a dipole "
        "CSV file (columns time_Ma, axial_dipole_moment_1e22Am2), or 'velocity' "
        "(core-surface velocity at five sites from gufm1 flows, 1935-1990)",
    )
    parser.add_argument(
        "--quantity",
        choices=("signed", "magnitude"),
        default="signed",
        help="dipole series: the signed moment (with reversals) or its magnitude (signed)",
    )
    parser.add_argument(
        "--cell",
        choices=("lstm", "gru"),
        default=None,
        help="recurrent cell (default: lstm for the dipole, gru for velocity)",
    )
    parser.add_argument(
        "--target",
        choices=("increment", "level"),
        default="increment",
        help="dipole networks: predict the change from the last value (increment, default) "
        "or the value itself (level, the reference study's choice)",
    )
    parser.add_argument(
        "--train-fraction",
        type=_fraction,
        default=None,
        help="leading fraction of the series used for training (default 0.65 for the "
        "dipole, 0.9 for velocity)",
    )
    parser.add_argument(
        "--window",
        type=positive_int,
        default=None,
        help="input values per prediction (default 60 dipole, 10 velocity)",
    )
    parser.add_argument(
        "--horizon", type=positive_int, default=2, help="velocity: vectors predicted (2)"
    )
    parser.add_argument(
        "--approach",
        choices=("temporal", "spatial"),
        default="temporal",
        help="velocity: the centre site's own history (temporal) or all five sites (spatial)",
    )
    parser.add_argument(
        "--hidden-size",
        type=positive_int,
        default=None,
        help="units per layer (default 50 dipole, 32 velocity)",
    )
    parser.add_argument(
        "--num-layers",
        type=positive_int,
        default=None,
        help="recurrent layers (default 4 dipole, 1 velocity)",
    )
    parser.add_argument("--dropout", type=_dropout, default=0.2, help="dropout rate (0.2)")
    parser.add_argument(
        "--training-epochs",
        type=positive_int,
        default=None,
        help="maximum passes over the training windows (default 50 dipole, 500 velocity)",
    )
    parser.add_argument(
        "--n-mc", type=positive_int, default=100, help="Monte-Carlo dropout passes (100)"
    )
    add_common_options(parser, "bayescore_output/forecast")
    parser.set_defaults(run=run)
    return parser


def _pick(value, default):
    return default if value is None else value


def _dipole_series(args) -> str | Path:
    """The ``--series`` of a dipole study: a named series, or a CSV file checked in full.

    Raises
    ------
    FileNotFoundError
        If the name is neither a named series nor an existing file.
    bayescore.errors.InputFileError
        If the file is a folder, unreadable, binary, or has a header but no data rows.
    bayescore.errors.BayescoreError
        Whatever :func:`bayescore.studies.dipole.load_dipole_series` finds wrong (missing
        columns, non-numeric or NaN values, uneven sampling, fewer than two rows).
    """
    from bayescore.studies.dipole import load_dipole_series

    name = args.series
    if name.lower() in _DIPOLE_SERIES:
        return name.lower()
    path = Path(name).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"--series {name!r} is neither 'synthetic', 'padm2m', 'sint2000', 'velocity' nor an "
            "existing CSV file"
        )
    check_input_file(path, "--series")
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = [line for line in handle if line.strip()]
    if len(lines) < 2:
        raise InputFileError(
            f"--series {path} has {'a header but ' if lines else ''}no data rows; a dipole "
            "series file has a header line (time_Ma,axial_dipole_moment_1e22Am2) and one "
            "row per sample"
        )
    load_dipole_series(path, args.quantity)  # columns, values, sampling: before training
    return path


def _run_dipole(args, out: Path, progress: bool) -> dict:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from bayescore.atomic import save_figure
    from bayescore.studies.dipole import (
        plot_dipole_prediction,
        plot_dipole_spectra,
        run_dipole_study,
    )

    series = _dipole_series(args)
    result = run_dipole_study(
        series,
        args.quantity,
        cell=_pick(args.cell, "lstm"),
        targets=(args.target,),
        train_fraction=_pick(args.train_fraction, 0.65),
        window=_pick(args.window, 60),
        hidden_size=_pick(args.hidden_size, 50),
        num_layers=_pick(args.num_layers, 4),
        dropout=args.dropout,
        epochs=_pick(args.training_epochs, 50),
        n_mc=args.n_mc,
        seed=args.seed,
        progress=progress,
    )
    result.save(out, networks=False)
    for kind in ("one_step", "free_run"):
        fig, ax = plt.subplots(figsize=(10, 4.2), constrained_layout=True)
        plot_dipole_prediction(result, kind, ax=ax)
        save_figure(fig, out / f"prediction_{kind}.png")
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(6.5, 4.5), constrained_layout=True)
    plot_dipole_spectra(result, ax=ax)
    save_figure(fig, out / "spectra.png")
    plt.close(fig)
    print(result.format_table("one_step"))
    print()
    print(result.format_table("free_run"))
    return {"study": "dipole", "result": result.to_dict()}


def _run_velocity(args, out: Path, progress: bool) -> dict:
    from bayescore.studies.site_velocity import run_velocity_study, site_velocity_series

    if progress:
        print("inverting gufm1 flows 1935-1990 for the site velocities ...", flush=True)
    series = site_velocity_series()
    result = run_velocity_study(
        series,
        approach=args.approach,
        cell=_pick(args.cell, "gru"),
        window=_pick(args.window, 10),
        horizon=args.horizon,
        train_fraction=_pick(args.train_fraction, 0.9),
        hidden_size=_pick(args.hidden_size, 32),
        num_layers=_pick(args.num_layers, 1),
        dropout=args.dropout,
        epochs=_pick(args.training_epochs, 500),
        n_mc=args.n_mc,
        seed=args.seed,
    )
    result.save(out, figures=True)
    print(result.table())
    return {"study": "velocity", "result": result.to_dict()}


def run(args: argparse.Namespace) -> int:
    """Run ``bayescore forecast``; return 0 on success."""
    from bayescore.atomic import write_json

    # plain lines (training epochs, stages) unless --quiet; bars only on a terminal
    progress = not args.quiet or show_progress(args)
    out = Path(args.out)  # created by the first file written, once the inputs are valid
    start = time.perf_counter()
    if args.series.lower() == "velocity":
        summary = _run_velocity(args, out, progress)
    else:
        summary = _run_dipole(args, out, progress)
    summary["wall_time_s"] = time.perf_counter() - start
    summary["command"] = "forecast"
    written = [path for path in outputs_written(out) if Path(path).name != "summary.json"]
    summary["outputs"] = {"summary": str(out / "summary.json"), "files": written}
    write_json(out / "summary.json", summary)
    print(f"total {summary['wall_time_s']:.1f} s; figures and data in {out}/")
    return 0
