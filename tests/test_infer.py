"""Tests of bayescore.infer on small co-estimation problems.

* Linear special case (field fixed, flow unknown): the exact Gaussian posterior of
  :func:`bayescore.flow.inversion.invert_flow` is reproduced by the Laplace approximation
  (to rounding) and by NUTS (statistically).
* Gauss-Newton MAP == L-BFGS MAP on the joint (nonlinear) posterior.
* On a frozen-flux-consistent synthetic truth whose flow is drawn from the model's own
  prior: SV recovery, tiny frozen-flux ratio rho, and calibrated 95 % intervals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import arviz as az
import jax
import numpy as np
import pytest

import bayescore  # noqa: F401  (float64)
from bayescore.flow.inversion import invert_flow
from bayescore.flow.norms import coefficient_weights, temporal_weights
from bayescore.infer import (
    bfmi,
    gauss_newton_map,
    laplace_approximation,
    laplace_from_gauss_newton,
    map_lbfgs,
    run_nuts,
    sampling_diagnostics,
)
from bayescore.models import (
    TimeBlockGaussian,
    build_problem,
    coestimation_diagnostics,
    coestimation_model,
    frozen_flux_ratio,
    legendre_time_basis,
    starting_model,
    usn_model,
)
from bayescore.sh.indexing import degree_order_arrays, n_coefficients
from bayescore.synthetic.dataset import make_dataset
from bayescore.synthetic.truth import frozen_flux_truth

SPAN = (2004.5, 2005.5)
EPOCH = 2005.0
L = 6  # L_B = L_F
N_TIME = 3  # field: quadratic in time; flow: linear (the truth's flow is linear)
DAMPINGS = {"lambda_frozen_flux": 1.0e4, "lambda_space": 1.0e3, "lambda_time": 5.0e-9}


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def truth_and_data():
    """Frozen-flux truth whose flow is a draw from the model's flow prior."""
    flow_basis = legendre_time_basis(SPAN, 2)
    blocks = 2.0 * (
        DAMPINGS["lambda_space"] * coefficient_weights(L, "strong")[:, None, None]
        * flow_basis.gram(0)[None]
        + DAMPINGS["lambda_time"] * temporal_weights(L)[:, None, None] * flow_basis.gram(1)[None]
    )  # fmt: skip
    prior = TimeBlockGaussian(blocks)
    key_t, key_s = jax.random.split(jax.random.PRNGKey(3))
    tor, pol = np.asarray(prior.sample(key_t)), np.asarray(prior.sample(key_s))
    # Legendre P_1 = 2 (t - EPOCH) / 1 yr: the rate is 2 x the second block row
    truth = frozen_flux_truth(
        None, EPOCH, SPAN, L, L, flow=(tor[0], pol[0]), flow_time_change=(2 * tor[1], 2 * pol[1])
    )
    data = make_dataset(truth, n_satellite=500, n_observatory_sites=15, seed=2)
    return truth, data, tor, pol


@pytest.fixture(scope="module")
def coestimation(truth_and_data):
    _, data, _, _ = truth_and_data
    # L_SV = L_B: the truth drops the frozen-flux SV above L_B (its definition). That part
    # is small (0.001-0.013 (nT/yr)^2 per degree at L_B = 6), but with lambda_frozen_flux
    # = 1e4 the constraint is nearly exact, so equations above L_B that the truth does not
    # satisfy would bias the fit (docs/studies/coestimation-experiments.md)
    problem = build_problem(
        data, L, legendre_time_basis(SPAN, N_TIME), L, legendre_time_basis(SPAN, 2), lmax_sv=L
    )
    problem, init, usn = starting_model(problem, DAMPINGS)
    gn = gauss_newton_map(coestimation_model, problem, model_kwargs=DAMPINGS, init_values=init)
    return problem, init, usn, gn


