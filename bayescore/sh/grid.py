"""Gauss-Legendre grids: spherical-harmonic synthesis and exact quadrature analysis.

A :class:`GaussLegendreGrid` holds ``nlat`` Gauss-Legendre colatitudes (the nodes of the
Gauss rule in ``x = cos theta``, ordered north to south) and ``nlon`` equally spaced
longitudes ``phi_k = 2 pi k / nlon``. The rule integrates exactly over the unit sphere
every band-limited function of total degree at most ``exact_degree = min(2 nlat - 1,
nlon - 1)``: in latitude the Gauss rule is exact for polynomials of degree ``2 nlat - 1``
in ``cos theta`` and in longitude the trapezoidal rule is exact for ``cos(k phi)``,
``sin(k phi)`` with ``k < nlon``.

Fields are real Schmidt semi-normalised expansions (``docs/conventions.md``),

    f(theta, phi) = sum_{l>=1} sum_{m=0}^{l} [g_lm cos(m phi) + h_lm sin(m phi)] P_l^m(cos theta),

with coefficient vectors in the order g10, g11, h11, g20, ... (degree 0 is not part of a
coefficient vector). Every transform goes through the *latitude-Fourier* representation
``f_hat[..., i, m]`` (complex, ``m = 0..M``), defined by

    f(theta_i, phi) = sum_{m=-M}^{M} f_hat_m(theta_i) exp(i m phi),   f_hat_{-m} = conj(f_hat_m),

so that ``f_hat_0 = sum_l g_l0 P_l^0`` and ``f_hat_m = sum_l (g_lm - i h_lm) P_l^m / 2``.
Synthesis is a Legendre contraction (``einsum`` over degree, one batched product per
order) followed by an inverse real FFT in longitude; analysis is a real FFT followed by
the weighted Legendre contraction

    c_lm = (2l + 1)/2 sum_i w_i P_l^m(cos theta_i) f_hat_m(theta_i),
    g_lm = Re c_lm,   h_lm = -Im c_lm,

which is the projection ``(2l+1)/(4 pi) int f Y_lm dOmega`` (the integral of ``Y_lm^2``
over the unit sphere is ``4 pi / (2l+1)``) computed with the Gauss rule. It is exact
whenever the integrand ``f Y_lm`` has degree at most ``exact_degree``.

The Legendre tables are computed once per grid (with :mod:`bayescore.sh.legendre`) and
held as numpy constants; all transforms are jit-able, differentiable, accept leading
batch dimensions and contain no Python loop over (l, m).
"""

from __future__ import annotations

from functools import cached_property, lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np

from bayescore.errors import CoefficientShapeError, InvalidSettingError
from bayescore.sh.indexing import degree_order_arrays, lm_index_tables, lmax_from_size
from bayescore.sh.legendre import schmidt_legendre

__all__ = [
    "GaussLegendreGrid",
    "coefficients_to_lm",
    "gauss_legendre_grid",
    "legendre_contract",
    "legendre_project",
    "lm_to_coefficients",
    "quadrature_grid",
]


def _lm_gather_tables(lmax: int):
    """``lm_index_tables(lmax)`` followed by ``degree_order_arrays(lmax)``."""
    return (*lm_index_tables(lmax), *degree_order_arrays(lmax))


def coefficients_to_lm(coeffs, lmax: int | None = None):
    """Complex (l, m) array ``c_hat[..., l, m]`` of a coefficient vector.

    ``c_hat_l0 = g_l0`` and ``c_hat_lm = (g_lm - i h_lm) / 2`` for ``m > 0`` (the
    latitude-Fourier normalisation of the module docstring); degree 0 and ``m > l`` are 0.

    Parameters
    ----------
    coeffs : array_like, shape (..., L(L+2))
        Real coefficient vectors (any unit).
    lmax : int, optional
        Degree L; inferred from the length when omitted.

    Returns
    -------
    jax.Array, complex, shape (..., L+1, L+1)
    """
    coeffs = jnp.asarray(coeffs)
    if lmax is None:
        lmax = lmax_from_size(coeffs.shape[-1])
    cos_index, sin_index, *_ = _lm_gather_tables(int(lmax))
    padded = jnp.concatenate([coeffs, jnp.zeros(coeffs.shape[:-1] + (1,), coeffs.dtype)], -1)
    half = np.where(np.arange(lmax + 1) > 0, 0.5, 1.0)
    real = padded[..., cos_index] * half
    imag = -padded[..., sin_index] * half
    return real + 1j * imag


