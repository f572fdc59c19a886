"""Tests of the posterior uncertainty of the core flow (bayescore.flow.uncertainty).

Independent truths: the velocity is linear in (t, s), so for Gaussian draws with known
covariance C the sd of u_theta and u_phi at a point is sqrt(b^T C b), with b the velocity
of each unit coefficient vector computed here one by one with
:func:`bayescore.flow.velocity.velocity`; the closed-form velocity of t_10 and s_10; the
speed of a solid-body rotation; Gaussian quantiles.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats as scipy_stats

import bayescore  # noqa: F401  (float64)
from bayescore.constants import CORE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, EpochOutOfRangeError, NonFiniteError
from bayescore.flow.uncertainty import (
    credible_interval_coverage,
    flow_posterior_statistics,
    flow_samples_at,
    plot_speed_uncertainty_map,
    velocity_basis,
)
from bayescore.flow.velocity import Flow, velocity
from bayescore.models import CoestimationProblem, legendre_time_basis

LMAX = 3
N = LMAX * (LMAX + 2)
LAT = np.array([-80.0, -35.0, 0.0, 20.0, 65.0])
LON = np.array([-170.0, -60.0, 0.0, 45.0, 130.0])


def _columns(theta, phi):
    """Velocity of each unit vector of [t, s], by direct calls of velocity()."""
    b_theta, b_phi = [], []
    for k in range(2 * N):
        x = np.zeros(2 * N)
        x[k] = 1.0
        u_theta, u_phi = velocity(x[:N], x[N:], theta, phi)
        b_theta.append(np.asarray(u_theta))
        b_phi.append(np.asarray(u_phi))
    return np.stack(b_theta, axis=-1), np.stack(b_phi, axis=-1)


def _grid_angles():
    lat_g, lon_g = np.meshgrid(LAT, LON, indexing="ij")
    return np.deg2rad(90.0 - lat_g), np.deg2rad(lon_g)


@pytest.fixture(scope="module")
def gaussian():
    """Draws of a correlated Gaussian over [t, s] with known mean and covariance."""
    rng = np.random.default_rng(11)
    factor = rng.normal(size=(2 * N, 2 * N)) * 4.0  # km/yr: velocity sd ~80-130 km/yr
    covariance = factor @ factor.T + 2.0 * np.eye(2 * N)
    mean = rng.normal(size=2 * N) * 5.0
    draws = rng.multivariate_normal(mean, covariance, size=40_000)
    return mean, covariance, draws


# ------------------------------------------------------------------ velocity basis
def test_velocity_basis_matches_velocity_and_closed_forms():
    theta, phi = _grid_angles()
    b_theta, b_phi = velocity_basis(LMAX, theta, phi)
    assert b_theta.shape == b_phi.shape == theta.shape + (2 * N,)
    rng = np.random.default_rng(0)
    t, s = rng.normal(size=N), rng.normal(size=N)
    u_theta, u_phi = velocity(t, s, theta, phi)
    x = np.concatenate([t, s])
    # both are the same sums of the same products: agreement to rounding
    np.testing.assert_allclose(np.asarray(b_theta) @ x, u_theta, atol=1e-12)
    np.testing.assert_allclose(np.asarray(b_phi) @ x, u_phi, atol=1e-12)
    # T = cos(theta): u_phi = -dT/dtheta = sin(theta); S = cos(theta): u_theta = -sin(theta)
    np.testing.assert_allclose(b_phi[..., 0], np.sin(theta), atol=1e-14)
    np.testing.assert_allclose(b_theta[..., 0], 0.0, atol=1e-14)
    np.testing.assert_allclose(b_theta[..., N], -np.sin(theta), atol=1e-14)
    np.testing.assert_allclose(b_phi[..., N], 0.0, atol=1e-14)
    with pytest.raises(CoefficientShapeError, match="lmax"):
        velocity_basis(0, theta, phi)


# ------------------------------------------------------------------ Gaussian draws
def test_component_sd_is_the_linear_propagation_of_the_covariance(gaussian):
    mean, covariance, draws = gaussian
    result = flow_posterior_statistics(draws[:, :N], draws[:, N:], lat=LAT, lon=LON)
    b_theta, b_phi = _columns(*_grid_angles())
    n_draws = draws.shape[0]
    sample_cov = np.cov(draws, rowvar=False, bias=True)  # divisor n, like the module
    for name, b in (("u_theta", b_theta), ("u_phi", b_phi)):
        sd_true = np.sqrt(np.einsum("...i,ij,...j->...", b, covariance, b))
        sd = result[f"{name}_sd"].values
        # sample sd of 40,000 Gaussian draws: relative standard error 1/sqrt(2n) = 0.35 %;
        # 25 values, so allow ~6 standard errors
        np.testing.assert_allclose(sd, sd_true, rtol=0.02)
        # against the covariance of the very same draws the identity is exact to rounding
        sd_sample = np.sqrt(np.einsum("...i,ij,...j->...", b, sample_cov, b))
        np.testing.assert_allclose(sd, sd_sample, rtol=1e-9)
        # mean: standard error sd / sqrt(n) = 0.005 sd; allow 6 standard errors
        mean_true = b @ mean
        assert np.max(np.abs(result[f"{name}_mean"].values - mean_true) / sd_true) < 0.03
        # Gaussian quantiles mean -+ 1.96 sd: the standard error of a 2.5 % sample quantile
        # is sqrt(p (1-p) / n) / pdf(1.96) sd = 0.013 sd; allow ~6 standard errors
        z = scipy_stats.norm.ppf([0.025, 0.5, 0.975])
        expected = mean_true[None] + z[:, None, None] * sd_true[None]
        error = (result[f"{name}_quantiles"].values - expected) / sd_true[None]
        assert np.max(np.abs(error)) < 0.08
    assert result.attrs["n_draws"] == n_draws
    assert result["u_theta_sd"].attrs["units"] == "km/yr"
    assert result["u_theta_quantiles"].dims == ("quantile", "lat", "lon")
    # speed: the mean of |u| exceeds the speed of the mean (Jensen), sd is positive
    assert np.all(result["speed_mean"].values >= result["speed_of_mean"].values)
    assert np.all(result["speed_sd"].values > 0)


def test_leading_dimensions_and_chunks_do_not_change_the_result(gaussian):
    _, _, draws = gaussian
    sub = draws[:400]
    flat = flow_posterior_statistics(sub[:, :N], sub[:, N:], lat=LAT, lon=LON)
    chains = flow_posterior_statistics(
        sub[:, :N].reshape(4, 100, N), sub[:, N:].reshape(4, 100, N), lat=LAT, lon=LON,
        chunk_points=7,  # 25 points: 4 chunks, the last one padded
    )  # fmt: skip
    for name in flat.data_vars:
        np.testing.assert_allclose(chains[name].values, flat[name].values, rtol=1e-12, atol=1e-12)


def test_kept_draws_are_the_velocities_of_each_draw(gaussian):
    _, _, draws = gaussian
    sub = draws[:5]
    result = flow_posterior_statistics(sub[:, :N], sub[:, N:], lat=LAT, lon=LON, keep_draws=True)
    assert result["speed"].dims == ("draw", "lat", "lon")
    theta, phi = _grid_angles()
    for k in range(5):
        u_theta, u_phi = velocity(sub[k, :N], sub[k, N:], theta, phi)
        np.testing.assert_allclose(result["u_theta"].values[k], u_theta, atol=1e-10)
        np.testing.assert_allclose(result["u_phi"].values[k], u_phi, atol=1e-10)
        np.testing.assert_allclose(result["speed"].values[k], np.hypot(u_theta, u_phi), atol=1e-10)


# ------------------------------------------------------------------ degenerate draws
def test_single_solid_body_rotation_draw():
    rate = 0.004  # rad/yr eastward
    flow = Flow.solid_body_rotation(rate, lmax=LMAX)
    result = flow_posterior_statistics(flow.t, flow.s, n_lat=19, n_lon=37, epoch=2005.0)
    expected = rate * CORE_RADIUS_KM * np.cos(np.deg2rad(result["lat"].values))[:, None]
    np.testing.assert_allclose(result["speed_mean"].values, expected + 0 * result["lon"].values,
                               atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(result["u_phi_mean"].values, result["speed_mean"].values, atol=1e-12)
    np.testing.assert_allclose(result["u_theta_mean"].values, 0.0, atol=1e-12)
    for name in ("u_theta", "u_phi", "speed"):
        assert np.all(result[f"{name}_sd"].values == 0.0)  # one draw: no spread at all
        for quantile in result[f"{name}_quantiles"].values:
            np.testing.assert_allclose(quantile, result[f"{name}_mean"].values, atol=1e-12)
    assert result.attrs["n_draws"] == 1 and result.attrs["epoch"] == 2005.0


def test_identical_draws_have_zero_sd():
    rng = np.random.default_rng(5)
    t, s = rng.normal(size=N) * 10, rng.normal(size=N) * 10
    result = flow_posterior_statistics(np.tile(t, (50, 1)), np.tile(s, (50, 1)), lat=LAT, lon=LON)
    single = flow_posterior_statistics(t, s, lat=LAT, lon=LON)
    for name in ("u_theta", "u_phi", "speed"):
        # 50 equal values: mean equal to rounding, sd at the level of rounding (~1e-14)
        np.testing.assert_allclose(result[f"{name}_sd"].values, 0.0, atol=1e-12)
        np.testing.assert_allclose(
            result[f"{name}_mean"].values, single[f"{name}_mean"].values, atol=1e-12
        )


# ------------------------------------------------------------------ bad input
def test_bad_draws_and_grids_raise():
    t = np.zeros((10, N))
    with pytest.raises(CoefficientShapeError, match="poloidal"):
        flow_posterior_statistics(t, np.zeros((9, N)))
    with pytest.raises(CoefficientShapeError, match="L\\(L\\+2\\)|L_F"):
        flow_posterior_statistics(np.zeros((10, 7)), np.zeros((10, 7)))
    with pytest.raises(CoefficientShapeError, match="no flow draws"):
        flow_posterior_statistics(np.zeros((0, N)), np.zeros((0, N)))
    with pytest.raises(CoefficientShapeError, match="arrays"):
        flow_posterior_statistics(1.0, 2.0)
    bad = t.copy()
    bad[3, 2] = np.nan
    with pytest.raises(NonFiniteError, match="1 draw"):
        flow_posterior_statistics(t, bad)
    with pytest.raises(ValueError, match="\\[-90, 90\\]"):
        flow_posterior_statistics(t, t, lat=[0.0, 100.0], lon=LON)
    with pytest.raises(NonFiniteError, match="lon"):
        flow_posterior_statistics(t, t, lat=LAT, lon=[0.0, np.nan])
    with pytest.raises(ValueError, match="1-D"):
        flow_posterior_statistics(t, t, lat=np.zeros((2, 2)), lon=LON)
    with pytest.raises(ValueError, match="quantiles"):
        flow_posterior_statistics(t, t, lat=LAT, lon=LON, quantiles=(0.5, 1.5))
    with pytest.raises(ValueError, match="positive"):
        flow_posterior_statistics(t, t, n_lat=0)


# ------------------------------------------------------------------ draws at an epoch
SPAN = (2004.5, 2005.5)


@pytest.fixture(scope="module")
def flow_draws():
    rng = np.random.default_rng(2)
    shape = (2, 30, 2, N)  # chain, draw, flow_time_basis, coefficient
    return rng.normal(size=shape), rng.normal(size=shape)


def test_flow_samples_at_evaluates_the_time_basis(flow_draws):
    tor, pol = flow_draws
    basis = legendre_time_basis(SPAN, 2)  # psi_0 = 1, psi_1 = P_1(2 (t - 2005) / 1 yr)
    t_end, s_end = flow_samples_at({"toroidal": tor, "poloidal": pol}, SPAN[1], basis)
    np.testing.assert_allclose(t_end, tor[..., 0, :] + tor[..., 1, :], atol=1e-12)
    np.testing.assert_allclose(s_end, pol[..., 0, :] + pol[..., 1, :], atol=1e-12)
    t_mid, _ = flow_samples_at({"toroidal": tor, "poloidal": pol}, 2005.0, basis)
    np.testing.assert_allclose(t_mid, tor[..., 0, :], atol=1e-12)
    t_q, s_q = flow_samples_at({"toroidal": tor, "poloidal": pol}, 2004.75, basis)
    np.testing.assert_allclose(t_q, tor[..., 0, :] - 0.5 * tor[..., 1, :], atol=1e-12)
    # the same contraction as CoestimationProblem.flow_at (called on a stand-in problem)
    problem = SimpleNamespace(flow_time_basis=basis)
    t_ref, s_ref = CoestimationProblem.flow_at(problem, tor, pol, 2004.75)
    np.testing.assert_allclose(t_q, t_ref, atol=1e-12)
    np.testing.assert_allclose(s_q, s_ref, atol=1e-12)
    t_p, _ = flow_samples_at({"toroidal": tor, "poloidal": pol}, 2004.75, problem)
    np.testing.assert_array_equal(t_p, t_q)
    # Laplace-style draws (draw, N_tF, n): leading dimensions are kept
    t_l, _ = flow_samples_at({"toroidal": tor[0], "poloidal": pol[0]}, 2004.75, basis)
    assert t_l.shape == (30, N)


def test_flow_samples_at_reads_labelled_inference_data(flow_draws):
    from bayescore.infer import to_inference_data
    from bayescore.models.parametrisation import flow_labels

    tor, pol = flow_draws
    basis = legendre_time_basis(SPAN, 2)
    coords = {
        "flow_time_basis": np.arange(2),
        "toroidal_coeff": flow_labels(LMAX, "t"),
        "poloidal_coeff": flow_labels(LMAX, "s"),
    }
    dims = {
        "toroidal": ["flow_time_basis", "toroidal_coeff"],
        "poloidal": ["flow_time_basis", "poloidal_coeff"],
    }
    idata = to_inference_data({"toroidal": tor, "poloidal": pol}, coords=coords, dims=dims)
    expected = flow_samples_at({"toroidal": tor, "poloidal": pol}, 2005.2, basis)
    for source in (idata, idata.posterior):
        got = flow_samples_at(source, 2005.2, basis)
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-12)
    # dimension order does not matter when the dimensions are labelled
    swapped = idata.posterior.transpose("toroidal_coeff", "chain", "draw", ...)
    got = flow_samples_at(swapped, 2005.2, basis)
    np.testing.assert_allclose(got[0], expected[0], atol=1e-12)


def test_flow_samples_at_bad_input(flow_draws):
    tor, pol = flow_draws
    basis = legendre_time_basis(SPAN, 2)
    samples = {"toroidal": tor, "poloidal": pol}
    with pytest.raises(EpochOutOfRangeError, match="outside the model span"):
        flow_samples_at(samples, 2010.0, basis)
    with pytest.raises(CoefficientShapeError, match="N_tF = 3"):
        flow_samples_at(samples, 2005.0, legendre_time_basis(SPAN, 3))
    with pytest.raises(CoefficientShapeError, match="poloidal"):
        flow_samples_at({"toroidal": tor, "poloidal": pol[:1]}, 2005.0, basis)
    with pytest.raises(KeyError, match="poloidal"):
        flow_samples_at({"toroidal": tor}, 2005.0, basis)
    with pytest.raises(TypeError, match="TimeBasis"):
        flow_samples_at(samples, 2005.0, object())
    with pytest.raises(ValueError, match="one decimal year"):
        flow_samples_at(samples, [2005.0, 2005.1], basis)


# ------------------------------------------------------------------ coverage
def test_coverage_of_references_drawn_from_the_posterior(gaussian):
    mean, _, draws = gaussian
    posterior, references = draws[:20_000], draws[20_000:20_200]
    lat, lon = np.linspace(-80, 80, 9), np.linspace(-180, 150, 12)
    result = flow_posterior_statistics(posterior[:, :N], posterior[:, N:], lat=lat, lon=lon)
    cover = np.array(
        [
            [credible_interval_coverage(result, r[:N], r[N:])[k] for k in ("u_theta", "u_phi")]
            for r in references
        ]
    )
    # each reference is a posterior draw: the expected fraction inside is 0.95 exactly (to
    # the quantiles' Monte-Carlo error, < 0.002). Grid points are correlated: the fraction
    # of one reference has sd <= sqrt(0.95 x 0.05) = 0.22, so the mean over 200 has sd
    # <= 0.015; 0.95 -+ 0.045 is >= 3 sd
    assert np.all(np.abs(cover.mean(axis=0) - 0.95) < 0.045)
    inside = credible_interval_coverage(result, mean[:N], mean[N:])
    assert inside["u_theta"] == inside["u_phi"] == 1.0  # the mean lies inside everywhere
    far = credible_interval_coverage(result, mean[:N] + 1e4, mean[N:])
    assert far["u_theta"] < 0.1 and far["u_phi"] < 0.1
    with pytest.raises(ValueError, match="0.05"):
        credible_interval_coverage(result, mean[:N], mean[N:], level=0.9)
    with pytest.raises(ValueError, match="level"):
        credible_interval_coverage(result, mean[:N], mean[N:], level=1.5)


# ------------------------------------------------------------------ figure
def test_plot_speed_uncertainty_map(gaussian):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mean, _, draws = gaussian
    result = flow_posterior_statistics(
        draws[:500, :N], draws[:500, N:], n_lat=31, n_lon=61, epoch=2005.0
    )
    axes = plot_speed_uncertainty_map(result)
    assert len(axes) == 2
    labels = [ax.get_label() for ax in axes[0].figure.axes if ax.get_label() == "<colorbar>"]
    assert len(labels) == 2
    bar_labels = [ax.get_ylabel() for ax in axes[0].figure.axes if ax not in list(axes)]
    assert all("km/yr" in label for label in bar_labels), bar_labels
    assert axes[0].get_xlabel() == "longitude (degrees east)"
    assert "2005.00" in axes[0].figure.get_suptitle()
    plt.close(axes[0].figure)
    axes = plot_speed_uncertainty_map(result, (mean[:N], mean[N:]), relative=True)
    assert len(axes) == 4
    bar_labels = [ax.get_ylabel() for ax in axes[0].figure.axes if ax not in list(axes)]
    assert "sd / mean of the speed (1)" in bar_labels
    assert "reference speed (km/yr)" in bar_labels
    plt.close(axes[0].figure)
    fig, two = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="expected 4 axes"):
        plot_speed_uncertainty_map(result, Flow(mean[:N], mean[N:]), axes=two)
    plt.close(fig)