@pytest.fixture(scope="module")
def linear_case(truth_and_data):
    """Field fixed at one epoch, steady flow, one frozen-flux node: invert_flow's problem."""
    truth, data, _, _ = truth_and_data
    lmax_field, lmax_flow, damping = 4, 3, 1.0e3
    n = n_coefficients(lmax_field)
    g, gdot = truth.coeffs(EPOCH)[:n], truth.sv(EPOCH)[:n]
    exact = invert_flow(g, gdot, lmax_flow, norm="strong", damping=damping)
    problem = build_problem(
        data, lmax_field, legendre_time_basis(SPAN, 2), lmax_flow, legendre_time_basis(SPAN, 1),
        frozen_flux_nodes=([EPOCH], [1.0]),
    ).with_sv_weights(exact.sv_weights)  # fmt: skip
    # invert_flow: Phi = 1/2 r^T W r + lambda x^T N x. Model: lambda_1 w r^T W r with w = 1
    # (one node), and lambda_2 int_span N dt = lambda_2 x^T N x x (1 yr): lambda_1 = 1/2,
    # lambda_2 = lambda / 1 yr. The field g(t) = C0 + C1 P_1, P_1 = 2 (t - EPOCH): C1 = gdot/2.
    kwargs = {
        "lambda_frozen_flux": 0.5,
        "lambda_space": damping / 1.0,
        "lambda_time": 1.0,
        "fixed": {"core": np.stack([g, 0.5 * gdot])},
    }
    return problem, kwargs, exact


@pytest.fixture(scope="module")
def linear_nuts(linear_case):
    problem, kwargs, _ = linear_case
    start = map_lbfgs(coestimation_model, problem, model_kwargs=kwargs)
    laplace = laplace_approximation(
        coestimation_model, problem, model_kwargs=kwargs, map_values=start.values
    )
    result = run_nuts(
        coestimation_model, problem, model_kwargs=kwargs, laplace=laplace, num_warmup=300,
        num_samples=600, num_chains=2, progress_bar=False, coords=problem.coords(),
        dims=problem.dims(), seed=1,
    )  # fmt: skip
    return start, laplace, result


def _flow_vector(values):
    return np.concatenate([values["toroidal"][..., 0, :], values["poloidal"][..., 0, :]], axis=-1)


# ------------------------------------------------------------------ linear special case
def test_linear_flow_laplace_is_the_exact_posterior(linear_case, linear_nuts):
    _, _, exact = linear_case
    start, laplace, _ = linear_nuts
    assert start.converged
    # the model's posterior is exactly Gaussian: same mean and covariance to rounding
    mean = _flow_vector(laplace.values)
    np.testing.assert_allclose(mean, exact.vector, atol=1e-8 * np.max(exact.std))
    n = exact.t.size
    order = np.concatenate([np.arange(n, 2 * n), np.arange(n)])  # sites: poloidal, toroidal
    covariance = laplace.covariance[np.ix_(order, order)]
    np.testing.assert_allclose(
        covariance, exact.covariance, atol=1e-9 * np.max(np.abs(exact.covariance))
    )


def test_linear_flow_nuts_reproduces_the_exact_posterior(linear_case, linear_nuts):
    _, _, exact = linear_case
    _, _, result = linear_nuts
    draws = _flow_vector(result.samples).reshape(-1, exact.vector.size)
    # 1200 draws with ESS > 400: the error of a mean is < 0.05 sd and of an sd < 4 %, so
    # 0.2 sd and 15 % are ~4 standard errors
    z_mean = (draws.mean(axis=0) - exact.vector) / exact.std
    assert np.max(np.abs(z_mean)) < 0.2
    ratio = draws.std(axis=0) / exact.std
    assert np.all(np.abs(ratio - 1.0) < 0.15)
    diagnostics = sampling_diagnostics(result.inference_data)
    assert diagnostics["r_hat_max"] < 1.02
    assert diagnostics["ess_bulk_min"] > 400
    assert diagnostics["divergences"] == 0
    np.testing.assert_allclose(diagnostics["bfmi"], az.bfmi(result.inference_data), rtol=1e-12)
    np.testing.assert_allclose(diagnostics["bfmi"], bfmi(result.sample_stats["energy"]))


def test_inference_data_is_labelled_and_saved_atomically(linear_case, linear_nuts, tmp_path):
    problem, _, _ = linear_case
    _, _, result = linear_nuts
    posterior = result.inference_data.posterior
    assert posterior["toroidal"].dims == ("chain", "draw", "flow_time_basis", "toroidal_coeff")
    assert list(posterior["toroidal_coeff"].values[:3]) == ["t_1_0", "t_1_1", "t_1_-1"]
    assert list(posterior["poloidal_coeff"].values[:3]) == ["s_1_0", "s_1_1", "s_1_-1"]
    assert "core" not in posterior  # held fixed
    assert set(result.inference_data.sample_stats.data_vars) >= {
        "diverging", "energy", "lp", "step_size", "tree_depth", "acceptance_rate"
    }  # fmt: skip
    path = tmp_path / "linear.nc"
    from bayescore.infer import save_inference_data

    save_inference_data(result.inference_data, path)
    assert [p.name for p in tmp_path.iterdir()] == ["linear.nc"]  # no temporary left
    reloaded = az.from_netcdf(path)
    np.testing.assert_array_equal(
        reloaded.posterior["toroidal"].values, posterior["toroidal"].values
    )
    del problem


