"""Diagnostics of co-estimation fits: data misfit tables and the frozen-flux ratio rho.

* :func:`misfit_table`: mean, rms and chi2 per datum of the residuals per source and
  component (the layout of Table 1 of Lesur et al. 2010, Earth Planets Space 62, 503);
* :func:`coestimation_diagnostics`: rho (eq. 31) per posterior draw and the misfit at the
  posterior mean of an ArviZ posterior.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayescore.models.problem import CoestimationProblem, frozen_flux_ratio

__all__ = ["coestimation_diagnostics", "misfit_table"]


def misfit_table(problem: CoestimationProblem, values: dict) -> xr.Dataset:
    """Data misfit of a field model per source and component (paper Table 1 style).

    Parameters
    ----------
    problem : CoestimationProblem
    values : dict
        Field site values (``core`` and the optional blocks).

    Returns
    -------
    xarray.Dataset
        Variables ``n``, ``mean`` (nT), ``rms`` (nT) and ``chi2_per_datum`` over
        ``group`` labels ``"satellite B_r"``, ..., ``"all"``.
    """
    stats = problem.data.residual_statistics(problem.field_vector(values))
    labels = [f"{s} {c}" if s != "all" else "all" for s, c in stats]
    return xr.Dataset(
        {
            key: ("group", np.array([v[key] for v in stats.values()]), {"units": unit})
            for key, unit in (("n", "1"), ("mean", "nT"), ("rms", "nT"), ("chi2_per_datum", "1"))
        },
        coords={"group": labels},
    )


def _posterior(idata) -> xr.Dataset:
    if hasattr(idata, "posterior"):
        group = idata.posterior
        return group.to_dataset() if hasattr(group, "to_dataset") else group
    return idata["posterior"].to_dataset()


def coestimation_diagnostics(
    idata, problem: CoestimationProblem, max_draws: int | None = None
) -> dict:
    """Frozen-flux ratio rho per draw and data misfit at the posterior mean.

    Parameters
    ----------
    idata : arviz.InferenceData
        Posterior of :func:`bayescore.models.coestimation_model` (or of the USN model:
        then rho is omitted).
    problem : CoestimationProblem
        With SV weights set (for rho).
    max_draws : int, optional
        Evaluate rho on at most this many draws (evenly thinned).

    Returns
    -------
    dict
        ``rho`` (array (chain, draw), draws thinned to ``max_draws``), ``rho_median``,
        ``rho_max`` (when the posterior holds core and flow), ``misfit``
        (:func:`misfit_table` at the posterior mean, when it holds every field block).
    """
    posterior = _posterior(idata)
    out = {}
    names = set(posterior.data_vars)
    if {"core", "toroidal", "poloidal"} <= names and problem.sv_weights is not None:
        draws = slice(None)
        n_total = posterior.sizes["chain"] * posterior.sizes["draw"]
        if max_draws is not None and n_total > max_draws:
            draws = slice(None, None, int(np.ceil(n_total / max_draws)))
        rho = np.asarray(
            frozen_flux_ratio(
                problem,
                posterior["core"].values[:, draws],
                posterior["toroidal"].values[:, draws],
                posterior["poloidal"].values[:, draws],
            )
        )
        out.update({"rho": rho, "rho_median": float(np.median(rho)), "rho_max": float(np.max(rho))})
    mean_values = {
        name: posterior[name].values.mean(axis=(0, 1))
        for name in problem.field_sites
        if name in posterior
    }
    if set(mean_values) == set(problem.field_sites):
        out["misfit"] = misfit_table(problem, mean_values)
    return out
