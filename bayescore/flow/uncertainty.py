"""Posterior uncertainty of the core flow on a latitude-longitude grid at the CMB.

Given posterior draws of the flow coefficients ``(t, s)`` (km/yr, the conventions of
:mod:`bayescore.flow.velocity`), e.g. NUTS draws of the co-estimation model at one epoch
(:func:`flow_samples_at`) or draws of a Laplace approximation, this module computes at
every grid point the posterior mean, standard deviation and quantiles of the southward
velocity ``u_theta``, the eastward velocity ``u_phi`` and the speed
``|u| = sqrt(u_theta^2 + u_phi^2)``, and maps them (:func:`plot_speed_uncertainty_map`).

The velocity is linear in the coefficients: on a set of points it is ``u = B x`` with
``x = [t, s]`` and B the velocity basis (the velocity of each unit coefficient vector,
:func:`velocity_basis`, from :func:`bayescore.flow.velocity.velocity`). All draws are
mapped at once by matrix products; the grid points are processed in chunks so that the
(draws x points) arrays stay within a memory budget (quantiles need every draw at a point,
so the chunks run over points, not draws). Standard deviations are those of the empirical
distribution of the draws (divisor n, so a single draw has sd 0); quantiles are linearly
interpolated (:func:`numpy.quantile`'s default). For ``u_theta`` and ``u_phi`` the sd at
a point equals ``sqrt(b^T C b)`` with ``b`` the row of B there and C the covariance of the
draws; the speed's statistics are those of a nonlinear function and need the draws.

Posterior-mean speed is not the speed of the posterior-mean flow (``speed_of_mean``);
where the flow is uncertain the former is the larger.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from bayescore.constants import CORE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, ModelConfigError, NonFiniteError
from bayescore.flow.velocity import check_flow_coefficients, velocity
from bayescore.timebasis import TimeBasis

__all__ = [
    "DEFAULT_QUANTILES",
    "credible_interval_coverage",
    "flow_posterior_statistics",
    "flow_samples_at",
    "plot_speed_uncertainty_map",
    "velocity_basis",
]

#: Quantiles computed by default: the 95 % equal-tailed interval and the median.
DEFAULT_QUANTILES = (0.025, 0.5, 0.975)

#: Default budget of one (draws x points) float64 array, bytes.
_CHUNK_BYTES = 32 * 2**20

_COMPONENTS = {
    "u_theta": "southward velocity",
    "u_phi": "eastward velocity",
    "speed": "speed",
}


# --------------------------------------------------------------------------------------
# the velocity basis
# --------------------------------------------------------------------------------------


def velocity_basis(lmax: int, theta, phi):
    """Matrices of the velocity at given points as a linear function of ``[t, s]``.

    Parameters
    ----------
    lmax : int
        Flow degree L_F; ``n = L_F(L_F+2)`` coefficients each of ``t`` and ``s``.
    theta, phi : array_like
        Colatitude and longitude in radians, broadcast to a shape ``S``.

    Returns
    -------
    b_theta, b_phi : jax.Array, each shape ``S + (2 n,)``
        ``u_theta = b_theta @ [t, s]`` and ``u_phi = b_phi @ [t, s]`` in km/yr for
        coefficients in km/yr (dimensionless entries). Column ``k`` is the velocity of
        the k-th unit coefficient vector, computed with
        :func:`bayescore.flow.velocity.velocity`.
    """
    lmax = int(lmax)
    if lmax < 1:
        raise CoefficientShapeError(f"flow degree lmax must be >= 1, got {lmax}")
    theta, phi = jnp.broadcast_arrays(
        jnp.asarray(theta, dtype=jnp.result_type(float)),
        jnp.asarray(phi, dtype=jnp.result_type(float)),
    )
    return _velocity_basis(lmax, theta, phi)


@partial(jax.jit, static_argnums=0)
def _velocity_basis(lmax, theta, phi):
    n = lmax * (lmax + 2)
    unit = jnp.eye(2 * n)

    def column(x):
        return velocity(x[:n], x[n:], theta, phi)

    b_theta, b_phi = jax.vmap(column)(unit)  # (2n,) + S: one column per unit vector
    return jnp.moveaxis(b_theta, 0, -1), jnp.moveaxis(b_phi, 0, -1)


# --------------------------------------------------------------------------------------
# flow draws at an epoch
# --------------------------------------------------------------------------------------


def _site_array(samples, name: str):
    """Array (..., N_tF, n) of a flow site from a dict, Dataset or InferenceData."""
    if hasattr(samples, "posterior") and not isinstance(samples, dict | xr.Dataset):
        samples = samples.posterior
        samples = samples.to_dataset() if hasattr(samples, "to_dataset") else samples
    if isinstance(samples, xr.Dataset):
        if name not in samples.data_vars:
            raise KeyError(f"the posterior has no {name!r} variable (a co-estimation posterior?)")
        array = samples[name]
        last = [d for d in ("flow_time_basis", f"{name}_coeff") if d in array.dims]
        if len(last) == 2:  # labelled by CoestimationProblem.dims(): put them last
            array = array.transpose(..., *last)
        return np.asarray(array.values, dtype=float)
    if name not in samples:
        raise KeyError(f"the samples have no {name!r} entry (a co-estimation posterior?)")
    return np.asarray(samples[name], dtype=float)


def flow_samples_at(samples, epoch: float, problem):
    """Flow coefficient draws at one epoch from co-estimation posterior draws.

    The co-estimation model (:func:`bayescore.models.coestimation_model`) samples the
    flow as ``toroidal``, ``poloidal`` of shape ``(N_tF, L_F(L_F+2))``: the coefficients
    of the flow's time basis ``psi_k(t)``, so that ``t(epoch) = sum_k psi_k(epoch)
    toroidal[k]`` (:meth:`bayescore.models.CoestimationProblem.flow_at`).

    Parameters
    ----------
    samples : dict, xarray.Dataset or arviz.InferenceData
        Draws with ``toroidal`` and ``poloidal`` of shape ``(..., N_tF, L_F(L_F+2))``:
        :attr:`bayescore.infer.NUTSResult.samples` (chain, draw, ...),
        :meth:`bayescore.infer.LaplaceResult.sample` (draw, ...), or an InferenceData /
        posterior Dataset labelled with ``problem.dims()`` (dimensions
        ``flow_time_basis`` and ``toroidal_coeff`` / ``poloidal_coeff``, in any order).
    epoch : float
        Decimal year inside the model span.
    problem : CoestimationProblem or TimeBasis
        The problem (its ``flow_time_basis`` is used) or the flow's time basis itself.

    Returns
    -------
    t, s : numpy.ndarray, each shape ``(..., L_F(L_F+2))``
        Toroidal and poloidal coefficients (km/yr) at ``epoch``, one per draw (the
        leading dimensions of the input are kept).

    Raises
    ------
    EpochOutOfRangeError
        If ``epoch`` lies outside the model span.
    CoefficientShapeError
        If the two sites differ in shape or do not match the time basis.
    KeyError
        If a flow site is missing.
    """
    basis = getattr(problem, "flow_time_basis", problem)
    if not isinstance(basis, TimeBasis):
        raise TypeError(
            "problem must be a CoestimationProblem with a flow or a TimeBasis, got "
            f"{type(problem).__name__}"
        )
    epoch = basis.check_times(epoch, "epoch")
    if epoch.ndim != 0:
        raise ModelConfigError(f"epoch must be one decimal year, got shape {epoch.shape}")
    toroidal, poloidal = _site_array(samples, "toroidal"), _site_array(samples, "poloidal")
    if toroidal.shape != poloidal.shape:
        raise CoefficientShapeError(
            f"toroidal draws have shape {toroidal.shape} but poloidal {poloidal.shape}"
        )
    if toroidal.ndim < 2 or toroidal.shape[-2] != basis.n_functions:
        raise CoefficientShapeError(
            f"flow draws must have shape (..., N_tF = {basis.n_functions}, L_F(L_F+2)), got "
            f"{toroidal.shape}"
        )
    psi = np.asarray(basis(epoch))  # (N_tF,): the same contraction as problem.flow_at
    return np.einsum("k,...kn->...n", psi, toroidal), np.einsum("k,...kn->...n", psi, poloidal)


# --------------------------------------------------------------------------------------
# statistics on a grid
# --------------------------------------------------------------------------------------


def _check_draws(t, s):
    t = np.asarray(t, dtype=float)
    s = np.asarray(s, dtype=float)
    if t.ndim == 0 or s.ndim == 0:
        raise CoefficientShapeError("flow draws t and s must be arrays (..., L_F(L_F+2))")
    if t.shape != s.shape:
        raise CoefficientShapeError(
            f"toroidal draws have shape {t.shape} but poloidal draws {s.shape}"
        )
    lmax = check_flow_coefficients(t, s, check_finite=False)
    for name, arr in (("t", t), ("s", s)):
        if not np.all(np.isfinite(arr)):
            bad = int(np.sum(~np.all(np.isfinite(arr.reshape(-1, arr.shape[-1])), axis=-1)))
            raise NonFiniteError(f"{bad} draw(s) of the flow coefficients {name} contain NaN/inf")
    n = t.shape[-1]
    t, s = t.reshape(-1, n), s.reshape(-1, n)
    if t.shape[0] == 0:
        raise CoefficientShapeError("no flow draws given (a leading dimension has size 0)")
    return lmax, t, s


def _check_grid(lat, lon):
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    for name, arr in (("lat", lat), ("lon", lon)):
        if arr.ndim != 1 or arr.size == 0:
            raise ModelConfigError(
                f"{name} must be a non-empty 1-D array of degrees, got {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise NonFiniteError(f"{name} contains NaN or infinite values")
    if np.any(np.abs(lat) > 90.0):
        raise ModelConfigError(
            f"latitudes must lie in [-90, 90] degrees, got {lat.min():g}..{lat.max():g} "
            "(radians given?)"
        )
    return lat, lon


def _check_quantiles(quantiles):
    q = np.atleast_1d(np.asarray(quantiles, dtype=float))
    if q.ndim != 1 or q.size == 0 or not np.all((q >= 0.0) & (q <= 1.0)):
        raise ModelConfigError(f"quantiles must be probabilities in [0, 1], got {quantiles!r}")
    return q


@partial(jax.jit, static_argnames="lmax")
def _chunk_values(x, theta, phi, *, lmax):
    """Velocity, speed and their mean and sd for draws x (d, 2n) at points (p,).

    The values come out as (p, d), draws last, for the quantiles along a contiguous axis.
    """
    b_theta, b_phi = _velocity_basis(lmax, theta, phi)  # (p, 2n)
    values = {"u_theta": b_theta @ x.T, "u_phi": b_phi @ x.T}  # (p, d)
    values["speed"] = jnp.hypot(values["u_theta"], values["u_phi"])
    moments = {}
    for name, v in values.items():
        mean = jnp.mean(v, axis=-1)
        moments[f"{name}_mean"] = mean
        moments[f"{name}_sd"] = jnp.sqrt(jnp.mean((v - mean[:, None]) ** 2, axis=-1))
    moments["speed_of_mean"] = jnp.hypot(moments["u_theta_mean"], moments["u_phi_mean"])
    return values, moments


def flow_posterior_statistics(
    t,
    s,
    *,
    lat=None,
    lon=None,
    n_lat: int = 91,
    n_lon: int = 181,
    quantiles=DEFAULT_QUANTILES,
    keep_draws: bool = False,
    chunk_points: int | None = None,
    epoch: float | None = None,
) -> xr.Dataset:
    """Posterior mean, sd and quantiles of the CMB velocity and speed on a grid.

    Parameters
    ----------
    t, s : array_like, shape (..., L_F(L_F+2))
        Draws of the toroidal and poloidal coefficients (km/yr); every leading dimension
        (e.g. chain and draw) is a draw. A 1-D pair is a single draw.
    lat, lon : array_like, optional
        Grid latitudes and longitudes in degrees (1-D). Default: ``n_lat`` latitudes
        from -90 to 90 and ``n_lon`` longitudes from -180 to 180 (the grid of
        :func:`bayescore.flow.plotting.cmb_radial_map`).
    n_lat, n_lon : int, default 91, 181
        Sizes of the default grid (2 degree spacing).
    quantiles : sequence of float, default (0.025, 0.5, 0.975)
        Probabilities of the quantiles (the 95 % interval and the median).
    keep_draws : bool, default False
        Also return the velocity and speed of every draw (dimension ``draw``); memory
        ``3 x draws x points`` floats.
    chunk_points : int, optional
        Grid points per chunk; default such that one (draws x points) array takes about
        32 MiB.
    epoch : float, optional
        Decimal year, stored as metadata.

    Returns
    -------
    xarray.Dataset
        Dimensions ``lat``, ``lon`` (degrees), ``quantile`` (and ``draw``). For each of
        ``u_theta`` (southward), ``u_phi`` (eastward) and ``speed``: ``<name>_mean``,
        ``<name>_sd`` (lat, lon) and ``<name>_quantiles`` (quantile, lat, lon), and with
        ``keep_draws`` ``<name>`` (draw, lat, lon); ``speed_of_mean`` is the speed of the
        posterior-mean flow. All in km/yr at r = c = 3485 km. Attributes ``n_draws``,
        ``lmax_flow``, ``epoch``, ``radius_km``.

    Raises
    ------
    CoefficientShapeError
        If ``t`` and ``s`` differ in shape, have no draws or a length that is not
        L(L+2).
    NonFiniteError
        If a draw contains NaN or inf, or the grid does.
    ValueError
        For latitudes outside [-90, 90] degrees or quantiles outside [0, 1].
    """
    lmax, t, s = _check_draws(t, s)
    if lat is None or lon is None:
        if int(n_lat) < 1 or int(n_lon) < 1:
            raise ModelConfigError(f"n_lat and n_lon must be positive, got {n_lat}, {n_lon}")
        lat = np.linspace(-90.0, 90.0, int(n_lat)) if lat is None else lat
        lon = np.linspace(-180.0, 180.0, int(n_lon)) if lon is None else lon
    lat, lon = _check_grid(lat, lon)
    q = _check_quantiles(quantiles)
    x = jnp.asarray(np.concatenate([t, s], axis=-1))
    n_draws = x.shape[0]

    lat_g, lon_g = np.meshgrid(lat, lon, indexing="ij")
    theta = np.deg2rad(90.0 - lat_g).ravel()
    phi = np.deg2rad(lon_g).ravel()
    n_points = theta.size
    if chunk_points is None:
        chunk_points = max(1, _CHUNK_BYTES // (8 * n_draws))
    chunk = int(min(max(int(chunk_points), 1), n_points))
    n_chunks = -(-n_points // chunk)
    pad = n_chunks * chunk - n_points  # equal chunks: one compilation
    theta = np.pad(theta, (0, pad), mode="edge")
    phi = np.pad(phi, (0, pad), mode="edge")

    parts = []
    for k in range(n_chunks):  # a loop over point chunks; draws are all mapped at once
        sl = slice(k * chunk, (k + 1) * chunk)
        values, moments = _chunk_values(x, jnp.asarray(theta[sl]), jnp.asarray(phi[sl]), lmax=lmax)
        part = {key: np.asarray(val) for key, val in moments.items()}
        for name, v in values.items():
            v = np.asarray(v)
            # numpy's partition-based quantiles are several times faster than a sort
            part[f"{name}_quantiles"] = np.quantile(v, q, axis=-1)
            if keep_draws:
                part[name] = v.T
        parts.append(part)
    joined = {key: np.concatenate([p[key] for p in parts], axis=-1) for key in parts[0]}

    shape = (lat.size, lon.size)
    attrs = {"units": "km/yr", "radius_km": CORE_RADIUS_KM}
    variables = {}
    for name, long_name in _COMPONENTS.items():
        variables[f"{name}_mean"] = (
            ("lat", "lon"),
            joined[f"{name}_mean"][:n_points].reshape(shape),
            {**attrs, "long_name": f"posterior mean {long_name}"},
        )
        variables[f"{name}_sd"] = (
            ("lat", "lon"),
            joined[f"{name}_sd"][:n_points].reshape(shape),
            {**attrs, "long_name": f"posterior standard deviation of the {long_name}"},
        )
        variables[f"{name}_quantiles"] = (
            ("quantile", "lat", "lon"),
            joined[f"{name}_quantiles"][:, :n_points].reshape((q.size,) + shape),
            {**attrs, "long_name": f"posterior quantiles of the {long_name}"},
        )
        if keep_draws:
            variables[name] = (
                ("draw", "lat", "lon"),
                joined[name][:, :n_points].reshape((n_draws,) + shape),
                {**attrs, "long_name": long_name},
            )
    variables["speed_of_mean"] = (
        ("lat", "lon"),
        joined["speed_of_mean"][:n_points].reshape(shape),
        {**attrs, "long_name": "speed of the posterior-mean flow"},
    )
    coords = {
        "lat": ("lat", lat, {"units": "degree", "long_name": "latitude"}),
        "lon": ("lon", lon, {"units": "degree", "long_name": "longitude (east)"}),
        "quantile": ("quantile", q, {"units": "1", "long_name": "probability"}),
    }
    if keep_draws:
        coords["draw"] = ("draw", np.arange(n_draws))
    return xr.Dataset(
        variables,
        coords=coords,
        attrs={
            "n_draws": int(n_draws),
            "lmax_flow": int(lmax),
            "epoch": float(epoch) if epoch is not None else np.nan,
            "radius_km": CORE_RADIUS_KM,
        },
    )


def _area_weights(lat, n_lon: int) -> np.ndarray:
    """Weights proportional to the area of each grid point's cell (cos latitude)."""
    return np.broadcast_to(np.cos(np.deg2rad(np.asarray(lat)))[:, None], (lat.size, n_lon))