def lm_to_coefficients(c_lm, lmax: int):
    """Coefficient vector from an (l, m) array of projections ``c_lm``.

    ``g_lm = Re c_lm`` and ``h_lm = -Im c_lm`` (the inverse of the analysis convention of
    the module docstring; degree-0 entries are dropped).

    Parameters
    ----------
    c_lm : array_like, complex, shape (..., >= L+1, >= L+1)
        Projections indexed [l, m].
    lmax : int
        Degree L of the output vector.

    Returns
    -------
    jax.Array, real, shape (..., L(L+2))
    """
    _, _, degree, order, is_sine = _lm_gather_tables(int(lmax))
    picked = c_lm[..., degree, order]
    return jnp.where(is_sine, -jnp.imag(picked), jnp.real(picked))


# one compiled recursion per (lmax, nlat) is much cheaper than eager dispatch of the scan
_jit_legendre = jax.jit(schmidt_legendre, static_argnums=0)


def _smooth_size(n: int) -> int:
    """Smallest even integer >= n whose prime factors are 2, 3 and 5 (fast FFT sizes)."""
    n = max(int(n), 2)
    while True:
        if n % 2 == 0:
            k = n
            for p in (2, 3, 5):
                while k % p == 0:
                    k //= p
            if k == 1:
                return n
        n += 1