def test_hyperprior_on_the_spatial_damping(linear_case):
    problem, kwargs, _ = linear_case
    hyper = {**kwargs, "hyperpriors": {"lambda_space": (1.0e1, 1.0e5)}}
    result = map_lbfgs(coestimation_model, problem, model_kwargs=hyper)
    assert result.converged
    lam = float(result.values["lambda_space"])
    assert 1.0e1 < lam < 1.0e5
    # given the damping, the flow is the exact posterior mean of invert_flow at that damping
    g = kwargs["fixed"]["core"][0]
    gdot = 2.0 * kwargs["fixed"]["core"][1]
    exact = invert_flow(g, gdot, problem.lmax_flow, norm="strong", damping=lam,
                        sv_weights=np.asarray(problem.sv_weights))  # fmt: skip
    np.testing.assert_allclose(
        _flow_vector(result.values), exact.vector, atol=1e-5 * np.max(exact.std)
    )
    laplace = laplace_approximation(
        coestimation_model, problem, model_kwargs=hyper, map_values=result.values
    )
    draws = laplace.sample(200, seed=2)
    assert np.all((draws["lambda_space"] > 1.0e1) & (draws["lambda_space"] < 1.0e5))
    with pytest.raises(ValueError, match="fixed dampings"):
        gauss_newton_map(coestimation_model, problem, model_kwargs=hyper)


# ------------------------------------------------------------------ joint co-estimation
def test_gauss_newton_converges_like_the_paper(coestimation):
    problem, init, usn, gn = coestimation
    assert usn.converged and usn.n_iterations <= 2  # USN is linear-Gaussian: one step
    assert gn.converged and gn.n_iterations < 20  # the paper: fewer than 20 iterations
    history = gn.history
    assert np.all(np.diff(history["potential_energy"].values) <= 1e-9 * abs(gn.potential_energy))
    assert history["relative_change"].values[-1] < 1e-6
    # rho per iteration: the problem's monitor, the same function as frozen_flux_ratio
    values = gn.values
    rho = frozen_flux_ratio(problem, values["core"], values["toroidal"], values["poloidal"])
    assert history["rho"].values[-1] == pytest.approx(float(rho), rel=1e-12)


def test_results_to_xarray_and_inference_data(coestimation):
    """Labelled views of the MAP and Laplace results: dims, labels, units, same numbers."""
    problem, _, _, gn = coestimation
    labels = problem.site_labels()
    ds = gn.to_xarray(**labels)
    assert set(ds.data_vars) == set(gn.values)
    assert ds["core"].dims == ("time_basis", "core_coeff")
    assert list(ds["core_coeff"].values[:3]) == ["g_1_0", "g_1_1", "h_1_1"]
    assert ds["toroidal"].dims == ("flow_time_basis", "toroidal_coeff")
    assert list(ds["toroidal_coeff"].values[:3]) == ["t_1_0", "t_1_1", "t_1_-1"]
    assert list(ds["poloidal_coeff"].values[:2]) == ["s_1_0", "s_1_1"]
    assert ds["core"].attrs["units"] == "nT"
    assert ds["toroidal"].attrs["units"] == ds["poloidal"].attrs["units"] == "km/yr"
    for name, value in gn.values.items():
        np.testing.assert_array_equal(ds[name].values, value)

    idata = gn.to_inference_data(**labels)
    assert isinstance(idata, az.InferenceData)
    assert idata.posterior["core"].dims == ("chain", "draw", "time_basis", "core_coeff")
    assert idata.posterior["core"].shape == (1, 1) + gn.values["core"].shape
    assert idata.posterior["poloidal"].attrs["units"] == "km/yr"
    np.testing.assert_array_equal(idata.posterior["toroidal"].values[0, 0], gn.values["toroidal"])

    laplace = laplace_from_gauss_newton(gn)
    lds = laplace.to_xarray(**labels)
    sd = laplace.site_sd()
    for name in gn.values:
        np.testing.assert_array_equal(lds[name].values, gn.values[name])
        np.testing.assert_array_equal(lds[f"{name}_sd"].values, sd[name])
    assert lds["core_sd"].dims == ("time_basis", "core_coeff")
    assert lds["core_sd"].attrs["units"] == "nT" and lds["toroidal_sd"].attrs["units"] == "km/yr"
    draws = laplace.to_inference_data(40, seed=3, **labels)
    assert draws.posterior.sizes["chain"] == 1 and draws.posterior.sizes["draw"] == 40
    assert list(draws.posterior["toroidal_coeff"].values[:3]) == ["t_1_0", "t_1_1", "t_1_-1"]
    np.testing.assert_array_equal(
        draws.posterior["core"].values[0], laplace.sample(40, seed=3)["core"]
    )