def credible_interval_coverage(stats: xr.Dataset, t, s, level: float = 0.95) -> dict:
    """Share of the CMB where a reference flow lies inside the posterior credible intervals.

    Parameters
    ----------
    stats : xarray.Dataset
        From :func:`flow_posterior_statistics`, with the quantiles ``(1 - level)/2`` and
        ``(1 + level)/2``.
    t, s : array_like, shape (L_F'(L_F'+2),)
        Coefficients (km/yr) of the reference flow (e.g. the synthetic truth), any degree.
    level : float, default 0.95
        Probability of the equal-tailed interval.

    Returns
    -------
    dict
        For ``u_theta``, ``u_phi`` and ``speed``: the area-weighted fraction (cos
        latitude weights) of grid points where the reference value lies inside the
        interval. Grid points are strongly correlated, so this is not a binomial count
        of independent trials: a fraction near ``level`` is the expectation for a
        reference drawn from the posterior, not a tight test.

    Raises
    ------
    ValueError
        If ``stats`` lacks the quantiles of the interval.
    """
    from bayescore.flow.velocity import Flow

    level = float(level)
    if not 0.0 < level < 1.0:
        raise ModelConfigError(f"level must lie in (0, 1), got {level}")
    q = stats["quantile"].values
    bounds = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
    index = []
    for p in bounds:
        match = np.flatnonzero(np.isclose(q, p, rtol=0.0, atol=1e-9))
        if match.size == 0:
            raise ModelConfigError(
                f"the statistics have quantiles {q.tolist()}, not the {p:g} quantile of a "
                f"{level:g} interval: recompute with quantiles=({bounds[0]:g}, {bounds[1]:g})"
            )
        index.append(int(match[0]))
    lat, lon = stats["lat"].values, stats["lon"].values
    lat_g, lon_g = np.meshgrid(lat, lon, indexing="ij")
    u_theta, u_phi = Flow(t, s).velocity(np.deg2rad(90.0 - lat_g), np.deg2rad(lon_g))
    reference = {"u_theta": np.asarray(u_theta), "u_phi": np.asarray(u_phi)}
    reference["speed"] = np.hypot(reference["u_theta"], reference["u_phi"])
    weights = _area_weights(lat, lon.size)
    out = {}
    for name, value in reference.items():
        bounds_q = stats[f"{name}_quantiles"].values
        inside = (bounds_q[index[0]] <= value) & (value <= bounds_q[index[1]])
        out[name] = float(np.sum(weights * inside) / np.sum(weights))
    return out