class GaussLegendreGrid:
    """Gauss-Legendre grid with exact spherical-harmonic analysis and FFT synthesis.

    Parameters
    ----------
    lmax : int
        Largest degree of the fields synthesised or analysed on this grid (the Legendre
        tables go up to it).
    nlat : int, optional
        Number of Gauss-Legendre colatitudes; default ``lmax + 1`` (the minimum for which
        the analysis of a degree-``lmax`` field is exact).
    nlon : int, optional
        Number of equally spaced longitudes; default ``2 lmax + 2``. Must exceed
        ``2 lmax`` so that orders up to ``lmax`` are resolved by the real FFT.

    Attributes
    ----------
    colatitude : numpy.ndarray, shape (nlat,)
        Gauss-Legendre colatitudes in radians, increasing (north to south).
    longitude : numpy.ndarray, shape (nlon,)
        Longitudes ``2 pi k / nlon`` in radians.
    weights : numpy.ndarray, shape (nlat,)
        Gauss-Legendre weights in ``cos theta`` (they sum to 2).
    exact_degree : int
        Largest total degree of a band-limited integrand that :meth:`integrate` (and the
        projections of :meth:`analysis`) integrate exactly: ``min(2 nlat - 1, nlon - 1)``.

    Notes
    -----
    Grids compare equal (and hash) by ``(lmax, nlat, nlon)``, so they can be passed as
    static arguments to :func:`jax.jit`. Use :func:`gauss_legendre_grid` to share one
    instance (and its tables) between callers.
    """

    def __init__(self, lmax: int, nlat: int | None = None, nlon: int | None = None):
        lmax = int(lmax)
        if lmax < 1:
            raise CoefficientShapeError(f"grid lmax must be >= 1, got {lmax}")
        nlat = lmax + 1 if nlat is None else int(nlat)
        nlon = 2 * lmax + 2 if nlon is None else int(nlon)
        if nlat < 1:
            raise InvalidSettingError(f"nlat must be >= 1, got {nlat}")
        if nlon <= 2 * lmax:
            raise InvalidSettingError(
                f"nlon = {nlon} longitudes cannot resolve order {lmax}: need nlon > 2 lmax "
                f"= {2 * lmax}"
            )
        self.lmax, self.nlat, self.nlon = lmax, nlat, nlon
        x, w = np.polynomial.legendre.leggauss(nlat)
        order = np.argsort(-x)  # cos theta decreasing = colatitude increasing
        self.cos_colatitude = x[order]
        self.weights = w[order]
        self.colatitude = np.arccos(self.cos_colatitude)
        self.longitude = 2.0 * np.pi * np.arange(nlon) / nlon
        self.exact_degree = min(2 * nlat - 1, nlon - 1)
        for arr in (self.cos_colatitude, self.weights, self.colatitude, self.longitude):
            arr.setflags(write=False)

    # ------------------------------------------------------------------ identity
    def _key(self):
        return (self.lmax, self.nlat, self.nlon)

    def __eq__(self, other):
        return isinstance(other, GaussLegendreGrid) and self._key() == other._key()

    def __hash__(self):
        return hash(("GaussLegendreGrid",) + self._key())

    def __repr__(self):
        return f"GaussLegendreGrid(lmax={self.lmax}, nlat={self.nlat}, nlon={self.nlon})"

    # ------------------------------------------------------------------ tables
    @cached_property
    def _tables(self):
        """Legendre tables at the nodes, [i, l, m], as numpy float64 constants."""
        with jax.ensure_compile_time_eval():  # constants, even when first used under jit
            P, dP, P_over_sin = _jit_legendre(self.lmax, self.colatitude)
        tables = tuple(np.asarray(t, dtype=np.float64) for t in (P, dP, P_over_sin))
        ell = np.arange(self.lmax + 1)[None, :, None]
        projector = (2 * ell + 1) / 2.0 * self.weights[:, None, None] * tables[0]
        tables = tables + (projector,)
        for arr in tables:
            arr.setflags(write=False)
        return tables

    @property
    def legendre(self) -> np.ndarray:
        """P_l^m(cos theta_i), shape (nlat, lmax+1, lmax+1) indexed [i, l, m]."""
        return self._tables[0]

    @property
    def legendre_derivative(self) -> np.ndarray:
        """dP_l^m/dtheta at the nodes, shape (nlat, lmax+1, lmax+1)."""
        return self._tables[1]

    @property
    def legendre_over_sin(self) -> np.ndarray:
        """P_l^m / sin(theta) at the nodes (0 for m = 0), shape (nlat, lmax+1, lmax+1)."""
        return self._tables[2]

    @property
    def projector(self) -> np.ndarray:
        """(2l+1)/2 w_i P_l^m(cos theta_i), shape (nlat, lmax+1, lmax+1): the analysis table."""
        return self._tables[3]

    @property
    def area_weights(self) -> np.ndarray:
        """Quadrature weights of the nodes for the unit sphere, shape (nlat, nlon) (sum 4 pi)."""
        return np.broadcast_to(
            self.weights[:, None] * (2.0 * np.pi / self.nlon), (self.nlat, self.nlon)
        )

    def meshgrid(self) -> tuple[np.ndarray, np.ndarray]:
        """Colatitude and longitude of every node, each shape (nlat, nlon), radians."""
        return np.meshgrid(self.colatitude, self.longitude, indexing="ij")

    # ------------------------------------------------------------------ checks
    def _degree_of(self, coeffs) -> int:
        lmax = lmax_from_size(coeffs.shape[-1])
        if lmax > self.lmax:
            raise CoefficientShapeError(
                f"coefficients of degree {lmax} exceed the grid's lmax = {self.lmax}"
            )
        return lmax

    def _check_grid_shape(self, values):
        if values.shape[-2:] != (self.nlat, self.nlon):
            raise CoefficientShapeError(
                f"gridded values have trailing shape {values.shape[-2:]}, expected "
                f"(nlat, nlon) = ({self.nlat}, {self.nlon})"
            )

    # ------------------------------------------------------------------ transforms
    def to_fourier(self, coeffs, component: str = "value"):
        """Latitude-Fourier coefficients of a field or of its angular derivatives.

        Parameters
        ----------
        coeffs : array_like, shape (..., L(L+2))
            Real coefficient vector(s), L <= ``lmax``.
        component : {"value", "d_theta", "d_phi_over_sin"}
            ``f``, ``df/dtheta`` or ``(1/sin theta) df/dphi`` (the latter finite at the
            poles, computed from P/sin theta without any division).

        Returns
        -------
        jax.Array, complex, shape (..., nlat, L+1)
            ``f_hat[..., i, m]`` as defined in the module docstring.
        """
        coeffs = jnp.asarray(coeffs)
        lmax = self._degree_of(coeffs)
        c_lm = coefficients_to_lm(coeffs, lmax)
        sl = slice(0, lmax + 1)
        if component == "value":
            table = self.legendre[:, sl, sl]
        elif component == "d_theta":
            table = self.legendre_derivative[:, sl, sl]
        elif component == "d_phi_over_sin":
            table = self.legendre_over_sin[:, sl, sl]
            c_lm = c_lm * (1j * np.arange(lmax + 1))
        else:
            raise InvalidSettingError(
                f"component must be 'value', 'd_theta' or 'd_phi_over_sin', got {component!r}"
            )
        return legendre_contract(table, c_lm)

    def fourier_to_grid(self, f_hat):
        """Values on the grid from latitude-Fourier coefficients (inverse real FFT).

        Parameters
        ----------
        f_hat : array_like, complex, shape (..., nlat, M+1) with ``M < nlon / 2``

        Returns
        -------
        jax.Array, real, shape (..., nlat, nlon)
        """
        f_hat = jnp.asarray(f_hat)
        if 2 * (f_hat.shape[-1] - 1) >= self.nlon:
            raise InvalidSettingError(
                f"order {f_hat.shape[-1] - 1} is not resolved by nlon = {self.nlon} longitudes"
            )
        return jnp.fft.irfft(f_hat * self.nlon, n=self.nlon, axis=-1)

    def grid_to_fourier(self, values, mmax: int):
        """Latitude-Fourier coefficients ``f_hat_m``, ``m = 0..mmax``, of gridded values.

        Parameters
        ----------
        values : array_like, real, shape (..., nlat, nlon)
        mmax : int
            Largest order kept (``2 mmax < nlon``).

        Returns
        -------
        jax.Array, complex, shape (..., nlat, mmax+1)
        """
        values = jnp.asarray(values)
        self._check_grid_shape(values)
        if 2 * mmax >= self.nlon:
            raise InvalidSettingError(
                f"order {mmax} is not resolved by nlon = {self.nlon} longitudes"
            )
        return jnp.fft.rfft(values, axis=-1)[..., : mmax + 1] / self.nlon

    def fourier_analysis(self, f_hat, lmax: int):
        """Coefficients up to degree ``lmax`` from latitude-Fourier coefficients.

        Parameters
        ----------
        f_hat : array_like, complex, shape (..., nlat, >= lmax+1)
        lmax : int
            Degree of the output (<= grid ``lmax``).

        Returns
        -------
        jax.Array, real, shape (..., lmax(lmax+2))
        """
        lmax = int(lmax)
        if lmax > self.lmax:
            raise CoefficientShapeError(f"degree {lmax} exceeds the grid's lmax = {self.lmax}")
        f_hat = jnp.asarray(f_hat)[..., : lmax + 1]
        c_lm = legendre_project(self.projector[:, : lmax + 1, : lmax + 1], f_hat)
        return lm_to_coefficients(c_lm, lmax)

    # ------------------------------------------------------------------ public helpers
    def synthesis(self, coeffs):
        """Field values on the grid.

        Parameters
        ----------
        coeffs : array_like, shape (..., L(L+2)), L <= ``lmax``

        Returns
        -------
        jax.Array, shape (..., nlat, nlon)
            Values in the unit of ``coeffs``.
        """
        return _jit_synthesis(self, jnp.asarray(coeffs))

    def gradient(self, coeffs):
        """Angular derivatives on the grid: ``(df/dtheta, (1/sin theta) df/dphi)``.

        These are the components of the unit-sphere gradient ``grad_1 f`` (southward,
        eastward); divide by the radius for the physical gradient.

        Parameters
        ----------
        coeffs : array_like, shape (..., L(L+2)), L <= ``lmax``

        Returns
        -------
        d_theta, d_phi_over_sin : jax.Array, each shape (..., nlat, nlon)
        """
        return _jit_gradient(self, jnp.asarray(coeffs))

    def analysis(self, values, lmax: int | None = None):
        """Projection of gridded values on the harmonics up to degree ``lmax``.

        ``g_lm = (2l+1)/(4 pi) int f Y_lm^c dOmega`` (and ``h_lm`` with ``Y_lm^s``),
        exact when ``f`` is band-limited to degree ``exact_degree - lmax``.

        Parameters
        ----------
        values : array_like, shape (..., nlat, nlon)
        lmax : int, optional
            Degree of the output; default the grid's ``lmax``.

        Returns
        -------
        jax.Array, shape (..., lmax(lmax+2))
        """
        lmax = self.lmax if lmax is None else int(lmax)
        return _jit_analysis(self, lmax, jnp.asarray(values))

    def integrate(self, values):
        """Integral over the unit sphere, ``int f dOmega``, by the grid's quadrature.

        Parameters
        ----------
        values : array_like, shape (..., nlat, nlon)

        Returns
        -------
        jax.Array, shape (...)
        """
        values = jnp.asarray(values)
        self._check_grid_shape(values)
        return _jit_integrate(self, values)