def test_map_result_to_xarray_labels_sites():
    import numpyro
    import numpyro.distributions as dist

    def model(y):
        mu = numpyro.sample("mu", dist.Normal(0.0, 10.0).expand([3]).to_event(1))
        scale = numpyro.sample("scale", dist.LogNormal(0.0, 1.0))
        numpyro.sample("y", dist.Normal(mu, scale).to_event(1), obs=y)

    fit = map_lbfgs(model, np.array([1.0, -2.0, 0.5]), seed=0)
    labels = {
        "coords": {"axis": ["x", "y", "z"]},
        "dims": {"mu": ["axis"]},
        "units": {"mu": "nT", "scale": "nT"},
    }
    ds = fit.to_xarray(**labels)
    assert ds["mu"].dims == ("axis",) and list(ds["axis"].values) == ["x", "y", "z"]
    assert ds["mu"].attrs["units"] == "nT" and ds["scale"].dims == ()
    np.testing.assert_array_equal(ds["mu"].values, fit.values["mu"])
    assert float(ds["scale"]) == float(fit.values["scale"])
    idata = fit.to_inference_data(**labels)
    assert idata.posterior["mu"].dims == ("chain", "draw", "axis")
    np.testing.assert_array_equal(idata.posterior["mu"].values[0, 0], fit.values["mu"])


def test_gauss_newton_matches_lbfgs(coestimation):
    problem, init, _, gn = coestimation
    result = map_lbfgs(coestimation_model, problem, model_kwargs=DAMPINGS, init_values=init)
    assert result.converged
    sd = laplace_from_gauss_newton(gn).site_sd()
    for name, value in gn.values.items():
        # L-BFGS stops at a preconditioned gradient of 1e-6 (~1e-6 sd from the optimum)
        np.testing.assert_array_less(np.abs(result.values[name] - value) / sd[name], 1e-5)
    assert result.potential_energy == pytest.approx(gn.potential_energy, abs=1e-8)


def test_sv_recovered_and_frozen_flux_compliant(truth_and_data, coestimation):
    truth, _, _, _ = truth_and_data
    problem, init, _, gn = coestimation
    degree = degree_order_arrays(L)[0]
    sv = np.asarray(problem.field_at(gn.values["core"], EPOCH, 1))
    sv_true = truth.sv(EPOCH)
    correlation = [
        np.sum(sv[degree == ell] * sv_true[degree == ell])
        / np.sqrt(np.sum(sv[degree == ell] ** 2) * np.sum(sv_true[degree == ell] ** 2))
        for ell in range(1, min(8, L) + 1)
    ]
    assert min(correlation) > 0.95, correlation
    rho = float(
        frozen_flux_ratio(problem, gn.values["core"], gn.values["toroidal"], gn.values["poloidal"])
    )
    rho_start = float(frozen_flux_ratio(problem, init["core"], init["toroidal"], init["poloidal"]))
    print(f"rho at the MAP = {rho:.3g} (USN field + its inverted flow: {rho_start:.3g})")
    # the representation error of polynomial time bases (a polynomial field advected by a
    # polynomial flow is not a polynomial of the same degree) keeps rho above zero; at
    # lambda_1 = 1e4 it lies near 4e-7 (larger lambda_1 lowers it slowly: 5e-8 at 1e6).
    # The starting flow, inverted from the USN SV with the same lambda_1, is as compliant:
    # with L_F = L_B the flow has the freedom to explain any SV.
    assert rho < 1e-6


