"""
Posterior uncertainty of a co-estimated core flow
=================================================

The co-estimation model of Lesur et al. (2010) fits a time-dependent core field to
satellite and observatory data while asking that its secular variation be explained by
a core flow under the frozen-flux hypothesis (:func:`bayescore.models.coestimation_model`).
Written as a Bayesian model, it has a posterior over the field *and* the flow. This
example runs the whole workflow on a small synthetic data set whose truth is known:

1. the MAP by Gauss-Newton iterations from the paper's starting model, and the Laplace
   (Gaussian) approximation of the posterior there;
2. NUTS in coordinates whitened by the Laplace approximation, with the usual ArviZ
   diagnostics (split r_hat, bulk and tail ESS, divergences, BFMI), trace, rank and
   energy plots, and Lesur's frozen-flux ratio rho;
3. the posterior of the flow at the central epoch on a grid at the core-mantle boundary
   (:mod:`bayescore.flow.uncertainty`): mean speed, its standard deviation, and how often
   the true flow lies inside the 95 % credible intervals.
"""

# %%
# Setup
# -----
# The size follows the gallery convention (``examples/README.md``). The small size
# (degree 4, ~1300 data, 2 chains of 200 draws after 100 warm-up steps) spends most of
# its time compiling; the full size (degree 8, ~11,000 data, 4 chains of 500 draws) takes
# about 70 s of CPU time, a few minutes on a busy two-core machine.
import os
import time
import warnings

import arviz as az
import jax
import matplotlib.pyplot as plt
import numpy as np

import bayescore  # noqa: F401  (switches JAX to float64)
from bayescore.flow.norms import coefficient_weights, temporal_weights
from bayescore.flow.uncertainty import (
    credible_interval_coverage,
    flow_posterior_statistics,
    flow_samples_at,
    plot_speed_uncertainty_map,
)
from bayescore.flow.velocity import Flow
from bayescore.infer import sampling_diagnostics
from bayescore.models import TimeBlockGaussian, coestimation_diagnostics, legendre_time_basis
from bayescore.studies.coestimation import run_coestimation_study
from bayescore.synthetic import frozen_flux_truth, make_dataset

# ArviZ's plots call a matplotlib helper in a way deprecated since matplotlib 3.11; the
# warning concerns ArviZ, not this example, and is kept out of its output.
warnings.filterwarnings("ignore", message="Passing a dict or None as alias_mapping", module="arviz")

SIZE = os.environ.get("BAYESCORE_EXAMPLE_SIZE") or ("small" if os.environ.get("CI") else "full")
if SIZE not in ("small", "full"):
    raise ValueError(f"BAYESCORE_EXAMPLE_SIZE must be 'small' or 'full', not {SIZE!r}")

CONFIG = {
    "small": {"lmax": 4, "n_satellite": 300, "n_sites": 10, "chains": 2, "warmup": 100,
              "draws": 200, "grid": (46, 91)},
    "full": {"lmax": 8, "n_satellite": 3000, "n_sites": 60, "chains": 4, "warmup": 500,
             "draws": 500, "grid": (91, 181)},
}[SIZE]  # fmt: skip
L = CONFIG["lmax"]  # L_B = L_F = L_SV
SPAN = (2004.5, 2005.5)  # decimal years
EPOCH = 2005.0  # the centre of the span
DAMPINGS = {"lambda_frozen_flux": 1.0e4, "lambda_space": 1.0e3, "lambda_time": 5.0e-9}
FIELD_BASIS = legendre_time_basis(SPAN, 3)  # the field: quadratic in time
FLOW_BASIS = legendre_time_basis(SPAN, 2)  # the flow: linear in time
start = time.perf_counter()

