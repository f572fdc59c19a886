"""Tests of bayescore.models: time bases, layouts, priors, likelihoods, frozen-flux term.

Every number is checked against an independent computation: closed forms (Legendre
orthogonality), scipy (multivariate normal, Laplace and Student-t densities, numerical
integration), direct field synthesis with :func:`bayescore.fields.synth`, automatic
differentiation, and the flow norms of :mod:`bayescore.flow.norms`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.stats
from jax.flatten_util import ravel_pytree
from numpyro.infer.util import log_density

import bayescore  # noqa: F401  (float64)
from bayescore.constants import CORE_RADIUS_KM
from bayescore.errors import (
    CoefficientShapeError,
    EpochOutOfRangeError,
    MalformedFileError,
    ModelConfigError,
    NonFiniteError,
)
from bayescore.fields import synth
from bayescore.fields.external import external_dipole_field
from bayescore.flow.norms import flow_norm, temporal_norm
from bayescore.flow.operator import sv_from_flow
from bayescore.models import (
    BlockLayout,
    TimeBlockGaussian,
    bspline_time_basis,
    build_problem,
    coestimation_model,
    flow_labels,
    frozen_flux_ratio,
    legendre_time_basis,
    usn_model,
)
from bayescore.sh.indexing import n_coefficients
from bayescore.synthetic.dataset import make_dataset

SPAN = (2004.5, 2005.5)
L_B, L_F, L_S = 3, 2, 4


class _LinearField:
    """A field model linear in time (for fast synthetic data)."""

    def __init__(self, g0, gdot, t0, span):
        self.g0, self.gdot, self.t0, self.span = g0, gdot, t0, span
        self.lmax = int(np.sqrt(g0.size + 1)) - 1

    def coeffs(self, t):
        t = np.asarray(t, dtype=float)
        return self.g0 + (t[..., None] - self.t0) * self.gdot


@pytest.fixture(scope="module")
def dataset():
    rng = np.random.default_rng(5)
    n = n_coefficients(L_S)
    degree = np.concatenate([[ell] * (2 * ell + 1) for ell in range(1, L_S + 1)])
    g0 = rng.standard_normal(n) * 3e4 * 0.3 ** (degree - 1)
    gdot = rng.standard_normal(n) * 30.0 * 0.5 ** (degree - 1)
    model = _LinearField(g0, gdot, 2005.0, SPAN)
    return make_dataset(
        model,
        n_satellite=80,
        n_observatory_sites=5,
        observatory_interval_days=120.0,
        sigma_nT={"satellite": 2.0, "observatory": 4.0},
        external_dipole=(20.0, -3.0, 4.0),
        observatory_bias_nT=50.0,
        seed=3,
    )


@pytest.fixture(scope="module")
def problem(dataset):
    return build_problem(
        dataset, L_B, legendre_time_basis(SPAN, 3), L_F, legendre_time_basis(SPAN, 2),
        lmax_static=L_S, external=True, observatory_biases=True,
    )  # fmt: skip


def _random_values(problem, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    values = {}
    for name, shape in problem.site_shapes().items():
        values[name] = rng.standard_normal(shape) * scale
    return values


# ------------------------------------------------------------------ time bases, layout
def test_legendre_gram_matches_orthogonality():
    basis = legendre_time_basis((2000.0, 2004.0), 5)
    # int_span P_i P_j dt = T / (2 i + 1) delta_ij (T = 4 yr): closed form; the times are
    # ~2000 yr, so mapping them onto [-1, 1] costs ~2000 eps ~ 1e-13 of rounding
    expected = np.diag(4.0 / (2 * np.arange(5) + 1))
    np.testing.assert_allclose(basis.gram(0), expected, atol=1e-11)
    # derivative Gram against numerical integration of numpy's Legendre derivatives
    x = np.polynomial.legendre.Legendre
    for i in range(5):
        for j in range(5):
            di, dj = x.basis(i).deriv(), x.basis(j).deriv()
            value = scipy.integrate.quad(lambda s, di=di, dj=dj: di(s) * dj(s), -1, 1)[0]
            # d/dt = (2/T) d/dx and dt = T/2 dx: factor 2/T = 0.5
            assert basis.gram(1)[i, j] == pytest.approx(0.5 * value, abs=1e-10)


def test_bspline_gram_matches_scipy_quadrature():
    basis = bspline_time_basis((2000.0, 2003.0), n_intervals=3, order=4)
    assert basis.n_functions == 6
    gram = basis.gram(2)

    def f(t, i, j):
        values = np.asarray(basis(np.array([t]), 2))[0]
        return values[i] * values[j]

    for i, j in [(0, 0), (1, 2), (3, 5), (5, 5)]:
        value = sum(
            scipy.integrate.quad(f, a, b, args=(i, j))[0]
            for a, b in zip(basis.breaks[:-1], basis.breaks[1:], strict=True)
        )
        assert gram[i, j] == pytest.approx(value, rel=1e-8, abs=1e-10)


def test_block_layout_matches_ravel_pytree():
    shapes = {"toroidal": (2, 3), "core": (3, 8), "bias": (6,), "external": (3,)}
    layout = BlockLayout.from_shapes(shapes)
    rng = np.random.default_rng(1)
    values = {k: jnp.asarray(rng.standard_normal(v)) for k, v in shapes.items()}
    flat, _ = ravel_pytree(values)
    np.testing.assert_array_equal(layout.pack(values), flat)
    unpacked = layout.unpack(flat)
    for name in shapes:
        np.testing.assert_array_equal(unpacked[name], values[name])
    with pytest.raises(CoefficientShapeError, match="shape"):
        layout.pack({**values, "core": jnp.zeros((2, 8))})


def test_flow_labels_use_negative_orders_for_sines():
    assert flow_labels(2, "t") == ["t_1_0", "t_1_1", "t_1_-1", "t_2_0", "t_2_1", "t_2_-1",
                                   "t_2_2", "t_2_-2"]  # fmt: skip


# ------------------------------------------------------------------ block Gaussian prior
def test_time_block_gaussian_matches_scipy():
    rng = np.random.default_rng(2)
    n, n_time = 4, 3
    factors = rng.standard_normal((n, n_time, n_time))
    blocks = factors @ np.swapaxes(factors, 1, 2) + 0.5 * np.eye(n_time)
    prior = TimeBlockGaussian(jnp.asarray(blocks))
    value = rng.standard_normal((n_time, n))
    dense = np.asarray(prior.dense_precision())
    # dense precision of C.reshape(-1) assembled independently
    expected = np.zeros((n_time * n, n_time * n))
    for j in range(n):
        index = np.arange(n_time) * n + j
        expected[np.ix_(index, index)] = blocks[j]
    np.testing.assert_allclose(dense, expected, rtol=1e-14)
    reference = scipy.stats.multivariate_normal(np.zeros(n * n_time), np.linalg.inv(expected))
    assert float(prior.log_prob(jnp.asarray(value))) == pytest.approx(
        reference.logpdf(value.reshape(-1)), rel=1e-12
    )
    draws = np.asarray(prior.sample(jax.random.PRNGKey(0), (40_000,))).reshape(40_000, -1)
    covariance = np.cov(draws.T)
    # Monte Carlo: sd of a covariance estimate ~ sqrt(2/N) sigma^2 ~ 0.7 % -> 5 % margin
    np.testing.assert_allclose(
        covariance, np.linalg.inv(expected), atol=0.05 * np.max(np.abs(covariance))
    )
    with pytest.raises(CoefficientShapeError):
        TimeBlockGaussian(jnp.ones((3, 2)))


# ------------------------------------------------------------------ likelihoods
def _direct_prediction(problem, dataset, values):
    """Data predicted by direct synthesis, independently of the design matrices."""
    t = dataset["t"].values
    r, theta, phi = dataset["r"].values, dataset["theta"].values, dataset["phi"].values
    component = dataset["component"].values.astype(int)
    core_t = np.asarray(problem.time_basis(t)) @ values["core"]
    coeffs = np.zeros((t.size, n_coefficients(L_S)))
    coeffs[:, : n_coefficients(L_B)] = core_t
    coeffs[:, n_coefficients(L_B) :] = values["static"]
    field = np.stack([np.asarray(b) for b in synth(coeffs, r, theta, phi)], axis=-1)
    external = np.stack(external_dipole_field(*values["external"], theta, phi), axis=-1)
    prediction = (field + external)[np.arange(t.size), component]
    site = dataset["site_index"].values if "site_index" in dataset else dataset["site"].values
    bias = np.where(site >= 0, values["bias"][np.maximum(3 * site + component, 0)], 0.0)
    return prediction + bias


def _values_near_reference(problem, seed):
    rng = np.random.default_rng(seed)
    x = np.asarray(problem.data.x_ref) + rng.standard_normal(problem.data.layout.size)
    return {k: np.asarray(v) for k, v in problem.data.layout.unpack(x).items()}


def test_gaussian_likelihood_from_normal_equations_is_exact(problem, dataset):
    values = _values_near_reference(problem, 0)
    residual = dataset["value"].values - _direct_prediction(problem, dataset, values)
    expected = np.sum(scipy.stats.norm.logpdf(residual, scale=dataset["sigma"].values))
    value = float(problem.data.log_likelihood(problem.field_vector(values)))
    # normal equations recentred at x_ref: relative agreement to ~1e-12 of the total
    assert value == pytest.approx(expected, rel=1e-10)
    stats = problem.data.residual_statistics(problem.field_vector(values))
    assert stats[("all", "all")]["rms"] == pytest.approx(np.sqrt(np.mean(residual**2)), rel=1e-10)


@pytest.mark.parametrize("likelihood", ["laplace", "student-t"])
def test_robust_likelihoods_match_scipy(dataset, likelihood):
    problem = build_problem(
        dataset, L_B, legendre_time_basis(SPAN, 3), None, lmax_static=L_S, external=True,
        observatory_biases=True, likelihood=likelihood, student_t_dof=3.0,
    )  # fmt: skip
    values = _values_near_reference(problem, 1)
    residual = dataset["value"].values - _direct_prediction(problem, dataset, values)
    sigma = dataset["sigma"].values
    if likelihood == "laplace":
        expected = np.sum(scipy.stats.laplace.logpdf(residual, scale=sigma))
    else:
        expected = np.sum(scipy.stats.t.logpdf(residual, 3.0, scale=sigma))
    value = float(problem.data.log_likelihood(problem.field_vector(values)))
    assert value == pytest.approx(expected, rel=1e-10)


# ------------------------------------------------------------------ priors as norms
def test_flow_prior_is_the_damped_norms(problem):
    lam_space, lam_time = 3.0e2, 2.0e-8
    values = _random_values(problem, 3, scale=5.0)
    prior = problem.flow_prior(lam_space, lam_time)
    quadratic = -(
        prior.log_prob(values["toroidal"]) - prior.log_prob(jnp.zeros_like(values["toroidal"]))
    )
    quadratic += -(
        prior.log_prob(values["poloidal"]) - prior.log_prob(jnp.zeros_like(values["poloidal"]))
    )
    # independent: the norms of bayescore.flow.norms by Gauss quadrature in time
    nodes, weights = np.polynomial.legendre.leggauss(8)
    times = 2005.0 + 0.5 * nodes
    basis = problem.flow_time_basis
    t = np.asarray(basis(times)) @ values["toroidal"]
    s = np.asarray(basis(times)) @ values["poloidal"]
    tdot = np.asarray(basis(times, 1)) @ values["toroidal"]
    sdot = np.asarray(basis(times, 1)) @ values["poloidal"]
    spatial = np.sum(0.5 * weights * np.asarray(flow_norm(t, s, "strong")))
    temporal = float(temporal_norm(tdot, sdot, 0.5 * weights))
    assert float(quadratic) == pytest.approx(lam_space * spatial + lam_time * temporal, rel=1e-10)


def test_usn_prior_is_the_cmb_roughness(problem):
    lam_span, lam_ends = 2.0e-5, 3.0e-6
    core = _random_values(problem, 4, scale=10.0)["core"]
    usn = np.asarray(problem.usn_core_prior(lam_span, lam_ends).dense_precision())
    broad = np.diag(1.0 / np.asarray(problem.core_sd).reshape(-1) ** 2)
    x = core.reshape(-1)
    quadratic = 0.5 * x @ (usn - broad) @ x
    # independent: mean square of d2Br/dt2 over the CMB by quadrature on a sphere grid
    mu, w_mu = np.polynomial.legendre.leggauss(8)
    phi = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    theta_grid, phi_grid = np.meshgrid(np.arccos(mu), phi, indexing="ij")
    area = np.outer(w_mu, np.full(phi.size, 2 * np.pi / phi.size)) / (4 * np.pi)

    def mean_square_sa(t):
        sa = np.asarray(problem.time_basis(np.array([t]), 2))[0] @ core
        b_r = np.asarray(synth(sa, CORE_RADIUS_KM, theta_grid, phi_grid)[0])
        return float(np.sum(area * b_r**2))

    nodes, weights = np.polynomial.legendre.leggauss(6)
    span_integral = sum(
        0.5 * w * mean_square_sa(2005.0 + 0.5 * x_) for x_, w in zip(nodes, weights, strict=True)
    )
    ends = mean_square_sa(SPAN[0]) + mean_square_sa(SPAN[1])
    assert quadratic == pytest.approx(lam_span * span_integral + lam_ends * ends, rel=1e-9)


# ------------------------------------------------------------------ frozen-flux term
def test_frozen_flux_gauss_newton_matches_autodiff(problem):
    problem = problem.with_sv_weights(np.linspace(0.5, 2.0, problem.n_sv))
    values = _random_values(problem, 5)
    values["core"] = values["core"] * 1e3

    def residuals(core, tor, pol):
        return problem.frozen_flux_residuals(core, tor, pol)

    jac = jax.jacfwd(residuals, argnums=(0, 1, 2))(
        values["core"], values["toroidal"], values["poloidal"]
    )
    names = ("core", "toroidal", "poloidal")
    flat = {n: j.reshape(j.shape[0], j.shape[1], -1) for n, j in zip(names, jac, strict=True)}
    w = np.asarray(problem.node_weights)
    big_w = np.asarray(problem.sv_weights)
    blocks = problem.frozen_flux_gauss_newton(
        values["core"], values["toroidal"], values["poloidal"]
    )
    for (a, b), block in blocks.items():
        expected = np.einsum("i,isx,s,isy->xy", w, flat[a], big_w, flat[b])
        np.testing.assert_allclose(block, expected, rtol=1e-9, atol=1e-9 * np.max(np.abs(expected)))


@pytest.mark.parametrize("kind", ["legendre", "bspline"])
def test_frozen_flux_nodes_integrate_the_misfit_exactly(dataset, kind):
    if kind == "legendre":
        bases = (legendre_time_basis(SPAN, 3), legendre_time_basis(SPAN, 2))
    else:  # different break points for field and flow: the rule uses their union
        bases = (bspline_time_basis(SPAN, 2, order=3), bspline_time_basis(SPAN, 3, order=2))
    problem = build_problem(dataset, L_B, bases[0], L_F, bases[1]).with_sv_weights(
        np.linspace(0.5, 2.0, n_coefficients(L_B + L_F))
    )
    values = _random_values(problem, 10)
    core, tor, pol = values["core"] * 1e3, values["toroidal"], values["poloidal"]
    misfit = float(problem.frozen_flux_misfit(core, tor, pol))
    # independent: 20-point Gauss rule on each of 6 equal pieces (the union of all breaks
    # lies on that grid), residuals synthesised at those times
    edges = np.linspace(*SPAN, 7)
    x, w = np.polynomial.legendre.leggauss(20)
    times = np.concatenate(
        [a + 0.5 * (b - a) * (x + 1) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    )
    weights = np.tile(0.5 * np.diff(edges)[0] * w, 6)
    g = np.asarray(problem.field_at(core, times))
    gdot = np.asarray(problem.field_at(core, times, 1))
    t, s = (np.asarray(v) for v in problem.flow_at(tor, pol, times))
    sv = np.asarray(sv_from_flow(g, t, s))
    residual = np.pad(gdot, ((0, 0), (0, sv.shape[1] - gdot.shape[1]))) - sv
    expected = np.sum(weights * np.sum(np.asarray(problem.sv_weights) * residual**2, axis=1))
    assert misfit == pytest.approx(expected, rel=1e-10)


def test_frozen_flux_consistent_state_has_zero_residual(dataset):
    # field linear in time, steady flow, one node at mid-span with L_SV = L_B: choose the
    # SV as the frozen-flux SV of the field and flow there -> residual and rho vanish
    problem = build_problem(
        dataset, L_B, legendre_time_basis(SPAN, 2), L_F, legendre_time_basis(SPAN, 1),
        lmax_sv=L_B, frozen_flux_nodes=([2005.0], [1.0]),
    ).with_sv_weights(np.ones(n_coefficients(L_B)))  # fmt: skip
    rng = np.random.default_rng(6)
    g = rng.standard_normal(n_coefficients(L_B)) * 1e4
    t, s = rng.standard_normal((2, 1, n_coefficients(L_F))) * 10.0
    gdot = np.asarray(sv_from_flow(g, t[0], s[0], lmax_sv=L_B))
    core = np.stack([g, 0.5 * gdot])  # P_1 = 2 (t - 2005) / 1 yr: dg/dt = 2 C_1
    np.testing.assert_allclose(problem.frozen_flux_residuals(core, t, s), 0.0, atol=1e-9)
    assert float(frozen_flux_ratio(problem, core, t, s)) < 1e-24
    assert float(frozen_flux_ratio(problem, core, 0 * t, 0 * s)) == pytest.approx(1.0)


# ------------------------------------------------------------------ the NumPyro models
def test_coestimation_log_density_is_the_sum_of_its_terms(problem):
    problem = problem.with_sv_weights(np.linspace(0.5, 2.0, problem.n_sv))
    values = {**_values_near_reference(problem, 7), **{
        k: v for k, v in _random_values(problem, 8).items() if k in ("toroidal", "poloidal")
    }}  # fmt: skip
    lam = {"lambda_frozen_flux": 10.0, "lambda_space": 1e2, "lambda_time": 1e-8}
    log_joint, _ = log_density(coestimation_model, (problem,), lam, values)
    # independent pieces: scipy normals for the field priors, the flow prior, the data and
    # the normalised frozen-flux pseudo-likelihood sum_ij log N(r_ij; 0, 1/(2 lam w_i W_j))
    expected = np.sum(scipy.stats.norm.logpdf(values["core"], scale=np.asarray(problem.core_sd)))
    expected += np.sum(
        scipy.stats.norm.logpdf(values["static"], scale=np.asarray(problem.static_sd))
    )
    expected += np.sum(scipy.stats.norm.logpdf(values["external"], scale=100.0))
    expected += np.sum(scipy.stats.norm.logpdf(values["bias"], scale=1000.0))
    flow_prior = problem.flow_prior(lam["lambda_space"], lam["lambda_time"])
    expected += float(
        flow_prior.log_prob(values["toroidal"]) + flow_prior.log_prob(values["poloidal"])
    )
    expected += float(problem.data.log_likelihood(problem.field_vector(values)))
    r = np.asarray(
        problem.frozen_flux_residuals(values["core"], values["toroidal"], values["poloidal"])
    )
    precision = 2 * lam["lambda_frozen_flux"] * np.outer(problem.node_weights, problem.sv_weights)
    expected += np.sum(scipy.stats.norm.logpdf(r, scale=1 / np.sqrt(precision)))
    assert float(log_joint) == pytest.approx(expected, rel=1e-10)


def test_usn_model_has_no_flow(problem):
    values = _values_near_reference(problem, 9)
    log_joint, trace = log_density(usn_model, (problem,), {}, values)
    assert set(n for n, s in trace.items() if s["type"] == "sample" and not s["is_observed"]) == {
        "core", "static", "external", "bias"
    }  # fmt: skip
    assert np.isfinite(float(log_joint))


def test_coords_and_dims_label_every_site(problem):
    coords, dims = problem.coords(), problem.dims()
    assert coords["core_coeff"][:3] == ["g_1_0", "g_1_1", "h_1_1"]
    assert coords["static_coeff"][0] == "g_4_0"
    assert coords["toroidal_coeff"][:3] == ["t_1_0", "t_1_1", "t_1_-1"]
    for name, shape in problem.site_shapes().items():
        assert [len(coords[d]) for d in dims[name]] == list(shape)


# ------------------------------------------------------------------ bad input
def test_coords_dims_and_units_of_site_labels(problem):
    labels = problem.site_labels()
    assert labels["coords"].keys() == problem.coords().keys()
    assert labels["dims"] == problem.dims()
    units = labels["units"]
    assert {name: units[name] for name in problem.site_shapes()} == {
        "bias": "nT", "core": "nT", "external": "nT", "static": "nT",
        "toroidal": "km/yr", "poloidal": "km/yr",
    }  # fmt: skip
    assert units["lambda_frozen_flux"] == "1/yr" and units["lambda_space"] == "yr"  # strong


@pytest.mark.parametrize(
    "variable, index, value, message",
    [("r", 5, 3000.0, "core-mantle boundary"), ("theta", 7, 3.5, "theta"),
     ("theta", 2, -0.1, "theta"), ("component", 4, 3, "component")],
)  # fmt: skip
def test_build_problem_validates_a_dataset_directly(dataset, variable, index, value, message):
    """The full checks of bayescore.observations apply: r >= c (not just r > 0), theta in
    [0, pi], component codes."""
    bad = dataset.copy(deep=True)
    bad[variable][index] = value
    with pytest.raises(MalformedFileError, match=message):
        build_problem(bad, L_B)


def test_bad_input_raises_specific_errors(dataset, problem):
    with pytest.raises(ModelConfigError, match="likelihood"):
        build_problem(dataset, L_B, likelihood="cauchy")
    with pytest.raises(ModelConfigError, match="norm"):
        build_problem(dataset, L_B, norm="enstrophy")
    with pytest.raises(MalformedFileError, match="sigma"):
        build_problem(dataset.drop_vars("sigma"), L_B)
    bad = dataset.copy(deep=True)
    bad["value"][3] = np.nan
    with pytest.raises(NonFiniteError, match="value"):
        build_problem(bad, L_B)
    bad = dataset.copy(deep=True)
    bad["sigma"][0] = 0.0
    with pytest.raises(ValueError, match="sigma"):
        build_problem(bad, L_B)
    with pytest.raises(EpochOutOfRangeError):
        build_problem(dataset, L_B, span=(2004.8, 2005.2))
    with pytest.raises(ValueError, match="lmax_static"):
        build_problem(dataset, L_B, lmax_static=L_B - 1)
    with pytest.raises(CoefficientShapeError, match="sv_weights"):
        problem.with_sv_weights(np.ones(3))
    with pytest.raises(ValueError, match="SV weights"):
        log_density(coestimation_model, (problem,), {}, _random_values(problem))
    flowless = build_problem(dataset, L_B, legendre_time_basis(SPAN, 2), None)
    with pytest.raises(ValueError, match="no flow"):
        log_density(coestimation_model, (flowless,), {}, _random_values(flowless))
    with pytest.raises(ValueError, match="breaks"):
        bspline_time_basis(SPAN, breaks=[2004.0, 2005.5])
    with pytest.raises(ValueError, match="hyperprior"):
        log_density(
            usn_model, (problem,), {"hyperpriors": {"lambda_span": (1.0, 0.1)}},
            {**_values_near_reference(problem, 0), "lambda_span": 0.5},
        )  # fmt: skip


@pytest.mark.parametrize(
    "name, value",
    [("lambda_space", 0.0), ("lambda_frozen_flux", -1.0), ("lambda_space", float("nan")),
     ("lambda_time", -1e-8), ("lambda_frozen_flux", [1.0, 2.0])],
)  # fmt: skip
def test_bad_dampings_are_named_errors(name, value):
    """A zero spatial damping would make the flow prior improper (NaN Cholesky): say so."""
    from bayescore.models.coestimation import damping

    with pytest.raises(ValueError, match=name):
        damping(name, value, None)


def test_zero_temporal_damping_is_allowed():
    from bayescore.models.coestimation import damping

    assert float(damping("lambda_time", 0.0, None)) == 0.0
