"""States of the truth and of fitted models at an epoch, and the labelled records of a sweep.

See :mod:`bayescore.studies.regularisation` for the study's overview.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from bayescore.fields.spectrum import degree_correlation, lowes_spectrum
from bayescore.flow.diagnostics import flow_statistics, kinetic_energy_spectrum
from bayescore.flow.operator import sv_from_flow
from bayescore.models import (
    CoestimationProblem,
)
from bayescore.sh.indexing import resize_coefficients
from bayescore.studies.regularisation.mapping import _check_truth


def _state(g, sv, sa, sa_background, t, s, t_rate, s_rate, radius: float) -> dict:
    """Spectra and flow statistics of one state (truth or model) at an epoch (numpy)."""
    out = {
        "field_spectrum": np.asarray(lowes_spectrum(g, radius)),
        "sv_spectrum": np.asarray(lowes_spectrum(sv, radius)),
        "sa_spectrum": np.asarray(lowes_spectrum(sa, radius)),
        "sa_background_spectrum": np.asarray(lowes_spectrum(sa_background, radius)),
    }
    stats = flow_statistics(t, s)
    for key in (
        "kinetic_energy",
        "rms_speed",
        "toroidal_fraction",
        "geostrophic_fraction",
        "zonal_geostrophic_fraction",
    ):
        out[key] = float(stats[key])
    out["toroidal_spectrum"] = np.asarray(stats["toroidal_spectrum"])
    out["poloidal_spectrum"] = np.asarray(stats["poloidal_spectrum"])
    tor_rate, pol_rate = kinetic_energy_spectrum(t_rate, s_rate)
    out["toroidal_rate_spectrum"] = np.asarray(tor_rate)
    out["poloidal_rate_spectrum"] = np.asarray(pol_rate)
    return out


def _truth_state(problem: CoestimationProblem, truth, epoch: float, radius: float) -> dict:
    """The truth at the epoch: field, SV, exact SA, background SA, flow (numpy)."""
    _check_truth(truth)
    lmax_b, lmax_f = problem.lmax_core, problem.lmax_flow
    change = truth.secular_change(epoch, lmax_b)
    t, s = truth.flow(epoch)
    t_rate = truth.dataset["t_rate"].values
    s_rate = truth.dataset["s_rate"].values
    state = _state(
        resize_coefficients(truth.coeffs(epoch), lmax_b),
        change.sv,
        change.sa,
        change.sa_background,
        *(resize_coefficients(x, lmax_f) for x in (t, s, t_rate, s_rate)),
        radius,
    )
    state["coefficients"] = {"sv": change.sv, "sa": change.sa}
    return state


@jax.jit
def _fit_terms(problem: CoestimationProblem, values: dict, epoch):
    """Misfits, norms, energies and the model's SV/SA/background SA at the epoch."""
    core, tor, pol = values["core"], values["toroidal"], values["poloidal"]
    misfit = problem.frozen_flux_misfit(core, tor, pol)
    misfit_no_flow = problem.frozen_flux_misfit(core, jnp.zeros_like(tor), jnp.zeros_like(pol))

    def quad(block, gram, weights):
        return jnp.sum(weights * jnp.einsum("kc,kj,jc->c", block, gram, block))

    flow_norm = quad(tor, problem.flow_gram, problem.space_weights) + quad(
        pol, problem.flow_gram, problem.space_weights
    )
    flow_time_norm = quad(tor, problem.flow_gram_rate, problem.time_weights) + quad(
        pol, problem.flow_gram_rate, problem.time_weights
    )
    span = jnp.sum(problem.node_weights)
    gdot = problem.dpsi_nodes @ core
    # second derivative at the nodes: the basis' second derivative is exact (polynomials)
    sa_nodes = problem.time_basis(problem.nodes, 2) @ core
    rough = problem.roughness_weights
    sv_energy = jnp.sum(problem.node_weights * jnp.sum(rough * gdot**2, axis=-1)) / span
    sa_energy = jnp.sum(problem.node_weights * jnp.sum(rough * sa_nodes**2, axis=-1)) / span
    g = problem.time_basis(epoch) @ core
    sv = problem.time_basis(epoch, 1) @ core
    sa = problem.time_basis(epoch, 2) @ core
    flow_psi = problem.flow_time_basis(epoch)
    flow_dpsi = problem.flow_time_basis(epoch, 1)
    t, s = flow_psi @ tor, flow_psi @ pol
    t_rate, s_rate = flow_dpsi @ tor, flow_dpsi @ pol
    background = sv_from_flow(sv, t, s, lmax_sv=problem.lmax_core)
    field_prior = 0.5 * jnp.sum((core / problem.core_sd) ** 2)
    for name, sd in (
        ("static", problem.static_sd),
        ("external", problem.external_sd),
        ("bias", problem.bias_sd),
    ):
        if name in values:
            field_prior = field_prior + 0.5 * jnp.sum((values[name] / sd) ** 2)
    data = problem.data
    if data.likelihood == "gaussian":
        delta = problem.field_vector(values) - data.x_ref
        chi2 = delta @ (data.hessian @ delta) - 2.0 * data.gradient_ref @ delta + data.chi2_ref
    else:
        chi2 = jnp.nan
    return {
        "frozen_flux_misfit": misfit,
        "rho": misfit / misfit_no_flow,
        "flow_norm": flow_norm,
        "flow_time_norm": flow_time_norm,
        "sv_energy": sv_energy,
        "sa_energy": sa_energy,
        "field_prior_term": field_prior,
        "chi2": chi2,
        "g": g,
        "sv": sv,
        "sa": sa,
        "sa_background": background,
        "t": t,
        "s": s,
        "t_rate": t_rate,
        "s_rate": s_rate,
    }


