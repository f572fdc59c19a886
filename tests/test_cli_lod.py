"""``bayescore lod``: runs end to end on a small problem, writes its outputs, fails cleanly."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import xarray as xr

from bayescore.cli import main

SMALL = ["--start", "1990", "--end", "2012", "--step", "1", "--lmax-flow", "4", "--quiet"]


def test_lod_command_writes_scores_band_and_summary(shared_data, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["lod", "--target-rms", "8", "--out", str(out)] + SMALL) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["command"] == "lod"
    listed = {name.rsplit("/", 1)[-1] for name in summary["outputs"]["files"]}
    assert listed == {"lod.nc", "lod.png"}
    (name,) = summary["scores"]
    scores = summary["scores"][name]
    assert -1.0 <= scores["correlation"] <= 1.0
    assert scores["rms_ms"] > 0
    with xr.open_dataset(out / "lod.nc") as saved:
        assert list(saved["variant"].values) == [name]
        predicted = saved["predicted_raw"].values
        assert np.all(np.isfinite(predicted))
    printed = capsys.readouterr().out
    assert name in printed and "correlation" in printed


def test_lod_command_refuses_reversed_span_and_epochs_outside_the_model(tmp_path, capsys):
    assert main(["lod", "--start", "2000", "--end", "1990", "--out", str(tmp_path / "a")]) == 2
    assert "--end" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


def test_lod_help_does_not_import_jax():
    code = (
        "import sys\n"
        "from bayescore.cli import main\n"
        "try:\n    main(['lod', '--help'])\n"
        "except SystemExit:\n    pass\n"
        "assert 'jax' not in sys.modules, 'lod --help imported jax'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
