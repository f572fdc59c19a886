"""ArviZ conversion and diagnostics of posterior draws.

* :func:`to_inference_data`: draws (chain, draw, ...) and sampler statistics to an
  :class:`arviz.InferenceData` with labelled dimensions (``core_coeff = g_1_0, g_1_1,
  h_1_1, ...``, ``toroidal_coeff = t_1_0, t_1_1, t_1_-1, ...``, time-basis index), built
  from :class:`xarray.Dataset` groups so that it does not depend on ArviZ's converters
  (arviz 0.23; with ArviZ >= 1.0, whose data object is an :class:`xarray.DataTree`, a
  DataTree with the same groups is returned).
* :func:`sampling_diagnostics`: split r_hat (rank-normalised), bulk and tail ESS (ArviZ),
  divergences and the Bayesian fraction of missing information (BFMI, per chain:
  ``sum_t (E_t - E_{t-1})^2 / sum_t (E_t - mean E)^2``), with ESS per second.
* :func:`coestimation_diagnostics`: the Lesur frozen-flux ratio rho (eq. 31) per draw and
  the data misfit (mean, rms, chi2 per datum) per source and component at the posterior
  mean.
* :func:`save_inference_data`: netCDF written atomically.
"""

from __future__ import annotations

import os

import numpy as np
import xarray as xr

from bayescore.atomic import atomic_path

__all__ = [
    "bfmi",
    "coestimation_diagnostics",
    "misfit_table",
    "sampling_diagnostics",
    "save_inference_data",
    "to_inference_data",
]


def _dataset(values: dict, coords: dict | None, dims: dict | None, attrs: dict | None):
    coords = dict(coords or {})
    dims = dict(dims or {})
    variables = {}
    used = {}
    for name, array in values.items():
        array = np.asarray(array)
        if array.ndim < 2:
            raise ValueError(
                f"{name!r} must have leading (chain, draw) dimensions, got {array.shape}"
            )
        names = list(dims.get(name, []))
        extra = array.ndim - 2
        if len(names) != extra:
            names = [f"{name}_dim_{i}" for i in range(extra)]
        for dim, size in zip(names, array.shape[2:], strict=True):
            if dim in coords and len(coords[dim]) == size:
                used[dim] = coords[dim]
            elif dim in coords:
                raise ValueError(
                    f"coordinate {dim!r} has {len(coords[dim])} labels but {name!r} has "
                    f"{size} entries along it"
                )
        variables[name] = (["chain", "draw", *names], array)
    first = next(iter(values.values()))
    used["chain"] = np.arange(np.shape(first)[0])
    used["draw"] = np.arange(np.shape(first)[1])
    return xr.Dataset(variables, coords=used, attrs=dict(attrs or {}))


def to_inference_data(
    samples: dict,
    sample_stats: dict | None = None,
    *,
    coords: dict | None = None,
    dims: dict | None = None,
    attrs: dict | None = None,
):
    """Posterior draws as ArviZ InferenceData with labelled dimensions.

    Parameters
    ----------
    samples : dict of str to array_like
        Each of shape (chain, draw, ...).
    sample_stats : dict of str to array_like, optional
        Each of shape (chain, draw): ArviZ names (``diverging``, ``energy``, ``lp``,
        ``step_size``, ``tree_depth``, ``n_steps``, ``acceptance_rate``).
    coords : dict, optional
        Labels per dimension name.
    dims : dict, optional
        Dimension names per variable (without chain and draw).
    attrs : dict, optional
        Attributes of the groups.

    Returns
    -------
    arviz.InferenceData (or xarray.DataTree with ArviZ >= 1.0)
    """
    import arviz as az

    groups = {"posterior": _dataset(samples, coords, dims, attrs)}
    if sample_stats:
        groups["sample_stats"] = _dataset(sample_stats, None, None, attrs)
    if hasattr(az, "InferenceData"):
        return az.InferenceData(**groups)
    return xr.DataTree.from_dict({f"/{name}": ds for name, ds in groups.items()})


def _group(idata, name):
    if hasattr(idata, name):
        group = getattr(idata, name)
        return group.to_dataset() if hasattr(group, "to_dataset") else group
    return idata[name].to_dataset()


