"""Dampings: validation, the paper's mapping onto bayescore's, reference values.

See :mod:`bayescore.studies.regularisation` for the study's overview.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from bayescore.errors import CoefficientShapeError, ModelConfigError, NonFiniteError
from bayescore.flow.norms import NORMS, coefficient_weights, temporal_weights
from bayescore.models import (
    DEFAULT_DAMPINGS,
    CoestimationProblem,
)
from bayescore.sh.indexing import resize_coefficients
from bayescore.studies.regularisation.settings import PAPER_DAMPINGS, PAPER_SWEEPS, PARAMETERS

__all__ = [
    "paper_equivalent_values",
    "truth_typical_dampings",
    "with_norm",
]


def with_norm(problem: CoestimationProblem, norm: str) -> CoestimationProblem:
    """A copy of ``problem`` with another spatial flow norm (SV weights and data kept).

    Parameters
    ----------
    problem : CoestimationProblem
        With a flow.
    norm : {"strong", "weak", "energy"}

    Returns
    -------
    CoestimationProblem
        Same data, normal equations and SV weights; ``space_weights`` of ``norm``.
    """
    if norm not in NORMS:
        raise ModelConfigError(f"unknown flow norm {norm!r}: expected one of {sorted(NORMS)}")
    _check_flow_problem(problem)
    if norm == problem.norm:
        return problem
    weights = jnp.asarray(coefficient_weights(problem.lmax_flow, norm))
    return dataclasses.replace(problem, norm=norm, space_weights=weights)


#: Gram matrices of a problem that enter Gaussian priors (checked for symmetry by NumPyro).
_GRAMS = ("roughness_gram", "roughness_ends", "flow_gram", "flow_gram_rate")


def _symmetrised(problem: CoestimationProblem) -> CoestimationProblem:
    """The problem with its time-basis Gram matrices exactly symmetric.

    ``TimeBasis.gram`` is symmetric only to rounding; NumPyro's ``positive_definite``
    check compares ``P`` with ``P^T`` entrywise (``isclose``, atol 1e-8), which fails for
    the USN precision at L_B = 14 once lambda_span >= 1e-4 (its roughness weights reach
    1e9 and turn rounding asymmetries of zero entries into ~1e-5). Averaging with the
    transpose changes nothing but that rounding.
    """
    changes = {}
    for name in _GRAMS:
        matrix = np.asarray(getattr(problem, name))
        if matrix.size and not np.array_equal(matrix, matrix.T):
            changes[name] = jnp.asarray(0.5 * (matrix + matrix.T))
    return dataclasses.replace(problem, **changes) if changes else problem


def _check_flow_problem(problem) -> None:
    if not isinstance(problem, CoestimationProblem):
        raise TypeError(f"expected a CoestimationProblem, got {type(problem).__name__}")
    if not problem.has_flow:
        raise ModelConfigError(
            "the problem has no flow (lmax_flow=0): build it with lmax_flow >= 1"
        )


def _check_parameter(parameter: str) -> str:
    if parameter not in PARAMETERS:
        raise ModelConfigError(
            f"unknown damping parameter {parameter!r}: expected one of {PARAMETERS}"
        )
    return parameter


def _check_values(values) -> np.ndarray:
    """Dampings as a 1-D float array: non-empty, finite and positive."""
    array = np.atleast_1d(np.asarray(values, dtype=float))
    if array.ndim != 1:
        raise CoefficientShapeError(f"values must be a 1-D list of dampings, got {array.shape}")
    if array.size == 0:
        raise ModelConfigError("values is empty: give at least one damping")
    if not np.all(np.isfinite(array)):
        raise NonFiniteError("dampings must be finite numbers, got NaN or inf")
    if np.any(array <= 0):
        raise ModelConfigError(f"dampings must be positive, got {array[array <= 0].tolist()}")
    return array


def _check_positive(name: str, value) -> float:
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ModelConfigError(f"{name} must be a positive finite damping, got {value}")
    return value


def paper_equivalent_values(
    parameter: str, reference: float, norm: str = "strong", exponents=None
) -> tuple[np.ndarray, np.ndarray]:
    """The paper's sweep, in decades around its choice, mapped onto a reference of ours.

    ``value = reference x 10^(d - d_chosen)`` for the paper's exponents d
    (:data:`PAPER_SWEEPS`) and its chosen exponent d_chosen (:data:`PAPER_DAMPINGS`):
    the paper's choice lands on ``reference`` and the sweep keeps its span in decades.

    Parameters
    ----------
    parameter : {"lambda_space", "lambda_time"}
    reference : float
        Our damping standing for the paper's choice (units of the parameter, see the
        module notes), e.g. from :func:`truth_typical_dampings`.
    norm : {"strong", "weak"}
        For ``lambda_space``: lambda_2B (chosen 10^-2.25) or lambda_2W (10^-0.5).
    exponents : array_like, optional
        The paper exponents d to map (default: the paper's sweep).

    Returns
    -------
    values : numpy.ndarray
        Our dampings.
    exponents : numpy.ndarray
        The paper's exponents d they stand for.
    """
    _check_parameter(parameter)
    reference = _check_positive("reference", reference)
    exps = np.asarray(PAPER_SWEEPS[parameter] if exponents is None else exponents, float)
    exps = np.atleast_1d(exps)
    if exps.size == 0 or not np.all(np.isfinite(exps)):
        raise ModelConfigError("exponents must be a non-empty list of finite numbers")
    chosen = _paper_chosen(parameter, norm)
    return reference * 10.0 ** (exps - chosen), exps


def _paper_chosen(parameter: str, norm: str) -> float:
    chosen = PAPER_DAMPINGS[parameter]
    if isinstance(chosen, dict):
        if norm not in chosen:
            raise ModelConfigError(f"the paper has no {parameter} for the {norm!r} norm")
        chosen = chosen[norm]
    return float(chosen)


def _check_truth(truth) -> None:
    needed = ("coeffs", "sv", "flow", "dataset", "lmax", "lmax_flow")
    missing = [name for name in needed if not hasattr(truth, name)]
    if missing:
        raise TypeError(
            f"truth must be a FrozenFluxTruth (bayescore.synthetic.frozen_flux_truth); "
            f"it lacks {missing}"
        )


def _truth_flow_norms(problem: CoestimationProblem, truth, norm: str):
    """Span integrals of the truth's spatial norm and of int_S |du/dt|^2 (exact)."""
    nodes = np.asarray(problem.nodes)
    weights = np.asarray(problem.node_weights)
    lmax_flow = problem.lmax_flow
    t, s = (resize_coefficients(x, lmax_flow) for x in truth.flow(nodes))
    t_rate = resize_coefficients(truth.dataset["t_rate"].values, lmax_flow)
    s_rate = resize_coefficients(truth.dataset["s_rate"].values, lmax_flow)
    w_space = coefficient_weights(problem.lmax_flow, norm)
    w_time = temporal_weights(problem.lmax_flow)
    space = float(np.sum(weights * np.sum(w_space * (t**2 + s**2), axis=-1)))
    rate = float(np.sum(w_time * (t_rate**2 + s_rate**2)) * np.sum(weights))
    return space, rate


def truth_typical_dampings(problem: CoestimationProblem, truth, norm: str | None = None) -> dict:
    """Dampings at which the truth's flow is a typical draw of the flow prior.

    Under the prior precision ``2 lambda_space (N x Gram)`` the steady part of a flow
    (2 L_F(L_F+2) coefficients) has ``E[lambda_space int_span N(u) dt] = L_F(L_F+2)``;
    likewise for the linear part and lambda_time. So

        lambda_space = L_F(L_F+2) / int_span N(u_true) dt,
        lambda_time = L_F(L_F+2) / int_span int_S |du_true/dt|^2 dS dt.

    Parameters
    ----------
    problem : CoestimationProblem
        With a flow (its L_F, span and quadrature are used).
    truth : FrozenFluxTruth
    norm : {"strong", "weak", "energy"}, optional
        Spatial norm (default the problem's).

    Returns
    -------
    dict
        ``{"lambda_space": ..., "lambda_time": ...}`` in bayescore's units (module notes).
    """
    _check_flow_problem(problem)
    _check_truth(truth)
    norm = problem.norm if norm is None else norm
    if norm not in NORMS:
        raise ModelConfigError(f"unknown flow norm {norm!r}: expected one of {sorted(NORMS)}")
    space, rate = _truth_flow_norms(problem, truth, norm)
    if space <= 0 or rate <= 0:
        raise ModelConfigError("the truth's flow (or its time change) is zero: no typical damping")
    n = problem.n_flow
    return {"lambda_space": n / space, "lambda_time": n / rate}


def _base_dampings(problem: CoestimationProblem, dampings: dict | None) -> dict:
    base = {
        "lambda_frozen_flux": DEFAULT_DAMPINGS["lambda_frozen_flux"],
        "lambda_space": DEFAULT_DAMPINGS["lambda_space"][problem.norm],
        "lambda_time": DEFAULT_DAMPINGS["lambda_time"],
    }
    for key, value in (dampings or {}).items():
        if key not in base:
            raise ModelConfigError(f"unknown damping {key!r}: expected one of {sorted(base)}")
        base[key] = _check_positive(key, value)
    return base
