"""Flows at a series of epochs of a field model, solved together.

Each epoch is the single-epoch problem of :mod:`bayescore.flow.inversion` (its own main
field, SV and SV weights) and all epochs share one spatial damping. Without temporal
damping the epochs are independent and solved in one batched Cholesky call. With a
temporal damping the flows, linear in time between the epochs, are coupled by the
temporal norm (Lesur et al. 2010, eq. 23,
:func:`bayescore.flow.norms.piecewise_linear_temporal_precision`): the posterior precision
is block tridiagonal and is factorised by a block Cholesky recursion
(:func:`bayescore.infer.linear_gaussian.coupled_block_posterior`), which also gives the
marginal covariance of each epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np

from bayescore.errors import CoefficientShapeError, ModelConfigError, NonFiniteError
from bayescore.fields.synthesis import check_degree, finite_array
from bayescore.flow.damping import bracket_damping_by_decades, damping_for_rms
from bayescore.flow.diagnostics import summarise
from bayescore.flow.norms import piecewise_linear_temporal_precision, temporal_weights
from bayescore.flow.operator import frozen_flux_matrix
from bayescore.flow.problem import (
    check_damping_choice,
    check_factorised,
    check_norm,
    flow_dataset,
    flow_problem,
    sv_dataset,
    sv_misfit,
)
from bayescore.sh.indexing import lmax_from_size

__all__ = ["FlowSeriesResult", "invert_flow_series"]


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
                flow_dataset(self.t, self.s, self.std[:, :n], self.std[:, n:], self.lmax_flow),
                sv_dataset(
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
    epochs = np.atleast_1d(finite_array(epochs, "epochs"))
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
        As in :func:`bayescore.flow.inversion.invert_flow`; the Lesur weights are built
        per epoch from the model's SV there. An array may be (n_sv,) (shared) or (K, n_sv).
    lmax_sv : int, optional
        Degree of the SV equations (default L_B + L_F).
    temporal_damping : float, optional
        lambda_3 of the temporal norm (paper eq. 23) of the flow linear in time between
        the epochs (prior precision ``2 lambda_3 C (x) Wt``, block tridiagonal). None: the
        epochs are independent.
    truncation_variance : float, optional
        See :func:`bayescore.flow.inversion.invert_flow`.
    covariance : bool, optional
        Also return each epoch's marginal posterior covariance (K blocks of
        (2 n_flow)^2 numbers); the standard deviations are always returned.

    Returns
    -------
    FlowSeriesResult
    """
    # bayescore.infer imports the models, which import this package: import it here
    from bayescore.infer.linear_gaussian import (
        batched_normal_equations,
        coupled_block_posterior,
        independent_block_posterior,
    )

    check_damping_choice(damping, target_rms)
    check_norm(norm)
    lmax_flow = check_degree(lmax_flow, "lmax_flow")
    if lmax_sv is not None:
        lmax_sv = check_degree(lmax_sv, "lmax_sv")
    if temporal_damping is not None:
        if not np.isfinite(temporal_damping):
            raise NonFiniteError(f"temporal_damping must be finite, got {temporal_damping!r}")
        if not temporal_damping > 0:
            raise ModelConfigError(f"temporal_damping must be positive, got {temporal_damping!r}")
    epochs, fields, svs = _model_epochs(model, epochs)
    n_epochs = epochs.size
    if temporal_damping is not None and n_epochs < 2:
        raise ModelConfigError("temporal coupling needs at least two epochs")
    if temporal_damping is not None and not np.all(np.diff(epochs) > 0):
        raise ModelConfigError("epochs must be strictly increasing when temporal_damping is given")

    lmax_field = lmax_from_size(fields.shape[1], "main field g")
    lmax_gdot = lmax_from_size(svs.shape[1], "SV gdot")
    lmax_sv_ = lmax_field + lmax_flow if lmax_sv is None else lmax_sv
    if isinstance(sv_weights, str) or np.ndim(sv_weights) == 1:
        per_epoch_weights = [sv_weights] * n_epochs
    else:
        per_epoch_weights = list(np.asarray(sv_weights, dtype=float))
        if len(per_epoch_weights) != n_epochs:
            raise CoefficientShapeError(
                f"sv_weights has {len(per_epoch_weights)} rows for {n_epochs} epochs"
            )
    problems = []
    designs = frozen_flux_matrix(fields, lmax_flow, lmax_sv_).matrix
    for k in range(n_epochs):
        try:
            problem = flow_problem(
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
    normal, rhs = batched_normal_equations(designs, jnp.asarray(gdot), jnp.asarray(weights))

    if temporal_damping is not None:
        coupling = piecewise_linear_temporal_precision(epochs)
        tw = temporal_weights(lmax_flow)
        temporal_w = jnp.asarray(np.concatenate([tw, tw]))
        temporal_diag = jnp.asarray(2.0 * temporal_damping * np.diag(coupling))
        temporal_off = jnp.asarray(2.0 * temporal_damping * np.diag(coupling, 1))

    def solve(lam, second="none"):
        prior = jnp.broadcast_to(2.0 * lam * jnp.asarray(norm_weights), rhs.shape)
        if temporal_damping is None:
            return independent_block_posterior(normal, rhs, prior, second)
        return coupled_block_posterior(
            normal, rhs, prior, temporal_diag, temporal_off, temporal_w, second
        )

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
        start = damping_for_rms(problems[n_epochs // 2], float(target_rms))
        damping = bracket_damping_by_decades(
            kinetic_of_log, float(target_rms) ** 2, math.log(start)
        )

    mean, second = solve(float(damping), "covariance" if covariance else "variance")
    mean = np.asarray(mean)
    check_factorised(mean, damping)
    second = np.asarray(second)
    variance = np.diagonal(second, axis1=1, axis2=2) if covariance else second
    std = np.sqrt(variance)
    predicted = np.asarray(jnp.einsum("kij,kj->ki", designs, jnp.asarray(mean)))
    residual = gdot - predicted
    misfit = sv_misfit(residual, gdot, weights, lmax_gdot)
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
        lmax_flow=lmax_flow,
        lmax_sv=lmax_sv_,
    )
