"""Building a :class:`~bayescore.models.CoestimationProblem` from vector data.

:func:`build_problem` validates long-format vector data
(:func:`bayescore.observations.validate_vector_data`), assembles the data term
(:func:`bayescore.models.field_data.assemble_field_data`: design and normal equations),
the broad field priors, the frozen-flux quadrature in time (Gauss-Legendre nodes exact for
the residual's square, Lesur et al. 2010, Earth Planets Space 62, 503, eqs. 15 and 18) and
the flow-norm weights (eqs. 21-23).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from bayescore.constants import CORE_RADIUS_KM, EARTH_REFERENCE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, ModelConfigError
from bayescore.flow.norms import NORMS, coefficient_weights, temporal_weights
from bayescore.layout import BlockLayout
from bayescore.models.field_data import SOURCES, assemble_field_data
from bayescore.models.problem import LIKELIHOODS, CoestimationProblem
from bayescore.observations import REQUIRED_VARIABLES, validate_vector_data
from bayescore.sh.indexing import degree_order_arrays, n_coefficients
from bayescore.timebasis import TimeBasis, legendre_time_basis

__all__ = ["build_problem"]

_A = EARTH_REFERENCE_RADIUS_KM
_C = CORE_RADIUS_KM


def _data_arrays(dataset) -> dict:
    """Per-datum arrays of validated vector data, with integer source and site codes."""
    n = dataset.sizes["datum"]
    arrays = {name: np.asarray(dataset[name].values) for name in REQUIRED_VARIABLES}
    arrays["component"] = arrays["component"].astype(int)
    if "source" in dataset:
        source = np.asarray(dataset["source"].values).astype(str)
        arrays["source"] = np.where(source == SOURCES[1], 1, 0)
    else:
        arrays["source"] = np.zeros(n, dtype=int)
    if "site_index" in dataset:
        arrays["site"] = np.asarray(dataset["site_index"].values).astype(int)
    else:
        arrays["site"] = np.full(n, -1)
    return arrays


def _core_prior_sd(lmax: int, power: float) -> np.ndarray:
    degree = degree_order_arrays(lmax)[0].astype(float)
    return np.sqrt(power / ((degree + 1) * (2 * degree + 1))) * (_C / _A) ** (degree + 2)


def build_problem(
    dataset,
    lmax_core: int = 14,
    time_basis: TimeBasis | None = None,
    lmax_flow: int | None = 14,
    flow_time_basis: TimeBasis | None = None,
    *,
    span=None,
    n_time: int = 5,
    lmax_static: int | None = None,
    external: bool = False,
    observatory_biases: bool = False,
    likelihood: str = "gaussian",
    student_t_dof: float = 4.0,
    norm: str = "strong",
    lmax_sv: int | None = None,
    frozen_flux_nodes=None,
    core_prior_power: float = 1.0e13,
    lithosphere_prior_power: float = 1.0e3,
    external_prior_sd: float = 100.0,
    bias_prior_sd: float = 1000.0,
    chunk_size: int = 2048,
) -> CoestimationProblem:
    """Precompute everything the co-estimation and USN models need from a data set.

    Parameters
    ----------
    dataset : xarray.Dataset
        Long-format vector data (:func:`bayescore.synthetic.make_dataset`): per datum
        ``t`` (decimal years), ``r`` (km), ``theta``, ``phi`` (rad), ``component`` (0 =
        B_r, 1 = B_theta, 2 = B_phi), ``value`` and ``sigma`` (nT); optional ``source``
        ("satellite"/"observatory") and ``site_index`` (observatory index, -1 otherwise).
        Checked with :func:`bayescore.observations.validate_vector_data`.
    lmax_core : int, default 14
        L_B, degree of the time-dependent core field.
    time_basis : TimeBasis, optional
        Time basis of the core field; default Legendre polynomials with ``n_time`` terms
        on ``span``.
    lmax_flow : int or None, default 14
        L_F; None or 0 for a field-only problem (USN).
    flow_time_basis : TimeBasis, optional
        Time basis of the flow (default: the core's).
    span : (float, float), optional
        Model span (default: the data's time range).
    n_time : int, default 5
        N_t of the default Legendre basis.
    lmax_static : int, optional
        Degree L_static > L_B of a static internal field (paper: 20).
    external : bool, default False
        Model a static external degree-1 field.
    observatory_biases : bool, default False
        Model a static offset per observatory and component.
    likelihood : {"gaussian", "laplace", "student-t"}
        Data noise model; ``sigma`` is its scale parameter.
    student_t_dof : float, default 4
    norm : {"strong", "weak", "energy"}
        Spatial flow norm (paper eq. 21 strong, eq. 22 weak; or the kinetic energy).
    lmax_sv : int, optional
        Degree L_SV of the frozen-flux equations (default L_B + L_F, the band limit of
        the product; L_B keeps only the modelled SV degrees).
    frozen_flux_nodes : (array_like, array_like), optional
        Times (decimal years) and weights (years) of the frozen-flux quadrature instead
        of the exact Gauss-Legendre rule.
    core_prior_power, lithosphere_prior_power : float
        Spectra (nT^2 per degree) of the broad field priors (module notes).
    external_prior_sd, bias_prior_sd : float
        Prior standard deviations (nT).
    chunk_size : int, default 2048
        Data rows per design chunk.

    Returns
    -------
    CoestimationProblem

    Raises
    ------
    ModelConfigError
        Unknown likelihood or norm, bad sizes or settings.
    MalformedFileError
        Data that fail :func:`bayescore.observations.validate_vector_data` (missing or
        unknown variables, component codes outside {0, 1, 2}, sigma <= 0, theta outside
        [0, pi], r below the core-mantle boundary or in metres, ...).
    EpochOutOfRangeError
        Data outside the model span.
    NonFiniteError
        NaN or infinite values in the data.
    """
    if likelihood not in LIKELIHOODS:
        raise ModelConfigError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    if norm not in NORMS:
        raise ModelConfigError(f"unknown flow norm {norm!r}: expected one of {sorted(NORMS)}")
    lmax_core = int(lmax_core)
    n_core = n_coefficients(lmax_core)
    lmax_flow = int(lmax_flow or 0)
    if lmax_flow < 0:
        raise ModelConfigError(f"lmax_flow must be >= 0, got {lmax_flow}")
    lmax_static_ = lmax_core if lmax_static is None else int(lmax_static)
    if lmax_static_ < lmax_core:
        raise ModelConfigError(f"lmax_static={lmax_static_} must exceed lmax_core={lmax_core}")
    dataset = validate_vector_data(dataset)
    if time_basis is None:
        if span is None:
            times = np.asarray(dataset["t"].values, dtype=float)
            span = (float(times.min()), float(times.max()))
        time_basis = legendre_time_basis(span, n_time)
    if not isinstance(time_basis, TimeBasis):
        raise TypeError(f"time_basis must be a TimeBasis, got {type(time_basis).__name__}")
    if lmax_flow and flow_time_basis is None:
        flow_time_basis = time_basis
    if flow_time_basis is not None and tuple(flow_time_basis.span) != tuple(time_basis.span):
        raise ModelConfigError("the flow's time basis must cover the same span as the field's")
    chunk_size = int(chunk_size)
    if chunk_size < 1:
        raise ModelConfigError(f"chunk_size must be >= 1, got {chunk_size}")

    arrays = _data_arrays(dataset)
    time_basis.check_times(arrays["t"], "data times")
    n_data = arrays["value"].size

    # ---- field blocks
    shapes = {"core": (time_basis.n_functions, n_core)}
    if lmax_static_ > lmax_core:
        shapes["static"] = (n_coefficients(lmax_static_) - n_core,)
    if external:
        shapes["external"] = (3,)
    bias_index = np.full(n_data, -1)
    bias_labels: tuple[str, ...] = ()
    if observatory_biases:
        site = arrays["site"]
        if np.all(site < 0):
            raise ModelConfigError(
                "observatory_biases=True but the data set has no observatory data"
            )
        n_sites = int(site.max()) + 1
        shapes["bias"] = (3 * n_sites,)
        bias_index = np.where(site >= 0, 3 * site + arrays["component"], -1)
        codes = np.array([f"site{k}" for k in range(n_sites)])
        for name in ("site_code", "site"):
            if name in dataset.variables and dataset[name].dims == ("site",):
                codes = np.asarray(dataset[name].values).astype(str)
                break
        bias_labels = tuple(
            f"{codes[k]}_{c}" for k in range(n_sites) for c in ("B_r", "B_theta", "B_phi")
        )
    layout = BlockLayout.from_shapes(shapes)

    # ---- priors of the field blocks
    core_sd = np.broadcast_to(
        _core_prior_sd(lmax_core, core_prior_power), (time_basis.n_functions, n_core)
    ).copy()
    if "static" in shapes:
        degree = degree_order_arrays(lmax_static_)[0][n_core:].astype(float)
        static_sd = np.sqrt(lithosphere_prior_power / ((degree + 1) * (2 * degree + 1)))
    else:
        static_sd = np.zeros(0)
    prior_precision = {
        "core": 1.0 / core_sd**2,
        "static": 1.0 / static_sd**2,
        "external": np.full(3, 1.0 / external_prior_sd**2),
        "bias": np.full(shapes.get("bias", (0,))[0], 1.0 / bias_prior_sd**2),
    }

    # ---- the data term: design and normal equations
    data = assemble_field_data(
        arrays,
        layout,
        time_basis,
        bias_index=bias_index,
        lmax_internal=lmax_static_,
        n_core=n_core,
        likelihood=likelihood,
        student_t_dof=student_t_dof,
        chunk_size=chunk_size,
        prior_precision=np.concatenate([prior_precision[name].ravel() for name in layout.names]),
    )

    # ---- flow and frozen-flux quadrature
    if lmax_flow:
        lmax_sv_ = lmax_core + lmax_flow if lmax_sv is None else int(lmax_sv)
        if lmax_sv_ < lmax_core:
            raise ModelConfigError(f"lmax_sv={lmax_sv_} is below lmax_core={lmax_core}")
        if frozen_flux_nodes is None:
            degree = 2 * (time_basis.piece_degree + flow_time_basis.piece_degree)
            breaks = np.union1d(time_basis.breaks, flow_time_basis.breaks)
            nodes, node_weights = time_basis.quadrature(degree, breaks)
        else:
            nodes, node_weights = (
                np.atleast_1d(np.asarray(v, dtype=float)) for v in frozen_flux_nodes
            )
            if nodes.shape != node_weights.shape or nodes.ndim != 1:
                raise CoefficientShapeError(
                    "frozen_flux_nodes must be two 1-D arrays of equal length"
                )
            if np.any(node_weights <= 0):
                raise ModelConfigError("frozen-flux node weights must be positive (years)")
            time_basis.check_times(nodes, "frozen-flux nodes")
        flow_psi = np.asarray(flow_time_basis(nodes))
        flow_gram = flow_time_basis.gram(0)
        flow_gram_rate = flow_time_basis.gram(1)
        space_w = coefficient_weights(lmax_flow, norm)
        time_w = temporal_weights(lmax_flow)
    else:
        lmax_sv_ = lmax_core
        nodes, node_weights = time_basis.quadrature(2 * time_basis.piece_degree)
        flow_psi = np.zeros((nodes.size, 0))
        flow_gram = flow_gram_rate = np.zeros((0, 0))
        space_w = time_w = np.zeros(0)

    degree_b = degree_order_arrays(lmax_core)[0].astype(float)
    roughness_w = (degree_b + 1) ** 2 * (_A / _C) ** (2 * degree_b + 4) / (2 * degree_b + 1)
    return CoestimationProblem(
        data=data,
        core_sd=jnp.asarray(core_sd),
        static_sd=jnp.asarray(static_sd),
        external_sd=jnp.full(3 if external else 0, float(external_prior_sd)),
        bias_sd=jnp.full(shapes.get("bias", (0,))[0], float(bias_prior_sd)),
        nodes=jnp.asarray(nodes),
        node_weights=jnp.asarray(node_weights),
        psi_nodes=jnp.asarray(time_basis(nodes)),
        dpsi_nodes=jnp.asarray(time_basis(nodes, 1)),
        flow_psi_nodes=jnp.asarray(flow_psi),
        flow_gram=jnp.asarray(flow_gram),
        flow_gram_rate=jnp.asarray(flow_gram_rate),
        space_weights=jnp.asarray(space_w),
        time_weights=jnp.asarray(time_w),
        sv_weights=None,
        roughness_weights=jnp.asarray(roughness_w),
        roughness_gram=jnp.asarray(time_basis.gram(2)),
        roughness_ends=jnp.asarray(time_basis.endpoint_outer(2)),
        lmax_core=lmax_core,
        lmax_static=lmax_static_,
        lmax_flow=lmax_flow,
        lmax_sv=lmax_sv_,
        time_basis=time_basis,
        flow_time_basis=flow_time_basis if lmax_flow else None,
        norm=norm,
        bias_labels=bias_labels,
    )