def bfmi(energy) -> np.ndarray:
    """Bayesian fraction of missing information per chain.

    Parameters
    ----------
    energy : array_like, shape (chain, draw)
        Hamiltonian energy of each draw.

    Returns
    -------
    numpy.ndarray, shape (chain,)
        ``sum (E_t - E_{t-1})^2 / sum (E_t - mean(E))^2``; below 0.3 signals poor
        exploration of the energy distribution.
    """
    energy = np.atleast_2d(np.asarray(energy, dtype=float))
    numerator = np.sum(np.diff(energy, axis=1) ** 2, axis=1)
    denominator = np.sum((energy - energy.mean(axis=1, keepdims=True)) ** 2, axis=1)
    return numerator / denominator


def sampling_diagnostics(idata, var_names=None, wall_time_s: float | None = None) -> dict:
    """Convergence diagnostics of posterior draws.

    Parameters
    ----------
    idata : arviz.InferenceData
        With a ``posterior`` group (and ``sample_stats`` for divergences and BFMI).
    var_names : list of str, optional
        Variables to check (default all posterior variables).
    wall_time_s : float, optional
        Run time for the ESS per second (default the posterior's ``wall_time_s``
        attribute, when present).

    Returns
    -------
    dict
        ``r_hat_max``, ``ess_bulk_min``, ``ess_tail_min``, ``ess_bulk_per_s``,
        ``divergences``, ``bfmi`` (per chain), ``n_draws`` and per-variable
        ``r_hat``/``ess_bulk``/``ess_tail`` extremes under ``"per_variable"``.
    """
    import arviz as az

    posterior = _group(idata, "posterior")
    names = list(var_names or posterior.data_vars)
    posterior = posterior[names]
    r_hat = az.rhat(posterior, method="rank")
    ess_bulk = az.ess(posterior, method="bulk")
    ess_tail = az.ess(posterior, method="tail")
    per_variable = {
        name: {
            "r_hat_max": float(np.nanmax(r_hat[name].values)),
            "ess_bulk_min": float(np.nanmin(ess_bulk[name].values)),
            "ess_tail_min": float(np.nanmin(ess_tail[name].values)),
        }
        for name in names
    }
    out = {
        "r_hat_max": max(v["r_hat_max"] for v in per_variable.values()),
        "ess_bulk_min": min(v["ess_bulk_min"] for v in per_variable.values()),
        "ess_tail_min": min(v["ess_tail_min"] for v in per_variable.values()),
        "n_draws": int(posterior.sizes["chain"] * posterior.sizes["draw"]),
        "per_variable": per_variable,
    }
    wall = wall_time_s if wall_time_s is not None else posterior.attrs.get("wall_time_s")
    out["ess_bulk_per_s"] = float(out["ess_bulk_min"] / wall) if wall else float("nan")
    try:
        stats = _group(idata, "sample_stats")
    except (AttributeError, KeyError):
        stats = None
    if stats is not None and "diverging" in stats:
        out["divergences"] = int(np.sum(stats["diverging"].values))
    if stats is not None and "energy" in stats:
        out["bfmi"] = bfmi(stats["energy"].values)
    return out


def misfit_table(problem, values: dict) -> xr.Dataset:
    """Data misfit of a field model per source and component (paper Table 1 style).

    Parameters
    ----------
    problem : bayescore.models.CoestimationProblem
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


def coestimation_diagnostics(idata, problem, max_draws: int | None = None) -> dict:
    """Frozen-flux ratio rho per draw and data misfit at the posterior mean.

    Parameters
    ----------
    idata : arviz.InferenceData
        Posterior of :func:`bayescore.models.coestimation_model` (or of the USN model:
        then rho is omitted).
    problem : bayescore.models.CoestimationProblem
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
    from bayescore.models.coestimation import frozen_flux_ratio

    posterior = _group(idata, "posterior")
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


def save_inference_data(idata, path) -> os.PathLike:
    """Write InferenceData to netCDF atomically (temporary file, then rename).

    Parameters
    ----------
    idata : arviz.InferenceData or xarray.DataTree
    path : str or path-like
        Destination (``.nc``).

    Returns
    -------
    pathlib.Path
    """
    from pathlib import Path

    with atomic_path(path) as tmp:
        idata.to_netcdf(str(tmp))
    return Path(path)
