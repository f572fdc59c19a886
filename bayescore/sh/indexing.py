"""Ordering of real spherical-harmonic coefficient vectors.

A coefficient vector up to degree L has L(L+2) entries ordered by degree l = 1..L and,
within a degree, m = 0 (cosine), then m = 1 (cosine, sine), ..., m = l (cosine, sine):
g10, g11, h11, g20, g21, h21, g22, h22, ... This is the order of IGRF and CHAOS files and
is used for Gauss coefficients, their time derivatives and flow coefficients alike.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from bayescore.errors import CoefficientShapeError

__all__ = [
    "n_coefficients",
    "lmax_from_size",
    "degree_order_arrays",
    "coefficient_labels",
    "lm_index_tables",
    "resize_coefficients",
]


def n_coefficients(lmax: int) -> int:
    """Number of coefficients up to degree ``lmax`` (degree 0 excluded): L(L+2).

    Parameters
    ----------
    lmax : int
        Maximum spherical-harmonic degree (>= 1).

    Returns
    -------
    int
        ``lmax * (lmax + 2)``.
    """
    lmax = int(lmax)
    if lmax < 1:
        raise CoefficientShapeError(f"lmax must be >= 1, got {lmax}")
    return lmax * (lmax + 2)


def lmax_from_size(size: int, what: str = "coefficient vector") -> int:
    """Maximum degree L of a coefficient vector with ``size`` = L(L+2) entries.

    Parameters
    ----------
    size : int
        Length of the coefficient vector.
    what : str, optional
        Name of the vector, used in the error message.

    Returns
    -------
    int
        The degree L.

    Raises
    ------
    CoefficientShapeError
        If ``size`` is not of the form L(L+2) with L >= 1.
    """
    size = int(size)
    lmax = int(round(math.sqrt(size + 1))) - 1
    if lmax < 1 or lmax * (lmax + 2) != size:
        lo = max(lmax, 1)
        raise CoefficientShapeError(
            f"{what} has {size} entries, which is not L(L+2) for any degree L >= 1 "
            f"(nearest valid lengths: {lo * (lo + 2)} for L={lo}, "
            f"{(lo + 1) * (lo + 3)} for L={lo + 1})"
        )
    return lmax


@lru_cache(maxsize=64)
def _degree_order_arrays(lmax: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    degree, order, is_sine = [], [], []
    for ell in range(1, lmax + 1):
        degree.append(ell)
        order.append(0)
        is_sine.append(False)
        for m in range(1, ell + 1):
            degree += [ell, ell]
            order += [m, m]
            is_sine += [False, True]
    arrays = (np.array(degree), np.array(order), np.array(is_sine))
    for arr in arrays:
        arr.setflags(write=False)
    return arrays


def degree_order_arrays(lmax: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Degree, order and sine flag of every entry of a coefficient vector.

    Parameters
    ----------
    lmax : int
        Maximum degree.

    Returns
    -------
    degree, order : numpy.ndarray of int, shape (L(L+2),)
    is_sine : numpy.ndarray of bool, shape (L(L+2),)
        True for the h (sine, sin(m phi)) coefficients.
    """
    n_coefficients(lmax)
    return _degree_order_arrays(int(lmax))


def coefficient_labels(lmax: int, names: tuple[str, str] = ("g", "h")) -> list[str]:
    """Labels like ``"g_1_0", "g_1_1", "h_1_1"`` for every entry of a coefficient vector.

    Parameters
    ----------
    lmax : int
        Maximum degree.
    names : (str, str), optional
        Prefixes of the cosine and sine coefficients, e.g. ``("t", "t")`` is not useful;
        use ``("tc", "ts")`` or the default ``("g", "h")``.

    Returns
    -------
    list of str
    """
    degree, order, is_sine = degree_order_arrays(lmax)
    return [
        f"{names[1] if s else names[0]}_{ell}_{m}"
        for ell, m, s in zip(degree.tolist(), order.tolist(), is_sine.tolist(), strict=True)
    ]


@lru_cache(maxsize=64)
def lm_index_tables(lmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of g_lm and h_lm in a coefficient vector padded with one trailing zero.

    Parameters
    ----------
    lmax : int
        Maximum degree L.

    Returns
    -------
    cos_index, sin_index : numpy.ndarray of int32, shape (L+1, L+1)
        ``cos_index[l, m]`` is the position of g_lm (``sin_index``: h_lm). Entries without a
        coefficient (l = 0, m > l, h_l0) point at the padding zero, index L(L+2), so that
        ``jnp.append(coeffs, 0)[cos_index]`` scatters a vector onto an (l, m) array.
    """
    degree, order, is_sine = degree_order_arrays(lmax)
    n = degree.size
    cos_index = np.full((lmax + 1, lmax + 1), n, dtype=np.int32)
    sin_index = np.full((lmax + 1, lmax + 1), n, dtype=np.int32)
    positions = np.arange(n, dtype=np.int32)
    cos_index[degree[~is_sine], order[~is_sine]] = positions[~is_sine]
    sin_index[degree[is_sine], order[is_sine]] = positions[is_sine]
    for arr in (cos_index, sin_index):
        arr.setflags(write=False)
    return cos_index, sin_index


def resize_coefficients(coeffs, lmax: int) -> np.ndarray:
    """Truncate or zero-pad coefficient vectors to degree ``lmax``.

    Parameters
    ----------
    coeffs : array_like, shape (..., L(L+2))
        Coefficient vectors in the package order (any units; they are kept), last axis
        the coefficient index. The leading axes (epochs, draws) are kept.
    lmax : int
        Degree of the result (>= 1).

    Returns
    -------
    numpy.ndarray, shape (..., lmax(lmax+2))
        The first ``lmax(lmax+2)`` coefficients, with zeros appended for the degrees that
        ``coeffs`` does not reach.
    """
    coeffs = np.asarray(coeffs, dtype=float)
    lmax_from_size(coeffs.shape[-1] if coeffs.ndim else 0, "coefficient vector")
    n = n_coefficients(lmax)
    out = np.zeros(coeffs.shape[:-1] + (n,))
    m = min(n, coeffs.shape[-1])
    out[..., :m] = coeffs[..., :m]
    return out
