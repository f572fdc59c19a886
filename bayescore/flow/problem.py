"""The single-epoch frozen-flux flow problem: checked inputs, SV misfit, labelled views.

For a main field g (degree L_B) the frozen-flux equation is linear in the flow,
``gdot = A x`` with ``A = [E | G]`` (:func:`bayescore.flow.operator.frozen_flux_matrix`)
and ``x = [t, s]`` (km/yr, degree L_F); the SV coefficients at r = a (nT/yr) go up to
degree L_SV (default L_B + L_F, the band limit of the product). :func:`flow_problem`
checks the inputs and assembles the design A, the SV vector zero-padded to L_SV (the SV
above the supplied model's degree is unknown and enters as zero with the truncation
variance of the weights), the diagonal SV weights W (:mod:`bayescore.flow.weights`) and
the per-coefficient weights N of the spatial norm (:mod:`bayescore.flow.norms`). The
inversion (:mod:`bayescore.flow.inversion`), the damping search
(:mod:`bayescore.flow.damping`) and the series solver (:mod:`bayescore.flow.series`)
share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

from bayescore.constants import CORE_RADIUS_KM, EARTH_REFERENCE_RADIUS_KM
from bayescore.errors import (
    CoefficientShapeError,
    ModelConfigError,
    NonFiniteError,
    UndeterminedFlowError,
)
from bayescore.fields.synthesis import check_degree, finite_array
from bayescore.flow.norms import NORMS, coefficient_weights
from bayescore.flow.weights import sv_model_degree
from bayescore.sh.indexing import (
    coefficient_labels,
    degree_order_arrays,
    lmax_from_size,
    resize_coefficients,
)

__all__ = [
    "FlowProblem",
    "SVMisfit",
    "check_damping_choice",
    "check_factorised",
    "check_norm",
    "flow_dataset",
    "flow_problem",
    "observed_sv_misfit",
    "sv_dataset",
    "sv_misfit",
]


def _coefficient_vector(value, name):
    array = finite_array(value, name)
    if array.ndim != 1:
        raise CoefficientShapeError(f"{name} must be a 1-D coefficient vector, got {array.shape}")
    return array, lmax_from_size(array.size, name)


def check_damping_choice(damping, target_rms) -> None:
    """Check that exactly one of a damping and a target rms speed is given, finite, > 0.

    Raises
    ------
    ValueError
        Neither or both given, or a non-positive value.
    NonFiniteError
        A NaN or infinite value.
    """
    if (damping is None) == (target_rms is None):
        raise ModelConfigError(
            "give exactly one of damping (a fixed lambda) and target_rms (a target rms "
            "speed in km/yr), got "
            + ("neither" if damping is None else f"both ({damping!r}, {target_rms!r})")
        )
    value = damping if damping is not None else target_rms
    what = "damping" if damping is not None else "target_rms"
    if not np.isfinite(value):
        raise NonFiniteError(f"{what} must be finite, got {value!r}")
    if not value > 0:
        raise ModelConfigError(f"{what} must be positive, got {value!r}")


def check_norm(norm) -> None:
    """Raise ValueError unless ``norm`` is a flow norm of :data:`bayescore.flow.norms.NORMS`."""
    if norm not in NORMS:
        raise ModelConfigError(f"unknown flow norm {norm!r}: expected one of {sorted(NORMS)}")


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
    weights = finite_array(scheme_or_weights, "sv_weights", ndim=1)
    if weights.shape != (n_sv,):
        raise CoefficientShapeError(
            f"sv_weights has {weights.size} entries, expected {n_sv} (degree L_SV={lmax_sv})"
        )
    if np.any(weights < 0) or not np.any(weights > 0):
        raise ModelConfigError("sv_weights must be non-negative and not all zero")
    return weights


# --------------------------------------------------------------------------------------
# the problem
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowProblem:
    """Arrays of a single-epoch flow problem (built by :func:`flow_problem`).

    Attributes
    ----------
    design : jax.Array, shape (n_sv, 2 n_flow)
        ``[E | G]``, nT/yr per km/yr.
    gdot : numpy.ndarray, shape (n_sv,)
        SV at a zero-padded to L_SV, nT/yr.
    weights : numpy.ndarray, shape (n_sv,)
        Diagonal SV weights W, (nT/yr)^-2.
    norm_weights, ke_weights : numpy.ndarray, shape (2 n_flow,)
        Diagonal weights of the spatial norm and of the kinetic energy for ``[t, s]``.
    lmax_field : int
        Highest degree of the supplied SV with non-zero power (the observed degrees).
    lmax_flow, lmax_sv : int
    """

    design: jax.Array
    gdot: np.ndarray
    weights: np.ndarray
    norm_weights: np.ndarray
    ke_weights: np.ndarray
    lmax_field: int
    lmax_flow: int
    lmax_sv: int


def flow_problem(
    g,
    gdot,
    lmax_flow,
    norm,
    sv_weights,
    lmax_sv,
    truncation_variance=0.5,
    design=None,
) -> FlowProblem:
    """Check the inputs of a single-epoch flow inversion and assemble its arrays.

    Parameters
    ----------
    g, gdot, lmax_flow, norm, sv_weights, lmax_sv, truncation_variance
        As in :func:`bayescore.flow.inversion.invert_flow`.
    design : array_like, optional
        The frozen-flux matrix when already computed (e.g. batched over epochs).

    Returns
    -------
    FlowProblem

    Raises
    ------
    InvalidDegreeError
        ``lmax_flow`` or ``lmax_sv`` not an integer >= 1.
    CoefficientShapeError, NonFiniteError, ValueError
        Invalid coefficient vectors, weights or norm.
    UndeterminedFlowError
        The main field is zero: the frozen-flux operator vanishes and no flow is
        constrained by the SV.
    """
    check_norm(norm)
    g, lmax_field = _coefficient_vector(g, "main field g")
    gdot, lmax_gdot = _coefficient_vector(gdot, "SV gdot")
    lmax_flow = check_degree(lmax_flow, "lmax_flow")
    lmax_sv = lmax_field + lmax_flow if lmax_sv is None else check_degree(lmax_sv, "lmax_sv")
    if not np.any(g):
        raise UndeterminedFlowError(
            "the main field g is zero everywhere: the frozen-flux operator is zero and the "
            "SV does not constrain any flow"
        )
    if lmax_gdot > lmax_sv:
        raise CoefficientShapeError(
            f"the SV reaches degree {lmax_gdot}, above the equations' degree lmax_sv={lmax_sv}"
        )
    weights = _resolve_weights(sv_weights, gdot, lmax_sv, truncation_variance)
    if np.any(gdot):
        lmax_gdot = sv_model_degree(gdot)  # degrees padded with zeros are not modelled
    gdot = resize_coefficients(gdot, lmax_sv)
    n_sv = gdot.size
    if design is None:
        from bayescore.flow.operator import frozen_flux_matrix

        design = frozen_flux_matrix(g, lmax_flow, lmax_sv).matrix
    n_flow = lmax_flow * (lmax_flow + 2)
    if design.shape != (n_sv, 2 * n_flow):
        raise CoefficientShapeError(
            f"frozen-flux matrix has shape {design.shape}, expected {(n_sv, 2 * n_flow)}"
        )
    nw = coefficient_weights(lmax_flow, norm)
    ke = coefficient_weights(lmax_flow, "energy")
    return FlowProblem(
        design=design,
        gdot=gdot,
        weights=weights,
        norm_weights=np.concatenate([nw, nw]),
        ke_weights=np.concatenate([ke, ke]),
        lmax_field=lmax_gdot,
        lmax_flow=lmax_flow,
        lmax_sv=lmax_sv,
    )


def check_factorised(mean, damping) -> None:
    """Raise ValueError when a posterior mean is not finite (the Cholesky step failed)."""
    if not np.all(np.isfinite(mean)):
        raise ModelConfigError(
            f"the posterior precision is not numerically positive definite at damping "
            f"{damping:.6g} (the Cholesky factorisation failed): increase the damping"
        )


# --------------------------------------------------------------------------------------
# SV misfit
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
        nT/yr, the zero-padded rows above the SV model's degree included (so it is
        smaller than the misfit over the observed degrees, ``rms_observed``).
    rho : float
        ``r^T W r / gdot^T W gdot``: the share of the (weighted) SV that the flow does
        not explain (Lesur et al. 2010, eq. 31, for a single epoch).
    n_equations : int
        Number of SV equations.
    n_observed : int
        Number of SV equations at the degrees the SV model has (1 to its highest degree
        with non-zero power); the rows above are zero padding.
    rms_observed, data_rms_observed : float
        Rms over those observed rows of the residual and of the SV data at the Earth's
        reference radius a = 6371.2 km, nT/yr.
    rms_observed_cmb, data_rms_observed_cmb : float
        The same at the core-mantle boundary c = 3485 km (each degree l scaled by
        ``(a/c)^(l+2)``), nT/yr.
    """

    chi2: float
    weighted_rms: float
    rms: float
    rho: float
    n_equations: int
    n_observed: int
    rms_observed: float
    data_rms_observed: float
    rms_observed_cmb: float
    data_rms_observed_cmb: float


