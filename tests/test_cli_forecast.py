"""``bayescore forecast``: runs end to end on tiny sizes, writes its outputs, fails cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from bayescore.cli import main

TINY = [
    "--training-epochs",
    "2",
    "--hidden-size",
    "4",
    "--num-layers",
    "1",
    "--n-mc",
    "8",
    "--quiet",
]


def _write_ar_csv(path, n=400, seed=0):
    """A synthetic AR(1) 'dipole' series, 1 kyr steps, in the reference files' format."""
    rng = np.random.default_rng(seed)
    x = np.empty(n)
    x[0] = 5.0
    for k in range(1, n):
        x[k] = 5.0 + 0.9 * (x[k - 1] - 5.0) + 0.3 * rng.standard_normal()
    time_ma = -(n - 1 - np.arange(n)) / 1000.0
    lines = ["time_Ma,axial_dipole_moment_1e22Am2,sigma_1e22Am2"]
    lines += [f"{t:.6f},{v:.6f},0.1" for t, v in zip(time_ma, x, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return x


def test_dipole_forecast_from_a_csv_file(tmp_path, capsys):
    series = tmp_path / "series.csv"
    _write_ar_csv(series)
    out = tmp_path / "out"
    status = main(["forecast", "--series", str(series), "--window", "20", "--out", str(out)] + TINY)
    assert status == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["study"] == "dipole" and summary["command"] == "forecast"
    for name in ("prediction_one_step.png", "prediction_free_run.png", "spectra.png"):
        assert (out / name).stat().st_size > 0
    # the summary lists the files of this run (written last, it marks the run complete)
    listed = {Path(p).name for p in summary["outputs"]["files"]}
    assert {"prediction_one_step.png", "prediction_free_run.png", "spectra.png"} <= listed
    netcdf = sorted(out.glob("*.nc"))
    assert netcdf, "the study's netCDF output is missing"
    tree = xr.open_datatree(netcdf[0])  # one group per product, each labelled
    assert {"series", "one_step", "free_run"} <= set(tree.children)
    assert "time" in tree["one_step"].ds.dims
    printed = capsys.readouterr().out
    # the score table names the network and every baseline
    for name in ("LSTM", "persistence", "climatology", "AR(3)", "OU"):
        assert name in printed


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--series", "no/such/file.csv"], "neither 'synthetic', 'padm2m'"),
        (["--train-fraction", "1.5"], "train-fraction"),
        (["--train-fraction", "0"], "train-fraction"),
        (["--dropout", "1.0"], "dropout"),
        (["--cell", "transformer"], "cell"),
        (["--n-mc", "0"], "n-mc"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, capsys, argv, message):
    status = main(["forecast", "--out", str(tmp_path / "o")] + argv + TINY)
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("bayescore forecast")
    assert message in err


def test_malformed_series_file_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,value\n0,1\n1,2\n")
    status = main(["forecast", "--series", str(bad), "--out", str(tmp_path / "o")] + TINY)
    assert status == 2
    err = capsys.readouterr().err
    assert "time_Ma" in err and "bad.csv" in err


def test_nan_in_series_file_is_named(tmp_path, capsys):
    series = tmp_path / "series.csv"
    _write_ar_csv(series)
    lines = series.read_text().splitlines()
    lines[50] = lines[50].split(",")[0] + ",nan,0.1"
    series.write_text("\n".join(lines) + "\n")
    status = main(["forecast", "--series", str(series), "--out", str(tmp_path / "o")] + TINY)
    assert status == 2
    assert "data row 50" in capsys.readouterr().err  # line 50 of the file after the header


def test_velocity_forecast(tmp_path, shared_data, capsys):
    out = tmp_path / "velocity"
    status = main(["forecast", "--series", "velocity", "--out", str(out)] + TINY)
    assert status == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["study"] == "velocity"
    assert list(out.glob("*.png")), "no figure written"
    printed = capsys.readouterr().out
    assert "GRU" in printed and "persistence" in printed


def test_default_series_needs_no_data(tmp_path, monkeypatch):
    # a newcomer's `bayescore forecast`: the simulated series, no data directory at all
    monkeypatch.setenv("BAYESCORE_DATA", str(tmp_path / "no-data-here"))
    out = tmp_path / "out"
    status = main(["forecast", "--window", "20", "--out", str(out)] + TINY)
    assert status == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["study"] == "dipole"
    assert "synthetic" in json.dumps(summary["result"])