def test_laplace_intervals_are_calibrated(truth_and_data, coestimation):
    truth, _, tor, pol = truth_and_data
    problem, _, _, gn = coestimation
    sd = laplace_from_gauss_newton(gn).site_sd()
    # the truth's core block: Legendre projection of its g(t) (exact to the polynomial
    # remainder, ~1e-3 nT over one year, far below the posterior sd)
    x, w = np.polynomial.legendre.leggauss(24)
    g = truth.coeffs(EPOCH + 0.5 * x)
    psi = np.asarray(problem.time_basis(EPOCH + 0.5 * x))
    core = np.stack([(2 * k + 1) / 2 * np.sum(w[:, None] * psi[:, k : k + 1] * g, axis=0)
                     for k in range(N_TIME)])  # fmt: skip
    z = np.concatenate([
        ((gn.values["core"] - core) / sd["core"]).ravel(),
        ((gn.values["toroidal"] - tor) / sd["toroidal"]).ravel(),
        ((gn.values["poloidal"] - pol) / sd["poloidal"]).ravel(),
    ])  # fmt: skip
    coverage = np.mean(np.abs(z) < 1.959964)
    print(f"95 % interval coverage over {z.size} coefficients: {coverage:.3f}")
    # binomial sd over 336 coefficients ~1.2 %; the coefficients' errors are correlated,
    # so allow ~4 sd: 0.90..0.99
    assert 0.90 <= coverage <= 0.99
    assert 0.8 < np.sqrt(np.mean(z**2)) < 1.2


def test_usn_and_coestimation_fit_the_data(coestimation):
    problem, _, usn, gn = coestimation
    for values in (usn.values, gn.values):
        table = coestimation_diagnostics(_as_posterior(values), problem)["misfit"]
        # sigma = 2 nT noise: chi2 per datum ~1 (1 -+ 0.1 for ~2000 data and ~300 params)
        assert 0.8 < float(table["chi2_per_datum"].sel(group="all")) < 1.1
        assert abs(float(table["mean"].sel(group="all"))) < 0.2


def _as_posterior(values):
    from bayescore.infer import to_inference_data

    return to_inference_data({k: np.asarray(v)[None, None] for k, v in values.items()})


def test_student_t_likelihood_gauss_newton_matches_lbfgs(truth_and_data):
    _, data, _, _ = truth_and_data
    # iteratively reweighted least squares: (nu + 1)/(nu sigma^2 + r^2) weights
    problem = build_problem(
        data, L, legendre_time_basis(SPAN, N_TIME), None, likelihood="student-t"
    )
    gn = gauss_newton_map(usn_model, problem, max_iterations=60)
    assert gn.converged
    result = map_lbfgs(usn_model, problem, init_values=gn.values)
    sd = laplace_from_gauss_newton(gn).site_sd()
    np.testing.assert_array_less(
        np.abs(result.values["core"] - gn.values["core"]) / sd["core"], 1e-4
    )


def test_laplace_likelihood_irls_minimises_the_l1_misfit(truth_and_data):
    _, data, _, _ = truth_and_data
    robust = build_problem(data, L, legendre_time_basis(SPAN, N_TIME), None, likelihood="laplace")
    # IRLS for L1 converges linearly (the paper needed up to 60 iterations): run 30 and
    # check that every accepted step lowered the objective
    gn = gauss_newton_map(usn_model, robust, max_iterations=30)
    assert np.all(np.diff(gn.history["potential_energy"].values) <= 0)
    gaussian = build_problem(data, L, legendre_time_basis(SPAN, N_TIME), None)
    l2 = gauss_newton_map(usn_model, gaussian)

    def l1(values):
        residual = np.asarray(robust.data.value) - robust.data.predict(robust.field_vector(values))
        return np.sum(np.abs(residual) / np.asarray(robust.data.sigma))

    assert l1(gn.values) < l1(l2.values)


