"""The ``bayescore`` command line: main job outputs and one-line errors on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bayescore.cli import main


def test_field_report_writes_outputs(tmp_path, capsys):
    status = main(["field", "--epoch", "2020.0", "--out", str(tmp_path)])
    assert status == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    # IGRF-14 2020: g10 = -29403.41 nT, g11 = -1451.37 nT, h11 = 4653.35 nT, so the dipole
    # moment 4 pi a^3 / mu0 * |g1| = 7.71e22 A m^2 (value of the IGRF-13/14 papers, 3 digits).
    assert summary["dipole_moment_Am2"] == pytest.approx(7.71e22, rel=2e-3)
    assert summary["lmax"] == 13
    for name in ("summary.json", "field_spectra.nc", "field_spectra.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert not list(tmp_path.glob(".*")), "temporary files left behind"
    assert "dipole moment" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["field", "--epoch", "1800"], "1800"),
        (["field", "--model", "/nonexistent/model.shc"], "nonexistent"),
        (["field", "--model", "notamodel.txt"], "notamodel"),
    ],
)
def test_bad_input_gives_one_line_error(argv, message, tmp_path, capsys):
    status = main([*argv, "--out", str(tmp_path)])
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bayescore field: error:")
    assert message in err
    assert len(err.splitlines()) == 1


def test_console_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "bayescore.cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "field" in result.stdout


def test_flow_main_job_hits_target_rms_and_writes_outputs(tmp_path, capsys):
    status = main(
        ["flow", "--target-rms", "12", "--lmax-flow", "13", "--quiet", "--out", str(tmp_path)]
    )
    assert status == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    (row,) = summary["epochs"]
    assert row["epoch"] == 2020.0
    # the damping search solves for the rms speed to 1e-6 relative (see test_flow_inversion)
    assert row["rms_speed_km_per_yr"] == pytest.approx(12.0, rel=1e-5)
    assert 0.5 < row["toroidal_fraction"] < 1.0
    assert row["solid_body_drift_deg_per_yr"] < 0, "the historical core drifts westward"
    for name in ("summary.json", "flow.nc", "flow_map_2020.00.png", "ke_spectra.png"):
        assert (tmp_path / name).stat().st_size > 0
    out = capsys.readouterr().out
    assert "rms speed 12.00 km/yr" in out


def test_flow_rejects_epoch_outside_model_span(tmp_path, capsys):
    status = main(["flow", "--epochs", "2040", "--quiet", "--out", str(tmp_path)])
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bayescore flow: error:") and "2040" in err
