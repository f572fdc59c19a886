"""Time-dependent Gauss-coefficient field models (IGRF, gufm1, CHAOS-style ``.shc`` files).

A :class:`FieldModel` holds B-spline coefficients of the Gauss coefficients in time:

    g(t) = sum_j c_j B_j(t),   c_j in R^{L(L+2)},

with B-splines of order ``k`` on a knot sequence (:func:`bayescore.timebasis.bspline_basis`).
Piecewise-linear models such as IGRF are order-2 splines whose knots are the epochs (end
knots doubled) and whose spline coefficients are the coefficient values at the epochs;
gufm1 and CHAOS use order 4 and 6. Evaluation is a jit-compiled product of the basis at
the requested times with the spline coefficients, so it runs on any JAX device and is
differentiable; the model is a JAX pytree (knots and spline coefficients are its leaves).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from bayescore.constants import EARTH_REFERENCE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, EpochOutOfRangeError, InvalidSettingError
from bayescore.fields.spectrum import lowes_spectrum
from bayescore.fields.synthesis import check_finite, concrete_array, synth
from bayescore.sh.indexing import coefficient_labels, degree_order_arrays, lmax_from_size
from bayescore.timebasis import bspline_basis, n_bspline_functions

__all__ = ["FieldModel"]

#: Time derivative order and units of each kind of coefficient.
_KINDS = {"field": (0, "nT"), "sv": (1, "nT/yr"), "sa": (2, "nT/yr^2")}


@partial(jax.jit, static_argnames=("order", "derivative"))
def _evaluate(knots, spline_coeffs, t, *, order, derivative):
    return bspline_basis(t, knots, order, derivative) @ spline_coeffs


@jax.tree_util.register_pytree_node_class
class FieldModel:
    """Internal geomagnetic field model: Gauss coefficients as B-splines in time.

    Parameters
    ----------
    knots : array_like, shape (m,)
        Non-decreasing B-spline knots in decimal years.
    spline_coeffs : array_like, shape (m - order, L(L+2))
        B-spline coefficients of the Gauss coefficients (nT), columns in the order
        g10, g11, h11, g20, ...
    order : int
        Spline order k (1 = piecewise constant, 2 = piecewise linear, 4 = cubic).
    name : str
        Name of the model, e.g. ``"IGRF-14"``.
    span : (float, float), optional
        Interval of validity in decimal years; defaults to the spline's base interval
        ``(knots[k-1], knots[m-k])``. Epochs outside raise :class:`EpochOutOfRangeError`.
    radius : float, default 6371.2
        Reference radius of the coefficients in km.
    nmin : int, default 1
        Lowest degree present in the source file (lower degrees are zero).
    description : str, optional
        Free text (source, reference).

    Attributes
    ----------
    lmax : int
        Maximum degree L.
    span : tuple of float
        Valid interval (decimal years).
    units : str
        ``"nT"`` (SV in nT/yr, SA in nT/yr^2).
    normalisation : str
        ``"Schmidt semi-normalised"`` (no Condon-Shortley phase).

    Notes
    -----
    Time derivatives are those of the spline: piecewise-linear models (IGRF) have a
    piecewise-constant SV, right-continuous at the epochs (the SV of the interval that
    starts there; at the end of the span, of the last interval), and zero SA.
    """

    units = "nT"
    normalisation = "Schmidt semi-normalised"

    def __init__(
        self,
        knots,
        spline_coeffs,
        order: int,
        *,
        name: str,
        span=None,
        radius: float = EARTH_REFERENCE_RADIUS_KM,
        nmin: int = 1,
        description: str = "",
    ):
        knots_np = np.asarray(knots, dtype=float)
        coeffs_np = np.asarray(spline_coeffs, dtype=float)
        order = int(order)
        if order < 1:
            raise InvalidSettingError(f"spline order must be >= 1, got {order}")
        if knots_np.ndim != 1 or np.any(np.diff(knots_np) < 0):
            raise InvalidSettingError("knots must be a non-decreasing 1-D array of decimal years")
        check_finite(knots_np, "knots")
        check_finite(coeffs_np, "spline_coeffs")
        n_basis = n_bspline_functions(knots_np, order)
        if n_basis < 1:
            raise InvalidSettingError(f"{knots_np.size} knots define no B-spline of order {order}")
        if coeffs_np.ndim != 2 or coeffs_np.shape[0] != n_basis:
            raise CoefficientShapeError(
                f"spline_coeffs must have shape ({n_basis}, L(L+2)) for {knots_np.size} "
                f"knots of order {order}, got {coeffs_np.shape}"
            )
        lmax_from_size(coeffs_np.shape[1], "spline_coeffs rows")
        if span is None:
            span = (knots_np[order - 1], knots_np[n_basis])
        span = (float(span[0]), float(span[1]))
        if not span[0] <= span[1]:
            raise InvalidSettingError(f"span must be (start, end) with start <= end, got {span}")
        self._knots = jnp.asarray(knots_np)
        self._spline_coeffs = jnp.asarray(coeffs_np)
        self._static = (order, str(name), span, float(radius), int(nmin), str(description))

    # -- pytree protocol ---------------------------------------------------------------
    def tree_flatten(self):
        return (self._knots, self._spline_coeffs), self._static

    @classmethod
    def tree_unflatten(cls, static, children):
        model = object.__new__(cls)
        model._knots, model._spline_coeffs = children
        model._static = static
        return model

    # -- constructors ------------------------------------------------------------------
    @classmethod
    def piecewise_linear(cls, epochs, coeffs, *, name: str, **kwargs) -> FieldModel:
        """Model interpolating linearly between coefficient vectors at epochs (as IGRF).

        Parameters
        ----------
        epochs : array_like, shape (n,)
            Strictly increasing epochs (decimal years), ``n >= 2``.
        coeffs : array_like, shape (n, L(L+2))
            Gauss coefficients (nT) at the epochs.
        name : str
            Model name.
        **kwargs
            Passed to :class:`FieldModel` (``radius``, ``nmin``, ``description``).

        Returns
        -------
        FieldModel
            Order-2 spline with the epochs as knots (ends doubled); span = first to last
            epoch.
        """
        epochs = np.asarray(epochs, dtype=float)
        if epochs.ndim != 1 or epochs.size < 2 or np.any(np.diff(epochs) <= 0):
            raise InvalidSettingError(
                "epochs must be a strictly increasing 1-D array of >= 2 years"
            )
        knots = np.concatenate([epochs[:1], epochs, epochs[-1:]])
        return cls(knots, coeffs, 2, name=name, **kwargs)

    # -- properties --------------------------------------------------------------------
    @property
    def order(self) -> int:
        """Spline order k of the time dependence."""
        return self._static[0]

    @property
    def name(self) -> str:
        """Model name."""
        return self._static[1]

    @property
    def span(self) -> tuple[float, float]:
        """Interval of validity (start, end) in decimal years."""
        return self._static[2]

    @property
    def radius(self) -> float:
        """Reference radius a of the coefficients, km."""
        return self._static[3]

    @property
    def nmin(self) -> int:
        """Lowest degree given by the source (lower degrees are zero)."""
        return self._static[4]

    @property
    def description(self) -> str:
        """Free-text description (source, reference)."""
        return self._static[5]

    @property
    def knots(self):
        """B-spline knots (decimal years), jax.Array of shape (m,)."""
        return self._knots

    @property
    def spline_coeffs(self):
        """B-spline coefficients, jax.Array of shape (m - order, L(L+2)), nT."""
        return self._spline_coeffs

    @property
    def lmax(self) -> int:
        """Maximum spherical-harmonic degree L."""
        return lmax_from_size(self._spline_coeffs.shape[-1])

    def __repr__(self) -> str:
        return (
            f"FieldModel(name={self.name!r}, lmax={self.lmax}, span={self.span}, "
            f"order={self.order}, n_splines={self._spline_coeffs.shape[0]}, "
            f"radius={self.radius} km)"
        )

    # -- evaluation --------------------------------------------------------------------
    def _check_epochs(self, t) -> None:
        check_finite(t, "t")
        values = concrete_array(t)
        if values is None or values.size == 0:
            return
        start, end = self.span
        outside = (values < start) | (values > end)
        if np.any(outside):
            first = float(values[outside].flat[0])
            raise EpochOutOfRangeError(
                f"epoch {first!r} lies outside the span {start}-{end} of model {self.name!r} "
                f"({int(outside.sum())} of {values.size} epochs outside)"
            )

    def evaluate(self, t, derivative: int = 0):
        """Gauss coefficients or their time derivative at epochs ``t``.

        Parameters
        ----------
        t : float or array_like, shape T
            Epochs in decimal years, inside :attr:`span`.
        derivative : int, default 0
            Time-derivative order: 0 field (nT), 1 SV (nT/yr), 2 SA (nT/yr^2).

        Returns
        -------
        jax.Array, shape T + (L(L+2),)

        Raises
        ------
        EpochOutOfRangeError
            If a concrete epoch lies outside :attr:`span`.
        NonFiniteError
            If a concrete epoch is NaN or inf.
        """
        self._check_epochs(t)
        t = jnp.asarray(t, dtype=self._knots.dtype)
        return _evaluate(
            self._knots, self._spline_coeffs, t, order=self.order, derivative=int(derivative)
        )

    def coeffs(self, t):
        """Gauss coefficients (nT) at epochs ``t`` (decimal years).

        Parameters
        ----------
        t : float or array_like, shape T
            Epochs inside :attr:`span`.

        Returns
        -------
        jax.Array, shape T + (L(L+2),)
            ``(L(L+2),)`` for a scalar epoch, ``(n, L(L+2))`` for ``n`` epochs.
        """
        return self.evaluate(t, 0)

    def sv(self, t):
        """Secular variation dg/dt (nT/yr) at epochs ``t``; shape T + (L(L+2),)."""
        return self.evaluate(t, 1)

    def sa(self, t):
        """Secular acceleration d^2g/dt^2 (nT/yr^2) at epochs ``t``; shape T + (L(L+2),)."""
        return self.evaluate(t, 2)

    def spectrum(self, t, r=EARTH_REFERENCE_RADIUS_KM, kind: str = "field"):
        """Lowes-Mauersberger spectrum at epochs ``t`` and radius ``r``.

        Parameters
        ----------
        t : float or array_like, shape T
            Epochs (decimal years).
        r : float, default 6371.2
            Radius in km (3485.0 for the core-mantle boundary).
        kind : {"field", "sv", "sa"}
            Spectrum of the field (nT^2), SV ((nT/yr)^2) or SA ((nT/yr^2)^2).

        Returns
        -------
        jax.Array, shape T + (L,)
            Power per degree l = 1..L.
        """
        derivative = self._derivative_of(kind)
        return lowes_spectrum(self.evaluate(t, derivative), r, radius=self.radius)

    def synth(self, t, r, theta, phi, kind: str = "field"):
        """Vector field of the model (or its SV/SA) at epochs and points.

        Parameters
        ----------
        t : float or array_like
            Epochs (decimal years); the coefficients' shape ``shape(t) + (L(L+2),)``
            broadcasts against the points as in :func:`bayescore.fields.synth`.
        r, theta, phi : array_like
            Radius (km), colatitude (rad) and longitude (rad).
        kind : {"field", "sv", "sa"}
            What to synthesise (nT, nT/yr, nT/yr^2).

        Returns
        -------
        B_r, B_theta, B_phi : jax.Array
        """
        coeffs = self.evaluate(t, self._derivative_of(kind))
        return synth(coeffs, r, theta, phi, radius=self.radius)

    def to_shmagcoeffs(self, t: float, kind: str = "field"):
        """Coefficients at one epoch as a :class:`pyshtools.SHMagCoeffs` instance.

        Parameters
        ----------
        t : float
            Epoch (decimal years) inside :attr:`span`.
        kind : {"field", "sv", "sa"}
            Gauss coefficients (nT), SV (nT/yr) or SA (nT/yr^2).

        Returns
        -------
        pyshtools.SHMagCoeffs
            Schmidt semi-normalised, ``csphase=1``, ``r0`` = :attr:`radius` in metres; see
            :func:`bayescore.fields.shcoeffs.to_shmagcoeffs`.
        """
        from bayescore.fields.shcoeffs import to_shmagcoeffs

        coeffs = np.asarray(self.evaluate(float(t), self._derivative_of(kind)))
        return to_shmagcoeffs(coeffs, radius_km=self.radius, name=self.name, year=float(t))

    @staticmethod
    def _derivative_of(kind: str) -> int:
        if kind not in _KINDS:
            raise InvalidSettingError(f"kind must be one of {tuple(_KINDS)}, got {kind!r}")
        return _KINDS[kind][0]

    def to_xarray(self, times, kind: str = "field"):
        """Coefficients at ``times`` as a labelled :class:`xarray.DataArray`.

        Parameters
        ----------
        times : float or array_like, shape (n,)
            Epochs (decimal years) inside :attr:`span`.
        kind : {"field", "sv", "sa"}
            Gauss coefficients (nT), SV (nT/yr) or SA (nT/yr^2).

        Returns
        -------
        xarray.DataArray, dims ("time", "coeff")
            Coordinates ``time`` (decimal years), ``coeff`` (labels ``"g_1_0"``,
            ``"g_1_1"``, ``"h_1_1"``, ...), ``degree`` and ``order`` along ``coeff``;
            attributes ``units``, ``model``, ``reference_radius_km``, ``normalisation``.
        """
        import xarray as xr

        derivative = self._derivative_of(kind)
        times = np.atleast_1d(np.asarray(times, dtype=float))
        if times.ndim != 1:
            raise InvalidSettingError(
                f"times must be a scalar or 1-D array, got shape {times.shape}"
            )
        values = np.asarray(self.evaluate(times, derivative))
        degree, order, _ = degree_order_arrays(self.lmax)
        return xr.DataArray(
            values,
            dims=("time", "coeff"),
            coords={
                "time": ("time", times, {"units": "decimal year"}),
                "coeff": coefficient_labels(self.lmax),
                "degree": ("coeff", np.asarray(degree)),
                "order": ("coeff", np.asarray(order)),
            },
            name={"field": "gauss_coefficients", "sv": "secular_variation"}.get(
                kind, "secular_acceleration"
            ),
            attrs={
                "units": _KINDS[kind][1],
                "model": self.name,
                "reference_radius_km": self.radius,
                "normalisation": self.normalisation,
            },
        )