# %%
# A synthetic truth drawn from the model's own prior
# --------------------------------------------------
# The true flow is one draw from the model's flow prior (the strong norm with damping
# lambda_space and the temporal norm with lambda_time, on the linear time basis). Its
# coefficients on the basis ``psi_0 = 1``, ``psi_1 = P_1(2 (t - 2005) / 1 yr)`` give
# the flow at 2005.0 and its rate of change ``2 x block 1`` per year. The field starts
# from IGRF-14 in 2005 and is advected by this flow exactly
# (:func:`bayescore.synthetic.frozen_flux_truth`); the data are CHAMP-like satellite
# vectors and monthly observatory means with 2 nT Gaussian noise.
#
# Drawing the truth from the prior makes the check of the credible intervals fair: for
# such a truth a calibrated posterior contains it in 95 % of its 95 % intervals.
blocks = 2.0 * (
    DAMPINGS["lambda_space"] * coefficient_weights(L, "strong")[:, None, None]
    * FLOW_BASIS.gram(0)[None]
    + DAMPINGS["lambda_time"] * temporal_weights(L)[:, None, None] * FLOW_BASIS.gram(1)[None]
)  # fmt: skip
key_t, key_s = jax.random.split(jax.random.PRNGKey(3))
flow_prior = TimeBlockGaussian(blocks)
true_toroidal = np.asarray(flow_prior.sample(key_t))
true_poloidal = np.asarray(flow_prior.sample(key_s))
truth = frozen_flux_truth(
    None, EPOCH, SPAN, L, L,
    flow=(true_toroidal[0], true_poloidal[0]),
    flow_time_change=(2.0 * true_toroidal[1], 2.0 * true_poloidal[1]),
)  # fmt: skip
data = make_dataset(
    truth, n_satellite=CONFIG["n_satellite"], n_observatory_sites=CONFIG["n_sites"], seed=2
)
print(f"size {SIZE}: L_B = L_F = {L}, {data.sizes['datum']} scalar data")

# %%
# MAP by Gauss-Newton and the Laplace approximation
# -------------------------------------------------
# The starting model is the paper's: a field fitted without the frozen-flux term (USN)
# and the flow inverted from its SV. Gauss-Newton then solves the joint problem in a few
# iterations; the Gauss-Newton Hessian at the MAP is the precision of the Laplace
# approximation. ``lmax_sv = L`` keeps the SV equations at the degrees the truth obeys
# exactly (see ``tests/test_infer.py``).
#
# The NUTS of the next section runs in the same call: the study
# (:func:`bayescore.studies.coestimation.run_coestimation_study`, the workflow of
# ``bayescore coestimate``) goes from the data to the MAP, the Laplace approximation and
# the NUTS draws.
study = run_coestimation_study(
    data,
    truth=truth,
    span=SPAN,
    epoch=EPOCH,
    lmax_field=L,
    lmax_flow=L,
    lmax_sv=L,
    time_basis=FIELD_BASIS,
    flow_time_basis=FLOW_BASIS,
    dampings=DAMPINGS,
    method="nuts",
    chains=CONFIG["chains"],
    warmup=CONFIG["warmup"],
    draws=CONFIG["draws"],
    seed=1,
)
problem, gn, laplace, nuts = study.problem, study.gauss_newton, study.laplace, study.nuts
if not gn.converged:
    raise RuntimeError("Gauss-Newton did not converge")
print(
    f"Gauss-Newton: {gn.n_iterations} iterations, {gn.theta.size} parameters, "
    f"rho at the MAP = {study.summary['map']['rho']:.2e}  "
    f"({time.perf_counter() - start:.1f} s so far)"
)

# %%
# NUTS, whitened by the Laplace approximation
# -------------------------------------------
# The sampler runs in coordinates where the Laplace approximation is a standard normal
# (:func:`bayescore.infer.run_nuts`); the chains start at draws of the approximation.
# The output is an ArviZ ``InferenceData`` labelled with the problem's coordinates:
# ``core`` over (``time_basis``, ``core_coeff`` = g_1_0, g_1_1, h_1_1, ...) and
# ``toroidal``/``poloidal`` over (``flow_time_basis``, ``t_1_0, t_1_1, t_1_-1, ...``).
idata = study.to_inference_data()
diagnostics = sampling_diagnostics(idata)
extra = coestimation_diagnostics(idata, problem, max_draws=200)
print(
    f"NUTS: {nuts.num_chains} chains x {nuts.num_samples} draws (+{nuts.num_warmup} warm-up), "
    f"{nuts.chain_method}, {nuts.wall_time_s:.1f} s"
)
print(f"  max split r_hat      {diagnostics['r_hat_max']:.3f}")
print(
    f"  min bulk / tail ESS  {diagnostics['ess_bulk_min']:.0f} / {diagnostics['ess_tail_min']:.0f}"
)
print(f"  bulk ESS per second  {diagnostics['ess_bulk_per_s']:.1f}")
print(f"  divergences          {diagnostics['divergences']}")
print(f"  BFMI per chain       {np.array2string(diagnostics['bfmi'], precision=2)}")
print(f"  rho median / max     {extra['rho_median']:.2e} / {extra['rho_max']:.2e}")
print(f"  {'site':9s} {'max r_hat':>9s} {'min ESS bulk':>12s} {'min ESS tail':>12s}")
for name, values in diagnostics["per_variable"].items():
    print(
        f"  {name:9s} {values['r_hat_max']:9.3f} {values['ess_bulk_min']:12.0f} "
        f"{values['ess_tail_min']:12.0f}"
    )
