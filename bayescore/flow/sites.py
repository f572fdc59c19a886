"""Flow velocities at named sites on the core surface, as time series.

The default sites are a point under the north-east Pacific, (40 N, 130 W) on the
core-mantle boundary, and its four neighbours 5 degrees to the north, south, east and
west. The time series of (u_theta, u_phi) there are the input of the recurrent
forecasters (:mod:`bayescore.forecast`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jax
import numpy as np

from bayescore.constants import CORE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, ModelConfigError, NonFiniteError
from bayescore.flow.velocity import Flow, velocity

__all__ = ["DEFAULT_SITES", "site_velocities"]

#: Default sites: name -> (latitude, longitude) in degrees (east positive).
DEFAULT_SITES: dict[str, tuple[float, float]] = {
    "centre": (40.0, -130.0),
    "north": (45.0, -130.0),
    "south": (35.0, -130.0),
    "east": (40.0, -125.0),
    "west": (40.0, -135.0),
}


def _as_flows(flows) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Stack flows given as a series result, Flow objects or (t, s) pairs."""
    if hasattr(flows, "t") and hasattr(flows, "s") and np.ndim(flows.t) == 2:
        epochs = getattr(flows, "epochs", None)
        return np.asarray(flows.t, float), np.asarray(flows.s, float), epochs
    if isinstance(flows, Flow):
        flows = [flows]
    if not isinstance(flows, Sequence) or len(flows) == 0:
        raise CoefficientShapeError(
            "flows must be a non-empty sequence of Flow objects or a series result"
        )
    ts, ss, epochs = [], [], []
    for item in flows:
        if isinstance(item, Flow):
            t, s, epoch = item.t, item.s, item.epoch
        elif hasattr(item, "t") and hasattr(item, "s"):
            t, s, epoch = item.t, item.s, getattr(item, "epoch", None)
        else:
            t, s = item
            epoch = None
        ts.append(np.asarray(t, float))
        ss.append(np.asarray(s, float))
        epochs.append(np.nan if epoch is None else float(epoch))
    shapes = {x.shape for x in ts + ss}
    if len(shapes) != 1:
        raise CoefficientShapeError(f"all flows must have the same degree, got shapes {shapes}")
    epochs_arr = np.array(epochs)
    return np.stack(ts), np.stack(ss), None if np.all(np.isnan(epochs_arr)) else epochs_arr


def site_velocities(flows, sites: Mapping[str, tuple[float, float]] | None = None, time=None):
    """Velocity time series at named sites on the core surface.

    Parameters
    ----------
    flows : FlowSeriesResult, Flow or sequence of Flow
        The flows, in time order (e.g. the result of
        :func:`bayescore.flow.inversion.invert_flow_series` or its ``.flows``).
    sites : mapping of str to (latitude, longitude), optional
        Site names and positions in degrees (latitude north, longitude east). Default
        :data:`DEFAULT_SITES`.
    time : array_like, shape (K,), optional
        Epochs (decimal years); default the flows' epochs, else 0..K-1.

    Returns
    -------
    xarray.Dataset
        Dimensions ``(time, site)``; variables ``u_theta`` (southward) and ``u_phi``
        (eastward) in km/yr on the CMB (r = 3485 km); coordinates ``latitude`` and
        ``longitude`` (degrees) of each site.

    Raises
    ------
    CoefficientShapeError
        Flows of different degrees, an empty sequence, or ``time`` of the wrong length.
    NonFiniteError
        NaN coefficients or site positions.
    ValueError
        Latitudes outside [-90, 90].
    """
    import xarray as xr

    t, s, epochs = _as_flows(flows)
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(s))):
        raise NonFiniteError("flow coefficients contain NaN or infinite values")
    sites = dict(DEFAULT_SITES if sites is None else sites)
    if not sites:
        raise ModelConfigError("sites must name at least one site")
    names = list(sites)
    positions = np.array([sites[name] for name in names], dtype=float)
    if positions.ndim != 2 or positions.shape[1] != 2:
        raise CoefficientShapeError("each site must be a (latitude, longitude) pair in degrees")
    if not np.all(np.isfinite(positions)):
        raise NonFiniteError("site positions contain NaN or infinite values")
    if np.any(np.abs(positions[:, 0]) > 90):
        raise ModelConfigError("site latitudes must lie in [-90, 90] degrees")
    theta = np.deg2rad(90.0 - positions[:, 0])
    phi = np.deg2rad(positions[:, 1])

    u_theta, u_phi = jax.vmap(lambda tt, ss: velocity(tt, ss, theta, phi))(t, s)
    if time is None:
        time = epochs if epochs is not None else np.arange(t.shape[0], dtype=float)
    time = np.asarray(time, dtype=float)
    if time.shape != (t.shape[0],):
        raise CoefficientShapeError(f"time has shape {time.shape}, expected ({t.shape[0]},)")
    attrs = {"units": "km/yr", "radius_km": CORE_RADIUS_KM}
    return xr.Dataset(
        {
            "u_theta": (
                ("time", "site"),
                np.asarray(u_theta),
                {**attrs, "long_name": "southward velocity"},
            ),
            "u_phi": (
                ("time", "site"),
                np.asarray(u_phi),
                {**attrs, "long_name": "eastward velocity"},
            ),
        },
        coords={
            "time": ("time", time, {"units": "year"}),
            "site": names,
            "latitude": ("site", positions[:, 0], {"units": "degree_north"}),
            "longitude": ("site", positions[:, 1], {"units": "degree_east"}),
        },
    )
