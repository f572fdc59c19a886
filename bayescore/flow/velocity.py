"""Tangential core flow at the core-mantle boundary from toroidal/poloidal coefficients.

The flow at r = c (``bayescore.constants.CORE_RADIUS_KM``) is

    u = curl(r T) + grad_H(r S),
    u_theta = (1/sin theta) dT/dphi + dS/dtheta,
    u_phi   = -dT/dtheta + (1/sin theta) dS/dphi,

with the scalars T and S expanded in real Schmidt semi-normalised harmonics (the conventions
page of the documentation) with coefficients ``t`` and ``s`` in km/yr, in the order of Gauss
coefficients (t10, t11c, t11s, t20, ...). Per harmonic, ``c div_H u = -l(l+1) S`` and the
radial vorticity ``c r . curl_H u = l(l+1) T``. A solid-body rotation at eastward angular
rate ``w`` (rad/yr) is ``t_10 = w c`` km/yr (``T = t_10 cos theta`` gives ``u_phi = t_10 sin
theta``, eastward). ``u_theta`` is positive southward, ``u_phi`` eastward.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from bayescore.constants import CORE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, ModelConfigError, NonFiniteError
from bayescore.sh.indexing import coefficient_labels, degree_order_arrays, lmax_from_size
from bayescore.sh.legendre import schmidt_legendre_at_coefficients

__all__ = ["Flow", "check_flow_coefficients", "velocity"]


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def check_flow_coefficients(t, s, *, check_finite: bool = True) -> int:
    """Validate a pair of flow coefficient vectors and return their degree L_F.

    Parameters
    ----------
    t, s : array_like, shape (..., L_F(L_F+2))
        Toroidal and poloidal coefficients (km/yr).
    check_finite : bool, default True
        Also reject NaN/inf (skipped for traced values inside ``jit``/``vmap``).

    Returns
    -------
    int
        The flow degree L_F.

    Raises
    ------
    CoefficientShapeError
        If the lengths differ or are not L(L+2).
    NonFiniteError
        If an entry is NaN or infinite.
    """
    t_shape, s_shape = np.shape(t), np.shape(s)
    if len(t_shape) == 0 or len(s_shape) == 0:
        raise CoefficientShapeError("flow coefficients t and s must be vectors, got scalars")
    if t_shape[-1] != s_shape[-1]:
        raise CoefficientShapeError(
            f"toroidal t has {t_shape[-1]} coefficients but poloidal s has {s_shape[-1]}: "
            "both must have L_F(L_F+2) entries"
        )
    lmax = lmax_from_size(t_shape[-1], "flow coefficient vector")
    if check_finite:
        for name, arr in (("t", t), ("s", s)):
            if _is_concrete(arr) and not np.all(np.isfinite(np.asarray(arr))):
                raise NonFiniteError(f"flow coefficients {name} contain NaN or infinite values")
    return lmax


def velocity(t, s, theta, phi):
    """Flow velocity (u_theta, u_phi) at the core surface, in km/yr.

    Parameters
    ----------
    t, s : array_like, shape (L_F(L_F+2),)
        Toroidal and poloidal coefficients in km/yr.
    theta, phi : array_like
        Colatitude and longitude in radians; broadcast against each other to shape ``S``.

    Returns
    -------
    u_theta, u_phi : jax.Array, each shape ``S``
        Southward and eastward components in km/yr. Finite at the poles: the
        (1/sin theta) d/dphi terms use P_l^m / sin(theta) from
        :func:`bayescore.sh.legendre.schmidt_legendre` (the limit at the poles).

    Notes
    -----
    Jit-able and differentiable in ``t``, ``s``, ``theta`` and ``phi``.
    """
    t = jnp.asarray(t, dtype=jnp.result_type(float))
    s = jnp.asarray(s, dtype=jnp.result_type(float))
    if t.ndim != 1 or s.ndim != 1:
        raise CoefficientShapeError(
            f"velocity expects 1-D t and s, got shapes {t.shape} and {s.shape}; "
            "use jax.vmap for batches"
        )
    check_flow_coefficients(t, s)
    theta, phi = jnp.broadcast_arrays(
        jnp.asarray(theta, dtype=t.dtype), jnp.asarray(phi, dtype=t.dtype)
    )
    return _velocity_jit(t, s, theta, phi)


@jax.jit
def _velocity_jit(t, s, theta, phi):
    lmax = lmax_from_size(t.shape[-1])
    _, order, is_sine = degree_order_arrays(lmax)
    P, dP, P_over_sin = schmidt_legendre_at_coefficients(lmax, theta)
    m_phi = phi[..., None] * order
    cos_mp, sin_mp = jnp.cos(m_phi), jnp.sin(m_phi)
    trig = jnp.where(is_sine, sin_mp, cos_mp)  # Y = P trig
    dtrig = order * jnp.where(is_sine, cos_mp, -sin_mp)  # d(trig)/dphi
    d_theta = dP * trig  # dY/dtheta
    d_phi_over_sin = P_over_sin * dtrig  # (1/sin theta) dY/dphi
    u_theta = d_phi_over_sin @ t + d_theta @ s
    u_phi = -(d_theta @ t) + d_phi_over_sin @ s
    return u_theta, u_phi


@jax.tree_util.register_pytree_node_class
@dataclass(frozen=True, eq=False)
class Flow:
    """Core-surface flow given by toroidal and poloidal coefficients.

    Parameters
    ----------
    t, s : array_like, shape (L_F(L_F+2),)
        Toroidal and poloidal coefficients in km/yr, Gauss-coefficient order.
    epoch : float, optional
        Epoch in decimal years (metadata only).

    Raises
    ------
    CoefficientShapeError
        If ``t`` and ``s`` differ in length, are not vectors or not of length L(L+2).
    NonFiniteError
        If they contain NaN or infinite values.

    Notes
    -----
    A :class:`Flow` is a JAX pytree (leaves ``t``, ``s``; ``epoch`` is static metadata),
    so it can be passed through ``jit`` and ``vmap``.
    """

    t: object
    s: object
    epoch: float | None = None

    def __post_init__(self):
        if np.ndim(self.t) != 1 or np.ndim(self.s) != 1:
            raise CoefficientShapeError(
                f"Flow expects 1-D t and s, got shapes {np.shape(self.t)} and {np.shape(self.s)}"
            )
        check_flow_coefficients(self.t, self.s)
        if _is_concrete(self.t):
            object.__setattr__(self, "t", jnp.asarray(self.t, dtype=jnp.result_type(float)))
        if _is_concrete(self.s):
            object.__setattr__(self, "s", jnp.asarray(self.s, dtype=jnp.result_type(float)))

    # pytree protocol
    def tree_flatten(self):
        return (self.t, self.s), self.epoch

    @classmethod
    def tree_unflatten(cls, epoch, children):
        obj = object.__new__(cls)
        object.__setattr__(obj, "t", children[0])
        object.__setattr__(obj, "s", children[1])
        object.__setattr__(obj, "epoch", epoch)
        return obj

    # constructors
    @classmethod
    def from_vector(cls, u, epoch: float | None = None) -> Flow:
        """Flow from the stacked vector ``u = [t, s]`` (length 2 L_F(L_F+2)).

        Parameters
        ----------
        u : array_like, shape (2 L_F(L_F+2),)
            Toroidal then poloidal coefficients in km/yr.
        epoch : float, optional

        Returns
        -------
        Flow
        """
        u = jnp.asarray(u)
        if u.ndim != 1 or u.shape[0] % 2:
            raise CoefficientShapeError(
                f"a stacked flow vector [t, s] must be 1-D of even length, got shape {u.shape}"
            )
        half = u.shape[0] // 2
        return cls(u[:half], u[half:], epoch)

    @classmethod
    def zeros(cls, lmax: int, epoch: float | None = None) -> Flow:
        """The zero flow up to degree ``lmax``."""
        n = int(lmax) * (int(lmax) + 2)
        return cls(jnp.zeros(n), jnp.zeros(n), epoch)

    @classmethod
    def solid_body_rotation(cls, rate, lmax: int = 1, epoch: float | None = None) -> Flow:
        """Solid-body rotation at eastward angular rate ``rate`` (rad/yr): ``t_10 = rate c``.

        Parameters
        ----------
        rate : float
            Angular velocity in rad/yr, positive eastward.
        lmax : int, default 1
            Degree of the returned coefficient vectors.
        epoch : float, optional

        Returns
        -------
        Flow
        """
        flow = cls.zeros(lmax, epoch)
        return cls(flow.t.at[0].set(rate * CORE_RADIUS_KM), flow.s, epoch)

    # properties
    @property
    def lmax(self) -> int:
        """Degree L_F of the expansion."""
        return lmax_from_size(np.shape(self.t)[-1])

    @property
    def vector(self):
        """Stacked coefficient vector ``[t, s]`` (km/yr), the column order of ``[E | G]``."""
        return jnp.concatenate([self.t, self.s])

    # evaluation
    def velocity(self, theta, phi):
        """Velocity (u_theta, u_phi) in km/yr at colatitudes/longitudes (radians).

        See :func:`velocity`.
        """
        return velocity(self.t, self.s, theta, phi)

    def on_grid(self, nlat: int = 90, nlon: int = 180) -> xr.Dataset:
        """Velocity on a regular grid of cell centres, as a labelled dataset.

        Parameters
        ----------
        nlat, nlon : int
            Number of colatitudes ``(i + 1/2) pi / nlat`` and longitudes
            ``2 pi k / nlon``.

        Returns
        -------
        xarray.Dataset
            Dimensions ``colatitude`` and ``longitude`` (radians), with the auxiliary
            coordinates ``latitude`` and ``longitude_deg`` in degrees; variables
            ``u_theta`` (southward), ``u_phi`` (eastward) and ``speed``, in km/yr.
        """
        nlat, nlon = int(nlat), int(nlon)
        if nlat < 1 or nlon < 1:
            raise ModelConfigError(f"nlat and nlon must be positive, got {nlat}, {nlon}")
        colat = (np.arange(nlat) + 0.5) * np.pi / nlat
        lon = 2.0 * np.pi * np.arange(nlon) / nlon
        u_theta, u_phi = self.velocity(colat[:, None], lon[None, :])
        u_theta, u_phi = np.asarray(u_theta), np.asarray(u_phi)
        dims = ("colatitude", "longitude")
        attrs = {"units": "km/yr", "radius_km": CORE_RADIUS_KM}
        return xr.Dataset(
            {
                "u_theta": (dims, u_theta, {**attrs, "long_name": "southward velocity"}),
                "u_phi": (dims, u_phi, {**attrs, "long_name": "eastward velocity"}),
                "speed": (dims, np.hypot(u_theta, u_phi), {**attrs, "long_name": "speed"}),
            },
            coords={
                "colatitude": ("colatitude", colat, {"units": "rad"}),
                "longitude": ("longitude", lon, {"units": "rad"}),
                "latitude": ("colatitude", 90.0 - np.degrees(colat), {"units": "degree"}),
                "longitude_deg": ("longitude", np.degrees(lon), {"units": "degree"}),
            },
            attrs={"epoch": self.epoch if self.epoch is not None else np.nan},
        )

    def to_xarray(self) -> xr.Dataset:
        """Coefficients as a labelled dataset.

        Returns
        -------
        xarray.Dataset
            Variables ``t`` (toroidal) and ``s`` (poloidal) in km/yr over the dimension
            ``coefficient``, labelled ``cos_1_0, cos_1_1, sin_1_1, cos_2_0, ...`` (the
            harmonic ``P_l^m cos(m phi)`` or ``P_l^m sin(m phi)``), with the auxiliary
            coordinates ``degree`` and ``order``. So ``ds.t.sel(coefficient="cos_1_0")``
            is t_10.
        """
        degree, order, _ = degree_order_arrays(self.lmax)
        labels = coefficient_labels(self.lmax, ("cos", "sin"))
        attrs = {"units": "km/yr"}
        return xr.Dataset(
            {
                "t": ("coefficient", np.asarray(self.t), {**attrs, "long_name": "toroidal"}),
                "s": ("coefficient", np.asarray(self.s), {**attrs, "long_name": "poloidal"}),
            },
            coords={
                "coefficient": labels,
                "degree": ("coefficient", degree),
                "order": ("coefficient", order),
            },
            attrs={"epoch": self.epoch if self.epoch is not None else np.nan},
        )