if diagnostics["divergences"] > 0 or diagnostics["r_hat_max"] > 1.1:
    raise RuntimeError(f"NUTS did not converge: {diagnostics}")

# %%
# Trace, rank and energy plots
# ----------------------------
# A few labelled parameters: the axial dipole g_1_0 and the sectoral h_2_2 on the first
# time-basis function (the constant Legendre polynomial, so the coefficient is the
# field's average over the span, nT), and the toroidal t_1_0 (the solid-body rotation,
# km/yr) and poloidal s_2_1 of the flow's constant part (grey lines: their true values).
# Well-mixed chains overlap in the traces and have flat rank histograms; the energy plot
# compares the marginal energy distribution with that of its changes between draws
# (BFMI in the legend).
var_names = ["core", "toroidal", "poloidal"]
coords = {
    "time_basis": [0],
    "core_coeff": ["g_1_0", "h_2_2"],
    "flow_time_basis": [0],
    "toroidal_coeff": ["t_1_0"],
    "poloidal_coeff": ["s_2_1"],
}
labels = [
    ("g_1_0, time-basis function 0", "nT"),
    ("h_2_2, time-basis function 0", "nT"),
    ("t_1_0, flow time-basis function 0", "km/yr"),
    ("s_2_1, flow time-basis function 0", "km/yr"),
]
truth_lines = [  # the true flow coefficients, drawn as vertical/horizontal lines
    ("toroidal", {"flow_time_basis": 0, "toroidal_coeff": "t_1_0"}, true_toroidal[0, 0]),
    ("poloidal", {"flow_time_basis": 0, "poloidal_coeff": "s_2_1"}, true_poloidal[0, 4]),
]
axes = az.plot_trace(idata, var_names=var_names, coords=coords, compact=False,
                     lines=truth_lines, figsize=(7.5, 10))  # fmt: skip
for row, (label, unit) in zip(axes, labels, strict=True):
    row[0].set_title(label)
    row[0].set_xlabel(f"value ({unit})")
    row[0].set_ylabel("density")
    row[1].set_title(label)
    row[1].set_xlabel("draw")
    row[1].set_ylabel(f"value ({unit})")
    for ax in row:
        ax.ticklabel_format(axis="both", useOffset=False)
    row[0].xaxis.set_major_locator(plt.MaxNLocator(4))  # full values of g_1_0 are long
axes[0, 0].figure.suptitle("Traces of four coefficients (one colour per chain)")
axes[0, 0].figure.tight_layout()

fig, axes = plt.subplots(2, 2, figsize=(7.5, 6.5), constrained_layout=True)
az.plot_rank(idata, var_names=var_names, coords=coords, ax=axes)
for ax, (label, _) in zip(axes.ravel(), labels, strict=True):
    ax.set_title(label, fontsize="medium")
    ax.set_xlabel("rank among all draws")
    ax.set_ylabel("chain")
fig.suptitle("Rank histograms per chain: flat bars mean well-mixed chains")

ax = az.plot_energy(idata, figsize=(7, 4.5))
ax.set_xlabel("energy minus its mean (dimensionless: negative log density)")
ax.set_ylabel("density")
ax.set_title("NUTS energy: marginal and transition distributions")

