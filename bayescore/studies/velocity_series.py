"""Core-surface velocity series at a site and its neighbours, for
:mod:`bayescore.studies.site_velocity` (see that module for the choices made).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import xarray as xr

from bayescore.errors import (
    EpochOutOfRangeError,
    ForecastConfigError,
    NonFiniteError,
    SeriesShapeError,
    UnevenSamplingError,
)
from bayescore.flow.sites import DEFAULT_SITES

__all__ = ["COMPONENTS", "GUFM1_KNOT_SPACING_YR", "site_velocity_series"]


#: Velocity components of the series, in this order.
COMPONENTS = ("u_theta", "u_phi")


#: Spacing of gufm1's B-spline knots, years.
GUFM1_KNOT_SPACING_YR = 2.5


def _epoch_grid(start, end, step) -> np.ndarray:
    values = np.array([start, end, step], dtype=float)
    if not np.all(np.isfinite(values)):
        raise NonFiniteError(f"start, end and step must be finite, got {start}, {end}, {step}")
    if not step > 0:
        raise ForecastConfigError(f"step must be positive (years), got {step!r}")
    if not end > start:
        raise ForecastConfigError(f"end ({end}) must be later than start ({start})")
    n_steps = math.floor((end - start) / step + 1e-9)
    return start + step * np.arange(n_steps + 1)


def site_velocity_series(
    model=None,
    start: float = 1935.0,
    end: float = 1990.0,
    step: float = 1.0,
    lmax_flow: int = 14,
    norm: str = "strong",
    damping: float | None = None,
    target_rms: float = 10.0,
    reference_epoch: float = 1980.0,
    sv_weights="uniform",
    temporal_damping: float | None = None,
    sites: Mapping[str, tuple[float, float]] | None = None,
) -> xr.Dataset:
    """Velocity time series at named sites of the CMB from flows inverted from a field model.

    The flows of all epochs are solved together by
    :func:`bayescore.flow.series.invert_flow_series` with one damping; see the module
    docstring for why the defaults are uniform SV weights and a damping tuned at 1980.

    Parameters
    ----------
    model : bayescore.fields.FieldModel, optional
        Main-field model with ``coeffs(t)`` (nT) and ``sv(t)`` (nT/yr); default gufm1
        (:func:`bayescore.fields.load_gufm1`, read through ``$BAYESCORE_DATA``).
    start, end : float
        First and last epoch, decimal years (default 1935-1990); both inside the model's
        span.
    step : float
        Sampling interval, years (default 1). The epochs are ``start, start + step, ...``
        up to ``end``. gufm1's knots are 2.5 yr apart (:data:`GUFM1_KNOT_SPACING_YR`):
        finer sampling interpolates the same splines.
    lmax_flow : int
        Degree L_F of the flow (default 14).
    norm : {"strong", "weak", "energy"}
        Spatial norm of the prior (default Bloxham's strong norm).
    damping : float, optional
        The damping lambda, used for every epoch. When given, ``target_rms`` and
        ``reference_epoch`` are not used.
    target_rms : float
        Without ``damping``: rms speed over the CMB (km/yr, default 10) that the damping
        reproduces at ``reference_epoch``.
    reference_epoch : float
        Epoch at which the damping is tuned (default 1980.0), inside the model's span.
    sv_weights : {"uniform", "lesur", "cmb"} or array_like
        SV weights, as in :func:`bayescore.flow.series.invert_flow_series` (default
        ``"uniform"``). A per-epoch array (K, n_sv) needs an explicit ``damping``.
    temporal_damping : float, optional
        Couple the epochs by the temporal norm (default None: independent epochs).
    sites : mapping of str to (latitude, longitude), optional
        Site names and positions in degrees; default
        :data:`bayescore.flow.sites.DEFAULT_SITES` (the centre first).

    Returns
    -------
    xarray.Dataset
        ``velocity`` (time, site, component) in km/yr with components ``u_theta``
        (southward) and ``u_phi`` (eastward) at r = 3485 km; coordinates ``time``
        (decimal years), ``site``, ``component``, ``latitude`` and ``longitude`` (degrees)
        of each site; the flow diagnostics ``rms_speed`` (km/yr), ``toroidal_fraction``
        and ``solid_body_drift`` (deg/yr) over time; attributes of the inversion (model,
        damping, norm, degrees, weights, target, reference epoch, step).

    Raises
    ------
    EpochOutOfRangeError
        An epoch (or the reference epoch) outside the model's span.
    ValueError
        ``end <= start``, ``step <= 0``, a non-positive damping or target, unknown norm.
    NonFiniteError
        Non-finite start, end or step.
    """
    from bayescore.flow.damping import find_damping_for_rms
    from bayescore.flow.series import invert_flow_series
    from bayescore.flow.sites import site_velocities

    epochs = _epoch_grid(start, end, step)
    if model is None:
        from bayescore.fields import load_gufm1

        model = load_gufm1()
    span = getattr(model, "span", None)
    if span is not None:
        for what, values in (("epochs", epochs), ("reference_epoch", [reference_epoch])):
            values = np.asarray(values, float)
            if damping is None or what == "epochs":
                outside = (values < span[0]) | (values > span[1])
                if np.any(outside):
                    raise EpochOutOfRangeError(
                        f"{what} {values[outside][0]:g} lies outside the span "
                        f"{span[0]:g}-{span[1]:g} of model {getattr(model, 'name', '?')!r}"
                    )
    if damping is None:
        if target_rms is None or not np.isfinite(target_rms) or not target_rms > 0:
            raise ForecastConfigError(
                f"target_rms must be a positive rms speed (km/yr), got {target_rms!r}"
            )
        if not isinstance(sv_weights, str) and np.ndim(sv_weights) != 1:
            raise ForecastConfigError(
                "per-epoch sv_weights need an explicit damping (the damping is tuned at "
                "one reference epoch)"
            )
        damping = find_damping_for_rms(
            model.coeffs(float(reference_epoch)),
            model.sv(float(reference_epoch)),
            int(lmax_flow),
            float(target_rms),
            norm=norm,
            sv_weights=sv_weights,
        )
        tuned = True
    else:
        tuned = False
    flows = invert_flow_series(
        model,
        epochs,
        int(lmax_flow),
        norm=norm,
        damping=float(damping),
        sv_weights=sv_weights,
        temporal_damping=temporal_damping,
    )
    sites = dict(DEFAULT_SITES if sites is None else sites)
    velocities = site_velocities(flows, sites)
    stacked = xr.concat(
        [velocities[name] for name in COMPONENTS],
        dim=xr.DataArray(list(COMPONENTS), dims="component", name="component"),
    ).transpose("time", "site", "component")
    stacked.attrs = {
        "units": "km/yr",
        "long_name": "core-surface velocity (u_theta southward, u_phi eastward)",
        "radius_km": velocities["u_theta"].attrs.get("radius_km"),
    }
    diagnostics = flows.diagnostics
    dataset = xr.Dataset(
        {
            "velocity": stacked,
            "rms_speed": ("time", np.asarray(diagnostics["rms_speed"]), {"units": "km/yr"}),
            "toroidal_fraction": (
                "time",
                np.asarray(diagnostics["toroidal_fraction"]),
                {"units": "1"},
            ),
            "solid_body_drift": (
                "time",
                np.asarray(diagnostics["solid_body_drift"]),
                {"units": "deg/yr", "long_name": "solid-body drift, eastward positive"},
            ),
        },
        coords={"time": ("time", epochs, {"units": "year"})},
    )
    weights_name = sv_weights if isinstance(sv_weights, str) else "custom"
    dataset.attrs = {
        "model": str(getattr(model, "name", "model")),
        "damping": float(damping),
        "damping_tuned_to_target_rms": int(tuned),
        "target_rms_km_per_yr": float(target_rms) if tuned else np.nan,
        "reference_epoch": float(reference_epoch) if tuned else np.nan,
        "norm": norm,
        "lmax_flow": int(lmax_flow),
        "lmax_sv": int(flows.lmax_sv),
        "sv_weights": weights_name,
        "temporal_damping": np.nan if temporal_damping is None else float(temporal_damping),
        "step_yr": float(step),
    }
    return dataset


def _velocity_array(series) -> xr.DataArray:
    """The (time, site, component) velocity DataArray of a series, validated."""
    if isinstance(series, xr.Dataset):
        if "velocity" not in series:
            raise SeriesShapeError(
                "the series Dataset has no 'velocity' variable (time, site, component); "
                "build it with site_velocity_series"
            )
        series = series["velocity"]
    if not isinstance(series, xr.DataArray):
        raise SeriesShapeError(
            "series must be the Dataset of site_velocity_series or a DataArray with "
            f"dimensions (time, site, component); got {type(series).__name__}"
        )
    if set(series.dims) != {"time", "site", "component"}:
        raise SeriesShapeError(
            f"the velocity series must have dimensions (time, site, component), got {series.dims}"
        )
    series = series.transpose("time", "site", "component")
    components = [str(c) for c in series["component"].values]
    if sorted(components) != sorted(COMPONENTS):
        raise SeriesShapeError(f"components must be {COMPONENTS}, got {tuple(components)}")
    series = series.sel(component=list(COMPONENTS))
    values = np.asarray(series.values, dtype=float)
    if not np.all(np.isfinite(values)):
        index = np.argwhere(~np.isfinite(values))[0]
        raise NonFiniteError(
            f"the velocity series contains NaN or infinite values (first at time index "
            f"{index[0]}, site {series['site'].values[index[1]]!s})"
        )
    time = np.asarray(series["time"].values, dtype=float)
    if time.size >= 2:
        steps = np.diff(time)
        if np.any(steps <= 0) or not np.allclose(steps, steps[0], rtol=1e-6, atol=1e-9):
            raise UnevenSamplingError(
                "the velocity series must be evenly sampled in increasing time "
                f"(steps from {steps.min():g} to {steps.max():g} yr)"
            )
    return series
