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
    # the damping is reported as tuned to the target (an input), with its units
    assert row["damping_units"] == "yr^2" and row["damping_tuned_to_target_rms"] is True
    assert "tuned to the target rms speed 12 km/yr" in out and "yr^2" in out
    # SV misfit over the observed rows only: IGRF's SV in 2020 reaches degree 13, so 195 of
    # the L_SV = 26 equations' 728 rows are data and the rest zero padding
    misfit = row["sv_misfit"]
    assert misfit["n_observed"] == 195 and misfit["n_equations"] == 26 * 28
    assert misfit["rms_observed"] > misfit["rms"]
    assert misfit["rms_observed"] < misfit["data_rms_observed"]
    assert misfit["rms_observed_cmb"] < misfit["data_rms_observed_cmb"]
    assert "observed degrees 1-13 (195 coefficients)" in out and "at the CMB" in out
    # drifts are eastward positive everywhere; the Atlantic hemisphere drifts west faster
    # than the global solid-body rate, the Pacific hemisphere much slower
    assert row["atlantic_drift_deg_per_yr"] < row["solid_body_drift_deg_per_yr"] < 0
    assert abs(row["pacific_drift_deg_per_yr"]) < abs(row["solid_body_drift_deg_per_yr"])
    assert summary["sign_convention"].startswith("drift rates in deg/yr, eastward positive")
    drift = row["solid_body_drift_deg_per_yr"]
    assert f"t10/c {drift:+.3f} ({abs(drift):.3f} westward)" in out


def test_flow_refuses_a_degree_too_large_for_memory_at_once(tmp_path, capsys):
    import time

    out = tmp_path / "out"
    start = time.perf_counter()
    assert main(["flow", "--lmax-flow", "200", "--quiet", "--out", str(out)]) == 2
    assert time.perf_counter() - start < 60, "refused only after computing"
    err = capsys.readouterr().err.strip()
    assert err.startswith("bayescore flow: error: --lmax-flow 200 needs about")
    assert "the largest flow degree that fits is" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_flow_checks_every_epoch_before_writing(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["flow", "--epochs", "2000", "2050", "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bayescore flow: error:") and "2050" in err
    assert not out.exists(), "no map of the earlier epoch may be written"


def test_flow_target_out_of_reach_at_a_later_epoch_writes_nothing(tmp_path, capsys):
    # at L_F = 2 the rms speed of IGRF flows reaches 11.4 km/yr in 1990 but 8.3 in 2020
    out = tmp_path / "out"
    argv = ["flow", "--lmax-flow", "2", "--epochs", "1990", "2020", "--target-rms", "10"]
    assert main([*argv, "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bayescore flow: error: epoch 2020: target rms speed 10 km/yr")
    assert not out.exists()


def test_flow_nuts_with_one_chain_writes_strict_json(tmp_path, capsys):
    def no_constants(name):
        raise AssertionError(f"summary.json holds the non-JSON constant {name}")

    argv = ["flow", "--nuts", "--chains", "1", "--warmup", "30", "--draws", "30"]
    argv += ["--lmax-flow", "2", "--damping", "1.0", "--quiet", "--out", str(tmp_path)]
    assert main(argv) == 0
    text = (tmp_path / "summary.json").read_text()
    nuts = json.loads(text, parse_constant=no_constants)["epochs"][0]["nuts"]
    assert nuts["r_hat_max"] is None and "single chain" in nuts["r_hat_note"]
    assert nuts["chains"] == 1 and nuts["n_draws"] == 30
    assert "r_hat not defined (one chain)" in capsys.readouterr().out


def test_flow_rejects_epoch_outside_model_span(tmp_path, capsys):
    status = main(["flow", "--epochs", "2040", "--quiet", "--out", str(tmp_path)])
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bayescore flow: error:") and "2040" in err


def test_flow_nuts_samples_the_exact_posterior(tmp_path, capsys):
    import arviz as az

    argv = ["flow", "--nuts", "--lmax-flow", "4", "--damping", "1.0", "--quiet"]
    sampling = ["--chains", "2", "--warmup", "150", "--draws", "400"]
    assert main([*argv, *sampling, "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    nuts = summary["epochs"][0]["nuts"]
    assert set(nuts) >= {
        "r_hat_max", "ess_bulk_min", "divergences", "bfmi", "max_abs_mean_difference_sd",
        "sd_ratio_min", "sd_ratio_max", "wall_time_s",
    }  # fmt: skip
    assert nuts["n_draws"] == 800 and nuts["divergences"] == 0
    # the sampler sees N(0, I) (whitened by the exact covariance): with 800 draws and bulk
    # ESS of several hundred, means lie within 0.3 sd and sds within 25 % of the exact
    # posterior for all 48 coefficients (> 4 standard errors; the strict comparison is in
    # tests/test_models_flow_inversion.py)
    assert nuts["max_abs_mean_difference_sd"] < 0.3
    assert 0.75 < nuts["sd_ratio_min"] <= nuts["sd_ratio_max"] < 1.25
    idata = az.from_netcdf(tmp_path / "flow_posterior_2020.00.nc")
    assert idata.posterior["toroidal"].dims == ("chain", "draw", "toroidal_coeff")
    assert list(idata.posterior["toroidal_coeff"].values[:2]) == ["t_1_0", "t_1_1"]
    assert idata.posterior.attrs["epoch"] == 2020.0
    out = capsys.readouterr().out
    assert "NUTS 2 x 400 draws" in out and "vs the exact posterior" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--chains", "0"], "bayescore flow: error: argument --chains: must be an integer >= 1"),
        (["--draws", "many"], "bayescore flow: error: argument --draws: must be an integer"),
        (["--nutz"], "bayescore flow: error: unrecognized arguments: --nutz"),
    ],
)
def test_flow_sampling_options_are_checked(argv, message, tmp_path, capsys):
    assert main(["flow", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and len(err.splitlines()) == 1


def test_every_command_is_registered():
    from bayescore.cli import build_parser

    text = build_parser().format_help()
    for command in ("field", "flow", "coestimate"):
        assert command in text


def test_flow_sv_weights_option_reaches_the_inversion(tmp_path):
    """--sv-weights uniform gives exactly invert_flow(..., sv_weights="uniform")."""
    import json

    from bayescore import fields
    from bayescore.flow import invert_flow

    out = tmp_path / "uniform"
    argv = ["flow", "--sv-weights", "uniform", "--target-rms", "10", "--out", str(out)]
    assert main(argv + ["--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sv_weights"] == "uniform"
    row = summary["epochs"][0]
    igrf = fields.igrf()
    epoch = row["epoch"]
    direct = invert_flow(
        igrf.coeffs(epoch), igrf.sv(epoch), 14, target_rms=10.0, sv_weights="uniform"
    )
    # same code path and root finder: agreement to rounding of the damping search
    assert abs(row["damping"] / direct.damping - 1) < 1e-9
    assert abs(row["toroidal_fraction"] - float(direct.diagnostics["toroidal_fraction"])) < 1e-9
    # the classical IGRF 2020 result (docs/theory/frozen_flux.md): westward drift
    assert -0.19 < row["solid_body_drift_deg_per_yr"] < -0.17