# %%
# Posterior of the flow at 2005.0
# -------------------------------
# The flow at an epoch is ``psi(epoch) @ toroidal`` per draw
# (:func:`bayescore.flow.uncertainty.flow_samples_at`). The velocity at the CMB is then
# evaluated for every draw at once on a latitude-longitude grid, giving the posterior
# mean and standard deviation of u_theta, u_phi and the speed and their 2.5 %, 50 % and
# 97.5 % quantiles. The same is done with draws of the Laplace approximation: for this
# nearly linear problem the two agree.
t_draws, s_draws = flow_samples_at(idata, EPOCH, problem)
n_lat, n_lon = CONFIG["grid"]
stats = flow_posterior_statistics(t_draws, s_draws, n_lat=n_lat, n_lon=n_lon, epoch=EPOCH)
laplace_draws = laplace.sample(t_draws.shape[0] * t_draws.shape[1], seed=4)
t_lap, s_lap = flow_samples_at(laplace_draws, EPOCH, problem)
stats_laplace = flow_posterior_statistics(t_lap, s_lap, n_lat=n_lat, n_lon=n_lon, epoch=EPOCH)
weights = np.cos(np.deg2rad(stats["lat"].values))[:, None]


def area_mean(field):
    """Mean over the sphere of a (lat, lon) field on the regular grid (cos-lat weights)."""
    return float(np.sum(weights * field) / (np.sum(weights) * field.shape[1]))


true_t, true_s = truth.flow(EPOCH)
lat_g, lon_g = np.meshgrid(stats["lat"].values, stats["lon"].values, indexing="ij")
true_speed = np.hypot(*Flow(true_t, true_s).velocity(np.deg2rad(90.0 - lat_g), np.deg2rad(lon_g)))
print(f"{stats.attrs['n_draws']} posterior draws of the flow at {EPOCH} (areal means, km/yr):")
print(f"  {'':34s} {'NUTS':>7s} {'Laplace':>8s}")
for label, key in (
    ("posterior mean speed", "speed_mean"),
    ("speed of the posterior-mean flow", "speed_of_mean"),
    ("posterior sd of the speed", "speed_sd"),
    ("posterior sd of u_theta", "u_theta_sd"),
    ("posterior sd of u_phi", "u_phi_sd"),
):
    print(
        f"  {label:34s} {area_mean(stats[key].values):7.2f} "
        f"{area_mean(stats_laplace[key].values):8.2f}"
    )
print(f"  {'speed of the truth':34s} {area_mean(true_speed):7.2f}")

# %%
# How often is the truth inside the 95 % intervals?
# -------------------------------------------------
# The share of the CMB's area where the true u_theta, u_phi and speed lie inside the
# posterior's equal-tailed 95 % credible intervals, and the share of the flow
# coefficients at 2005.0 whose truth lies inside their marginal 95 % intervals.
# Neighbouring grid points (and coefficients) are correlated, so these shares scatter
# around 95 % by more than independent trials would; for a truth drawn from the prior
# they should not fall far below it.
coverage = credible_interval_coverage(stats, true_t, true_s, level=0.95)
draws_ts = np.concatenate([t_draws, s_draws], axis=-1).reshape(-1, 2 * t_draws.shape[-1])
lower, upper = np.quantile(draws_ts, [0.025, 0.975], axis=0)
truth_ts = np.concatenate([true_t, true_s])
inside_coefficients = float(np.mean((lower <= truth_ts) & (truth_ts <= upper)))
print("truth inside the 95 % credible intervals:")
for name, share in coverage.items():
    print(f"  {name:8s} {100 * share:5.1f} % of the CMB area")
print(f"  flow coefficients: {100 * inside_coefficients:5.1f} % of {truth_ts.size}")

# %%
# Maps of the posterior flow speed
# --------------------------------
# Top: the posterior-mean speed at the CMB with arrows of the posterior-mean flow, and
# the posterior standard deviation of the speed. Bottom: the true speed on the same
# colour scale, and the true speed's distance from the posterior mean in posterior
# standard deviations (within -+2 in about 95 % of the area for a calibrated posterior).
axes = plot_speed_uncertainty_map(stats, Flow(true_t, true_s), arrow_spacing=20.0)
axes[0].figure.set_size_inches(7.5, 5.2)  # the width of the page's text column
axes[2].set_title("True flow speed (the synthetic truth)")
axes[3].set_title("(true speed - posterior mean) / posterior sd")
print(f"total run time {time.perf_counter() - start:.1f} s")
