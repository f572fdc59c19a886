"""Core-flow inversion of the frozen-flux equation as a linear-Gaussian problem.

For a given main field g (degree L_B) the frozen-flux equation is linear in the flow:
``gdot = A x`` with ``A = [E | G]`` (:func:`bayescore.flow.operator.frozen_flux_matrix`)
and ``x = [t, s]`` (km/yr, degree L_F); SV coefficients at r = a (nT/yr) up to degree
L_SV (default L_B + L_F, the band limit of the product). The flow minimises

    Phi(x) = 1/2 (gdot - A x)^T W (gdot - A x) + lambda x^T N x,

with W the diagonal SV weights (:mod:`bayescore.flow.weights`), N the per-degree weights
of a spatial norm (:mod:`bayescore.flow.norms`) and lambda the damping. Read as a
posterior density ``p(x | gdot) ~ exp(-Phi(x))``, W is the precision of the SV errors
and the prior on x is a zero-mean Gaussian with precision ``2 lambda N`` ("precision =
2 x damping x weight", ``docs/theory/frozen_flux.md``). The posterior is Gaussian,

    covariance  C = (A^T W A + 2 lambda N)^-1,    mean  x = C A^T W gdot,

which is also the minimiser of Phi. It is solved with a Cholesky factorisation in
float64 (jit-compiled). The SV above the degree of the supplied SV model is unknown and
enters as zero with the truncation variance of the weights.

Damping searches use the eigendecomposition of the generalised problem
``A^T W A v = e N v``: with ``N^-1/2 A^T W A N^-1/2 = V diag(e) V^T`` the solution for
every lambda is ``x = N^-1/2 V diag(1 / (e + 2 lambda)) V^T N^-1/2 A^T W gdot``, so a whole
trade-off curve costs one decomposition.

A series of epochs is solved at once (batched Cholesky). With a temporal damping the
flows, linear in time between the epochs, are coupled by the temporal norm (paper
eq. 23, :func:`bayescore.flow.norms.piecewise_linear_temporal_precision`); the
block-tridiagonal posterior precision is factorised by a block Cholesky recursion
(``lax.scan``), and the marginal covariance of each epoch comes from the matching
backward recursion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import cho_factor, cho_solve, solve_triangular

from bayescore.constants import CORE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, NonFiniteError
from bayescore.flow.diagnostics import summarise
from bayescore.flow.norms import (
    NORMS,
    coefficient_weights,
    piecewise_linear_temporal_precision,
    temporal_weights,
)
from bayescore.flow.weights import sv_model_degree
from bayescore.sh.indexing import coefficient_labels, degree_order_arrays, lmax_from_size

__all__ = [
    "SVMisfit",
    "FlowInversionResult",
    "FlowSeriesResult",
    "TradeoffCurve",
    "flow_design_matrix",
    "flow_objective",
    "gaussian_posterior",
    "invert_flow",
    "damping_tradeoff",
    "find_damping_for_rms",
    "invert_flow_series",
]


# --------------------------------------------------------------------------------------
# linear-Gaussian core
# --------------------------------------------------------------------------------------


@jax.jit
def _posterior(design, data, data_precision, prior_precision):
    """Mean and covariance of the Gaussian posterior (Cholesky, float64)."""
    weighted = design * data_precision[:, None]
    normal = design.T @ weighted + jnp.diag(prior_precision)
    factor = cho_factor(normal, lower=True)
    mean = cho_solve(factor, weighted.T @ data)
    covariance = cho_solve(factor, jnp.eye(normal.shape[0], dtype=normal.dtype))
    return mean, 0.5 * (covariance + covariance.T)


def gaussian_posterior(design, data, data_precision, prior_precision):
    """Posterior of ``x`` for ``data = design @ x + e`` with diagonal Gaussian e and prior.

    The data errors e are zero-mean Gaussian with precision ``diag(data_precision)`` and
    the prior on x is zero-mean Gaussian with precision ``diag(prior_precision)``.

    Parameters
    ----------
    design : array_like, shape (n_data, n_params)
    data : array_like, shape (n_data,)
    data_precision : array_like, shape (n_data,)
        Inverse variances of the data errors (units of 1/data^2), non-negative.
    prior_precision : array_like, shape (n_params,)
        Inverse variances of the prior, positive.

    Returns
    -------
    mean : jax.Array, shape (n_params,)
        ``(A^T W A + P)^-1 A^T W d``.
    covariance : jax.Array, shape (n_params, n_params)
        ``(A^T W A + P)^-1``.
    """
    design = _as_finite(design, "design matrix", ndim=2)
    data = _as_finite(data, "data", ndim=1)
    data_precision = _as_finite(data_precision, "data precision", ndim=1)
    prior_precision = _as_finite(prior_precision, "prior precision", ndim=1)
    n_data, n_params = design.shape
    if data.shape != (n_data,) or data_precision.shape != (n_data,):
        raise CoefficientShapeError(
            f"design has {n_data} rows but data/data_precision have shapes {data.shape} and "
            f"{data_precision.shape}"
        )
    if prior_precision.shape != (n_params,):
        raise CoefficientShapeError(
            f"design has {n_params} columns but prior_precision has shape {prior_precision.shape}"
        )
    if np.any(data_precision < 0) or np.any(prior_precision <= 0):
        raise ValueError("data precisions must be >= 0 and prior precisions > 0")
    return _posterior(
        jnp.asarray(design), jnp.asarray(data), jnp.asarray(data_precision), prior_precision
    )


def flow_objective(x, design, gdot, sv_weights, damping, norm_weights):
    """The objective ``Phi(x) = 1/2 r^T W r + lambda x^T N x`` with ``r = gdot - A x``.

    Parameters
    ----------
    x : array_like, shape (2 n_flow,)
        Flow vector ``[t, s]`` in km/yr.
    design : array_like, shape (n_sv, 2 n_flow)
        The frozen-flux matrix ``[E | G]`` (nT/yr per km/yr).
    gdot : array_like, shape (n_sv,)
        SV coefficients at a, nT/yr.
    sv_weights : array_like, shape (n_sv,)
        Diagonal W in (nT/yr)^-2.
    damping : float
        lambda.
    norm_weights : array_like, shape (2 n_flow,)
        Diagonal N of the spatial norm (:func:`bayescore.flow.norms.flow_norm_weights`).

    Returns
    -------
    jax.Array, scalar
        Phi(x), the negative log posterior density up to a constant. Differentiable.
    """
    residual = gdot - design @ x
    return 0.5 * jnp.sum(sv_weights * residual**2) + damping * jnp.sum(norm_weights * x**2)


# --------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------


def _as_finite(value, name, ndim=None):
    array = np.asarray(value, dtype=float)
    if ndim is not None and array.ndim != ndim:
        raise CoefficientShapeError(f"{name} must be {ndim}-D, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise NonFiniteError(f"{name} contains NaN or infinite values")
    return array


def _coefficient_vector(value, name):
    array = _as_finite(value, name)
    if array.ndim != 1:
        raise CoefficientShapeError(f"{name} must be a 1-D coefficient vector, got {array.shape}")
    return array, lmax_from_size(array.size, name)


def _check_damping_choice(damping, target_rms):
    if (damping is None) == (target_rms is None):
        raise ValueError(
            "give exactly one of damping (a fixed lambda) and target_rms (a target rms "
            "speed in km/yr), got "
            + ("neither" if damping is None else f"both ({damping!r}, {target_rms!r})")
        )
    value = damping if damping is not None else target_rms
    what = "damping" if damping is not None else "target_rms"
    if not np.isfinite(value):
        raise NonFiniteError(f"{what} must be finite, got {value!r}")
    if not value > 0:
        raise ValueError(f"{what} must be positive, got {value!r}")


def _check_norm(norm):
    if norm not in NORMS:
        raise ValueError(f"unknown flow norm {norm!r}: expected one of {sorted(NORMS)}")


def flow_design_matrix(g, lmax_flow: int, lmax_sv: int | None = None):
    """The frozen-flux matrix ``[E | G]`` for the main field g (float64 array).

    Parameters
    ----------
    g : array_like, shape (..., L_B (L_B + 2))
        Main-field Gauss coefficients at a, nT (leading batch dimensions allowed).
    lmax_flow : int
        L_F.
    lmax_sv : int, optional
        L_SV (default L_B + L_F).

    Returns
    -------
    jax.Array, shape (..., L_SV (L_SV + 2), 2 L_F (L_F + 2))
        Column block E acts on t, G on s; rows are SV coefficients at a, nT/yr per km/yr
        (:func:`bayescore.flow.operator.frozen_flux_matrix`).
    """
    from bayescore.flow.operator import frozen_flux_matrix

    return frozen_flux_matrix(jnp.asarray(g, dtype=float), lmax_flow, lmax_sv).matrix


def _resolve_weights(scheme_or_weights, gdot, lmax_sv, truncation_variance):
    """Weight vector (numpy) for one epoch from a scheme name or given weights."""
    from bayescore.flow.weights import sv_weights

    if isinstance(scheme_or_weights, str):
        return sv_weights(
            gdot,
            lmax_sv=lmax_sv,
            truncation_variance=truncation_variance,
            scheme=scheme_or_weights,
        )
    n_sv = lmax_sv * (lmax_sv + 2)
    weights = _as_finite(scheme_or_weights, "sv_weights", ndim=1)
    if weights.shape != (n_sv,):
        raise CoefficientShapeError(
            f"sv_weights has {weights.size} entries, expected {n_sv} (degree L_SV={lmax_sv})"
        )
    if np.any(weights < 0) or not np.any(weights > 0):
        raise ValueError("sv_weights must be non-negative and not all zero")
    return weights


def _pad(vector, n):
    out = np.zeros(n)
    out[: vector.size] = vector
    return out


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SVMisfit:
    """Misfit of the SV equations.

    Attributes
    ----------
    chi2 : float
        ``r^T W r`` (dimensionless when W is a precision).
    weighted_rms : float
        ``sqrt(r^T W r / sum(W))`` in nT/yr.
    rms : float
        Plain rms of the residual coefficients at a over all L_SV(L_SV+2) equations,
        nT/yr.
    rho : float
        ``r^T W r / gdot^T W gdot``: the share of the (weighted) SV that the flow does
        not explain (Lesur et al. 2010, eq. 31, for a single epoch).
    n_equations : int
        Number of SV equations.
    """

    chi2: float
    weighted_rms: float
    rms: float
    rho: float
    n_equations: int


def _misfit(residual, gdot, weights):
    chi2 = np.sum(weights * residual**2, axis=-1)
    return chi2, {
        "chi2": chi2,
        "weighted_rms": np.sqrt(chi2 / np.sum(weights, axis=-1)),
        "rms": np.sqrt(np.mean(residual**2, axis=-1)),
        "rho": chi2 / np.sum(weights * gdot**2, axis=-1),
    }


def _flow_dataset(t, s, t_std, s_std, lmax_flow):
    import xarray as xr

    degree, order, _ = degree_order_arrays(lmax_flow)
    labels = coefficient_labels(lmax_flow, ("cos", "sin"))
    lead = ("time",) if t.ndim == 2 else ()
    dims = lead + ("coefficient",)
    unit = {"units": "km/yr"}
    data = {
        "t": (dims, t, {**unit, "long_name": "toroidal coefficients (posterior mean)"}),
        "s": (dims, s, {**unit, "long_name": "poloidal coefficients (posterior mean)"}),
    }
    if t_std is not None:
        data["t_std"] = (dims, t_std, {**unit, "long_name": "toroidal posterior std"})
        data["s_std"] = (dims, s_std, {**unit, "long_name": "poloidal posterior std"})
    coords = {
        "coefficient": labels,
        "degree": ("coefficient", degree),
        "order": ("coefficient", order),
    }
    return xr.Dataset(data, coords=coords)


def _sv_dataset(gdot, predicted, residual, weights, lmax_sv):
    import xarray as xr

    lead = ("time",) if gdot.ndim == 2 else ()
    dims = lead + ("sv_coefficient",)
    degree, order, _ = degree_order_arrays(lmax_sv)
    unit = {"units": "nT/yr"}
    return xr.Dataset(
        {
            "sv_observed": (dims, gdot, {**unit, "long_name": "SV coefficients at a (data)"}),
            "sv_predicted": (dims, predicted, {**unit, "long_name": "SV predicted by the flow"}),
            "sv_residual": (dims, residual, {**unit, "long_name": "SV residual"}),
            "sv_weights": (dims, weights, {"units": "(nT/yr)^-2", "long_name": "SV weights"}),
        },
        coords={
            "sv_coefficient": coefficient_labels(lmax_sv),
            "sv_degree": ("sv_coefficient", degree),
            "sv_order": ("sv_coefficient", order),
        },
    )


@dataclass(frozen=True)
class FlowInversionResult:
    """Posterior of a single-epoch flow inversion.

    Attributes
    ----------
    t, s : numpy.ndarray, shape (L_F (L_F + 2),)
        Posterior mean toroidal and poloidal coefficients, km/yr.
    damping : float
        The damping lambda of the spatial norm.
    norm : str
        ``"strong"``, ``"weak"`` or ``"energy"``.
    covariance : numpy.ndarray, shape (2 n_flow, 2 n_flow)
        Exact posterior covariance of ``[t, s]``, (km/yr)^2:
        ``(A^T W A + 2 lambda N)^-1``.
    sv : numpy.ndarray, shape (L_SV (L_SV + 2),)
        The SV data at a (zero above the supplied SV's degree), nT/yr.
    predicted_sv : numpy.ndarray
        ``A x``, nT/yr.
    residual : numpy.ndarray
        ``sv - predicted_sv``, nT/yr.
    sv_weights : numpy.ndarray
        The weights W used, (nT/yr)^-2.
    misfit : SVMisfit
    diagnostics : xarray.Dataset
        :func:`bayescore.flow.diagnostics.summarise` of the mean flow.
    lmax_field, lmax_flow, lmax_sv : int
    epoch : float or None
        Epoch in decimal years when known.
    """

    t: np.ndarray
    s: np.ndarray
    damping: float
    norm: str
    covariance: np.ndarray
    sv: np.ndarray
    predicted_sv: np.ndarray
    residual: np.ndarray
    sv_weights: np.ndarray
    misfit: SVMisfit
    diagnostics: object = field(repr=False)
    lmax_field: int = 0
    lmax_flow: int = 0
    lmax_sv: int = 0
    epoch: float | None = None

    @property
    def vector(self) -> np.ndarray:
        """Stacked posterior mean ``[t, s]``, km/yr."""
        return np.concatenate([self.t, self.s])

    @property
    def std(self) -> np.ndarray:
        """Posterior standard deviations of ``[t, s]``, km/yr."""
        return np.sqrt(np.diag(self.covariance))

    @property
    def flow(self):
        """The posterior mean as a :class:`bayescore.flow.velocity.Flow`."""
        from bayescore.flow.velocity import Flow

        return Flow(self.t, self.s, self.epoch)

    @property
    def rms_speed(self) -> float:
        """Rms speed of the posterior mean flow over the CMB, km/yr."""
        return float(self.diagnostics["rms_speed"])

    def to_xarray(self):
        """Coefficients, standard deviations, SV fit and diagnostics as an xarray.Dataset.

        Returns
        -------
        xarray.Dataset
            ``t``, ``s``, ``t_std``, ``s_std`` over ``coefficient`` (labels
            ``cos_1_0, cos_1_1, sin_1_1, ...``); ``sv_observed``, ``sv_predicted``,
            ``sv_residual``, ``sv_weights`` over ``sv_coefficient`` (``g_1_0, ...``); the
            diagnostics (over ``degree`` for spectra); the covariance over
            (``parameter``, ``parameter_2``). Attributes: damping, norm, misfit, degrees,
            epoch.
        """
        import xarray as xr

        n = self.t.size
        std = self.std
        ds = xr.merge(
            [
                _flow_dataset(self.t, self.s, std[:n], std[n:], self.lmax_flow),
                _sv_dataset(
                    self.sv, self.predicted_sv, self.residual, self.sv_weights, self.lmax_sv
                ),
                self.diagnostics,
            ],
            combine_attrs="drop_conflicts",
        )
        labels = [f"t_{c}" for c in ds.coefficient.values] + [
            f"s_{c}" for c in ds.coefficient.values
        ]
        ds["covariance"] = xr.Variable(
            ("parameter", "parameter_2"),
            self.covariance,
            {"units": "(km/yr)^2", "long_name": "posterior covariance of [t, s]"},
        )
        ds = ds.assign_coords(parameter=labels, parameter_2=labels)
        ds.attrs = {}
        ds.attrs.update(
            {
                "damping": self.damping,
                "norm": self.norm,
                "chi2": self.misfit.chi2,
                "weighted_rms_nT_per_yr": self.misfit.weighted_rms,
                "rms_nT_per_yr": self.misfit.rms,
                "rho": self.misfit.rho,
                "lmax_field": self.lmax_field,
                "lmax_flow": self.lmax_flow,
                "lmax_sv": self.lmax_sv,
                "epoch": np.nan if self.epoch is None else float(self.epoch),
                "core_radius_km": CORE_RADIUS_KM,
            }
        )
        return ds


# --------------------------------------------------------------------------------------
# single epoch
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    design: jax.Array
    gdot: np.ndarray
    weights: np.ndarray
    norm_weights: np.ndarray
    ke_weights: np.ndarray
    lmax_field: int
    lmax_flow: int
    lmax_sv: int


def _setup(
    g,
    gdot,
    lmax_flow,
    norm,
    sv_weights,
    lmax_sv,
    truncation_variance=0.5,
    design=None,
):
    _check_norm(norm)
    g, lmax_field = _coefficient_vector(g, "main field g")
    gdot, lmax_gdot = _coefficient_vector(gdot, "SV gdot")
    lmax_flow = int(lmax_flow)
    if lmax_flow < 1:
        raise CoefficientShapeError(f"lmax_flow must be >= 1, got {lmax_flow}")
    lmax_sv = lmax_field + lmax_flow if lmax_sv is None else int(lmax_sv)
    if lmax_gdot > lmax_sv:
        raise CoefficientShapeError(
            f"the SV reaches degree {lmax_gdot}, above the equations' degree lmax_sv={lmax_sv}"
        )
    weights = _resolve_weights(sv_weights, gdot, lmax_sv, truncation_variance)
    if np.any(gdot):
        lmax_gdot = sv_model_degree(gdot)  # degrees padded with zeros are not modelled
    n_sv = lmax_sv * (lmax_sv + 2)
    gdot = _pad(gdot, n_sv)
    if design is None:
        design = flow_design_matrix(g, lmax_flow, lmax_sv)
    n_flow = lmax_flow * (lmax_flow + 2)
    if design.shape != (n_sv, 2 * n_flow):
        raise CoefficientShapeError(
            f"frozen-flux matrix has shape {design.shape}, expected {(n_sv, 2 * n_flow)}"
        )
    nw = coefficient_weights(lmax_flow, norm)
    ke = coefficient_weights(lmax_flow, "energy")
    return _Problem(
        design=design,
        gdot=gdot,
        weights=weights,
        norm_weights=np.concatenate([nw, nw]),
        ke_weights=np.concatenate([ke, ke]),
        lmax_field=lmax_gdot,
        lmax_flow=lmax_flow,
        lmax_sv=lmax_sv,
    )


def invert_flow(
    g,
    gdot,
    lmax_flow: int,
    norm: str = "strong",
    damping: float | None = None,
    target_rms: float | None = None,
    sv_weights="lesur",
    lmax_sv: int | None = None,
    truncation_variance: float = 0.5,
    epoch: float | None = None,
) -> FlowInversionResult:
    """Invert the SV of a main-field model for a core-surface flow (one epoch).

    Parameters
    ----------
    g : array_like, shape (L_B (L_B + 2),)
        Main-field Gauss coefficients at a = 6371.2 km, nT.
    gdot : array_like, shape (L (L + 2),)
        SV coefficients at a, nT/yr, with L <= L_SV. Its highest degree with non-zero
        power is the L_B of the SV weights: above it the SV is unknown (zero with the
        truncation variance).
    lmax_flow : int
        Maximum degree L_F of t and s.
    norm : {"strong", "weak", "energy"}
        Spatial norm N of the prior (:mod:`bayescore.flow.norms`).
    damping : float, optional
        The damping lambda (> 0), in the units that make ``lambda x^T N x`` dimensionless
        (strong norm: yr^2). Give exactly one of ``damping`` and ``target_rms``.
    target_rms : float, optional
        Rms speed over the CMB (km/yr) that the damping is tuned to reproduce
        (:func:`find_damping_for_rms`).
    sv_weights : {"lesur", "uniform", "cmb"} or array_like, shape (L_SV (L_SV + 2),)
        Weights W of the SV equations ((nT/yr)^-2): a scheme of
        :func:`bayescore.flow.weights.sv_weights` (Lesur's built from ``gdot`` itself) or
        the weights themselves.
    lmax_sv : int, optional
        Degree L_SV of the SV equations (default L_B + L_F, exact).
    truncation_variance : float, optional
        SV power per degree at a above L, (nT/yr)^2, for the Lesur weights (0.5).
    epoch : float, optional
        Epoch (decimal year), stored as metadata.

    Returns
    -------
    FlowInversionResult
        Posterior mean, exact covariance ``(A^T W A + 2 lambda N)^-1``, SV fit and
        diagnostics.

    Raises
    ------
    ValueError
        Neither or both of ``damping`` and ``target_rms``, a non-positive one, unknown
        norm or weighting scheme, or a target rms out of reach.
    CoefficientShapeError
        Coefficient vectors of invalid length, SV above L_SV, or weights of the wrong
        length.
    NonFiniteError
        NaN or infinite entries.
    """
    _check_damping_choice(damping, target_rms)
    problem = _setup(g, gdot, lmax_flow, norm, sv_weights, lmax_sv, truncation_variance)
    if target_rms is not None:
        damping = _damping_for_rms(problem, float(target_rms))
    return _solve_problem(problem, float(damping), norm, epoch)


def _check_factorised(mean, damping):
    if not np.all(np.isfinite(mean)):
        raise ValueError(
            f"the posterior precision is not numerically positive definite at damping "
            f"{damping:.6g} (the Cholesky factorisation failed): increase the damping"
        )


def _solve_problem(problem: _Problem, damping: float, norm: str, epoch) -> FlowInversionResult:
    mean, covariance = _posterior(
        problem.design,
        jnp.asarray(problem.gdot),
        jnp.asarray(problem.weights),
        jnp.asarray(2.0 * damping * problem.norm_weights),
    )
    mean, covariance = np.asarray(mean), np.asarray(covariance)
    _check_factorised(mean, damping)
    predicted = np.asarray(problem.design @ mean)
    residual = problem.gdot - predicted
    _, misfit = _misfit(residual, problem.gdot, problem.weights)
    n_flow = mean.size // 2
    t, s = mean[:n_flow], mean[n_flow:]
    return FlowInversionResult(
        t=t,
        s=s,
        damping=damping,
        norm=norm,
        covariance=covariance,
        sv=problem.gdot,
        predicted_sv=predicted,
        residual=residual,
        sv_weights=problem.weights,
        misfit=SVMisfit(**{k: float(v) for k, v in misfit.items()}, n_equations=residual.size),
        diagnostics=summarise(t, s),
        lmax_field=problem.lmax_field,
        lmax_flow=problem.lmax_flow,
        lmax_sv=problem.lmax_sv,
        epoch=None if epoch is None else float(epoch),
    )


# --------------------------------------------------------------------------------------
# damping search (one eigendecomposition for all dampings)
# --------------------------------------------------------------------------------------


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
    dampings = _as_finite(dampings, "dampings", ndim=1)
    if dampings.size == 0 or np.any(dampings <= 0):
        raise ValueError("dampings must be a non-empty 1-D array of positive values")
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
    ``A^T W A v = e N v``; the solutions equal those of :func:`invert_flow`.

    Parameters
    ----------
    g, gdot, lmax_flow, norm, sv_weights, lmax_sv, truncation_variance
        As in :func:`invert_flow`.
    dampings : array_like, shape (n,)
        Positive damping values lambda.

    Returns
    -------
    TradeoffCurve
    """
    dampings = _dampings_array(dampings)
    problem = _setup(g, gdot, lmax_flow, norm, sv_weights, lmax_sv, truncation_variance)
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
        raise ValueError(
            f"target rms speed {math.sqrt(target_ke):.6g} km/yr is above the largest "
            f"reachable ({math.sqrt(math.exp(values.max()) * target_ke):.6g} km/yr, at damping "
            f"{math.exp(grid[values.argmax()]):.3g})"
        )
    k = above.max()
    if k == grid.size - 1:
        raise ValueError(
            f"target rms speed {math.sqrt(target_ke):.6g} km/yr is below the rms speed at the "
            f"largest damping tried ({math.exp(log_hi):.3g}); it is out of reach"
        )
    if values[k] == 0:
        return math.exp(grid[k])

    def func(log_damping):
        return float(np.log(kinetic_of_log(np.array([log_damping]))[0]) - math.log(target_ke))

    root = brentq(func, grid[k], grid[k + 1], xtol=1e-12, rtol=4 * np.finfo(float).eps)
    return math.exp(root)


_LOG_TEN = math.log(10.0)


def _expand_and_solve(kinetic_of_log, target_ke, log_start, step=_LOG_TEN, max_steps=12):
    """Root of log KE(log lambda) = log target: bracket by decades from a guess, then Brent.

    For series solves, where each evaluation is a full solve (no eigen-shortcut).
    """
    from scipy.optimize import brentq

    def func(log_damping):
        return float(np.log(kinetic_of_log(np.array([log_damping]))[0]) - math.log(target_ke))

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
        raise ValueError(
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


def _damping_for_rms(problem: _Problem, target_rms: float) -> float:
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
        As in :func:`invert_flow`.
    target_rms : float
        Target rms speed in km/yr (> 0).

    Returns
    -------
    float
        The damping lambda.

    Raises
    ------
    ValueError
        If the target is not reachable within the dampings tried (about 13 decades
        below to 5 above the largest eigenvalue of the generalised problem).
    """
    _check_damping_choice(None, target_rms)
    problem = _setup(g, gdot, lmax_flow, norm, sv_weights, lmax_sv, truncation_variance)
    return _damping_for_rms(problem, float(target_rms))


# --------------------------------------------------------------------------------------
# series of epochs
# --------------------------------------------------------------------------------------


def _block_tridiagonal_factor(diagonal, coupling):
    """Block Cholesky of a symmetric positive-definite block-tridiagonal matrix.

    diagonal: (K, n, n) blocks D_k; coupling: (K-1, n, n) blocks B_k = M[k, k+1].
    Returns L (K, n, n) lower Cholesky factors of the Schur complements S_k and
    F (K-1, n, n) with ``F_k = L_k^-1 B_k`` (so ``M[k+1, k] = F_k^T L_k^T``).
    """
    first = jnp.linalg.cholesky(diagonal[0])

    def step(previous, blocks):
        d_k, b_prev = blocks
        f = solve_triangular(previous, b_prev, lower=True)
        current = jnp.linalg.cholesky(d_k - f.T @ f)
        return current, (current, f)

    _, (rest, factors) = jax.lax.scan(step, first, (diagonal[1:], coupling))
    return jnp.concatenate([first[None], rest]), factors


def _block_tridiagonal_solve(chol, factors, rhs):
    """Solve M x = rhs with the factors of :func:`_block_tridiagonal_factor`."""
    y0 = solve_triangular(chol[0], rhs[0], lower=True)

    def forward(y_prev, blocks):
        l_k, f_prev, b_k = blocks
        y = solve_triangular(l_k, b_k - f_prev.T @ y_prev, lower=True)
        return y, y

    _, y_rest = jax.lax.scan(forward, y0, (chol[1:], factors, rhs[1:]))
    y = jnp.concatenate([y0[None], y_rest])
    x_last = solve_triangular(chol[-1], y[-1], lower=True, trans="T")

    def backward(x_next, blocks):
        l_k, f_k, y_k = blocks
        x = solve_triangular(l_k, y_k - f_k @ x_next, lower=True, trans="T")
        return x, x

    _, x_rest = jax.lax.scan(backward, x_last, (chol[:-1], factors, y[:-1]), reverse=True)
    return jnp.concatenate([x_rest, x_last[None]])


def _block_tridiagonal_marginals(chol, factors, full: bool):
    """Diagonal blocks of M^-1: Sigma_k = S_k^-1 + G_k Sigma_{k+1} G_k^T, G_k = L_k^-T F_k.

    Returns the blocks (K, n, n) when ``full``, else their diagonals (K, n).
    """
    n = chol.shape[-1]
    eye = jnp.eye(n, dtype=chol.dtype)

    def schur_inverse(l_k):
        inv_l = solve_triangular(l_k, eye, lower=True)
        return inv_l.T @ inv_l

    def output(sigma):
        return sigma if full else jnp.diagonal(sigma)

    last = schur_inverse(chol[-1])

    def backward(sigma_next, blocks):
        l_k, f_k = blocks
        gain = solve_triangular(l_k, f_k, lower=True, trans="T")
        sigma = schur_inverse(l_k) + gain @ sigma_next @ gain.T
        sigma = 0.5 * (sigma + sigma.T)
        return sigma, output(sigma)

    _, rest = jax.lax.scan(backward, last, (chol[:-1], factors), reverse=True)
    return jnp.concatenate([rest, output(last)[None]])


#: What the series solvers return besides the mean.
_SECOND_OUTPUTS = ("none", "variance", "covariance")


@partial(jax.jit, static_argnames=("second",))
def _series_solve_coupled(normal, rhs, prior, temporal_diag, temporal_off, temporal_w, second):
    diagonal = normal + jax.vmap(jnp.diag)(prior + temporal_diag[:, None] * temporal_w)
    coupling = jax.vmap(jnp.diag)(temporal_off[:, None] * temporal_w)
    chol, factors = _block_tridiagonal_factor(diagonal, coupling)
    mean = _block_tridiagonal_solve(chol, factors, rhs)
    if second == "none":
        return mean, None
    return mean, _block_tridiagonal_marginals(chol, factors, second == "covariance")


@partial(jax.jit, static_argnames=("second",))
def _series_solve_independent(normal, rhs, prior, second):
    def one(m, b, p):
        chol = jnp.linalg.cholesky(m + jnp.diag(p))
        mean = cho_solve((chol, True), b)
        if second == "none":
            return mean, None
        inv_l = solve_triangular(chol, jnp.eye(m.shape[0], dtype=m.dtype), lower=True)
        if second == "variance":
            return mean, jnp.sum(inv_l**2, axis=0)
        return mean, inv_l.T @ inv_l

    return jax.lax.map(lambda args: one(*args), (normal, rhs, prior))


@jax.jit
def _normal_equations(design, data, weights):
    weighted = design * weights[..., :, None]
    normal = jnp.einsum("kij,kil->kjl", design, weighted)
    rhs = jnp.einsum("kij,ki->kj", weighted, data)
    return normal, rhs


@dataclass(frozen=True)
class FlowSeriesResult:
    """Posterior of flows at a series of epochs.

    Attributes
    ----------
    epochs : numpy.ndarray, shape (K,)
        Decimal years.
    t, s : numpy.ndarray, shape (K, L_F (L_F + 2))
        Posterior mean coefficients, km/yr.
    std : numpy.ndarray, shape (K, 2 n_flow)
        Marginal posterior standard deviations of ``[t, s]`` per epoch, km/yr.
    covariance : numpy.ndarray, shape (K, 2 n_flow, 2 n_flow) or None
        Marginal posterior covariance of each epoch's ``[t, s]`` (when requested).
    damping : float
        Spatial damping lambda.
    temporal_damping : float or None
        Temporal damping lambda_3 (None: independent epochs).
    norm : str
    sv, predicted_sv, residual, sv_weights : numpy.ndarray, shape (K, n_sv)
    chi2, weighted_rms, rms, rho : numpy.ndarray, shape (K,)
        Misfit measures per epoch (see :class:`SVMisfit`).
    diagnostics : xarray.Dataset
        Flow diagnostics over ``time``.
    lmax_field, lmax_flow, lmax_sv : int
    """

    epochs: np.ndarray
    t: np.ndarray
    s: np.ndarray
    std: np.ndarray
    covariance: np.ndarray | None
    damping: float
    temporal_damping: float | None
    norm: str
    sv: np.ndarray
    predicted_sv: np.ndarray
    residual: np.ndarray
    sv_weights: np.ndarray
    chi2: np.ndarray
    weighted_rms: np.ndarray
    rms: np.ndarray
    rho: np.ndarray
    diagnostics: object = field(repr=False)
    lmax_field: int = 0
    lmax_flow: int = 0
    lmax_sv: int = 0

    def __len__(self) -> int:
        return self.epochs.size

    @property
    def flows(self) -> list:
        """The posterior mean flows as :class:`bayescore.flow.velocity.Flow` objects."""
        from bayescore.flow.velocity import Flow

        return [Flow(t, s, float(e)) for t, s, e in zip(self.t, self.s, self.epochs, strict=True)]

    def to_xarray(self):
        """Coefficients, standard deviations, SV fit and diagnostics over ``time``.

        Returns
        -------
        xarray.Dataset
        """
        import xarray as xr

        n = self.t.shape[1]
        ds = xr.merge(
            [
                _flow_dataset(self.t, self.s, self.std[:, :n], self.std[:, n:], self.lmax_flow),
                _sv_dataset(
                    self.sv, self.predicted_sv, self.residual, self.sv_weights, self.lmax_sv
                ),
                self.diagnostics,
            ],
            combine_attrs="drop_conflicts",
        )
        ds = ds.assign_coords(time=("time", self.epochs, {"units": "year"}))
        ds.attrs = {}
        for name, value, unit in (
            ("chi2", self.chi2, "1"),
            ("weighted_rms", self.weighted_rms, "nT/yr"),
            ("rms", self.rms, "nT/yr"),
            ("rho", self.rho, "1"),
        ):
            ds[f"misfit_{name}"] = ("time", value, {"units": unit})
        ds.attrs.update(
            {
                "damping": self.damping,
                "temporal_damping": np.nan
                if self.temporal_damping is None
                else self.temporal_damping,
                "norm": self.norm,
                "lmax_field": self.lmax_field,
                "lmax_flow": self.lmax_flow,
                "lmax_sv": self.lmax_sv,
            }
        )
        return ds


def _model_epochs(model, epochs):
    epochs = np.atleast_1d(_as_finite(epochs, "epochs"))
    if epochs.ndim != 1 or epochs.size == 0:
        raise CoefficientShapeError(f"epochs must be a non-empty 1-D array, got {epochs.shape}")
    fields = np.asarray(model.coeffs(epochs), dtype=float)
    svs = np.asarray(model.sv(epochs), dtype=float)
    if fields.shape[:1] != epochs.shape or svs.shape[:1] != epochs.shape:
        raise CoefficientShapeError(
            f"the model returned coefficients of shapes {fields.shape} and {svs.shape} for "
            f"{epochs.size} epochs (expected one row per epoch)"
        )
    return epochs, fields, svs


def invert_flow_series(
    model,
    epochs,
    lmax_flow: int,
    norm: str = "strong",
    damping: float | None = None,
    target_rms: float | None = None,
    sv_weights="lesur",
    lmax_sv: int | None = None,
    temporal_damping: float | None = None,
    truncation_variance: float = 0.5,
    covariance: bool = False,
) -> FlowSeriesResult:
    """Flows at many epochs of a field model, solved together.

    Parameters
    ----------
    model : bayescore.fields.FieldModel
        Provides ``coeffs(t)`` (nT) and ``sv(t)`` (nT/yr) at a; epochs outside its span
        raise :class:`bayescore.errors.EpochOutOfRangeError` there.
    epochs : array_like, shape (K,)
        Decimal years (strictly increasing when ``temporal_damping`` is given).
    lmax_flow : int
        L_F.
    norm : {"strong", "weak", "energy"}
        Spatial norm.
    damping : float, optional
        Spatial damping lambda, common to all epochs.
    target_rms : float, optional
        Instead of ``damping``: the common lambda is tuned so that the rms speed over the
        CMB averaged over the epochs, ``sqrt(mean_k KE_k)``, equals this (km/yr).
    sv_weights : {"lesur", "uniform", "cmb"} or array_like
        As in :func:`invert_flow`; the Lesur weights are built per epoch from the
        model's SV there. An array may be (n_sv,) (shared) or (K, n_sv).
    lmax_sv : int, optional
        Degree of the SV equations (default L_B + L_F).
    temporal_damping : float, optional
        lambda_3 of the temporal norm (paper eq. 23) of the flow linear in time between
        the epochs (prior precision ``2 lambda_3 C (x) Wt``, block tridiagonal). None: the
        epochs are independent.
    truncation_variance : float, optional
        See :func:`invert_flow`.
    covariance : bool, optional
        Also return each epoch's marginal posterior covariance (K blocks of
        (2 n_flow)^2 numbers); the standard deviations are always returned.

    Returns
    -------
    FlowSeriesResult
    """
    _check_damping_choice(damping, target_rms)
    _check_norm(norm)
    if temporal_damping is not None:
        if not np.isfinite(temporal_damping):
            raise NonFiniteError(f"temporal_damping must be finite, got {temporal_damping!r}")
        if not temporal_damping > 0:
            raise ValueError(f"temporal_damping must be positive, got {temporal_damping!r}")
    epochs, fields, svs = _model_epochs(model, epochs)
    n_epochs = epochs.size
    if temporal_damping is not None and n_epochs < 2:
        raise ValueError("temporal coupling needs at least two epochs")
    if temporal_damping is not None and not np.all(np.diff(epochs) > 0):
        raise ValueError("epochs must be strictly increasing when temporal_damping is given")

    lmax_field = lmax_from_size(fields.shape[1], "main field g")
    lmax_gdot = lmax_from_size(svs.shape[1], "SV gdot")
    lmax_sv_ = lmax_field + int(lmax_flow) if lmax_sv is None else int(lmax_sv)
    if isinstance(sv_weights, str) or np.ndim(sv_weights) == 1:
        per_epoch_weights = [sv_weights] * n_epochs
    else:
        per_epoch_weights = list(np.asarray(sv_weights, dtype=float))
        if len(per_epoch_weights) != n_epochs:
            raise CoefficientShapeError(
                f"sv_weights has {len(per_epoch_weights)} rows for {n_epochs} epochs"
            )
    problems = []
    designs = flow_design_matrix(fields, int(lmax_flow), lmax_sv_)
    for k in range(n_epochs):
        try:
            problem = _setup(
                fields[k],
                svs[k],
                lmax_flow,
                norm,
                per_epoch_weights[k],
                lmax_sv_,
                truncation_variance,
                design=designs[k],
            )
        except ValueError as error:  # name the epoch (its subclasses keep their type)
            raise type(error)(f"epoch {epochs[k]:g}: {error}") from error
        problems.append(problem)
    gdot = np.stack([p.gdot for p in problems])
    weights = np.stack([p.weights for p in problems])
    norm_weights = problems[0].norm_weights
    ke_weights = problems[0].ke_weights
    normal, rhs = _normal_equations(designs, jnp.asarray(gdot), jnp.asarray(weights))

    if temporal_damping is not None:
        coupling = piecewise_linear_temporal_precision(epochs)
        tw = temporal_weights(int(lmax_flow))
        temporal_w = jnp.asarray(np.concatenate([tw, tw]))
        temporal_diag = jnp.asarray(2.0 * temporal_damping * np.diag(coupling))
        temporal_off = jnp.asarray(2.0 * temporal_damping * np.diag(coupling, 1))

        def solve(lam, second="none"):
            prior = jnp.broadcast_to(2.0 * lam * jnp.asarray(norm_weights), rhs.shape)
            return _series_solve_coupled(
                normal, rhs, prior, temporal_diag, temporal_off, temporal_w, second
            )
    else:

        def solve(lam, second="none"):
            prior = jnp.broadcast_to(2.0 * lam * jnp.asarray(norm_weights), rhs.shape)
            return _series_solve_independent(normal, rhs, prior, second)

    if target_rms is not None:
        ke = jnp.asarray(ke_weights)

        def kinetic_of_log(log_dampings):
            values = []
            for log_damping in np.atleast_1d(log_dampings):
                mean, _ = solve(math.exp(float(log_damping)))
                value = float(jnp.mean(jnp.sum(ke * mean**2, axis=-1)))
                # a failed factorisation (too little damping) counts as too fast a flow
                values.append(value if np.isfinite(value) else np.inf)
            return np.array(values)

        # start from the damping that gives the target at the middle epoch alone
        start = _damping_for_rms(problems[n_epochs // 2], float(target_rms))
        damping = _expand_and_solve(kinetic_of_log, float(target_rms) ** 2, math.log(start))

    mean, second = solve(float(damping), "covariance" if covariance else "variance")
    mean = np.asarray(mean)
    _check_factorised(mean, damping)
    second = np.asarray(second)
    variance = np.diagonal(second, axis1=1, axis2=2) if covariance else second
    std = np.sqrt(variance)
    predicted = np.asarray(jnp.einsum("kij,kj->ki", designs, jnp.asarray(mean)))
    residual = gdot - predicted
    _, misfit = _misfit(residual, gdot, weights)
    n_flow = mean.shape[1] // 2
    t, s = mean[:, :n_flow], mean[:, n_flow:]
    return FlowSeriesResult(
        epochs=epochs,
        t=t,
        s=s,
        std=std,
        covariance=second if covariance else None,
        damping=float(damping),
        temporal_damping=None if temporal_damping is None else float(temporal_damping),
        norm=norm,
        sv=gdot,
        predicted_sv=predicted,
        residual=residual,
        sv_weights=weights,
        chi2=misfit["chi2"],
        weighted_rms=misfit["weighted_rms"],
        rms=misfit["rms"],
        rho=misfit["rho"],
        diagnostics=summarise(t, s, time=epochs),
        lmax_field=lmax_gdot,
        lmax_flow=int(lmax_flow),
        lmax_sv=lmax_sv_,
    )
