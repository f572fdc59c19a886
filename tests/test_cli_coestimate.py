"""``bayescore coestimate``: outputs on tiny problems and one-line errors on bad input."""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import pytest
import xarray as xr

from bayescore.cli import main

SPAN = ("--span", "2004.5", "2005.5")
# L_B = L_F = 3, linear in time, 200 satellite vectors + 5 observatories x 12 months:
# 780 scalar data, 90 parameters. Every run below uses these shapes, so the compiled
# code is shared between them.
TINY = ("--lmax-field", "3", "--lmax-flow", "3", "--n-time", "2", "--quiet")
TINY_SYNTHETIC = (*TINY, "--n-satellite", "200", "--n-sites", "5")


class _TruncatedIGRF:
    """IGRF-14 cut to degree 3: a quick truth for make_dataset (not frozen-flux exact)."""

    lmax = 3

    def __init__(self):
        from bayescore.fields import igrf

        self.model = igrf()
        self.span = self.model.span

    def coeffs(self, t):
        return np.asarray(self.model.coeffs(t))[..., :15]


@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    from bayescore.observations import write_vector_data
    from bayescore.synthetic import make_dataset

    folder = tmp_path_factory.mktemp("data")
    data = make_dataset(
        _TruncatedIGRF(), n_satellite=200, n_observatory_sites=5, span=(2004.5, 2005.5), seed=4
    )
    return {
        "data": data,
        "csv": write_vector_data(data, folder / "vectors.csv"),
        "nc": write_vector_data(data, folder / "vectors.nc"),
    }


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    status = main(["coestimate", "--laplace", "--usn", *TINY_SYNTHETIC, "--out", str(out)])
    return status, out


def _one_line_error(capsys, prefix="bayescore coestimate: error:"):
    err = capsys.readouterr().err.strip()
    assert err.startswith(prefix), err
    assert len(err.splitlines()) == 1, err
    return err


# ------------------------------------------------------------------ synthetic data
def test_synthetic_laplace_run_writes_outputs(synthetic_run):
    status, out = synthetic_run
    assert status == 0
    for name in ("summary.json", "coestimation.nc", "spectra_cmb.png"):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob(".*")), "temporary files left behind"
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= {"data", "model", "method", "map", "usn", "laplace", "wall_time_s"}
    assert summary["method"] == "laplace"
    assert summary["data"]["n_data"] == 780
    assert summary["model"]["n_parameters"] == 90  # 2 x 15 core + 2 x 2 x 15 flow
    assert set(summary["wall_time_s"]) >= {"data_s", "gauss_newton_s", "laplace_s", "total_s"}
    fit = summary["map"]
    assert fit["converged"]
    # L_SV = L_B and the truth obeys the frozen-flux equation exactly within L_B: the flow
    # can explain the SV (rho ~ 1e-12 measured; the paper calls < 1e-9 compliant)
    assert fit["rho"] < 1e-9
    # Gaussian noise with sigma = 2 nT and 780 data for 90 parameters: chi2 per datum
    # ~ 1 - 90/780 = 0.88 +- 0.05
    assert 0.75 < fit["misfit"]["all"]["chi2_per_datum"] < 1.1
    assert set(fit["misfit"]) == {"satellite", "observatory", "all"}
    # the SV of degrees 1-3 is large (tens of nT/yr) next to its posterior sd: the
    # estimate correlates with the truth per degree (measured: > 0.99)
    assert len(fit["sv_degree_correlation"]) == 3
    assert min(fit["sv_degree_correlation"]) > 0.95
    assert min(summary["usn"]["sv_degree_correlation"]) > 0.95


def test_synthetic_netcdf_is_labelled(synthetic_run):
    _, out = synthetic_run
    with xr.open_dataset(out / "coestimation.nc") as ds:
        assert ds["core"].dims == ("time_basis", "core_coeff")
        assert list(ds["core_coeff"].values[:3]) == ["g_1_0", "g_1_1", "h_1_1"]
        assert ds["toroidal"].dims == ("flow_time_basis", "toroidal_coeff")
        assert ds["core_sd"].attrs["units"] == "nT"
        assert np.all(ds["toroidal_sd"].values > 0)
        assert list(ds["degree"].values) == [1, 2, 3]
        for name in ("sv_cmb_estimate", "sv_cmb_truth", "sv_cmb_usn", "sv_cmb_p05"):
            assert name in ds, name
        # the 5-95 % band of the SV spectrum brackets the MAP's spectrum
        assert np.all(ds["sv_cmb_p05"] <= ds["sv_cmb_estimate"] * 1.0001)
        assert np.all(ds["sv_cmb_estimate"] <= ds["sv_cmb_p95"] * 1.0001)
        assert list(ds["model"].values) == ["coestimation", "usn"]
        assert ds.attrs["method"] == "laplace"


# ------------------------------------------------------------------ user data files
@pytest.mark.parametrize("kind", ["csv", "nc"])
def test_data_file_map_run(data_files, kind, tmp_path, capsys):
    argv = ["coestimate", "--data", str(data_files[kind]), *SPAN, "--lmax-sv", "3", *TINY]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["data"]["source"] == str(data_files[kind])
    assert summary["data"]["n_data"] == data_files["data"].sizes["datum"]
    assert summary["method"] == "map" and "laplace" not in summary
    assert "sv_degree_correlation" not in summary["map"]  # no truth for a file
    # the data are IGRF to degree 3 plus 2 nT noise: the field model fits them to the noise
    assert 0.75 < summary["map"]["misfit"]["all"]["chi2_per_datum"] < 1.1
    out = capsys.readouterr().out
    assert "co-estimation (BSN" in out and "misfit rms" in out