def _rms(values):
    return np.sqrt(np.mean(values**2, axis=-1))


def observed_sv_misfit(residual, gdot, lmax_observed: int) -> dict:
    """Rms of the SV residual and data over the observed degrees, at a and at the CMB.

    Parameters
    ----------
    residual, gdot : array_like, shape (..., L_SV (L_SV + 2))
        SV residual and data at a, nT/yr.
    lmax_observed : int
        Highest degree of the SV model (rows above it are zero padding and are left out).

    Returns
    -------
    dict
        ``n_observed`` and ``rms_observed``, ``data_rms_observed`` (at a),
        ``rms_observed_cmb``, ``data_rms_observed_cmb`` (at c), nT/yr.
    """
    n = lmax_observed * (lmax_observed + 2)
    degree, _, _ = degree_order_arrays(lmax_observed)
    to_cmb = (EARTH_REFERENCE_RADIUS_KM / CORE_RADIUS_KM) ** (degree + 2.0)
    residual = np.asarray(residual)[..., :n]
    gdot = np.asarray(gdot)[..., :n]
    return {
        "n_observed": n,
        "rms_observed": _rms(residual),
        "data_rms_observed": _rms(gdot),
        "rms_observed_cmb": _rms(residual * to_cmb),
        "data_rms_observed_cmb": _rms(gdot * to_cmb),
    }


