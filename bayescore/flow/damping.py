"""Choice of the damping of a flow inversion: trade-off curves and a target rms speed.

The flow minimises ``Phi(x) = 1/2 r^T W r + lambda x^T N x`` (:mod:`bayescore.flow.inversion`);
the damping lambda sets how large the flow may be. Searches over lambda use the
eigendecomposition of the generalised problem ``A^T W A v = e N v``: with
``N^-1/2 A^T W A N^-1/2 = V diag(e) V^T`` the solution for every lambda is
``x = N^-1/2 V diag(1 / (e + 2 lambda)) V^T N^-1/2 A^T W gdot``, so a whole trade-off curve
(:func:`damping_tradeoff`) or a root search for the damping giving a chosen rms speed over
the CMB (:func:`find_damping_for_rms`) costs one decomposition. Series of epochs, where the
epochs are coupled, search with full solves (:func:`bracket_damping_by_decades`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from bayescore.errors import ModelConfigError, TargetOutOfReachError
from bayescore.fields.synthesis import finite_array
from bayescore.flow.norms import NORMS
from bayescore.flow.problem import FlowProblem, check_damping_choice, flow_problem

__all__ = [
    "TradeoffCurve",
    "bracket_damping_by_decades",
    "damping_for_rms",
    "damping_tradeoff",
    "find_damping_for_rms",
]


@jax.jit
def _spectral_factor(design, data, data_precision, norm_weights):
    """Eigen-solution of the generalised problem: (basis, eigenvalues, projections).

    ``x(lambda) = basis @ (beta / (e + 2 lambda))`` with ``basis = N^-1/2 V``.
    """
    scale = 1.0 / jnp.sqrt(norm_weights)
    weighted = design * data_precision[:, None]
    normal = (design.T @ weighted) * scale[:, None] * scale[None, :]
    eigenvalues, vectors = jnp.linalg.eigh(0.5 * (normal + normal.T))
    basis = scale[:, None] * vectors
    beta = basis.T @ (weighted.T @ data)
    return basis, eigenvalues, beta


@jax.jit
def _spectral_curve(basis, eigenvalues, beta, design, data, data_precision, ke, dampings):
    """Misfit, norm, KE and solutions for many dampings from the eigen-solution."""
    coeffs = beta[None, :] / (eigenvalues[None, :] + 2.0 * dampings[:, None])
    x = coeffs @ basis.T
    residual = data[None, :] - x @ design.T
    chi2 = jnp.sum(data_precision * residual**2, axis=-1)
    norm_value = jnp.sum(coeffs**2, axis=-1)
    kinetic = jnp.sum(ke * x**2, axis=-1)
    return x, chi2, norm_value, kinetic


@jax.jit
def _spectral_kinetic(basis, eigenvalues, beta, ke, log_damping):
    coeffs = beta / (eigenvalues + 2.0 * jnp.exp(log_damping))
    x = basis @ coeffs
    return jnp.sum(ke * x**2, axis=-1)


@dataclass(frozen=True)
class TradeoffCurve:
    """Misfit against flow norm over a set of dampings (an L-curve).

    Attributes
    ----------
    dampings : numpy.ndarray, shape (n,)
    chi2 : numpy.ndarray, shape (n,)
        ``r^T W r`` of each solution.
    norm_value : numpy.ndarray, shape (n,)
        ``x^T N x`` of each solution (units of :data:`bayescore.flow.norms.NORMS`).
    rms_speed : numpy.ndarray, shape (n,)
        Rms speed over the CMB, km/yr.
    flows : numpy.ndarray, shape (n, 2 n_flow)
        The solutions ``[t, s]``, km/yr.
    norm : str
        Name of the spatial norm.
    """

    dampings: np.ndarray
    chi2: np.ndarray
    norm_value: np.ndarray
    rms_speed: np.ndarray
    flows: np.ndarray
    norm: str

    def to_xarray(self):
        """The curve as an :class:`xarray.Dataset` over the dimension ``damping``."""
        import xarray as xr

        return xr.Dataset(
            {
                "chi2": ("damping", self.chi2, {"units": "1", "long_name": "r^T W r"}),
                "norm_value": (
                    "damping",
                    self.norm_value,
                    {"units": NORMS[self.norm], "long_name": f"{self.norm} norm x^T N x"},
                ),
                "rms_speed": ("damping", self.rms_speed, {"units": "km/yr"}),
            },
            coords={"damping": self.dampings},
            attrs={"norm": self.norm},
        )


def _dampings_array(dampings):
    dampings = finite_array(dampings, "dampings", ndim=1)
    if dampings.size == 0 or np.any(dampings <= 0):
        raise ModelConfigError("dampings must be a non-empty 1-D array of positive values")
    return dampings


def damping_tradeoff(
    g,
    gdot,
    lmax_flow: int,
    dampings,
    norm: str = "strong",
    sv_weights="lesur",
    lmax_sv: int | None = None,
    truncation_variance: float = 0.5,
) -> TradeoffCurve:
    """Trade-off (L-curve) between SV misfit and flow norm over many dampings.

    All dampings share one eigendecomposition of the generalised problem
    ``A^T W A v = e N v``; the solutions equal those of
    :func:`bayescore.flow.inversion.invert_flow`.

    Parameters
    ----------
    g, gdot, lmax_flow, norm, sv_weights, lmax_sv, truncation_variance
        As in :func:`bayescore.flow.inversion.invert_flow`.
    dampings : array_like, shape (n,)
        Positive damping values lambda.

    Returns
    -------
    TradeoffCurve
    """
    dampings = _dampings_array(dampings)
    problem = flow_problem(g, gdot, lmax_flow, norm, sv_weights, lmax_sv, truncation_variance)
    factor = _spectral_factor(
        problem.design,
        jnp.asarray(problem.gdot),
        jnp.asarray(problem.weights),
        jnp.asarray(problem.norm_weights),
    )
    x, chi2, norm_value, kinetic = _spectral_curve(
        *factor,
        problem.design,
        jnp.asarray(problem.gdot),
        jnp.asarray(problem.weights),
        jnp.asarray(problem.ke_weights),
        jnp.asarray(dampings),
    )
    return TradeoffCurve(
        dampings=dampings,
        chi2=np.asarray(chi2),
        norm_value=np.asarray(norm_value),
        rms_speed=np.sqrt(np.asarray(kinetic)),
        flows=np.asarray(x),
        norm=norm,
    )


def _log_ratio(kinetic_of_log, target_ke):
    """``log KE(log lambda) - log target`` for one log-damping (a scalar function)."""

    def func(log_damping):
        return float(np.log(kinetic_of_log(np.array([log_damping]))[0]) - math.log(target_ke))

    return func


def _bracket_and_solve(kinetic_of_log, target_ke, log_lo, log_hi, n_grid=241):
    """Root of log KE(log lambda) = log target on [log_lo, log_hi] (vectorised grid + Brent).

    ``kinetic_of_log`` maps an array of log-dampings to KE values.
    """
    from scipy.optimize import brentq

    grid = np.linspace(log_lo, log_hi, n_grid)
    values = np.log(np.asarray(kinetic_of_log(grid))) - math.log(target_ke)
    # the largest damping still giving at least the target speed: the smooth branch
    above = np.flatnonzero(values >= 0)
    if above.size == 0:
        raise TargetOutOfReachError(
            f"target rms speed {math.sqrt(target_ke):.6g} km/yr is above the largest "
            f"reachable ({math.sqrt(math.exp(values.max()) * target_ke):.6g} km/yr, at damping "
            f"{math.exp(grid[values.argmax()]):.3g})"
        )
    k = above.max()
    if k == grid.size - 1:
        raise TargetOutOfReachError(
            f"target rms speed {math.sqrt(target_ke):.6g} km/yr is below the rms speed at the "
            f"largest damping tried ({math.exp(log_hi):.3g}); it is out of reach"
        )
    if values[k] == 0:
        return math.exp(grid[k])

    func = _log_ratio(kinetic_of_log, target_ke)
    root = brentq(func, grid[k], grid[k + 1], xtol=1e-12, rtol=4 * np.finfo(float).eps)
    return math.exp(root)


_LOG_TEN = math.log(10.0)


def bracket_damping_by_decades(
    kinetic_of_log, target_ke: float, log_start: float, step: float = _LOG_TEN, max_steps=12
) -> float:
    """Damping whose kinetic energy is a target: bracket by decades from a guess, then Brent.

    For series solves, where each evaluation is a full solve (no eigen-shortcut).

    Parameters
    ----------
    kinetic_of_log : callable
        Maps an array of log-dampings (natural log of lambda) to the kinetic energies
        (mean square speed over the CMB, (km/yr)^2) of their solutions.
    target_ke : float
        Target kinetic energy, (km/yr)^2 (the square of the target rms speed).
    log_start : float
        Natural log of the first guess of lambda.
    step : float, optional
        Bracketing step in log lambda (one decade).
    max_steps : int, optional
        Steps tried before giving up.

    Returns
    -------
    float
        The lambda whose solution has the kinetic energy ``target_ke``; raises
        :class:`~bayescore.errors.TargetOutOfReachError` if no bracket is found within
        ``max_steps`` steps.
    """
    from scipy.optimize import brentq

    func = _log_ratio(kinetic_of_log, target_ke)
    lo = hi = log_start
    f_lo = f_hi = func(log_start)
    for _ in range(max_steps):
        if f_lo >= 0 and f_hi <= 0:
            break
        if f_hi > 0:  # still too fast: more damping
            lo, f_lo = hi, f_hi
            hi += step
            f_hi = func(hi)
        else:  # too slow: less damping
            hi, f_hi = lo, f_lo
            lo -= step
            f_lo = func(lo)
    else:
        raise TargetOutOfReachError(
            f"no damping within {max_steps} decades of {math.exp(log_start):.3g} gives the "
            f"target rms speed {math.sqrt(target_ke):.6g} km/yr"
        )
    if f_lo == 0:
        return math.exp(lo)
    if f_hi == 0:
        return math.exp(hi)
    return math.exp(brentq(func, lo, hi, xtol=1e-10, rtol=4 * np.finfo(float).eps))


def _log_range(eigenvalues):
    """Search range of log lambda: 2 lambda from 1e-13 to 1e5 times the top eigenvalue.

    Below ~1e-13 the scaled normal matrix is too ill-conditioned for a float64 Cholesky
    factorisation to be trusted.
    """
    top = float(np.max(np.abs(eigenvalues)))
    top = top if top > 0 else 1.0
    return math.log(top) - 30.0, math.log(top) + 12.0


def damping_for_rms(problem: FlowProblem, target_rms: float) -> float:
    """Damping of an assembled problem whose solution has a given rms speed over the CMB.

    As :func:`find_damping_for_rms`, for a :class:`bayescore.flow.problem.FlowProblem`.

    Parameters
    ----------
    problem : FlowProblem
    target_rms : float
        km/yr.

    Returns
    -------
    float
        The damping lambda (units of the norm's inverse, e.g. yr^2 for the strong norm).
    """
    basis, eigenvalues, beta = _spectral_factor(
        problem.design,
        jnp.asarray(problem.gdot),
        jnp.asarray(problem.weights),
        jnp.asarray(problem.norm_weights),
    )
    ke = jnp.asarray(problem.ke_weights)
    batched = jax.jit(jax.vmap(_spectral_kinetic, in_axes=(None, None, None, None, 0)))

    def kinetic_of_log(log_dampings):
        return np.asarray(batched(basis, eigenvalues, beta, ke, jnp.asarray(log_dampings)))

    log_lo, log_hi = _log_range(np.asarray(eigenvalues))
    return _bracket_and_solve(kinetic_of_log, target_rms**2, log_lo, log_hi)


def find_damping_for_rms(
    g,
    gdot,
    lmax_flow: int,
    target_rms: float,
    norm: str = "strong",
    sv_weights="lesur",
    lmax_sv: int | None = None,
    truncation_variance: float = 0.5,
) -> float:
    """Damping whose solution has a given rms speed over the CMB.

    Root-finding (bracketing on a grid, then Brent's method) on log lambda of
    ``log rms(lambda) - log target``, with rms(lambda) from one eigendecomposition. When
    several dampings give the target (numerical noise at tiny dampings), the largest is
    returned.

    Parameters
    ----------
    g, gdot, lmax_flow, norm, sv_weights, lmax_sv, truncation_variance
        As in :func:`bayescore.flow.inversion.invert_flow`.
    target_rms : float
        Target rms speed in km/yr (> 0).

    Returns
    -------
    float
        The damping lambda.

    Raises
    ------
    TargetOutOfReachError
        If the target is not reachable within the dampings tried (about 13 decades
        below to 5 above the largest eigenvalue of the generalised problem).
    """
    check_damping_choice(None, target_rms)
    problem = flow_problem(g, gdot, lmax_flow, norm, sv_weights, lmax_sv, truncation_variance)
    return damping_for_rms(problem, float(target_rms))