# --------------------------------------------------------------------------------------
# figure
# --------------------------------------------------------------------------------------


def plot_speed_uncertainty_map(
    stats: xr.Dataset,
    reference=None,
    *,
    relative: bool = False,
    arrow_spacing: float | None = 20.0,
    axes=None,
    title: str | None = None,
):
    """Maps of the posterior-mean flow speed at the CMB and of its uncertainty.

    Parameters
    ----------
    stats : xarray.Dataset
        From :func:`flow_posterior_statistics`.
    reference : Flow or (array_like, array_like), optional
        A reference flow (e.g. the synthetic truth), km/yr: adds its speed on the same
        colour scale as the posterior mean, and the normalised error
        ``(|u_ref| - mean) / sd`` of the speed.
    relative : bool, default False
        Map ``sd / mean`` of the speed (dimensionless) instead of the sd (km/yr).
    arrow_spacing : float or None, default 20
        Spacing (degrees, rounded to the grid) of arrows of the posterior-mean flow over
        the mean-speed map; None draws none.
    axes : sequence of matplotlib.axes.Axes, optional
        Two axes (four with ``reference``); default a new figure.
    title : str, optional
        Figure title (default: the number of draws and the epoch).

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        Mean speed, its sd (or sd/mean), and with ``reference`` its speed and the
        normalised error. Maps are equirectangular, without coastlines, as in
        :mod:`bayescore.flow.plotting`.
    """
    import matplotlib.pyplot as plt

    from bayescore.flow.plotting import format_map_axes
    from bayescore.flow.velocity import Flow

    n_panels = 2 if reference is None else 4
    if axes is None:
        if reference is None:
            fig, axes = plt.subplots(2, 1, figsize=(9, 8.5), constrained_layout=True)
        else:
            fig, axes = plt.subplots(2, 2, figsize=(13, 6.6), constrained_layout=True)
    axes = np.asarray(axes).ravel()
    if axes.size != n_panels:
        raise ModelConfigError(f"expected {n_panels} axes, got {axes.size}")
    fig = axes[0].figure
    lat, lon = stats["lat"].values, stats["lon"].values
    mean = stats["speed_mean"].values
    sd = stats["speed_sd"].values
    top = float(np.max(mean))
    ref_speed = None
    if reference is not None:
        flow = reference if isinstance(reference, Flow) else Flow(*reference)
        lat_g, lon_g = np.meshgrid(lat, lon, indexing="ij")
        u_theta, u_phi = flow.velocity(np.deg2rad(90.0 - lat_g), np.deg2rad(lon_g))
        ref_speed = np.hypot(np.asarray(u_theta), np.asarray(u_phi))
        top = max(top, float(np.max(ref_speed)))

    mesh = axes[0].pcolormesh(lon, lat, mean, cmap="viridis", vmin=0.0, vmax=top, shading="auto")
    fig.colorbar(mesh, ax=axes[0], shrink=0.85, label="posterior mean speed (km/yr)")
    if arrow_spacing:
        step_lat = max(1, int(round(arrow_spacing / max(np.median(np.diff(lat)), 1e-9))))
        step_lon = max(1, int(round(arrow_spacing / max(np.median(np.diff(lon)), 1e-9))))
        sub = (slice(step_lat // 2, None, step_lat), slice(step_lon // 2, None, step_lon))
        lon_a, lat_a = np.meshgrid(lon[sub[1]], lat[sub[0]])
        axes[0].quiver(
            lon_a,
            lat_a,
            stats["u_phi_mean"].values[sub],
            -stats["u_theta_mean"].values[sub],
            color="white",
            angles="uv",
            pivot="middle",
            width=0.0025,
        )
    format_map_axes(
        axes[0], "Posterior mean speed" + (" (arrows: mean flow)" if arrow_spacing else "")
    )

    if relative:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(mean > 0, sd / mean, np.nan)
        mesh = axes[1].pcolormesh(lon, lat, ratio, cmap="magma", vmin=0.0, shading="auto")
        fig.colorbar(mesh, ax=axes[1], shrink=0.85, label="sd / mean of the speed (1)")
        format_map_axes(axes[1], "Relative uncertainty of the speed")
    else:
        mesh = axes[1].pcolormesh(lon, lat, sd, cmap="magma", vmin=0.0, shading="auto")
        fig.colorbar(mesh, ax=axes[1], shrink=0.85, label="posterior sd of the speed (km/yr)")
        format_map_axes(axes[1], "Posterior standard deviation of the speed")

    if reference is not None:
        mesh = axes[2].pcolormesh(
            lon, lat, ref_speed, cmap="viridis", vmin=0.0, vmax=top, shading="auto"
        )
        fig.colorbar(mesh, ax=axes[2], shrink=0.85, label="reference speed (km/yr)")
        format_map_axes(axes[2], "Reference flow speed")
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(sd > 0, (ref_speed - mean) / sd, np.nan)
        mesh = axes[3].pcolormesh(lon, lat, z, cmap="RdBu_r", vmin=-3.0, vmax=3.0, shading="auto")
        fig.colorbar(mesh, ax=axes[3], shrink=0.85, label="(reference - mean) / sd (1)")
        format_map_axes(axes[3], "Normalised speed error")

    if title is None:
        epoch = stats.attrs.get("epoch", np.nan)
        title = f"Flow speed at the CMB: {int(stats.attrs.get('n_draws', 0))} posterior draws"
        if epoch is not None and np.isfinite(epoch):
            title += f", {float(epoch):.2f}"
    fig.suptitle(title)
    return axes
