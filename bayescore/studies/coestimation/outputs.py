"""Labelled outputs of a co-estimation study: SV and SA spectra at the CMB, the misfit per
data source and the labelled estimate (Lesur et al. 2010).
"""

from __future__ import annotations

import numpy as np

__all__ = ["labelled_estimate", "misfit_by_source", "spectra_at_cmb"]


def misfit_by_source(table) -> dict:
    """Rms residual (nT) and chi2 per datum per data source, from a misfit table.

    Parameters
    ----------
    table : xarray.Dataset
        :func:`bayescore.models.misfit_table` (rows ``group`` "SOURCE component").

    Returns
    -------
    dict
        ``{source: {"n", "rms_nT", "chi2_per_datum"}}`` for "satellite", "observatory"
        and "all" where present, pooled over components by the number of data.
    """
    groups = [str(g) for g in table["group"].values]
    n = table["n"].values.astype(float)
    rms = table["rms"].values
    chi2 = table["chi2_per_datum"].values
    out = {}
    for source in ("satellite", "observatory", "all"):
        rows = [i for i, g in enumerate(groups) if g.split()[0] == source]
        if rows:
            weight = n[rows] / n[rows].sum()
            out[source] = {
                "n": int(n[rows].sum()),
                "rms_nT": float(np.sqrt(np.sum(weight * rms[rows] ** 2))),
                "chi2_per_datum": float(np.sum(weight * chi2[rows])),
            }
    return out


def spectra_at_cmb(problem, epoch, cores: dict, truth_sv_sa=None, draws=None):
    """SV and SA Lowes spectra at the CMB over ``degree`` (xarray.Dataset)."""
    import xarray as xr

    from bayescore.constants import CORE_RADIUS_KM
    from bayescore.fields import lowes_spectrum

    degrees = np.arange(1, problem.lmax_core + 1)
    units = {"sv": "(nT/yr)^2", "sa": "(nT/yr^2)^2"}
    data_vars = {}

    def add(kind, label, coeffs, what):
        data_vars[f"{kind}_cmb_{label}"] = (
            "degree",
            np.asarray(lowes_spectrum(coeffs, CORE_RADIUS_KM)),
            {
                "units": units[kind],
                "radius_km": CORE_RADIUS_KM,
                "long_name": f"Lowes {kind.upper()} spectrum at the CMB, {what}",
            },
        )

    for label, core in cores.items():
        for kind, derivative in (("sv", 1), ("sa", 2)):
            add(kind, label, np.asarray(problem.field_at(core, epoch, derivative)), label)
    if truth_sv_sa is not None:
        add("sv", "truth", truth_sv_sa[0], "truth")
        add("sa", "truth", truth_sv_sa[1], "truth")
    if draws is not None:
        for kind, derivative in (("sv", 1), ("sa", 2)):
            coeffs = np.asarray(problem.time_basis(epoch, derivative) @ draws)
            power = np.asarray(lowes_spectrum(coeffs, CORE_RADIUS_KM))
            low, high = np.percentile(power, [5.0, 95.0], axis=0)
            for name, values in (("p05", low), ("p95", high)):
                data_vars[f"{kind}_cmb_{name}"] = (
                    "degree",
                    values,
                    {
                        "units": units[kind],
                        "radius_km": CORE_RADIUS_KM,
                        "long_name": f"{name[1:]}th percentile of the posterior "
                        f"{kind.upper()} spectrum at the CMB",
                    },
                )
    return xr.Dataset(data_vars, coords={"degree": degrees}, attrs={"epoch": float(epoch)})


def labelled_estimate(problem, gn, laplace, spectra, tables: dict, usn, attrs: dict):
    import xarray as xr

    labels = problem.site_labels()
    estimate = gn.to_xarray(**labels)
    for name in gn.values:
        estimate[name].attrs["long_name"] = f"MAP {name}"
    data_vars = {name: estimate[name] for name in gn.values}
    if laplace is not None:
        sd = laplace.to_xarray(**labels)
        for name in laplace.site_sd():
            data_vars[f"{name}_sd"] = sd[f"{name}_sd"]
            data_vars[f"{name}_sd"].attrs["long_name"] = f"Laplace posterior sd of {name}"
    if usn is not None:
        data_vars["usn_core"] = usn.to_xarray(**labels)["core"]
        data_vars["usn_core"].attrs["long_name"] = "core block of the USN (field-only) model"
    epoch = spectra.attrs["epoch"]
    for kind, derivative, unit in (("sv", 1, "nT/yr"), ("sa", 2, "nT/yr^2")):
        data_vars[f"{kind}_at_epoch"] = (
            "core_coeff",
            np.asarray(problem.field_at(gn.values["core"], epoch, derivative)),
            {"units": unit, "long_name": f"MAP {kind.upper()} at the epoch (r = a)"},
        )
    ds = xr.Dataset(data_vars, coords=dict(labels["coords"]))
    misfit = xr.concat(
        [table.expand_dims(model=[label]) for label, table in tables.items()], dim="model"
    )
    misfit = misfit.rename({name: f"misfit_{name}" for name in misfit.data_vars})
    history = gn.history.rename({name: f"gauss_newton_{name}" for name in gn.history.data_vars})
    ds = xr.merge([ds, spectra, misfit, history], combine_attrs="drop_conflicts")
    ds.attrs = attrs
    return ds
