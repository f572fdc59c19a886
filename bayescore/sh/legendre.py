"""Schmidt semi-normalised associated Legendre functions and their theta-derivatives.

The functions are P_l^m(cos theta) with the Schmidt semi-normalisation used in
geomagnetism and no Condon-Shortley phase:

    P_l^m = sqrt(k_m (l - m)! / (l + m)!) P_{l,m},   k_0 = 1, k_m = 2 (m > 0),

where P_{l,m} is the unnormalised Ferrers function without the (-1)^m factor.

Stability. Sectoral seeds P_m^m = c_m sin^m(theta) are formed from a precomputed
constant c_m and a power of sin(theta), then the three-term recursion in degree runs at
fixed order (all orders at once, vectorised; one ``lax.scan`` step per degree). Nothing
is divided by sin(theta): the derivative uses the order-raising/lowering identity and the
quantity P_l^m / sin(theta) (needed for (1/sin theta) d/dphi terms) is obtained by
running the same linear recursion from the seed c_m sin^(m-1)(theta). Near the poles
values underflow gracefully to zero (they are that small) instead of overflowing; the
recursion is accurate to a few ulps times the degree up to degree ~ 1000.
"""

from __future__ import annotations

from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np

from bayescore.sh.indexing import degree_order_arrays

__all__ = ["schmidt_legendre", "schmidt_legendre_at_coefficients"]


@lru_cache(maxsize=32)
def _recursion_tables(lmax: int):
    """Constant tables of the recursion, in float64 numpy (cached per lmax)."""
    ell = np.arange(lmax + 1, dtype=float)[:, None]
    m = np.arange(lmax + 1, dtype=float)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = np.sqrt(ell**2 - m**2)
        a = np.where(ell > m, (2 * ell - 1) / denom, 0.0)
        b = np.where(ell > m, np.sqrt(np.clip((ell - 1) ** 2 - m**2, 0, None)) / denom, 0.0)
    # sectoral constants: P_m^m = c_m sin^m, c_0 = 1, c_1 = 1,
    # c_m = c_{m-1} sqrt((2m - 1) / (2m)) for m >= 2 (Schmidt normalisation)
    c = np.ones(lmax + 1)
    for mm in range(2, lmax + 1):
        c[mm] = c[mm - 1] * np.sqrt((2 * mm - 1) / (2 * mm))
    # derivative identity: dP_l^m/dtheta = alpha_lm P_l^{m-1} - beta_lm P_l^{m+1}
    alpha = np.zeros((lmax + 1, lmax + 1))
    beta = np.zeros((lmax + 1, lmax + 1))
    for mm in range(lmax + 1):
        ll = np.arange(lmax + 1, dtype=float)
        valid = ll >= mm
        if mm == 0:
            beta[:, 0] = np.where(valid, np.sqrt(ll * (ll + 1) / 2.0), 0.0)
        elif mm == 1:
            alpha[:, 1] = np.where(valid, 0.5 * np.sqrt(2.0 * (ll + 1) * ll), 0.0)
            beta[:, 1] = np.where(valid, 0.5 * np.sqrt(np.clip((ll - 1) * (ll + 2), 0, None)), 0.0)
        else:
            alpha[:, mm] = np.where(
                valid, 0.5 * np.sqrt(np.clip((ll + mm) * (ll - mm + 1), 0, None)), 0.0
            )
            beta[:, mm] = np.where(
                valid, 0.5 * np.sqrt(np.clip((ll - mm) * (ll + mm + 1), 0, None)), 0.0
            )
    return a, b, c, alpha, beta


