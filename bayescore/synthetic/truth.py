"""A synthetic "true" core field that obeys the frozen-flux equation exactly.

Definition of the truth
-----------------------
The truth is the band-limited field ``g(t)`` (Gauss coefficients up to degree ``L_B``)
that solves

    dg/dt = P_{L_B} F(g, t(t), s(t)),        g(t0) = g0,

where ``F(g, t, s)`` is the frozen-flux secular variation ``-div_H(u Br)`` of
:func:`bayescore.flow.operator.sv_from_flow` (a band-limited product of degree
``L_B + L_F``), ``P_{L_B}`` keeps its degrees ``1..L_B``, and the flow coefficients vary
linearly in time: ``t(t) = t_ref + (t - t0) tdot``, ``s(t) = s_ref + (t - t0) sdot``.
The truncation to ``L_B`` is part of the truth's definition: the SV that the flow would
create above ``L_B`` is discarded. That neglected part is what Lesur et al. (2010) call the
truncation error, which their SV weights (eq. 27) tolerate; within degrees ``1..L_B``
the truth's SV is exactly the frozen-flux SV of its own field and flow.

Construction
------------
``g0`` is a field model at ``t0`` (IGRF-14 by default, truncated or zero-padded to
``L_B``). Unless a flow is given, ``(t_ref, s_ref)`` is the strong-norm flow inverted from
the model's SV at ``t0`` (:func:`bayescore.flow.inversion.invert_flow`, damping chosen for
an rms speed of ``target_rms_km_yr``, 13 km/yr by default). The rate ``(tdot, sdot)`` is
``flow_time_change * (t_ref, s_ref) * xi`` with ``xi`` independent standard normal numbers
drawn from ``numpy.random.default_rng(seed)``: each coefficient changes by a random
fraction of itself per year, so the flow keeps its spectral shape and its change in a
year has an rms speed of about ``flow_time_change`` times the flow's (5 % by default:
slow next to the flow itself, as in the paper's models).

The equation is integrated with the classical 4th-order Runge-Kutta scheme (``jax.lax.scan``,
jit-compiled) from ``t0`` forward to the end of the span and backward to its start, on
nodes at most ``dt`` apart. At each node the SV ``gdot`` is the right-hand side evaluated
there, so ``(g, gdot)`` satisfy the frozen-flux equation at every node to rounding.
Between nodes, :meth:`FrozenFluxTruth.coeffs` uses the cubic Hermite interpolant of
``(g, gdot)``. Its error (order ``dt^4``, with the RK4 error) is measured at construction
against a second RK4 integration with half the step and stored as
``attrs["interpolation_error_nT"]`` (max abs coefficient difference at the interval
midpoints). Measured: about 1e-11 nT for the default IGRF truth (dt = 1/24 yr, 13 km/yr)
and 6e-10 nT with monthly steps and a 21 km/yr flow, far below any data noise.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from bayescore.errors import (
    CoefficientShapeError,
    EpochOutOfRangeError,
    ModelConfigError,
    NonFiniteError,
)
from bayescore.sh.indexing import (
    coefficient_labels,
    degree_order_arrays,
    lmax_from_size,
    n_coefficients,
    resize_coefficients,
)

__all__ = ["FrozenFluxTruth", "SecularChange", "frozen_flux_truth"]


def _flow_sv(lmax_field: int):
    """The frozen-flux SV projected on degrees 1..lmax_field, as a function of (g, t, s)."""
    from bayescore.flow.operator import sv_from_flow

    def rhs(g, t_coeffs, s_coeffs):
        return sv_from_flow(g, t_coeffs, s_coeffs, lmax_sv=lmax_field)

    return rhs


def _rk4_scan(g_start, times, t_ref, s_ref, t_rate, s_rate, t0, lmax_field):
    """Integrate dg/dt = F(g, t(t), s(t)) with RK4 across the nodes ``times``.

    Returns the states at ``times[1:]`` (shape (len(times) - 1, n)). Repeated nodes
    (zero steps) leave the state unchanged, which is how paths are padded.
    """
    rhs = _flow_sv(lmax_field)

    def field_rate(time, g):
        return rhs(g, t_ref + (time - t0) * t_rate, s_ref + (time - t0) * s_rate)

    def step(g, interval):
        t_a, t_b = interval
        h = t_b - t_a
        k1 = field_rate(t_a, g)
        k2 = field_rate(t_a + 0.5 * h, g + 0.5 * h * k1)
        k3 = field_rate(t_a + 0.5 * h, g + 0.5 * h * k2)
        k4 = field_rate(t_b, g + h * k3)
        g_next = g + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        return g_next, g_next

    _, path = jax.lax.scan(step, g_start, (times[:-1], times[1:]))
    return path


@partial(jax.jit, static_argnames=("lmax_field",))
def _rk4_paths(g_start, time_paths, t_ref, s_ref, t_rate, s_rate, t0, *, lmax_field):
    """RK4 along several time paths from the same start, shape (B, T) -> (B, T - 1, n)."""
    return jax.vmap(
        lambda times: _rk4_scan(g_start, times, t_ref, s_ref, t_rate, s_rate, t0, lmax_field)
    )(time_paths)


@partial(jax.jit, static_argnames=("lmax_field",))
def _rates_at_nodes(g_nodes, times, t_ref, s_ref, t_rate, s_rate, t0, *, lmax_field):
    """SV (nT/yr) at every node, and the flow coefficients there."""
    rhs = _flow_sv(lmax_field)
    t_nodes = t_ref + (times - t0)[:, None] * t_rate
    s_nodes = s_ref + (times - t0)[:, None] * s_rate
    gdot = jax.vmap(rhs)(g_nodes, t_nodes, s_nodes)
    return gdot, t_nodes, s_nodes


def _bucket(n: int) -> int:
    """Padded length (a power of two, at least 64) so that few shapes get compiled."""
    return max(64, 1 << (int(n) - 1).bit_length())


def _pad_repeat(arr: np.ndarray, length: int) -> np.ndarray:
    """Pad along axis 0 to ``length`` by repeating the last entry."""
    return np.concatenate([arr, np.repeat(arr[-1:], length - len(arr), axis=0)])


def _hermite(times, g, gdot, query):
    """Cubic Hermite interpolation of (g, gdot) at ``query`` (numpy, vectorised)."""
    index = np.clip(np.searchsorted(times, query, side="right") - 1, 0, len(times) - 2)
    t_a = times[index]
    h = times[index + 1] - t_a
    s = ((query - t_a) / h)[:, None]
    hh = h[:, None]
    s2, s3 = s * s, s * s * s
    value = (
        (2 * s3 - 3 * s2 + 1) * g[index]
        + (s3 - 2 * s2 + s) * hh * gdot[index]
        + (-2 * s3 + 3 * s2) * g[index + 1]
        + (s3 - s2) * hh * gdot[index + 1]
    )
    rate = (
        (6 * s2 - 6 * s) / hh * g[index]
        + (3 * s2 - 4 * s + 1) * gdot[index]
        + (-6 * s2 + 6 * s) / hh * g[index + 1]
        + (3 * s2 - 2 * s) * gdot[index + 1]
    )
    return value, rate


class SecularChange(NamedTuple):
    """SV and SA of the truth at an epoch (:meth:`FrozenFluxTruth.secular_change`).

    Attributes
    ----------
    sv : numpy.ndarray
        Secular variation, Gauss coefficients in nT/yr.
    sa : numpy.ndarray
        Secular acceleration, nT/yr^2.
    sa_background : numpy.ndarray
        The part of ``sa`` made by the flow advecting the SV (a steady flow's SA),
        nT/yr^2.
    """

    sv: np.ndarray
    sa: np.ndarray
    sa_background: np.ndarray


class FrozenFluxTruth:
    """A frozen-flux field and flow on a time grid, with an interpolant.

    Build it with :func:`frozen_flux_truth`. It quacks like a field model (``coeffs``,
    ``sv``, ``span``, ``lmax``); :meth:`secular_change` gives its SV and exact SA.

    Attributes
    ----------
    dataset : xarray.Dataset
        Dims ``time`` (the RK4 nodes, decimal years), ``coeff`` (Gauss-coefficient labels
        ``g_1_0, g_1_1, h_1_1, ...``) and ``flow_coeff`` (``c_1_0, c_1_1, s_1_1, ...`` for
        the cosine and sine flow coefficients); variables ``g`` (nT), ``gdot`` (nT/yr),
        ``t`` and ``s`` (km/yr), ``t_rate`` and ``s_rate`` (km/yr^2). ``attrs`` record
        the construction settings, ``t0`` and the interpolation error.
    lmax : int
        L_B, the degree of the field.
    lmax_flow : int
        L_F, the degree of the flow.
    span : tuple of float
        (start, end) of the time grid, decimal years.
    """

    def __init__(self, dataset: xr.Dataset):
        self.dataset = dataset
        self.lmax = int(dataset.attrs["lmax_field"])
        self.lmax_flow = int(dataset.attrs["lmax_flow"])
        self._times = np.asarray(dataset["time"].values, dtype=float)
        self._g = np.asarray(dataset["g"].values)
        self._gdot = np.asarray(dataset["gdot"].values)
        self.span = (float(self._times[0]), float(self._times[-1]))

    def __repr__(self) -> str:
        return (
            f"FrozenFluxTruth(lmax={self.lmax}, lmax_flow={self.lmax_flow}, "
            f"span={self.span}, nodes={len(self._times)})"
        )

    def _query(self, t) -> tuple[np.ndarray, bool]:
        t_arr = np.asarray(t, dtype=float)
        if not np.all(np.isfinite(t_arr)):
            raise NonFiniteError("epochs must be finite decimal years")
        start, end = self.span
        outside = (t_arr < start - 1e-12) | (t_arr > end + 1e-12)
        if np.any(outside):
            raise EpochOutOfRangeError(
                f"epochs {t_arr[outside].ravel()[:3].tolist()} lie outside the truth's span "
                f"[{start}, {end}] (decimal years)"
            )
        return np.clip(t_arr.ravel(), start, end), t_arr.ndim == 0

    def _interpolate(self, t, derivative: bool) -> np.ndarray:
        """The Hermite interpolant (nT) or its derivative (nT/yr) at epochs ``t``."""
        query, scalar = self._query(t)
        value, rate = _hermite(self._times, self._g, self._gdot, query)
        out = rate if derivative else value
        return out[0] if scalar else out.reshape(np.shape(t) + (out.shape[-1],))

    def coeffs(self, t) -> np.ndarray:
        """Gauss coefficients at epochs ``t`` (cubic Hermite between RK4 nodes).

        Parameters
        ----------
        t : float or array_like
            Epochs, decimal years, inside :attr:`span`.

        Returns
        -------
        numpy.ndarray
            Shape ``(L(L+2),)`` for a scalar epoch, else ``t.shape + (L(L+2),)``; nT.

        Raises
        ------
        EpochOutOfRangeError
            If an epoch lies outside the span.
        """
        return self._interpolate(t, derivative=False)

    def sv(self, t) -> np.ndarray:
        """Secular variation at epochs ``t``: the derivative of the Hermite interpolant.

        At the RK4 nodes it equals the frozen-flux SV exactly; in between it differs from
        the frozen-flux SV of the interpolated field by O(dt^3).

        Parameters
        ----------
        t : float or array_like
            Epochs, decimal years, inside :attr:`span`.

        Returns
        -------
        numpy.ndarray
            Shape as in :meth:`coeffs`; nT/yr.
        """
        return self._interpolate(t, derivative=True)

    def flow(self, t) -> tuple[np.ndarray, np.ndarray]:
        """Toroidal and poloidal flow coefficients at epochs ``t`` (linear in time).

        Parameters
        ----------
        t : float or array_like
            Epochs, decimal years, inside :attr:`span`.

        Returns
        -------
        t_coeffs, s_coeffs : numpy.ndarray
            Shape ``t.shape + (L_F(L_F+2),)``; km/yr.
        """
        query, scalar = self._query(t)
        t0 = float(self.dataset.attrs["t0"])
        dt = (query - t0)[:, None]
        t_ref = self.dataset["t"].sel(time=t0, method="nearest").values
        s_ref = self.dataset["s"].sel(time=t0, method="nearest").values
        t_c = t_ref + dt * self.dataset["t_rate"].values
        s_c = s_ref + dt * self.dataset["s_rate"].values
        if scalar:
            return t_c[0], s_c[0]
        shape = np.shape(t) + (t_c.shape[-1],)
        return t_c.reshape(shape), s_c.reshape(shape)

    def secular_change(self, epoch: float, lmax: int | None = None) -> SecularChange:
        """SV and secular acceleration (SA) of the truth at one epoch, to a given degree.

        The truth obeys ``gdot = P F(g, u)`` (module notes) with ``F`` bilinear in the
        field and the flow and the flow linear in time, so its SA is, exactly,

            gddot = P F(gdot, u) + P F(g, udot),

        where ``u`` is the flow at ``epoch``, ``udot = (t_rate, s_rate)`` and ``P`` keeps
        degrees 1..L_B. The first term is the SA that the flow makes by advecting the
        changing field (the SA a steady flow would give); the second, the SA of the
        flow's own change. ``g`` and ``gdot`` are the interpolant and its derivative
        (:meth:`coeffs`, :meth:`sv`): at the RK4 nodes ``gdot`` is the frozen-flux SV to
        rounding, in between it differs from it by O(dt^3) (module notes).

        Parameters
        ----------
        epoch : float
            Decimal year, inside :attr:`span`.
        lmax : int, optional
            Degree of the returned vectors (default L_B): truncated, or zero-padded above
            L_B (the truth has no SV or SA there).

        Returns
        -------
        SecularChange
            Named tuple ``(sv, sa, sa_background)``: the SV (nT/yr), the SA (nT/yr^2)
            and the SA's advection part ``P F(gdot, u)`` (nT/yr^2), each of shape
            ``(lmax(lmax+2),)``.

        Raises
        ------
        EpochOutOfRangeError
            If ``epoch`` lies outside the span.
        """
        from bayescore.flow.operator import sv_from_flow

        epoch = float(epoch)
        lmax = self.lmax if lmax is None else int(lmax)
        g, gdot = self.coeffs(epoch), self.sv(epoch)
        t, s = self.flow(epoch)
        t_rate = np.asarray(self.dataset["t_rate"].values)
        s_rate = np.asarray(self.dataset["s_rate"].values)
        background = np.asarray(sv_from_flow(gdot, t, s, lmax_sv=self.lmax))
        sa = background + np.asarray(sv_from_flow(g, t_rate, s_rate, lmax_sv=self.lmax))
        return SecularChange(
            resize_coefficients(gdot, lmax),
            resize_coefficients(sa, lmax),
            resize_coefficients(background, lmax),
        )


def _as_vector(value, what: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 1:
        raise CoefficientShapeError(f"{what} must be a 1-D coefficient vector, got {arr.shape}")
    lmax_from_size(arr.size, what)
    if not np.all(np.isfinite(arr)):
        raise NonFiniteError(f"{what} contains NaN or infinite values")
    return arr


def _grid(t0: float, start: float, end: float, dt: float) -> np.ndarray:
    """Nodes from start to end through t0, at most dt apart (uniform on each side)."""
    pieces = [np.array([t0])]
    if end > t0:
        n = int(np.ceil((end - t0) / dt - 1e-9))
        pieces.append(t0 + (end - t0) * np.arange(1, n + 1) / n)
    if start < t0:
        n = int(np.ceil((t0 - start) / dt - 1e-9))
        pieces.insert(0, (t0 - (t0 - start) * np.arange(1, n + 1) / n)[::-1])
    return np.concatenate(pieces)


def frozen_flux_truth(
    g0=None,
    t0: float = 2005.0,
    span: tuple[float, float] = (2004.87, 2005.94),
    lmax_field: int = 14,
    lmax_flow: int = 14,
    flow: tuple | None = None,
    flow_time_change=0.05,
    dt: float = 1.0 / 24.0,
    *,
    gdot0=None,
    target_rms_km_yr: float = 13.0,
    seed: int = 0,
) -> FrozenFluxTruth:
    """Integrate a frozen-flux field from an initial model and a slowly changing flow.

    Parameters
    ----------
    g0 : None, array_like or field model, optional
        Initial Gauss coefficients at ``t0`` (nT, any degree; truncated or zero-padded to
        ``lmax_field``). ``None``: IGRF-14 at ``t0`` (:func:`bayescore.fields.igrf`). An
        object with ``coeffs(t)`` and ``sv(t)`` methods (e.g. a gufm1 model) is evaluated
        at ``t0``.
    t0 : float, default 2005.0
        Epoch of the initial condition and of the reference flow, decimal years.
    span : (float, float), default (2004.87, 2005.94)
        Start and end of the truth, decimal years; must contain ``t0``.
    lmax_field : int, default 14
        L_B, degree of the field (the truth is band-limited to it).
    lmax_flow : int, default 14
        L_F, degree of the flow.
    flow : (array_like, array_like), optional
        Reference toroidal and poloidal coefficients ``(t_ref, s_ref)`` at ``t0`` (km/yr,
        length ``L_F(L_F+2)`` each). Default: the strong-norm flow inverted from the SV
        of ``g0`` (needs an SV: from the model, or ``gdot0``).
    flow_time_change : float or (array_like, array_like), default 0.05
        A float ``f``: random relative rate, ``tdot = f * t_ref * xi`` (per year, ``xi``
        standard normal, seeded). A pair: the rates ``(tdot, sdot)`` in km/yr^2.
    dt : float, default 1/24
        Largest RK4 step, years.
    gdot0 : array_like, optional
        SV at ``t0`` (nT/yr) to invert for the flow when ``g0`` is an array.
    target_rms_km_yr : float, default 13
        Rms speed of the inverted reference flow, km/yr.
    seed : int, default 0
        Seed of the random flow rates.

    Returns
    -------
    FrozenFluxTruth

    Raises
    ------
    EpochOutOfRangeError
        If ``t0`` lies outside ``span`` or the span is empty.
    CoefficientShapeError, NonFiniteError
        For coefficient vectors of invalid length or with NaN.
    ValueError
        For a non-positive ``dt`` or a missing SV when a flow must be inverted.
    """
    t0 = float(t0)
    start, end = (float(v) for v in span)
    if not end > start:
        raise EpochOutOfRangeError(f"span must have end > start, got ({start}, {end})")
    if not start <= t0 <= end:
        raise EpochOutOfRangeError(f"t0 = {t0} lies outside the span [{start}, {end}]")
    dt = float(dt)
    if not np.isfinite(dt) or dt <= 0.0:
        raise ModelConfigError(f"dt must be a positive number of years, got {dt}")
    n_coefficients(lmax_field)  # validates the degree
    n_flow = n_coefficients(lmax_flow)
    source = "array"

    if g0 is None:
        from bayescore.fields import igrf

        g0 = igrf()
        source = "IGRF-14"
    if hasattr(g0, "coeffs") and hasattr(g0, "sv"):
        source = source if source != "array" else getattr(g0, "name", type(g0).__name__)
        if gdot0 is None:
            gdot0 = np.asarray(g0.sv(t0), dtype=float)
        g_initial = np.asarray(g0.coeffs(t0), dtype=float)
    else:
        g_initial = _as_vector(g0, "g0")
    g_initial = resize_coefficients(_as_vector(g_initial, "g0"), lmax_field)

    if flow is None:
        if gdot0 is None:
            raise ModelConfigError("no flow given and no SV to invert one from: pass flow or gdot0")
        from bayescore.flow.inversion import invert_flow

        gdot_model = _as_vector(gdot0, "gdot0")
        # the SV's own degree (models such as IGRF pad their SV with zeros above degree 8):
        # above it the SV is unknown, which the inversion's Lesur weights account for
        degree = degree_order_arrays(lmax_from_size(gdot_model.size))[0]
        nonzero = degree[gdot_model != 0.0]
        if nonzero.size == 0:
            raise ModelConfigError("the SV to invert for the flow is zero: pass flow instead")
        lmax_sv_model = min(int(nonzero.max()), lmax_field)
        result = invert_flow(
            g_initial,
            resize_coefficients(gdot_model, lmax_sv_model),
            lmax_flow,
            norm="strong",
            target_rms=float(target_rms_km_yr),
            epoch=t0,
        )
        t_ref = np.asarray(result.t, dtype=float)
        s_ref = np.asarray(result.s, dtype=float)
        flow_source = (
            f"strong-norm inversion of the degree-{lmax_sv_model} SV at t0 "
            f"(damping {result.damping:.6g} yr^2, rms speed {result.rms_speed:.4g} km/yr)"
        )
    else:
        t_ref = _as_vector(flow[0], "flow t")
        s_ref = _as_vector(flow[1], "flow s")
        flow_source = "given"
    if t_ref.size != n_flow or s_ref.size != n_flow:
        raise CoefficientShapeError(
            f"flow coefficients must have L_F(L_F+2) = {n_flow} entries for lmax_flow="
            f"{lmax_flow}, got {t_ref.size} and {s_ref.size}"
        )

    if np.ndim(flow_time_change) == 0:
        rate = float(flow_time_change)
        if not np.isfinite(rate):
            raise NonFiniteError("flow_time_change must be finite")
        rng = np.random.default_rng(seed)
        t_rate = rate * t_ref * rng.standard_normal(n_flow)
        s_rate = rate * s_ref * rng.standard_normal(n_flow)
        rate_source = f"random relative rate {rate} per year (seed {seed})"
    else:
        t_rate = _as_vector(flow_time_change[0], "flow_time_change t rate")
        s_rate = _as_vector(flow_time_change[1], "flow_time_change s rate")
        if t_rate.size != n_flow or s_rate.size != n_flow:
            raise CoefficientShapeError(f"flow rates must have {n_flow} entries each")
        rate_source = "given"

    # RK4 from t0 forward and backward, at step <= dt and (to measure the error of the
    # interpolant) at half that step: four paths in one compiled, vmapped call
    times = _grid(t0, start, end, dt)
    fine = np.empty(2 * len(times) - 1)
    fine[::2], fine[1::2] = times, 0.5 * (times[:-1] + times[1:])
    i0 = int(np.argmin(np.abs(times - t0)))
    i0_fine = 2 * i0
    paths = [times[i0:], times[: i0 + 1][::-1], fine[i0_fine:], fine[: i0_fine + 1][::-1]]
    length = _bucket(max(len(p) for p in paths))
    args = tuple(jnp.asarray(x) for x in (t_ref, s_ref, t_rate, s_rate)) + (t0,)
    states = np.asarray(
        _rk4_paths(
            jnp.asarray(g_initial),
            jnp.asarray(np.stack([_pad_repeat(p, length) for p in paths])),
            *args,
            lmax_field=lmax_field,
        )
    )

    def nodes(forward, backward, n_forward, n_backward):
        return np.concatenate(
            [states[backward, :n_backward][::-1], g_initial[None, :], states[forward, :n_forward]]
        )

    g_nodes = nodes(0, 1, len(times) - i0 - 1, i0)
    g_fine = nodes(2, 3, len(fine) - i0_fine - 1, i0_fine)
    n_nodes = len(times)
    node_length = _bucket(n_nodes)
    gdot, t_nodes, s_nodes = (
        np.asarray(x)[:n_nodes]
        for x in _rates_at_nodes(
            jnp.asarray(_pad_repeat(g_nodes, node_length)),
            jnp.asarray(_pad_repeat(times, node_length)),
            *args,
            lmax_field=lmax_field,
        )
    )
    g_fine_hermite, _ = _hermite(times, g_nodes, gdot, fine)
    interpolation_error = float(np.max(np.abs(g_fine_hermite - g_fine)))

    labels = coefficient_labels(lmax_field)
    flow_labels = coefficient_labels(lmax_flow, names=("c", "s"))
    dataset = xr.Dataset(
        {
            "g": (("time", "coeff"), g_nodes, {"units": "nT", "long_name": "Gauss coefficients"}),
            "gdot": (
                ("time", "coeff"),
                gdot,
                {"units": "nT/yr", "long_name": "frozen-flux SV projected on degrees <= L_B"},
            ),
            "t": (("time", "flow_coeff"), t_nodes, {"units": "km/yr", "long_name": "toroidal"}),
            "s": (("time", "flow_coeff"), s_nodes, {"units": "km/yr", "long_name": "poloidal"}),
            "t_rate": (("flow_coeff",), t_rate, {"units": "km/yr^2"}),
            "s_rate": (("flow_coeff",), s_rate, {"units": "km/yr^2"}),
        },
        coords={"time": times, "coeff": labels, "flow_coeff": flow_labels},
        attrs={
            "t0": t0,
            "lmax_field": int(lmax_field),
            "lmax_flow": int(lmax_flow),
            "dt_max": dt,
            "initial_field": source,
            "flow": flow_source,
            "flow_time_change": rate_source,
            "seed": int(seed),
            "interpolation_error_nT": interpolation_error,
            "definition": "dg/dt = frozen-flux SV truncated to degree lmax_field (RK4)",
        },
    )
    return FrozenFluxTruth(dataset)