def _fit_record(
    problem: CoestimationProblem,
    values: dict,
    dampings: dict,
    epoch: float,
    radius: float,
    truth_state: dict | None,
    residual_rms: bool,
) -> dict:
    """Everything the study reports about one MAP (numpy / floats)."""
    values = {k: jnp.asarray(v) for k, v in values.items()}
    terms = {k: np.asarray(v) for k, v in _fit_terms(problem, values, float(epoch)).items()}
    record = _state(
        terms["g"],
        terms["sv"],
        terms["sa"],
        terms["sa_background"],
        terms["t"],
        terms["s"],
        terms["t_rate"],
        terms["s_rate"],
        radius,
    )
    data = problem.data
    field = problem.field_vector(values)
    residual = None
    if residual_rms or data.likelihood != "gaussian":
        residual = np.asarray(data.value) - data.predict(field)
    chi2 = (
        float(terms["chi2"])
        if data.likelihood == "gaussian"
        else float(np.sum((residual / np.asarray(data.sigma)) ** 2))
    )
    record["chi2_per_datum"] = chi2 / data.n_data
    record["data_rms_nT"] = float(np.sqrt(np.mean(residual**2))) if residual is not None else np.nan
    for key in (
        "frozen_flux_misfit",
        "rho",
        "flow_norm",
        "flow_time_norm",
        "sv_energy",
        "sa_energy",
    ):
        record[key] = float(terms[key])
    record["data_term"] = 0.5 * chi2
    record["frozen_flux_term"] = dampings["lambda_frozen_flux"] * record["frozen_flux_misfit"]
    record["space_term"] = dampings["lambda_space"] * record["flow_norm"]
    record["time_term"] = dampings["lambda_time"] * record["flow_time_norm"]
    record["field_prior_term"] = float(terms["field_prior_term"])
    if truth_state is not None:
        record.update(_errors(terms["sv"], terms["sa"], truth_state, problem.lmax_core))
    return record


def _errors(sv, sa, truth_state: dict, lmax: int) -> dict:
    """Per-degree correlations and relative error powers against the truth."""
    out = {}
    for name, model in (("sv", sv), ("sa", sa)):
        true = truth_state["coefficients"][name]
        out[f"{name}_correlation"] = degree_correlation(model, true)
        diff = np.asarray(lowes_spectrum(model - true))
        ref = np.asarray(lowes_spectrum(true))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{name}_error"] = np.where(ref > 0, diff / np.where(ref > 0, ref, 1.0), np.nan)
    return out