def _run_recursion(seed_scale, cos_t, a, b):
    """Degree recursion for all orders at once.

    seed_scale: (..., L+1) values of the sectoral seed P_m^m (or a rescaled version).
    Returns (..., L+1, L+1) array indexed [l, m], zero for m > l.
    """
    lmax = a.shape[0] - 1
    m_index = jnp.arange(lmax + 1)

    def step(carry, inputs):
        p1, p2 = carry  # P_{l-1}^m, P_{l-2}^m for all m, shape (..., L+1)
        ell, a_l, b_l = inputs
        recurrent = a_l * cos_t[..., None] * p1 - b_l * p2
        p = jnp.where(m_index == ell, seed_scale, jnp.where(m_index < ell, recurrent, 0.0))
        return (p, p1), p

    p0 = jnp.where(m_index == 0, seed_scale, 0.0)
    zeros = jnp.zeros_like(p0)
    if lmax == 0:
        return p0[..., None, :]
    ells = jnp.arange(1, lmax + 1)
    _, rows = jax.lax.scan(step, (p0, zeros), (ells, jnp.asarray(a[1:]), jnp.asarray(b[1:])))
    rows = jnp.moveaxis(rows, 0, -2)  # (..., L, L+1)
    return jnp.concatenate([p0[..., None, :], rows], axis=-2)


@partial(jax.jit, static_argnames=("lmax", "derivatives"))
def schmidt_legendre(lmax: int, theta, *, derivatives: bool = True):
    """Schmidt semi-normalised Legendre functions at colatitudes ``theta``.

    Parameters
    ----------
    lmax : int
        Maximum degree L (static).
    theta : array_like
        Colatitudes in radians, any shape ``S``, in [0, pi].
    derivatives : bool, default True
        Also return dP/dtheta and P / sin(theta).

    Returns
    -------
    P : jax.Array, shape S + (L+1, L+1)
        ``P[..., l, m]`` = P_l^m(cos theta) (zero for m > l).
    dP : jax.Array, shape S + (L+1, L+1)
        dP_l^m / dtheta, only if ``derivatives``.
    P_over_sin : jax.Array, shape S + (L+1, L+1)
        P_l^m / sin(theta) for m >= 1 (finite at the poles: the limit), zero for m = 0;
        only if ``derivatives``.

    Notes
    -----
    Jit-compiled (``lmax`` and ``derivatives`` are static: one compilation per degree,
    flag and input shape) and differentiable in ``theta``.
    """
    lmax = int(lmax)
    theta = jnp.asarray(theta, dtype=jnp.result_type(float))
    a, b, c, alpha, beta = _recursion_tables(lmax)
    cos_t = jnp.cos(theta)
    sin_t = jnp.sin(theta)
    orders = jnp.arange(lmax + 1)
    seed = jnp.asarray(c) * sin_t[..., None] ** orders
    P = _run_recursion(seed, cos_t, a, b)
    if not derivatives:
        return P
    # P/sin: seed c_m sin^(m-1) for m >= 1, 0 for m = 0 (not used)
    seed_over_sin = jnp.where(
        orders >= 1, jnp.asarray(c) * sin_t[..., None] ** jnp.maximum(orders - 1, 0), 0.0
    )
    P_over_sin = _run_recursion(seed_over_sin, cos_t, a, b)
    zero_col = jnp.zeros_like(P[..., :1])
    P_lower = jnp.concatenate([zero_col, P[..., :-1]], axis=-1)  # P_l^{m-1}
    P_upper = jnp.concatenate([P[..., 1:], zero_col], axis=-1)  # P_l^{m+1}
    dP = jnp.asarray(alpha) * P_lower - jnp.asarray(beta) * P_upper
    return P, dP, P_over_sin


def schmidt_legendre_at_coefficients(lmax: int, theta):
    """Legendre functions gathered in coefficient-vector order.

    Parameters
    ----------
    lmax : int
        Maximum degree L.
    theta : array_like, shape S
        Colatitudes in radians.

    Returns
    -------
    P, dP, P_over_sin : jax.Array, each shape S + (L(L+2),)
        The values for the (l, m) of each coefficient (cosine and sine entries of the
        same (l, m) share the value), in the order g10, g11, h11, g20, ...
    """
    degree, order, _ = degree_order_arrays(lmax)
    P, dP, P_over_sin = schmidt_legendre(lmax, theta)
    return P[..., degree, order], dP[..., degree, order], P_over_sin[..., degree, order]
