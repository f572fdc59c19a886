"""Synthetic satellite and observatory vector data from a frozen-flux truth.

Representation
--------------
Long format, one row per scalar datum (dim ``datum``), which is what a likelihood with
independent errors needs: ``value[i] ~ value_true[i] + noise(sigma[i])``. Each row has its
time ``t`` (decimal years), geocentric position ``r`` (km), ``theta``, ``phi`` (rad), its
``component`` code (0 = B_r, 1 = B_theta, 2 = B_phi; geocentric spherical components, nT),
its ``source`` ("satellite" or "observatory") and ``site_index`` (position in the ``site``
dimension, whose coordinate is the IAGA code; -1 for satellite data). Rows of one vector
measurement are consecutive.

Noise-free parts are stored alongside for testing: ``value_core`` (the truth's core field,
degrees 1..L_B), ``value_external`` (the optional external degree-1 field), ``bias`` (the
optional static crustal bias of an observatory component) and their sum ``value_true``.

Noise models (``sigma`` is the scale parameter of the named distribution, so that the
likelihood uses it directly):

* ``"gaussian"``: normal with standard deviation ``sigma``;
* ``"laplace"``: density ``exp(-abs(e) / sigma) / (2 sigma)``: mean absolute error
  ``sigma``, standard deviation ``sqrt(2) sigma`` (the L1 misfit of the paper);
* ``"student-t"``: ``sigma`` times a Student-t variate with ``student_t_dof`` degrees of
  freedom (heavier tails; standard deviation ``sigma sqrt(nu / (nu - 2))`` for nu > 2).

Observatory means (monthly by default) are represented by the field at the centre of
each averaging window: for a field with secular acceleration A the window mean differs
from it by ``interval^2 A / 24``, below 0.01 nT for monthly means and A ~ 10 nT/yr^2.

Simplifications, relative to the paper's CHAMP + observatory set: no data selection by
local time or magnetic activity, all components at all latitudes (unless ``components``
says otherwise), no ionospheric or field-aligned-current fields, and the external field is
a degree-1 potential field in geographic (not Solar-Magnetic) coordinates.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np
import xarray as xr

from bayescore.errors import EpochOutOfRangeError, ModelConfigError, NonFiniteError
from bayescore.fields.external import external_dipole_field
from bayescore.synthetic.observatories import observatory_epochs, observatory_sites
from bayescore.synthetic.orbits import orbit_positions

__all__ = [
    "COMPONENT_CODES",
    "NOISE_MODELS",
    "PAPER_SIZE",
    "make_dataset",
]

#: Component codes of the ``component`` variable.
COMPONENT_CODES = {"B_r": 0, "B_theta": 1, "B_phi": 2}
_COMPONENT_LETTERS = {"r": 0, "t": 1, "p": 2}
#: Noise distributions understood by :func:`make_dataset`.
NOISE_MODELS = ("gaussian", "laplace", "student-t")
#: Settings giving a data set of the paper's size (about 150,000 scalar data: 101,000
#: satellite and 50,000 observatory values over one year, 137 observatories), to pass as
#: ``make_dataset(truth, **PAPER_SIZE)``.
PAPER_SIZE = {"n_satellite": 33_700, "n_observatory_sites": 137, "observatory_interval_days": 3.0}

_CHUNK = 4096  # points per synthesis call (fixed shape: one compilation)


def _parse_components(components: str) -> np.ndarray:
    if not isinstance(components, str) or not components:
        raise ModelConfigError(
            f"components must be a non-empty string of 'r', 't', 'p', got {components!r}"
        )
    letters = components.lower()
    unknown = set(letters) - set(_COMPONENT_LETTERS)
    if unknown or len(set(letters)) != len(letters):
        raise ModelConfigError(
            f"components must use each of 'r' (B_r), 't' (B_theta), 'p' (B_phi) at most "
            f"once, got {components!r}"
        )
    return np.array(sorted(_COMPONENT_LETTERS[c] for c in letters), dtype=np.int8)


def _sigma_for(sigma_nT, source: str) -> float:
    value = sigma_nT[source] if isinstance(sigma_nT, Mapping) else sigma_nT
    value = float(value)
    if not np.isfinite(value) or value <= 0.0:
        raise ModelConfigError(
            f"sigma_nT for {source} data must be a positive number of nT, got {value}"
        )
    return value


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < 0:
        raise ModelConfigError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _core_field(truth, t, r, theta, phi) -> np.ndarray:
    """Core field of the truth at (t, r, theta, phi) points, shape (n, 3), nT."""
    from bayescore.fields import synth

    n = len(t)
    out = np.empty((n, 3))
    for begin in range(0, n, _CHUNK):
        stop = min(begin + _CHUNK, n)
        pad = _CHUNK - (stop - begin)
        coeffs = np.pad(truth.coeffs(t[begin:stop]), ((0, pad), (0, 0)))
        points = [np.pad(x[begin:stop], (0, pad), mode="edge") for x in (r, theta, phi)]
        b_r, b_theta, b_phi = synth(jnp.asarray(coeffs), *(jnp.asarray(x) for x in points))
        out[begin:stop] = np.stack([np.asarray(b) for b in (b_r, b_theta, b_phi)], -1)[
            : stop - begin
        ]
    return out


def _external(external_dipole, t, theta, phi) -> np.ndarray:
    if external_dipole is None:
        return np.zeros((len(t), 3))
    if callable(external_dipole):
        q = np.asarray(external_dipole(t), dtype=float)
        if q.shape != (len(t), 3):
            raise ModelConfigError(
                f"external_dipole(t) must return an array of shape (n, 3) = (q10, q11, s11) "
                f"per epoch, got {q.shape}"
            )
    else:
        q = np.broadcast_to(np.asarray(external_dipole, dtype=float), (len(t), 3))
    if not np.all(np.isfinite(q)):
        raise NonFiniteError("external dipole coefficients must be finite")
    return np.stack(external_dipole_field(q[:, 0], q[:, 1], q[:, 2], theta, phi), -1)


def _noise(rng: np.random.Generator, kind: str, sigma: np.ndarray, dof: float) -> np.ndarray:
    if kind == "gaussian":
        return sigma * rng.standard_normal(sigma.shape)
    if kind == "laplace":
        return rng.laplace(0.0, sigma)
    return sigma * rng.standard_t(dof, sigma.shape)


def make_dataset(
    truth,
    n_satellite: int = 500,
    n_observatory_sites: int = 20,
    span: tuple[float, float] | None = None,
    noise: str = "gaussian",
    sigma_nT: float | Mapping[str, float] = 2.0,
    external_dipole=None,
    seed: int = 0,
    components: str = "rtp",
    *,
    observatory_interval_days: float = 365.25 / 12,
    observatory_bias_nT: float = 0.0,
    student_t_dof: float = 4.0,
    altitude_km: float = 400.0,
    inclination_deg: float = 87.0,
) -> xr.Dataset:
    """Simulate CHAMP-like satellite and observatory vector data from a truth.

    Parameters
    ----------
    truth : FrozenFluxTruth or field model
        Anything with ``coeffs(t)`` (Gauss coefficients, nT, shape ``(n, L(L+2))`` for
        ``n`` epochs) and ``span``, e.g. :func:`bayescore.synthetic.frozen_flux_truth`.
    n_satellite : int, default 500
        Number of satellite vector measurements along a near-polar orbit
        (:func:`bayescore.synthetic.orbits.orbit_positions`), one at a random time in each
        of ``n_satellite`` equal slices of the span.
    n_observatory_sites : int, default 20
        Number of observatories, drawn (seeded) from the table of
        :func:`bayescore.synthetic.observatories.observatory_sites` (149 sites).
    span : (float, float), optional
        Data span, decimal years; default the truth's span. Must lie inside it.
    noise : {"gaussian", "laplace", "student-t"}, default "gaussian"
        Noise distribution; ``sigma`` is its scale parameter (see the module notes).
    sigma_nT : float or mapping, default 2.0
        Noise scale, nT; a mapping ``{"satellite": ..., "observatory": ...}`` sets it per
        source.
    external_dipole : None, (q10, q11, s11) or callable, optional
        External degree-1 field, nT: static coefficients, or a function of the epochs
        ``t`` (shape (n,)) returning shape (n, 3). Added to the data.
    seed : int, default 0
        Seed of everything random (orbit phase, site choice, biases, noise), through
        independent streams spawned from ``numpy.random.SeedSequence(seed)``.
    components : str, default "rtp"
        Which components to keep: letters ``r`` (B_r), ``t`` (B_theta), ``p`` (B_phi).
    observatory_interval_days : float, default 365.25 / 12
        Averaging window of observatory means (monthly; 1/24 for hourly means), days.
        Each site gives one vector per window.
    observatory_bias_nT : float, default 0
        Standard deviation of a static crustal bias per site and component (nT), added to
        observatory data (real ones are tens to hundreds of nT; 0 switches it off).
    student_t_dof : float, default 4
        Degrees of freedom of the Student-t noise.
    altitude_km, inclination_deg : float, default 400, 87
        Orbit altitude above a = 6371.2 km and inclination.

    Returns
    -------
    xarray.Dataset
        Dims ``datum`` and ``site`` (coordinate: IAGA codes; and ``vector_component`` for
        the per-site biases); per-datum variables ``t``, ``r``, ``theta``, ``phi``,
        ``component``, ``source``, ``site_index``, ``value``, ``sigma``, ``value_true``,
        ``value_core``, ``value_external``, ``bias``; per-site ``site_name``,
        ``site_latitude``, ``site_longitude``, ``site_elevation``, ``site_r``,
        ``site_theta``, ``site_phi``, ``site_bias``; ``attrs`` with the seed and settings.

    Raises
    ------
    ValueError
        For negative sizes, ``sigma_nT <= 0``, an unknown noise model or component
        letter, or a non-positive Student-t dof or bias standard deviation below 0.
    EpochOutOfRangeError
        If the span lies (partly) outside the truth's span or is empty.
    """
    n_satellite = _check_count(n_satellite, "n_satellite")
    n_sites_wanted = _check_count(n_observatory_sites, "n_observatory_sites")
    if noise not in NOISE_MODELS:
        raise ModelConfigError(f"noise must be one of {NOISE_MODELS}, got {noise!r}")
    student_t_dof = float(student_t_dof)
    if noise == "student-t" and not (np.isfinite(student_t_dof) and student_t_dof > 0):
        raise ModelConfigError(f"student_t_dof must be positive, got {student_t_dof}")
    sigma_sat = _sigma_for(sigma_nT, "satellite")
    sigma_obs = _sigma_for(sigma_nT, "observatory")
    bias_sd = float(observatory_bias_nT)
    if not np.isfinite(bias_sd) or bias_sd < 0.0:
        raise ModelConfigError(f"observatory_bias_nT must be >= 0 nT, got {observatory_bias_nT}")
    codes = _parse_components(components)
    if n_satellite + n_sites_wanted == 0:
        raise ModelConfigError("n_satellite and n_observatory_sites are both 0: no data to make")

    truth_start, truth_end = (float(v) for v in truth.span)
    start, end = (truth_start, truth_end) if span is None else (float(v) for v in span)
    if not (np.isfinite(start) and np.isfinite(end)) or not end > start:
        raise EpochOutOfRangeError(f"data span must have end > start, got ({start}, {end})")
    if start < truth_start or end > truth_end:
        raise EpochOutOfRangeError(
            f"data span [{start}, {end}] lies outside the truth's span "
            f"[{truth_start}, {truth_end}] (decimal years)"
        )

    seeds = np.random.SeedSequence(int(seed)).spawn(4)
    rng_orbit, rng_sites, rng_bias, rng_noise = (np.random.default_rng(s) for s in seeds)

    # satellite positions: one at a random time in each of n_satellite equal slices of
    # the span (stratified sampling: even coverage in time, and no sampling interval that
    # could be commensurate with the orbital period), random orbit phase
    if n_satellite > 0:
        node, argument = rng_orbit.uniform(0.0, 360.0, 2)
        slices = (np.arange(n_satellite) + rng_orbit.uniform(0.0, 1.0, n_satellite)) / n_satellite
        orbit = orbit_positions(
            start + (end - start) * slices,
            start,
            altitude_km=altitude_km,
            inclination_deg=inclination_deg,
            initial_node_deg=node,
            initial_argument_deg=argument,
        )
        sat = {k: getattr(orbit, k) for k in ("t", "r", "theta", "phi")}
    else:
        sat = {k: np.zeros(0) for k in ("t", "r", "theta", "phi")}

    # observatories: seeded choice of sites, one mean per window and site
    all_sites = observatory_sites()
    n_table = len(all_sites.code)
    if n_sites_wanted > n_table:
        raise ModelConfigError(
            f"n_observatory_sites = {n_sites_wanted} exceeds the {n_table} sites in the table"
        )
    chosen = np.sort(rng_sites.choice(n_table, size=n_sites_wanted, replace=False))
    sites = observatory_sites(all_sites.code[chosen].tolist())
    site_bias = np.zeros((n_sites_wanted, 3))
    if bias_sd > 0.0:
        site_bias = bias_sd * rng_bias.standard_normal((n_sites_wanted, 3))
    epochs = observatory_epochs(start, end, observatory_interval_days)
    n_epochs = len(epochs) if n_sites_wanted else 0
    obs_site = np.repeat(np.arange(n_sites_wanted), n_epochs)
    obs = {
        "t": np.tile(epochs, n_sites_wanted) if n_sites_wanted else np.zeros(0),
        "r": sites.r[obs_site],
        "theta": sites.theta[obs_site],
        "phi": sites.phi[obs_site],
    }

    points = {k: np.concatenate([sat[k], obs[k]]) for k in sat}
    n_sat_points = len(sat["t"])
    point_site = np.concatenate([np.full(n_sat_points, -1), obs_site])
    core = _core_field(truth, points["t"], points["r"], points["theta"], points["phi"])
    external = _external(external_dipole, points["t"], points["theta"], points["phi"])
    bias = np.zeros_like(core)
    bias[n_sat_points:] = site_bias[obs_site]

    # long format: one row per (point, kept component)
    n_points = len(point_site)
    n_comp = len(codes)
    row_point = np.repeat(np.arange(n_points), n_comp)
    row_comp = np.tile(codes, n_points)
    is_sat = point_site[row_point] < 0
    sigma = np.where(is_sat, sigma_sat, sigma_obs)
    value_core = core[row_point, row_comp]
    value_external = external[row_point, row_comp]
    value_bias = bias[row_point, row_comp]
    value_true = value_core + value_external + value_bias
    value = value_true + _noise(rng_noise, noise, sigma, student_t_dof)

    datum_vars = {
        "t": (points["t"][row_point], "yr", "epoch (decimal years)"),
        "r": (points["r"][row_point], "km", "geocentric radius"),
        "theta": (points["theta"][row_point], "rad", "geocentric colatitude"),
        "phi": (points["phi"][row_point], "rad", "east longitude"),
        "component": (row_comp.astype(np.int8), "", "0 = B_r, 1 = B_theta, 2 = B_phi"),
        "site_index": (point_site[row_point], "", "position in the site dim; -1 = satellite"),
        "value": (value, "nT", "simulated datum (truth + noise)"),
        "sigma": (sigma, "nT", f"scale parameter of the {noise} noise"),
        "value_true": (value_true, "nT", "noise-free datum: core + external + bias"),
        "value_core": (value_core, "nT", "core field of the truth"),
        "value_external": (value_external, "nT", "external degree-1 field"),
        "bias": (value_bias, "nT", "static crustal bias of the observatory component"),
    }
    data_vars = {
        name: (("datum",), arr, {"units": units, "long_name": long_name})
        for name, (arr, units, long_name) in datum_vars.items()
    }
    data_vars["source"] = (
        ("datum",),
        np.where(is_sat, "satellite", "observatory"),
        {"long_name": "data source"},
    )
    data_vars.update(
        {
            "site_name": (("site",), sites.name),
            "site_latitude": (
                ("site",),
                sites.latitude_deg,
                {"units": "deg", "long_name": "geodetic latitude"},
            ),
            "site_longitude": (("site",), sites.longitude_deg, {"units": "deg"}),
            "site_elevation": (("site",), sites.elevation_m, {"units": "m"}),
            "site_r": (("site",), sites.r, {"units": "km"}),
            "site_theta": (("site",), sites.theta, {"units": "rad"}),
            "site_phi": (("site",), sites.phi, {"units": "rad"}),
            "site_bias": (
                ("site", "vector_component"),
                site_bias,
                {"units": "nT", "long_name": "static crustal bias per component"},
            ),
        }
    )
    if external_dipole is None:
        external_setting = "none"
    elif callable(external_dipole):
        external_setting = f"callable {getattr(external_dipole, '__name__', 'function')}"
    else:
        external_setting = [float(v) for v in np.asarray(external_dipole, dtype=float).ravel()]
    attrs = {
        "seed": int(seed),
        "noise": noise,
        "student_t_dof": student_t_dof,
        "sigma_satellite_nT": sigma_sat,
        "sigma_observatory_nT": sigma_obs,
        "span_start": start,
        "span_end": end,
        "n_satellite": n_satellite,
        "n_observatory_sites": n_sites_wanted,
        "observatory_interval_days": float(observatory_interval_days),
        "observatory_bias_nT": bias_sd,
        "external_dipole_nT": external_setting,
        "components": components,
        "component_codes": "0 = B_r, 1 = B_theta, 2 = B_phi (geocentric, nT)",
        "altitude_km": float(altitude_km),
        "inclination_deg": float(inclination_deg),
        "truth": repr(truth),
        "truth_lmax_field": int(getattr(truth, "lmax", -1)),
    }
    return xr.Dataset(
        data_vars,
        coords={
            "datum": np.arange(len(value)),
            "site": ("site", sites.code, {"long_name": "IAGA code"}),
            "vector_component": ["B_r", "B_theta", "B_phi"],
        },
        attrs=attrs,
    )
