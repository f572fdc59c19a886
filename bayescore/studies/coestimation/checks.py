"""Checks of a co-estimation study before any computation: the model span and epoch,
the memory the problem needs.
"""

from __future__ import annotations

import numpy as np

from bayescore.coestimation_settings import DEFAULT_SPAN
from bayescore.errors import EpochOutOfRangeError, ProblemTooLargeError
from bayescore.memory import available_memory_bytes

__all__ = [
    "check_problem_memory",
    "default_lmax_sv",
    "problem_memory_bytes",
    "resolve_span_and_epoch",
]


def resolve_span_and_epoch(
    span=None, epoch=None, times=None, *, span_name: str = "span", epoch_name: str = "epoch"
) -> tuple[tuple[float, float], float]:
    """The model span and the epoch of the reported SV and SA, checked.

    Parameters
    ----------
    span : (float, float), optional
        Model span in decimal years; default the range of ``times``, else
        :data:`DEFAULT_SPAN`.
    epoch : float, optional
        Decimal year; default the middle of the span.
    times : array_like, optional
        Data times (decimal years).
    span_name, epoch_name : str
        How error messages name the span and the epoch (e.g. command-line options).

    Returns
    -------
    span : (float, float)
    epoch : float

    Raises
    ------
    EpochOutOfRangeError
        If the span is not finite with end > start (a data set of a single epoch without
        a span included), or the epoch lies outside it.
    """
    if span is not None:
        span = (float(span[0]), float(span[1]))
    elif times is not None:
        times = np.asarray(times, dtype=float)
        span = (float(times.min()), float(times.max()))
        if span[1] == span[0]:
            raise EpochOutOfRangeError(
                f"the data cover a single epoch, {span[0]}, so the model span cannot be "
                "taken from them: give a span around it (span=(START, END); on the command "
                "line --span START END)"
            )
    else:
        span = DEFAULT_SPAN
    if not (np.all(np.isfinite(span)) and span[1] > span[0]):
        raise EpochOutOfRangeError(
            f"{span_name} must be two decimal years with END > START, got {span[0]} {span[1]}"
        )
    epoch = 0.5 * (span[0] + span[1]) if epoch is None else float(epoch)
    if not span[0] <= epoch <= span[1]:
        raise EpochOutOfRangeError(
            f"{epoch_name} {epoch} lies outside the model span [{span[0]}, {span[1]}]"
        )
    return span, epoch


def default_lmax_sv(lmax_field: int, lmax_flow: int, synthetic: bool) -> int:
    """L_SV when none is given: L_B for synthetic data (the truth drops the SV above L_B),
    L_B + L_F for a data file (the paper's choice)."""
    return lmax_field if synthetic else lmax_field + lmax_flow


def problem_memory_bytes(
    lmax_field: int,
    lmax_flow: int,
    lmax_sv: int,
    n_time: int = 3,
    n_flow_time: int | None = None,
    *,
    n_extra: int = 0,
    n_nodes: int | None = None,
    chunk_size: int = 2048,
) -> int:
    """Estimated peak memory (bytes) of the co-estimation's largest float64 arrays.

    Parameters
    ----------
    lmax_field, lmax_flow, lmax_sv : int
        L_B, L_F and L_SV.
    n_time, n_flow_time : int
        Time-basis functions of the field and of the flow (default: the field's).
    n_extra : int
        Other parameters (observatory biases, external field).
    n_nodes : int, optional
        Frozen-flux quadrature nodes in time (default ``n_time + n_flow_time``).
    chunk_size : int
        Data per chunk of the design matrix (:func:`bayescore.models.build_problem`).

    Returns
    -------
    int
        The sum of: the data normal matrix (``(N_t n_B)^2``; the 117 GB that
        ``bayescore coestimate --lmax-field 200`` asked for), the Gauss-Newton matrix and
        its Cholesky factor (each ``n_parameters^2``); the frozen-flux matrices at the
        time nodes (``n_nodes n_SV (n_B + 2 n_F)``, twice, and their products
        ``n_nodes (n_B + 2 n_F)^2``); the columns of the frozen-flux product synthesised
        on the Gauss-Legendre grid (``max(2 n_F, n_B) n_lat n_lon``); a design-matrix
        chunk. An estimate of the order of magnitude, not an upper bound.
    """
    n_flow_time = n_time if n_flow_time is None else n_flow_time
    n_nodes = n_time + n_flow_time if n_nodes is None else n_nodes
    n_b = lmax_field * (lmax_field + 2)
    n_f = lmax_flow * (lmax_flow + 2)
    n_sv = lmax_sv * (lmax_sv + 2)
    n_params = n_time * n_b + 2 * n_flow_time * n_f + n_extra
    # the grid of bayescore.flow.operator.operator_grid (nlon rounded up to even only)
    degree = lmax_field + lmax_flow + lmax_sv
    nlat = degree // 2 + 1
    nlon = max(degree + 1, 2 * max(lmax_field, lmax_flow, lmax_sv) + 1)
    nlon += nlon % 2
    n_values = (
        (n_time * n_b) ** 2
        + 2 * n_params**2
        + 2 * n_nodes * n_sv * (n_b + 2 * n_f)
        + n_nodes * (n_b + 2 * n_f) ** 2
        + max(2 * n_f, n_b) * nlat * nlon
        + 3 * chunk_size * n_time * n_b
    )
    return 8 * int(n_values)


def check_problem_memory(
    lmax_field: int,
    lmax_flow: int,
    lmax_sv: int | None = None,
    n_time: int = 3,
    n_flow_time: int | None = None,
    *,
    synthetic: bool = True,
    available: int | None = None,
    **kwargs,
) -> int:
    """Refuse a problem whose estimated memory exceeds the available memory.

    Parameters
    ----------
    lmax_field, lmax_flow : int
        L_B and L_F.
    lmax_sv : int, optional
        L_SV; default :func:`default_lmax_sv`.
    n_time, n_flow_time : int
        Time-basis functions of the field and the flow.
    synthetic : bool
        Whether the default L_SV is that of synthetic data.
    available : int, optional
        Available memory in bytes; default :func:`available_memory_bytes`.
    **kwargs
        Passed to :func:`problem_memory_bytes`.

    Returns
    -------
    int
        The estimate (bytes).

    Raises
    ------
    ProblemTooLargeError
        If the estimate exceeds ``available``; the message gives both sizes and the
        largest degree (L_B and L_F cut to it, L_SV with them) that fits.
    """

    def estimate(limit: int) -> int:
        field_, flow_ = min(lmax_field, limit), min(lmax_flow, limit)
        if lmax_sv is None:
            sv = default_lmax_sv(field_, flow_, synthetic)
        else:
            sv = max(field_, min(lmax_sv, lmax_sv - lmax_field + field_))
        return problem_memory_bytes(field_, flow_, sv, n_time, n_flow_time, **kwargs)

    top = max(lmax_field, lmax_flow)
    need = estimate(top)
    available = available_memory_bytes() if available is None else available
    if available is None or need <= available:
        return need
    fits = [limit for limit in range(top - 1, 0, -1) if estimate(limit) <= available]
    advice = (
        f"the largest degree that fits is {fits[0]} (L_B and L_F at most {fits[0]})"
        if fits
        else "not even degree 1 fits"
    )
    raise ProblemTooLargeError(
        f"the co-estimation problem (L_B = {lmax_field}, L_F = {lmax_flow}, N_t = {n_time}) "
        f"needs about {need / 1e9:.3g} GB but {available / 1e9:.3g} GB are available: "
        f"{advice}"
    )
