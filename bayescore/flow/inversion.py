"""Core-flow inversion of the frozen-flux equation as a linear-Gaussian problem (one epoch).

For a given main field g (degree L_B) the frozen-flux equation is linear in the flow:
``gdot = A x`` with ``A = [E | G]`` (:func:`flow_design_matrix`) and ``x = [t, s]`` (km/yr,
degree L_F); SV coefficients at r = a (nT/yr) up to degree L_SV (default L_B + L_F, the
band limit of the product). The flow minimises

    Phi(x) = 1/2 (gdot - A x)^T W (gdot - A x) + lambda x^T N x,

with W the diagonal SV weights (:mod:`bayescore.flow.weights`), N the per-degree weights
of a spatial norm (:mod:`bayescore.flow.norms`) and lambda the damping. Read as a
posterior density ``p(x | gdot) ~ exp(-Phi(x))``, W is the precision of the SV errors
and the prior on x is a zero-mean Gaussian with precision ``2 lambda N`` ("precision =
2 x damping x weight"; Lesur et al. 2010, eqs. 20-22, read as a Bayesian problem). The
posterior is Gaussian,

    covariance  C = (A^T W A + 2 lambda N)^-1,    mean  x = C A^T W gdot,

which is also the minimiser of Phi, solved by
:func:`bayescore.infer.linear_gaussian.dense_gaussian_posterior` (Cholesky, float64,
jit-compiled). The SV above the degree of the supplied SV model is unknown and enters as
zero with the truncation variance of the weights (:mod:`bayescore.flow.problem`).

The damping is given or tuned to a target rms speed (:mod:`bayescore.flow.damping`);
series of epochs are in :mod:`bayescore.flow.series`. Both are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np

from bayescore.constants import CORE_RADIUS_KM
from bayescore.flow.damping import TradeoffCurve as TradeoffCurve
from bayescore.flow.damping import damping_for_rms
from bayescore.flow.damping import damping_tradeoff as damping_tradeoff
from bayescore.flow.damping import find_damping_for_rms as find_damping_for_rms
from bayescore.flow.diagnostics import summarise
from bayescore.flow.problem import (
    FlowProblem,
    SVMisfit,
    check_damping_choice,
    check_factorised,
    flow_dataset,
    flow_problem,
    sv_dataset,
    sv_misfit,
)
from bayescore.flow.series import FlowSeriesResult as FlowSeriesResult
from bayescore.flow.series import invert_flow_series as invert_flow_series

# The damping search and the series solver used to live here; their names stay importable
# from this module (they are documented where they live). The linear-Gaussian core is in
# bayescore.infer.linear_gaussian.
__all__ = [
    "FlowInversionResult",
    "SVMisfit",
    "flow_design_matrix",
    "flow_objective",
    "invert_flow",
    "inversion_memory_bytes",
    "largest_lmax_flow",
]


def inversion_memory_bytes(lmax_field: int, lmax_flow: int, lmax_sv: int | None = None) -> int:
    """Estimated peak memory of :func:`invert_flow` with a target rms, in bytes.

    The float64 arrays that coexist at the peak: the frozen-flux matrix and its weighted
    copy (n_sv x n_x each, ``n_sv = L_SV (L_SV + 2)``, ``n_x = 2 L_F (L_F + 2)``) and about
    six n_x x n_x matrices (normal matrix, its eigenvectors and workspace in the damping
    search, Cholesky factor, identity and covariance of the posterior), plus 0.5 GiB for
    the runtime. It grows as L_F^4: L_F = 14 needs about 0.5 GiB, L_F = 100 about 25 GB.

    Parameters
    ----------
    lmax_field, lmax_flow : int
        Degrees L_B of the main field and L_F of the flow.
    lmax_sv : int, optional
        Degree L_SV of the SV equations (default L_B + L_F).

    Returns
    -------
    int
        Bytes.
    """
    lmax_sv = lmax_field + lmax_flow if lmax_sv is None else lmax_sv
    n_sv = lmax_sv * (lmax_sv + 2)
    n_x = 2 * lmax_flow * (lmax_flow + 2)
    return 8 * (2 * n_sv * n_x + 6 * n_x * n_x) + 2**29


def largest_lmax_flow(lmax_field: int, memory_bytes: int, lmax_sv: int | None = None) -> int:
    """The largest flow degree L_F whose :func:`inversion_memory_bytes` fits in a budget.

    Parameters
    ----------
    lmax_field : int
        L_B.
    memory_bytes : int
        Memory available, bytes.
    lmax_sv : int, optional
        L_SV (default L_B + L_F).

    Returns
    -------
    int
        L_F (0 when not even L_F = 1 fits).
    """
    lmax_flow = 0
    while inversion_memory_bytes(lmax_field, lmax_flow + 1, lmax_sv) <= memory_bytes:
        lmax_flow += 1
    return lmax_flow


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
                flow_dataset(self.t, self.s, std[:n], std[n:], self.lmax_flow),
                sv_dataset(
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
    check_damping_choice(damping, target_rms)
    problem = flow_problem(g, gdot, lmax_flow, norm, sv_weights, lmax_sv, truncation_variance)
    if target_rms is not None:
        damping = damping_for_rms(problem, float(target_rms))
    return _solve_problem(problem, float(damping), norm, epoch)


def _solve_problem(problem: FlowProblem, damping: float, norm: str, epoch) -> FlowInversionResult:
    # bayescore.infer imports the models, which import this package: import it here
    from bayescore.infer.linear_gaussian import dense_gaussian_posterior

    mean, covariance = dense_gaussian_posterior(
        problem.design,
        jnp.asarray(problem.gdot),
        jnp.asarray(problem.weights),
        jnp.asarray(2.0 * damping * problem.norm_weights),
    )
    mean, covariance = np.asarray(mean), np.asarray(covariance)
    check_factorised(mean, damping)
    predicted = np.asarray(problem.design @ mean)
    residual = problem.gdot - predicted
    misfit = sv_misfit(residual, problem.gdot, problem.weights, problem.lmax_field)
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
        misfit=SVMisfit(
            **{k: (int(v) if k == "n_observed" else float(v)) for k, v in misfit.items()},
            n_equations=residual.size,
        ),
        diagnostics=summarise(t, s),
        lmax_field=problem.lmax_field,
        lmax_flow=problem.lmax_flow,
        lmax_sv=problem.lmax_sv,
        epoch=None if epoch is None else float(epoch),
    )
