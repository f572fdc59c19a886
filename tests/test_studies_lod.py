"""The LOD study (bayescore.studies.lod) on a synthetic case whose truth is known.

Truth: a steady main field (IGRF-14 in 2000, degree 8) advected by a known zonal
toroidal flow, t10 and t30 oscillating with periods of 30 and 22 years; its SV is made by
the frozen-flux operator (:func:`bayescore.flow.sv_from_flow`), so the SV lies exactly in
the model space of a degree-5 flow, without noise. The observed LOD is the truth's dLOD
(:func:`bayescore.lod.lod_change_from_zonal_flow`) sampled daily plus a secular line and
an annual cycle.

Tolerances: with noise-free data in the model space, the posterior mean differs from the
truth only by the bias of the prior, ``-(A^T W A + P)^-1 P x``, first order in the
damping lambda; at lambda = 1e-2 (uniform weights, 1 (nT/yr)^-2) it was measured at
2e-4 ms of a 1-ms signal, at 1e-3 ten times less. The pipeline's own approximation is
that the observed series are annual means and the predictions mid-year values: they
differ by the curvature term ``f'' / 24`` (at most 0.006 ms here).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from bayescore.epochs import decimal_year_from_mjd
from bayescore.errors import EpochOutOfRangeError, SeriesLengthError
from bayescore.flow import invert_flow, sv_from_flow
from bayescore.lod import lod_change_from_zonal_flow
from bayescore.sh.indexing import degree_order_arrays, resize_coefficients
from bayescore.studies.lod import (
    LODStudyResult,
    LODVariant,
    compare_lod,
    predicted_lod_weights,
    run_lod_study,
    temporal_damping_for_timescale,
)

L_FLOW = 5
N_FLOW = L_FLOW * (L_FLOW + 2)
DEGREE, ORDER, _ = degree_order_arrays(L_FLOW)
T10 = int(np.flatnonzero((DEGREE == 1) & (ORDER == 0))[0])
T30 = int(np.flatnonzero((DEGREE == 3) & (ORDER == 0))[0])
SECULAR_MS_PER_YR = 0.017


def true_toroidal(times):
    times = np.atleast_1d(np.asarray(times, dtype=float))
    t = np.zeros((times.size, N_FLOW))
    t[:, T10] = 1.0 * np.sin(2 * np.pi * (times - 1960.0) / 30.0)
    t[:, T30] = 0.5 * np.cos(2 * np.pi * (times - 1960.0) / 22.0)
    return t


class SteadyFieldAdvected:
    """FieldModel-like: a steady field and the SV of the known zonal flow."""

    name = "synthetic steady IGRF-2000 field"

    def __init__(self, g, span=(1950.0, 2030.0)):
        self.g = g
        self.span = span

    def coeffs(self, times):
        return np.tile(self.g, (np.atleast_1d(times).size, 1))

    def sv(self, times):
        t = true_toroidal(times)
        return np.asarray(sv_from_flow(self.coeffs(times), t, np.zeros_like(t)))


@pytest.fixture(scope="module")
def field():
    from bayescore.fields import igrf

    return resize_coefficients(np.asarray(igrf().coeffs(2000.0), dtype=float).reshape(-1), 8)


def daily_lod(first_mjd=37665, last_mjd=58848):
    """Truth dLOD + 1.7 ms/cy + a 0.4-ms annual cycle, daily 1962-01-01 to 2019-12-31."""
    mjd = np.arange(first_mjd, last_mjd + 1, dtype=float)
    time = decimal_year_from_mjd(mjd)
    values = (
        lod_change_from_zonal_flow(true_toroidal(time))
        + SECULAR_MS_PER_YR * (time - 1990.0)
        + 0.4 * np.sin(2 * np.pi * time)
    )
    return xr.Dataset({"lod": ("time", values)}, coords={"time": time, "mjd": ("time", mjd)})


@pytest.fixture(scope="module")
def synthetic_study(field):
    variants = (
        LODVariant("uniform 1e-2", "uniform", target_rms=None, damping=1e-2),
        LODVariant("uniform 1e-3", "uniform", target_rms=None, damping=1e-3),
    )
    return run_lod_study(
        SteadyFieldAdvected(field),
        daily_lod(),
        start=1962.0,
        end=2020.0,
        step=1.0,
        lmax_flow=L_FLOW,
        variants=variants,
    )


def test_predicted_lod_recovers_the_known_flow(synthetic_study):
    truth = lod_change_from_zonal_flow(true_toroidal(synthetic_study.epochs))
    error = np.abs(synthetic_study.predicted_raw - truth).max(axis=1)
    assert error[0] < 1e-3  # ms; bias of the damping (module docstring)
    # the bias is first order in the damping: ten times less damping, ten times less bias
    assert error[0] / error[1] == pytest.approx(10.0, rel=0.1)


def test_scores_of_the_synthetic_study(synthetic_study):
    for name in synthetic_study.names:
        scores = synthetic_study.scores[name]
        assert scores["correlation"] > 0.9999
        assert scores["slope"] == pytest.approx(1.0, abs=0.01)
        assert scores["rms_ms"] < 0.01
        # the fitted lines differ by the secular trend of the observations alone
        difference = synthetic_study.observed.attrs["trend_ms_per_cy"] - scores["trend_ms_per_cy"]
        assert difference == pytest.approx(100.0 * SECULAR_MS_PER_YR, abs=0.02)
    assert synthetic_study.config["years"] == [1962, 2019]


def test_secular_trend_mode_scores_the_flow_trend_too(synthetic_study):
    observed = synthetic_study.observed
    compared = compare_lod(
        synthetic_study.epochs,
        synthetic_study.predicted_raw,
        synthetic_study.predicted_raw_std,
        observed,
        trend="secular",
        secular_trend_ms_per_cy=100.0 * SECULAR_MS_PER_YR,
    )
    for scores in compared["scores"]:
        assert scores["correlation"] > 0.9999
        assert scores["rms_ms"] < 0.01


def test_posterior_std_is_that_of_the_single_epoch_solver(field, synthetic_study):
    # independent epochs: the series' marginal posterior at one epoch is the single-epoch
    # posterior; the dLOD variance there is g^T C g with the full covariance
    epoch = 1990.0
    model = SteadyFieldAdvected(field)
    single = invert_flow(
        model.coeffs(epoch)[0], model.sv(epoch)[0], L_FLOW, damping=1e-2, sv_weights="uniform"
    )
    g = predicted_lod_weights(L_FLOW)
    k = int(np.flatnonzero(synthetic_study.epochs == epoch)[0])
    expected = np.sqrt(g @ single.covariance @ g)
    assert synthetic_study.predicted_raw_std[0, k] == pytest.approx(expected, rel=1e-6)


def test_save_and_xarray(synthetic_study, tmp_path):
    synthetic_study.save(tmp_path, figures=True)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["best"] in synthetic_study.names
    with xr.open_dataset(tmp_path / "lod.nc") as saved:
        np.testing.assert_allclose(saved["predicted_raw"], synthetic_study.predicted_raw)
        assert list(saved["variant"].values) == synthetic_study.names
    assert (tmp_path / "lod.png").stat().st_size > 0
    assert "| uniform 1e-2 |" in synthetic_study.table()
    assert isinstance(synthetic_study, LODStudyResult)


def test_named_errors_for_bad_ranges(field):
    variants = (LODVariant("u", "uniform", target_rms=None, damping=1e-2),)
    model = SteadyFieldAdvected(field)
    lod = daily_lod()
    with pytest.raises(EpochOutOfRangeError, match="span"):
        run_lod_study(model, lod, start=1940.0, end=2000.0, lmax_flow=L_FLOW, variants=variants)
    early = SteadyFieldAdvected(field, span=(1900.0, 1960.0))
    with pytest.raises(EpochOutOfRangeError, match="overlap"):
        run_lod_study(early, lod, start=1900.0, end=1960.0, lmax_flow=L_FLOW, variants=variants)
    with pytest.raises(SeriesLengthError, match="complete years"):
        run_lod_study(model, lod, start=2005.0, end=2015.0, lmax_flow=L_FLOW, variants=variants)
    with pytest.raises(ValueError, match="posterior"):
        run_lod_study(model, lod, posterior="full", variants=variants)
    with pytest.raises(ValueError, match="trend"):
        run_lod_study(model, lod, trend="none", variants=variants)


def test_temporal_damping_for_a_timescale():
    # lambda_3 = lambda N_1 tau^2 / (W_1 step), quadratic in tau and linear in lambda
    one = temporal_damping_for_timescale(1.0, 1.0, 1.0, 4)
    assert temporal_damping_for_timescale(3.0, 5.0, 0.5, 4) == pytest.approx(one * 3 * 25 / 0.5)


def test_a_failing_variant_is_skipped_and_recorded_when_asked(field):
    model = SteadyFieldAdvected(field)
    good = LODVariant("good", "uniform", target_rms=None, damping=1e-2)
    unreachable = LODVariant("too fast", "uniform", target_rms=1e4)
    with pytest.raises(ValueError, match="target rms"):
        run_lod_study(model, daily_lod(), step=2.0, lmax_flow=L_FLOW, variants=(unreachable,))
    result = run_lod_study(
        model,
        daily_lod(),
        step=2.0,
        lmax_flow=L_FLOW,
        variants=(unreachable, good),
        skip_failed=True,
    )
    assert result.names == ["good"]
    assert "target rms" in result.config["failed"]["too fast"]