# Jitted bodies of the public transforms: compiled once per (grid, shapes) instead of
# dispatching every primitive eagerly.
@partial(jax.jit, static_argnums=0)
def _jit_synthesis(grid, coeffs):
    return grid.fourier_to_grid(grid.to_fourier(coeffs, "value"))


@partial(jax.jit, static_argnums=0)
def _jit_gradient(grid, coeffs):
    return (
        grid.fourier_to_grid(grid.to_fourier(coeffs, "d_theta")),
        grid.fourier_to_grid(grid.to_fourier(coeffs, "d_phi_over_sin")),
    )


@partial(jax.jit, static_argnums=(0, 1))
def _jit_analysis(grid, lmax, values):
    return grid.fourier_analysis(grid.grid_to_fourier(values, lmax), lmax)


@partial(jax.jit, static_argnums=0)
def _jit_integrate(grid, values):
    return jnp.einsum("...ik,i->...", values, grid.weights) * (2.0 * np.pi / grid.nlon)


def legendre_contract(table, c_lm):
    """``f_hat[..., i, m] = sum_l table[i, l, m] c_lm[..., l, m]`` for complex ``c_lm``.

    The real and imaginary parts are contracted together as one real batched product
    (batch over the order m), so no complex arithmetic touches the real table.
    """
    stacked = jnp.stack([jnp.real(c_lm), jnp.imag(c_lm)], axis=-1)
    out = jnp.einsum("ilm,...lmk->...imk", table, stacked)
    return out[..., 0] + 1j * out[..., 1]


