"""The NumPyro flow-inversion model reproduces invert_flow's exact Gaussian posterior."""

from __future__ import annotations

import numpy as np
import pytest
from numpyro.infer.util import potential_energy

import bayescore  # noqa: F401  (float64)
from bayescore.errors import CoefficientShapeError, NonFiniteError
from bayescore.fields import igrf
from bayescore.flow.inversion import flow_design_matrix, flow_objective, invert_flow
from bayescore.flow.norms import flow_norm_weights
from bayescore.infer import laplace_approximation, map_lbfgs, run_nuts, sampling_diagnostics
from bayescore.models.flow_inversion import (
    flow_inversion_model,
    flow_inversion_problem,
    posterior_agreement,
)

LMAX_FLOW = 4
DAMPING = 1.0  # strong norm, yr^2: flows of a few km/yr at L_F = 4


@pytest.fixture(scope="module")
def field():
    model = igrf()
    return np.asarray(model.coeffs(2020.0)), np.asarray(model.sv(2020.0))


@pytest.fixture(scope="module")
def exact(field):
    g, gdot = field
    return invert_flow(g, gdot, LMAX_FLOW, norm="strong", damping=DAMPING, epoch=2020.0)


@pytest.fixture(scope="module")
def problem(field, exact):
    return flow_inversion_problem(field[0], exact)


def _stacked(values):
    return np.concatenate([values["toroidal"], values["poloidal"]], axis=-1)


def _covariance_in_ts_order(laplace, n):
    # NumPyro's flat order is sorted by site name: poloidal, then toroidal
    order = np.concatenate([np.arange(n, 2 * n), np.arange(n)])
    return laplace.covariance[np.ix_(order, order)]


def test_log_density_is_minus_invert_flows_objective(field, exact, problem):
    g, _ = field
    design = flow_design_matrix(g, LMAX_FLOW, exact.lmax_sv)
    weights = flow_norm_weights(LMAX_FLOW, "strong")
    rng = np.random.default_rng(0)
    n = exact.t.size
    points = [exact.vector + rng.normal(0.0, 3.0, 2 * n) for _ in range(3)]
    potentials = [
        float(
            potential_energy(
                flow_inversion_model, (problem,), {}, {"toroidal": x[:n], "poloidal": x[n:]}
            )
        )
        for x in points
    ]
    objectives = [
        float(flow_objective(x, design, exact.sv, exact.sv_weights, DAMPING, weights))
        for x in points
    ]
    # -log p = Phi + const: differences agree to rounding (relative to Phi ~ 1e2-1e3)
    np.testing.assert_allclose(
        np.diff(potentials), np.diff(objectives), rtol=1e-9, atol=1e-9 * max(objectives)
    )


def test_map_and_laplace_equal_the_exact_posterior(exact, problem):
    fit = map_lbfgs(flow_inversion_model, problem)
    assert fit.converged
    # L-BFGS stops at a preconditioned gradient norm of 1e-6: ~1e-6 sd from the optimum
    np.testing.assert_allclose(_stacked(fit.values), exact.vector, atol=1e-5 * exact.std.min())
    laplace = laplace_approximation(flow_inversion_model, problem, map_values=fit.values)
    # the log density is quadratic: its Hessian is the exact precision everywhere, so the
    # covariance agrees to rounding (condition number of the precision ~1e6)
    covariance = _covariance_in_ts_order(laplace, exact.t.size)
    np.testing.assert_allclose(
        covariance, exact.covariance, rtol=0, atol=1e-9 * np.abs(exact.covariance).max()
    )
    mean, closed_form = problem.exact_posterior()
    np.testing.assert_allclose(mean, exact.vector, atol=1e-10 * exact.std.min())
    np.testing.assert_allclose(
        closed_form, exact.covariance, rtol=0, atol=1e-10 * np.abs(exact.covariance).max()
    )


def test_nuts_reproduces_the_exact_posterior(exact, problem):
    laplace = laplace_approximation(
        flow_inversion_model, problem, map_values={"toroidal": exact.t, "poloidal": exact.s}
    )
    result = run_nuts(
        flow_inversion_model,
        problem,
        laplace=laplace,
        num_warmup=200,
        num_samples=800,
        num_chains=2,
        seed=3,
        progress_bar=False,
        coords=problem.coords(),
        dims=problem.dims(),
    )
    agreement = posterior_agreement(
        result.samples["toroidal"], result.samples["poloidal"], exact.vector, exact.covariance
    )
    # 1600 draws with bulk ESS > 800 (checked below): the error of a mean is < 0.035 sd and
    # of an sd < 4 % (the ESS of squares is lower than the bulk ESS on Gaussians), so
    # 0.2 sd and 15 % are > 4 standard errors even for the worst of 48 coefficients
    assert agreement["max_abs_mean_difference_sd"] < 0.2
    assert 0.85 < agreement["sd_ratio_min"] and agreement["sd_ratio_max"] < 1.15
    assert agreement["n_draws"] == 1600
    diagnostics = sampling_diagnostics(result.inference_data)
    assert diagnostics["r_hat_max"] < 1.02
    assert diagnostics["ess_bulk_min"] > 800
    assert diagnostics["divergences"] == 0
    posterior = result.inference_data.posterior
    assert posterior["toroidal"].dims == ("chain", "draw", "toroidal_coeff")
    assert list(posterior["poloidal_coeff"].values[:3]) == ["s_1_0", "s_1_1", "s_1_-1"]


def test_zero_weight_equations_are_masked(field):
    g, gdot = field
    lmax_sv = 13 + LMAX_FLOW
    weights = np.ones(lmax_sv * (lmax_sv + 2))
    weights[::3] = 0.0  # every third SV equation left out
    exact = invert_flow(g, gdot, LMAX_FLOW, damping=DAMPING, sv_weights=weights)
    problem = flow_inversion_problem(g, exact)
    values = {"toroidal": exact.t, "poloidal": exact.s}
    assert np.isfinite(float(potential_energy(flow_inversion_model, (problem,), {}, values)))
    laplace = laplace_approximation(flow_inversion_model, problem, map_values=values)
    covariance = _covariance_in_ts_order(laplace, exact.t.size)
    np.testing.assert_allclose(
        covariance, exact.covariance, rtol=0, atol=1e-9 * np.abs(exact.covariance).max()
    )


def test_bad_input(field, exact):
    g, _ = field
    bad = g.copy()
    bad[3] = np.nan
    with pytest.raises(NonFiniteError, match="NaN"):
        flow_inversion_problem(bad, exact)
    with pytest.raises(CoefficientShapeError, match="1-D"):
        flow_inversion_problem(np.stack([g, g]), exact)
    n = exact.t.size
    with pytest.raises(CoefficientShapeError, match="differ in shape"):
        posterior_agreement(
            np.zeros((10, n)), np.zeros((10, n - 1)), exact.vector, exact.covariance
        )
    with pytest.raises(CoefficientShapeError, match="coefficients"):
        posterior_agreement(
            np.zeros((10, n)), np.zeros((10, n)), exact.vector[:-1], exact.covariance[:-1, :-1]
        )