# variable -> (dims after the leading one, units, description)
_VARIABLES = {
    "field_spectrum": ("degree", "nT^2", "Lowes spectrum of the core field at the epoch"),
    "sv_spectrum": ("degree", "(nT/yr)^2", "Lowes spectrum of the SV at the epoch"),
    "sa_spectrum": ("degree", "(nT/yr^2)^2", "Lowes spectrum of the SA at the epoch"),
    "sa_background_spectrum": (
        "degree",
        "(nT/yr^2)^2",
        "Lowes spectrum of the background SA P F(SV, u) (paper eq. 33) at the epoch",
    ),
    "toroidal_spectrum": ("flow_degree", "(km/yr)^2", "toroidal KE per degree at the epoch"),
    "poloidal_spectrum": ("flow_degree", "(km/yr)^2", "poloidal KE per degree at the epoch"),
    "toroidal_rate_spectrum": (
        "flow_degree",
        "(km/yr^2)^2",
        "mean square of the toroidal flow's time derivative per degree at the epoch",
    ),
    "poloidal_rate_spectrum": (
        "flow_degree",
        "(km/yr^2)^2",
        "mean square of the poloidal flow's time derivative per degree at the epoch",
    ),
    "kinetic_energy": ("", "(km/yr)^2", "mean square speed over the CMB at the epoch"),
    "rms_speed": ("", "km/yr", "rms speed over the CMB at the epoch"),
    "toroidal_fraction": ("", "1", "toroidal share of KE at the epoch"),
    "geostrophic_fraction": (
        "",
        "1",
        "equatorially symmetric share of KE (toroidal l+m odd, poloidal l+m even)",
    ),
    "zonal_geostrophic_fraction": ("", "1", "share of KE in t_l0 with l odd"),
    "chi2_per_datum": ("", "1", "data chi^2 per datum"),
    "data_rms_nT": ("", "nT", "rms of the data residuals"),
    "frozen_flux_misfit": ("", "1", "sum_i w_i r_i^T W r_i (Phi_1 / lambda_1)"),
    "rho": ("", "1", "Phi_1(g, u) / Phi_1(g, 0) (paper eq. 31)"),
    "flow_norm": ("", "norm x yr", "span integral of the spatial flow norm"),
    "flow_time_norm": ("", "km^4/yr^3", "int_span int_S |du/dt|^2 dS dt"),
    "sv_energy": ("", "(nT/yr)^2", "span mean of the CMB mean square of dBr/dt"),
    "sa_energy": ("", "(nT/yr^2)^2", "span mean of the CMB mean square of d2Br/dt2"),
    "data_term": ("", "1", "chi^2 / 2"),
    "frozen_flux_term": ("", "1", "lambda_frozen_flux x frozen_flux_misfit"),
    "space_term": ("", "1", "lambda_space x flow_norm"),
    "time_term": ("", "1", "lambda_time x flow_time_norm"),
    "field_prior_term": ("", "1", "quadratic term of the broad field prior"),
    "sv_correlation": ("degree", "1", "per-degree correlation of the SV with the truth's"),
    "sa_correlation": ("degree", "1", "per-degree correlation of the SA with the truth's"),
    "sv_error": ("degree", "1", "R_l(SV - SV_true) / R_l(SV_true)"),
    "sa_error": ("degree", "1", "R_l(SA - SA_true) / R_l(SA_true)"),
    "n_iterations": ("", "1", "Gauss-Newton iterations"),
    "converged": ("", "1", "whether Gauss-Newton converged"),
    "wall_time_s": ("", "s", "wall time of the MAP (warm start)"),
}
_STATE_KEYS = (
    "field_spectrum",
    "sv_spectrum",
    "sa_spectrum",
    "sa_background_spectrum",
    "toroidal_spectrum",
    "poloidal_spectrum",
    "toroidal_rate_spectrum",
    "poloidal_rate_spectrum",
    "kinetic_energy",
    "rms_speed",
    "toroidal_fraction",
    "geostrophic_fraction",
    "zonal_geostrophic_fraction",
)


def _stack(records: list, dim: str, names) -> dict:
    """Variables stacked along ``dim`` (missing entries NaN)."""
    out = {}
    for name in names:
        inner, units, description = _VARIABLES[name]
        template = next((r[name] for r in records if name in r), None)
        if template is None:
            continue
        shape = np.shape(template)
        rows = [
            np.asarray(r[name], dtype=float) if name in r else np.full(shape, np.nan)
            for r in records
        ]
        dims = (dim,) + ((inner,) if inner else ())
        out[name] = xr.Variable(
            dims, np.stack(rows), attrs={"units": units, "description": description}
        )
    return out


def _coords(problem: CoestimationProblem) -> dict:
    return {
        "degree": np.arange(1, problem.lmax_core + 1),
        "flow_degree": np.arange(1, problem.lmax_flow + 1),
    }