def legendre_project(projector, f_hat):
    """``c[..., l, m] = sum_i projector[i, l, m] f_hat[..., i, m]`` for complex ``f_hat``."""
    stacked = jnp.stack([jnp.real(f_hat), jnp.imag(f_hat)], axis=-1)
    out = jnp.einsum("ilm,...imk->...lmk", projector, stacked)
    return out[..., 0] + 1j * out[..., 1]


@lru_cache(maxsize=32)
def gauss_legendre_grid(lmax: int, nlat: int | None = None, nlon: int | None = None):
    """Shared (cached) :class:`GaussLegendreGrid` instance for ``(lmax, nlat, nlon)``.

    Parameters
    ----------
    lmax, nlat, nlon : int
        See :class:`GaussLegendreGrid`.

    Returns
    -------
    GaussLegendreGrid
    """
    return GaussLegendreGrid(lmax, nlat, nlon)


def quadrature_grid(integrand_degree: int, lmax: int):
    """Smallest fast grid integrating degree ``integrand_degree`` exactly, tables to ``lmax``.

    ``nlat = ceil((integrand_degree + 1) / 2)`` Gauss points and the smallest even,
    2-3-5-smooth ``nlon`` with ``nlon > integrand_degree`` and ``nlon > 2 lmax``.

    Parameters
    ----------
    integrand_degree : int
        Total degree of the products to integrate (e.g. ``L_B + L_F + L_SV``).
    lmax : int
        Largest degree synthesised or projected on the grid.

    Returns
    -------
    GaussLegendreGrid
    """
    integrand_degree, lmax = int(integrand_degree), int(lmax)
    nlat = max(integrand_degree // 2 + 1, 1)
    nlon = _smooth_size(max(integrand_degree + 1, 2 * lmax + 1))
    return gauss_legendre_grid(lmax, nlat, nlon)