def sv_misfit(residual, gdot, weights, lmax_observed: int) -> dict:
    """Misfit measures of :class:`SVMisfit` (arrays over leading epoch axes).

    Parameters
    ----------
    residual, gdot, weights : numpy.ndarray, shape (..., n_sv)
        SV residual and data at a (nT/yr) and the weights W ((nT/yr)^-2).
    lmax_observed : int
        Highest degree of the SV model.

    Returns
    -------
    dict
        The fields of :class:`SVMisfit` except ``n_equations``.
    """
    chi2 = np.sum(weights * residual**2, axis=-1)
    return {
        "chi2": chi2,
        "weighted_rms": np.sqrt(chi2 / np.sum(weights, axis=-1)),
        "rms": _rms(residual),
        "rho": chi2 / np.sum(weights * gdot**2, axis=-1),
        **observed_sv_misfit(residual, gdot, lmax_observed),
    }


# --------------------------------------------------------------------------------------
# labelled views
# --------------------------------------------------------------------------------------


def flow_dataset(t, s, t_std, s_std, lmax_flow):
    """Flow coefficients (and standard deviations) as an :class:`xarray.Dataset`.

    ``t``, ``s`` (and ``t_std``, ``s_std`` unless None) in km/yr over ``coefficient``
    (labels ``cos_1_0, cos_1_1, sin_1_1, ...``), with a leading ``time`` dimension for 2-D
    input.
    """
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


def sv_dataset(gdot, predicted, residual, weights, lmax_sv):
    """SV data, prediction, residual (nT/yr) and weights over ``sv_coefficient``.

    Labels ``g_1_0, g_1_1, h_1_1, ...``; a leading ``time`` dimension for 2-D input.
    """
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
