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
* :func:`labelled_dataset`: site values (an estimate, or draws with leading dimensions)
  as an :class:`xarray.Dataset` with named dimensions, coordinates and ``units``; the
  results of the drivers use it for their ``to_xarray``.
* :func:`save_inference_data`: netCDF written atomically.
"""

from __future__ import annotations

import os

import numpy as np
import xarray as xr

from bayescore.atomic import atomic_path
from bayescore.errors import CoefficientShapeError

__all__ = [
    "PointEstimateViews",
    "bfmi",
    "labelled_dataset",
    "sampling_diagnostics",
    "sampling_summary",
    "save_inference_data",
    "to_inference_data",
]


def labelled_dataset(
    values: dict,
    *,
    coords: dict | None = None,
    dims: dict | None = None,
    units: dict | None = None,
    attrs: dict | None = None,
    leading_dims: tuple[str, ...] = (),
) -> xr.Dataset:
    """Site values as an :class:`xarray.Dataset` with named dimensions and units.

    Parameters
    ----------
    values : dict of str to array_like
        One array per site, with the ``leading_dims`` first.
    coords : dict, optional
        Labels per dimension name (used where the sizes match).
    dims : dict, optional
        Dimension names per site, without the leading ones; a site without them (or with
        a wrong number) gets ``<site>_dim_<i>``.
    units : dict, optional
        ``units`` attribute per site.
    attrs : dict, optional
        Attributes of the dataset.
    leading_dims : tuple of str, default ()
        Names of the leading dimensions (e.g. ``("chain", "draw")``); they get integer
        coordinates.

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    CoefficientShapeError
        A site with fewer dimensions than ``leading_dims``, or a coordinate whose length
        differs from the site's size along that dimension.
    """
    coords = dict(coords or {})
    dims = dict(dims or {})
    units = dict(units or {})
    n_lead = len(leading_dims)
    variables = {}
    used = {}
    for name, array in values.items():
        array = np.asarray(array)
        if array.ndim < n_lead:
            raise CoefficientShapeError(
                f"{name!r} must have leading {tuple(leading_dims)} dimensions, got {array.shape}"
            )
        names = list(dims.get(name, []))
        extra = array.ndim - n_lead
        if len(names) != extra:
            names = [f"{name}_dim_{i}" for i in range(extra)]
        for dim, size in zip(names, array.shape[n_lead:], strict=True):
            if dim in coords and len(coords[dim]) == size:
                used[dim] = coords[dim]
            elif dim in coords:
                raise CoefficientShapeError(
                    f"coordinate {dim!r} has {len(coords[dim])} labels but {name!r} has "
                    f"{size} entries along it"
                )
        attributes = {"units": units[name]} if name in units else {}
        variables[name] = ([*leading_dims, *names], array, attributes)
    if values and n_lead:
        first = np.shape(next(iter(values.values())))
        for i, dim in enumerate(leading_dims):
            used[dim] = np.arange(first[i])
    return xr.Dataset(variables, coords=used, attrs=dict(attrs or {}))


class PointEstimateViews:
    """Labelled views of a point estimate held as ``values`` (a dict of site arrays).

    Mixed into the MAP results (:class:`bayescore.infer.GaussNewtonResult`,
    :class:`~bayescore.infer.MAPResult`); a subclass gives :meth:`estimate_attrs`.
    """

    values: dict

    def estimate_attrs(self) -> dict:
        """Attributes of the labelled views (what the estimate is, convergence)."""
        return {}

    def to_xarray(self, coords=None, dims=None, units=None) -> xr.Dataset:
        """The estimate as an :class:`xarray.Dataset`, one variable per site.

        Parameters
        ----------
        coords : dict, optional
            Labels per dimension name (e.g. ``core_coeff = g_1_0, g_1_1, ...``).
        dims : dict, optional
            Dimension names per site (sites without them get ``<site>_dim_<i>``, none
            for scalars such as dampings).
        units : dict, optional
            ``units`` attribute per site. For a co-estimation problem pass
            ``**problem.site_labels()``.

        Returns
        -------
        xarray.Dataset
        """
        return labelled_dataset(
            self.values, coords=coords, dims=dims, units=units, attrs=self.estimate_attrs()
        )

    def to_inference_data(self, coords=None, dims=None, units=None):
        """The estimate as ArviZ InferenceData: a posterior of one chain and one draw.

        Parameters
        ----------
        coords, dims, units : dict, optional
            As :meth:`to_xarray`.

        Returns
        -------
        arviz.InferenceData
        """
        return to_inference_data(
            {name: np.asarray(value)[None, None] for name, value in self.values.items()},
            coords=coords,
            dims=dims,
            units=units,
            attrs=self.estimate_attrs(),
        )


def _dataset(values: dict, coords, dims, attrs, units=None) -> xr.Dataset:
    return labelled_dataset(
        values, coords=coords, dims=dims, units=units, attrs=attrs, leading_dims=("chain", "draw")
    )


def to_inference_data(
    samples: dict,
    sample_stats: dict | None = None,
    *,
    coords: dict | None = None,
    dims: dict | None = None,
    attrs: dict | None = None,
    units: dict | None = None,
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
    units : dict, optional
        ``units`` attribute per posterior variable.

    Returns
    -------
    arviz.InferenceData (or xarray.DataTree with ArviZ >= 1.0)
    """
    import arviz as az

    groups = {"posterior": _dataset(samples, coords, dims, attrs, units)}
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


def _finite_extreme(reduce, values) -> float:
    """``reduce`` over the non-NaN ``values``; NaN, without numpy's "All-NaN slice"
    warning, when there are none (e.g. the split r_hat of a single chain)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    return float(reduce(values)) if values.size else float("nan")


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
            "r_hat_max": _finite_extreme(np.max, r_hat[name].values),
            "ess_bulk_min": _finite_extreme(np.min, ess_bulk[name].values),
            "ess_tail_min": _finite_extreme(np.min, ess_tail[name].values),
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


def sampling_summary(diagnostics: dict) -> dict:
    """The headline numbers of :func:`sampling_diagnostics`, as plain Python numbers.

    Parameters
    ----------
    diagnostics : dict
        The output of :func:`sampling_diagnostics`.

    Returns
    -------
    dict
        ``r_hat_max``, ``ess_bulk_min``, ``ess_tail_min`` (draws), ``ess_bulk_per_s``
        (draws/s), ``divergences``, ``bfmi`` (one per chain) and ``n_draws``; NaN where a
        diagnostic is undefined (r_hat of one chain), which strict JSON writes as null.
    """
    bfmi = np.atleast_1d(np.asarray(diagnostics.get("bfmi", np.nan), dtype=float))
    return {
        "r_hat_max": float(diagnostics["r_hat_max"]),
        "ess_bulk_min": float(diagnostics["ess_bulk_min"]),
        "ess_tail_min": float(diagnostics["ess_tail_min"]),
        "ess_bulk_per_s": float(diagnostics["ess_bulk_per_s"]),
        "divergences": int(diagnostics.get("divergences", 0)),
        "bfmi": [float(v) for v in bfmi],
        "n_draws": int(diagnostics["n_draws"]),
    }


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