@pytest.mark.slow
def test_nuts_run_writes_inference_data(data_files, tmp_path):
    argv = ["coestimate", "--data", str(data_files["csv"]), *SPAN, "--lmax-sv", "3", *TINY]
    sampling = ["--nuts", "--chains", "2", "--warmup", "40", "--draws", "40"]
    assert main([*argv, *sampling, "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    nuts = summary["nuts"]
    assert set(nuts) >= {"r_hat_max", "ess_bulk_min", "divergences", "bfmi", "rho_median"}
    assert nuts["n_draws"] == 80 and len(nuts["bfmi"]) == 2
    idata = az.from_netcdf(tmp_path / "posterior.nc")
    assert idata.posterior["core"].dims == ("chain", "draw", "time_basis", "core_coeff")
    assert idata.posterior["toroidal"].sizes["draw"] == 40
    assert "diverging" in idata.sample_stats
    assert (tmp_path / "nuts_trace.png").stat().st_size > 0


# ------------------------------------------------------------------ bad input
def _write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header), *(",".join(map(str, r)) for r in rows)]) + "\n")
    return path


HEADER = ["t", "r", "theta", "phi", "component", "value", "sigma"]
ROW = [2005.0, 6771.2, 0.5, 1.0, 0, -41000.0, 2.0]


def test_missing_file(tmp_path, capsys):
    status = main(["coestimate", "--data", str(tmp_path / "none.csv"), "--out", str(tmp_path)])
    assert status == 2
    assert "none.csv" in _one_line_error(capsys)


def test_bad_columns(tmp_path, capsys):
    path = _write_csv(tmp_path / "d.csv", [*HEADER[:-1], "error"], [ROW])
    assert main(["coestimate", "--data", str(path), "--out", str(tmp_path / "o")]) == 2
    err = _one_line_error(capsys)
    assert "['sigma']" in err


def test_nan_data_name_the_line(tmp_path, capsys):
    bad = list(ROW)
    bad[5] = ""
    path = _write_csv(tmp_path / "d.csv", HEADER, [ROW, bad])
    assert main(["coestimate", "--data", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "line 3 of d.csv" in _one_line_error(capsys)


def test_data_outside_the_span(data_files, tmp_path, capsys):
    argv = ["coestimate", "--data", str(data_files["csv"]), "--span", "2004.9", "2005.1"]
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert "outside the span [2004.9, 2005.1]" in _one_line_error(capsys)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epoch", "2010"], "--epoch 2010.0 lies outside"),
        (["--span", "2005.5", "2004.5"], "END > START"),
        (["--span", "1800", "1801"], "1800.5"),
        (["--n-time", "1"], "--n-time must be >= 2"),
        (["--n-satellite", "0", "--n-sites", "0"], "no data"),
        (["--lmax-field", "0"], "--lmax-field: must be an integer >= 1"),
        (["--likelihood", "cauchy"], "invalid choice: 'cauchy'"),
        (["--lambda-ff", "-1"], "--lambda-ff: must be a finite number > 0"),
        (["--map", "--nuts"], "not allowed with"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_options_give_one_line_error(argv, message, tmp_path, capsys):
    assert main(["coestimate", *argv, "--out", str(tmp_path)]) == 2
    assert message in _one_line_error(capsys)
    assert not (tmp_path / "summary.json").exists()


# ------------------------------------------------------------------ fuzzing findings
def test_too_large_problem_is_refused_at_once(tmp_path, capsys):
    # --lmax-field 200 used to run 160 s before XLA asked for 117 GB
    assert main(["coestimate", "--lmax-field", "200", "--out", str(tmp_path)]) == 2
    err = _one_line_error(capsys)
    assert "L_B = 200" in err and "GB" in err
    assert "the largest degree that fits is" in err
    assert not (tmp_path / "summary.json").exists()


def test_single_epoch_file_asks_for_a_span(tmp_path, capsys):
    path = _write_csv(tmp_path / "d.csv", HEADER, [ROW, [2005.0, 6771.2, 0.6, 1.0, 1, 1.0, 2.0]])
    assert main(["coestimate", "--data", str(path), "--out", str(tmp_path / "o")]) == 2
    err = _one_line_error(capsys)
    assert "single epoch, 2005.0" in err and "--span START END" in err
    assert "END > START" not in err


def test_help_does_not_import_jax():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    code = (
        "import sys\n"
        "from bayescore.cli import main\n"
        "try:\n"
        "    main(['coestimate', '--help'])\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0\n"
        "print('JAX', 'jax' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=path, MPLBACKEND="Agg"),
    )
    assert result.returncode == 0, result.stderr
    assert "--lambda-ff" in result.stdout and "(10000)" in result.stdout  # default shown
    assert "strong 1000, weak 0.0003, energy 0.005" in result.stdout
    assert result.stdout.strip().endswith("JAX False")
