"""``bayescore field``: a report of a geomagnetic field model at one epoch."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bayescore.cli.common import add_common_options, add_model_option, default_epoch, load_model

__all__ = ["add_parser", "field_report", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    """Register the ``field`` sub-command."""
    parser = sub.add_parser(
        "field",
        help="Lowes spectra of field, SV and SA at the surface and CMB, dipole moment",
        description="Report a field model at one epoch: Lowes-Mauersberger spectra of the "
        "field, its secular variation and acceleration at Earth's surface (a = 6371.2 km) "
        "and at the core-mantle boundary (c = 3485 km), and the dipole moment.",
    )
    add_model_option(parser)
    parser.add_argument(
        "--epoch",
        type=float,
        default=None,
        help="decimal year (default: 2025.0 for IGRF, 1980.0 for gufm1, else mid-span)",
    )
    add_common_options(parser, default_out="bayescore_output/field")
    parser.set_defaults(run=run)
    return parser


def field_report(model, epoch: float):
    """Spectra and dipole moment of ``model`` at ``epoch``.

    Parameters
    ----------
    model : bayescore.fields.FieldModel
        The field model.
    epoch : float
        Decimal year inside ``model.span``.

    Returns
    -------
    spectra : xarray.Dataset
        Lowes spectra per degree: ``field_surface``, ``field_cmb`` (nT^2), ``sv_surface``,
        ``sv_cmb`` ((nT/yr)^2), ``sa_surface``, ``sa_cmb`` ((nT/yr^2)^2).
    summary : dict
        Epoch, model name, lmax, dipole moment (A m^2) and degree-1 powers.
    """
    import xarray as xr

    from bayescore.constants import CORE_RADIUS_KM, EARTH_REFERENCE_RADIUS_KM
    from bayescore.fields import dipole_moment, lowes_spectrum

    epoch = float(epoch)
    series = {"field": model.coeffs(epoch), "sv": model.sv(epoch), "sa": model.sa(epoch)}
    units = {"field": "nT^2", "sv": "(nT/yr)^2", "sa": "(nT/yr^2)^2"}
    degrees = np.arange(1, model.lmax + 1)
    data_vars = {}
    for kind, coeffs in series.items():
        for where, radius in (("surface", EARTH_REFERENCE_RADIUS_KM), ("cmb", CORE_RADIUS_KM)):
            spectrum = np.asarray(lowes_spectrum(coeffs, radius))
            data_vars[f"{kind}_{where}"] = (
                "degree",
                spectrum,
                {
                    "units": units[kind],
                    "radius_km": radius,
                    "long_name": f"Lowes-Mauersberger {kind.upper()} spectrum at the {where}",
                },
            )
    spectra = xr.Dataset(
        data_vars,
        coords={"degree": degrees},
        attrs={"model": model.name, "epoch": epoch},
    )
    moment = float(dipole_moment(series["field"]))
    summary = {
        "model": model.name,
        "epoch": epoch,
        "lmax": int(model.lmax),
        "dipole_moment_Am2": moment,
        "field_degree1_surface_nT2": float(spectra["field_surface"][0]),
        "field_total_surface_nT2": float(spectra["field_surface"].sum()),
        "field_total_cmb_nT2": float(spectra["field_cmb"].sum()),
        "sv_total_surface_nT2_per_yr2": float(spectra["sv_surface"].sum()),
    }
    return spectra, summary


def spectra_figure(spectra):
    """Three panels (field, SV, SA) of Lowes spectra at the surface and at the CMB."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 4), constrained_layout=True)
    titles = {"field": "Main field", "sv": "Secular variation", "sa": "Secular acceleration"}
    for ax, kind in zip(axes, ("field", "sv", "sa"), strict=True):
        if not np.any(np.asarray(spectra[f"{kind}_surface"]) > 0):
            ax.text(
                0.5,
                0.5,
                f"{titles[kind]} is zero\n(piecewise-linear time dependence)",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
        for where, style in (("surface", "o-"), ("cmb", "s--")):
            var = spectra[f"{kind}_{where}"]
            values = np.asarray(var, dtype=float)
            # degrees a model leaves out of its SV/SA (e.g. IGRF's predictive SV above
            # degree 8) hold only rounding noise: they are not drawn
            values = np.where(values > 1e-12 * max(values.max(), 0.0), values, np.nan)
            if np.all(np.isnan(values)):
                continue
            ax.semilogy(
                spectra["degree"],
                values,
                style,
                ms=4,
                label=f"{where} (r = {var.attrs['radius_km']:g} km)",
            )
        ax.set_xlabel("spherical-harmonic degree l")
        ax.set_ylabel(f"R_l [{spectra[f'{kind}_surface'].attrs['units']}]")
        ax.set_title(titles[kind])
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.suptitle(f"{spectra.attrs['model']} at {spectra.attrs['epoch']:.2f}")
    return fig


def run(args: argparse.Namespace) -> int:
    """Execute ``bayescore field``."""
    from bayescore.atomic import atomic_path, save_figure, write_json

    model = load_model(args.model)
    epoch = default_epoch(args.model, model) if args.epoch is None else args.epoch
    spectra, summary = field_report(model, epoch)
    out = Path(args.out)
    with atomic_path(out / "field_spectra.nc") as tmp:
        spectra.to_netcdf(tmp)
    fig = spectra_figure(spectra)
    save_figure(fig, out / "field_spectra.png")
    summary["outputs"] = {
        "summary": str(out / "summary.json"),
        "spectra": str(out / "field_spectra.nc"),
        "figure": str(out / "field_spectra.png"),
    }
    write_json(out / "summary.json", summary)
    print(f"{summary['model']} at {epoch:.2f} (lmax {summary['lmax']})")
    print(f"  dipole moment                  {summary['dipole_moment_Am2']:.4e} A m^2")
    print(f"  degree-1 power at the surface  {summary['field_degree1_surface_nT2']:.4e} nT^2")
    print(f"  total power at the surface     {summary['field_total_surface_nT2']:.4e} nT^2")
    print(f"  total power at the CMB         {summary['field_total_cmb_nT2']:.4e} nT^2")
    print(
        f"  SV power at the surface        {summary['sv_total_surface_nT2_per_yr2']:.4e} (nT/yr)^2"
    )
    print(f"  figures and data in {out}/")
    return 0