# ------------------------------------------------------------------ joint NUTS
def test_coestimation_nuts_agrees_with_laplace_and_is_calibrated(truth_and_data, coestimation):
    truth, _, tor, pol = truth_and_data
    problem, _, _, gn = coestimation
    laplace = laplace_from_gauss_newton(gn)
    result = run_nuts(
        coestimation_model, problem, model_kwargs=DAMPINGS, laplace=laplace, num_warmup=300,
        num_samples=500, num_chains=2, progress_bar=False, coords=problem.coords(),
        dims=problem.dims(),
    )  # fmt: skip
    diagnostics = sampling_diagnostics(result.inference_data)
    # the largest split r_hat of 336 parameters from 2 x 500 draws: each has a sampling sd
    # of ~0.01 around 1, so the maximum lies near 1.03 for a converged run
    assert diagnostics["r_hat_max"] < 1.05 and diagnostics["divergences"] == 0
    sd = laplace.site_sd()
    lower, upper = {}, {}
    for name in ("core", "toroidal", "poloidal"):
        draws = result.samples[name].reshape((-1,) + result.samples[name].shape[2:])
        # ESS ~ 1000: error of a mean ~0.03 sd, of an sd ~2.5 %; the posterior is nearly
        # Gaussian (the bilinear term is weak at this lambda_1)
        assert np.max(np.abs(draws.mean(axis=0) - gn.values[name]) / sd[name]) < 0.25
        assert np.all(np.abs(draws.std(axis=0) / sd[name] - 1) < 0.2)
        lower[name], upper[name] = np.percentile(draws, [2.5, 97.5], axis=0)
    extra = coestimation_diagnostics(result.inference_data, problem, max_draws=100)
    assert extra["rho_median"] < 1e-3
    # NUTS 95 % intervals on the flow (whose truth is a prior draw): calibrated
    inside = np.concatenate([
        ((lower[n] <= v) & (v <= upper[n])).ravel()
        for n, v in (("toroidal", tor), ("poloidal", pol))
    ])  # fmt: skip
    assert 0.90 <= np.mean(inside) <= 0.995


# ------------------------------------------------------------------ parallel chains
_PARALLEL_SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    import jax, numpy as np, numpyro, numpyro.distributions as dist
    import bayescore
    from bayescore.infer import laplace_approximation, map_lbfgs, run_nuts

    def model(y):
        mu = numpyro.sample("mu", dist.Normal(0.0, 10.0).expand([3]).to_event(1))
        numpyro.sample("y", dist.Normal(mu, 0.5).to_event(1), obs=y)

    y = np.array([1.0, -2.0, 0.5])
    fit = map_lbfgs(model, y)
    laplace = laplace_approximation(model, y, map_values=fit.values)
    result = run_nuts(model, y, laplace=laplace, num_warmup=200, num_samples=1000,
                      num_chains=2, progress_bar=False)
    draws = result.samples["mu"].reshape(-1, 3)
    print(json.dumps({"devices": jax.local_device_count(), "method": result.chain_method,
                      "mean": draws.mean(0).tolist(), "sd": draws.std(0).tolist()}))
    """
)


def test_chains_run_in_parallel_on_host_devices():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    output = subprocess.run(
        [sys.executable, "-c", _PARALLEL_SCRIPT], capture_output=True, text=True, env=env,
        timeout=300, check=True,
    )  # fmt: skip
    report = json.loads(output.stdout.strip().splitlines()[-1])
    assert report["devices"] == 2 and report["method"] == "parallel"
    # conjugate posterior: precision 1/100 + 4, mean = 4 y / (4 + 0.01)
    precision = 4.0 + 0.01
    np.testing.assert_allclose(
        report["mean"], 4.0 * np.array([1.0, -2.0, 0.5]) / precision, atol=0.1
    )
    np.testing.assert_allclose(report["sd"], 1 / np.sqrt(precision), rtol=0.1)


# ------------------------------------------------------------------ bad input
def test_inference_errors(linear_case, linear_nuts):
    problem, kwargs, _ = linear_case
    start, laplace, _ = linear_nuts
    with pytest.raises(ValueError, match="preconditioner"):
        map_lbfgs(coestimation_model, problem, model_kwargs=kwargs, preconditioner="newton")
    with pytest.raises(ValueError, match="positive definite"):
        laplace_approximation(
            coestimation_model, problem, model_kwargs=kwargs, map_values=start.values,
            hessian=-np.eye(laplace.mean.size),
        )  # fmt: skip
    other = {**kwargs, "fixed": {}}
    with pytest.raises(ValueError, match="sites"):
        run_nuts(coestimation_model, problem, model_kwargs=other, laplace=laplace, num_warmup=1,
                 num_samples=1, num_chains=1, progress_bar=False)  # fmt: skip
