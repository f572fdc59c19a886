"""Frozen-flux secular-variation operator at the core-mantle boundary.

Under the frozen-flux approximation the radial field at the core surface r = c obeys

    dBr/dt = -div_H(u Br) = -(1/c) [u . grad_1 Br + Br div_1 u],

with ``grad_1``, ``div_1`` the unit-sphere operators, the flow ``u`` of
:mod:`bayescore.flow.velocity` (coefficients ``t``, ``s`` in km/yr) and

    Br(c) = sum_lm (l+1) (a/c)^(l+2) [g_lm Y_lm^c + h_lm Y_lm^s]       (nT).

Projected on the harmonics and converted back to Gauss-coefficient SV at the reference
radius ``a`` with ``(c/a)^(l+2) / (l+1)``, it gives ``gdot = E(g) t + G(g) s`` (nT/yr),
the Elsasser (E) and Gaunt (G) matrices of Lesur et al. (2010, eqs. 12-16). The operator is
bilinear: ``E(g) t + G(g) s = A_u(t, s) g``. The product ``u Br`` has degree at most
``L_B + L_F`` (the selection rules), so the default SV degree is ``L_SV = L_B + L_F`` and
nothing is lost by the projection.

Two independent implementations are used:

* :func:`sv_from_flow` (matrix-free) works in physical space: the field, its gradient and
  the flow are synthesised on a Gauss-Legendre grid (Legendre contraction + inverse FFT
  in longitude), multiplied pointwise, and projected back (FFT + weighted Legendre
  contraction). The grid integrates degree ``L_B + L_F + L_SV`` exactly
  (``nlat = (L_B + L_F + L_SV) // 2 + 1``, ``nlon > L_B + L_F + L_SV``), so the result is
  exact to rounding.
* :func:`frozen_flux_matrix` and :func:`field_matrix` assemble the matrices column by
  column in latitude-Fourier space. A column (one basis harmonic of the flow, or of the
  field) is a sum of three known fields (dBr/dtheta, (1/sin) dBr/dphi, Br; or u_theta,
  u_phi, div_1 u) times latitude profiles of the basis harmonic times cos or sin(m_j phi).
  A field times cos/sin(m_j phi) is a shift of its Fourier coefficients by +-m_j (a
  "slab", built once for every m_j by a gather with constant indices, no FFT); columns
  sharing slabs are grouped, so each group is a broadcast product of its profiles with
  two slab sets. The columns' CMB SV is folded about the equator (P_l^m(-x) =
  (-1)^(l+m) P_l^m(x) on the symmetric Gauss nodes) and projected by batched matrix
  products over the order m that contract the ``nlat / 2`` folded nodes, in blocks of
  columns (``lax.map``). The cost is dominated by those products, about
  ``2 n_sv n_columns nlat / 2`` flops plus ~30% padding of the (l, m) triangle.

All functions are jit-compiled once per set of degrees (cached), differentiable, accept
leading batch dimensions and work under ``jax.vmap``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np

from bayescore.constants import CORE_RADIUS_KM, EARTH_REFERENCE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, ModelConfigError, NonFiniteError
from bayescore.fields.synthesis import check_degree
from bayescore.flow.velocity import Flow, check_flow_coefficients
from bayescore.sh.grid import (
    GaussLegendreGrid,
    quadrature_grid,
)
from bayescore.sh.indexing import degree_order_arrays, lmax_from_size

__all__ = [
    "FrozenFluxMatrix",
    "cmb_sv_on_grid",
    "field_matrix",
    "frozen_flux_matrix",
    "operator_grid",
    "sv_from_flow",
]

_A = EARTH_REFERENCE_RADIUS_KM
_C = CORE_RADIUS_KM


# ---------------------------------------------------------------------- validation
def _check_field(g, what: str = "Gauss coefficient vector g") -> int:
    shape = np.shape(g)
    if len(shape) == 0:
        raise CoefficientShapeError(f"{what} must be a vector, got a scalar")
    lmax = lmax_from_size(shape[-1], what)
    if not isinstance(g, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(g))):
        raise NonFiniteError(f"{what} contains NaN or infinite values")
    return lmax


def _sv_degree(lmax_field: int, lmax_flow: int, lmax_sv) -> int:
    if lmax_sv is None:
        return lmax_field + lmax_flow
    return check_degree(lmax_sv, "lmax_sv")


def _check_grid(grid, lmax_field: int, lmax_flow: int, lmax_sv: int) -> GaussLegendreGrid:
    if grid is None:
        return operator_grid(lmax_field, lmax_flow, lmax_sv)
    if not isinstance(grid, GaussLegendreGrid):
        raise TypeError(f"grid must be a GaussLegendreGrid, got {type(grid).__name__}")
    need_degree = lmax_field + lmax_flow + lmax_sv
    need_lmax = max(lmax_field, lmax_flow, lmax_sv)
    if grid.exact_degree < need_degree or grid.lmax < need_lmax:
        raise ModelConfigError(
            f"{grid!r} is too coarse for L_B={lmax_field}, L_F={lmax_flow}, L_SV={lmax_sv}: "
            f"need exact_degree >= {need_degree} (has {grid.exact_degree}) and lmax >= "
            f"{need_lmax} (has {grid.lmax})"
        )
    return grid


def operator_grid(lmax_field: int, lmax_flow: int, lmax_sv: int | None = None):
    """The Gauss-Legendre grid on which the frozen-flux product is computed exactly.

    Parameters
    ----------
    lmax_field, lmax_flow : int
        Degrees L_B of the field and L_F of the flow.
    lmax_sv : int, optional
        Degree L_SV of the projection; default ``L_B + L_F``.

    Returns
    -------
    GaussLegendreGrid
        ``nlat = (L_B + L_F + L_SV) // 2 + 1`` colatitudes and the smallest even
        2-3-5-smooth ``nlon > L_B + L_F + L_SV`` (and ``> 2 max(L_B, L_F, L_SV)``).
    """
    lmax_field = check_degree(lmax_field, "lmax_field")
    lmax_flow = check_degree(lmax_flow, "lmax_flow")
    lmax_sv = _sv_degree(lmax_field, lmax_flow, lmax_sv)
    return quadrature_grid(lmax_field + lmax_flow + lmax_sv, max(lmax_field, lmax_flow, lmax_sv))


# ---------------------------------------------------------------------- constant tables
@lru_cache(maxsize=64)
def _field_scale(lmax: int) -> np.ndarray:
    """(l+1)(a/c)^(l+2): Gauss coefficient at a -> Br coefficient at c."""
    degree = degree_order_arrays(lmax)[0]
    return (degree + 1) * (_A / _C) ** (degree + 2)


@lru_cache(maxsize=64)
def _sv_scale(lmax: int) -> np.ndarray:
    """(c/a)^(l+2)/(l+1): Br coefficient at c -> Gauss coefficient at a."""
    degree = degree_order_arrays(lmax)[0]
    return (_C / _A) ** (degree + 2) / (degree + 1)


@lru_cache(maxsize=64)
def _laplacian_eigen(lmax: int) -> np.ndarray:
    degree = degree_order_arrays(lmax)[0]
    return (degree * (degree + 1)).astype(float)


# ---------------------------------------------------------------------- matrix-free path
def _sv_core(g, t, s, *, grid):
    """dBr/dt at c on the grid (nT/yr) for 1-D g, t, s."""
    gc = g * _field_scale(lmax_from_size(g.shape[-1]))
    lap = _laplacian_eigen(lmax_from_size(t.shape[-1]))
    fourier = [
        grid.to_fourier(gc, "value"),  # Br
        grid.to_fourier(gc, "d_theta"),  # dBr/dtheta
        grid.to_fourier(gc, "d_phi_over_sin"),  # (1/sin) dBr/dphi
        grid.to_fourier(t, "d_phi_over_sin") + grid.to_fourier(s, "d_theta"),  # u_theta
        grid.to_fourier(s, "d_phi_over_sin") - grid.to_fourier(t, "d_theta"),  # u_phi
        grid.to_fourier(-lap * s, "value"),  # div_1 u
    ]
    mmax = max(f.shape[-1] for f in fourier)
    stacked = jnp.stack([jnp.pad(f, ((0, 0), (0, mmax - f.shape[-1]))) for f in fourier])
    br, br_theta, br_phi, u_theta, u_phi, div_u = grid.fourier_to_grid(stacked)
    return -(u_theta * br_theta + u_phi * br_phi + div_u * br) / _C


@lru_cache(maxsize=64)
def _compiled_sv(grid: GaussLegendreGrid, lmax_sv: int):
    def core(g, t, s):
        values = _sv_core(g, t, s, grid=grid)
        bdot = grid.analysis(values, lmax_sv)
        return bdot * _sv_scale(lmax_sv)

    return jax.jit(jnp.vectorize(core, signature="(b),(f),(f)->(k)"))


@lru_cache(maxsize=64)
def _compiled_grid_sv(grid: GaussLegendreGrid):
    core = partial(_sv_core, grid=grid)
    return jax.jit(jnp.vectorize(core, signature="(b),(f),(f)->(i,k)"))


def sv_from_flow(g, t, s, lmax_sv: int | None = None, *, grid: GaussLegendreGrid | None = None):
    """Secular variation produced by a core flow advecting the field (frozen flux).

    Parameters
    ----------
    g : array_like, shape (..., L_B(L_B+2))
        Gauss coefficients of the main field at the reference radius a, in nT.
    t, s : array_like, shape (..., L_F(L_F+2))
        Toroidal and poloidal flow coefficients at the CMB, in km/yr.
    lmax_sv : int, optional
        Degree L_SV of the returned SV; default ``L_B + L_F`` (everything the product
        produces).
    grid : GaussLegendreGrid, optional
        Quadrature grid; default :func:`operator_grid`. A finer grid gives the same
        result to rounding; a coarser one is rejected.

    Returns
    -------
    jax.Array, shape (..., L_SV(L_SV+2))
        Gauss-coefficient SV at the reference radius a, in nT/yr (leading dimensions of
        ``g``, ``t``, ``s`` broadcast).

    Raises
    ------
    CoefficientShapeError
        If a vector length is not L(L+2) or ``t`` and ``s`` differ.
    NonFiniteError
        If an input contains NaN or infinite values (checked outside ``jit``).

    Notes
    -----
    Matrix-free, jit-compiled once per (L_B, L_F, L_SV, grid) and differentiable in
    ``g``, ``t`` and ``s``; works under ``jax.vmap``.
    """
    lmax_field = _check_field(g)
    lmax_flow = check_flow_coefficients(t, s)
    lmax_sv = _sv_degree(lmax_field, lmax_flow, lmax_sv)
    grid = _check_grid(grid, lmax_field, lmax_flow, lmax_sv)
    return _compiled_sv(grid, lmax_sv)(jnp.asarray(g), jnp.asarray(t), jnp.asarray(s))


def cmb_sv_on_grid(g, t, s, grid: GaussLegendreGrid | None = None):
    """Frozen-flux dBr/dt at the CMB on the nodes of a Gauss-Legendre grid.

    Parameters
    ----------
    g : array_like, shape (..., L_B(L_B+2))
        Gauss coefficients at a (nT).
    t, s : array_like, shape (..., L_F(L_F+2))
        Flow coefficients (km/yr).
    grid : GaussLegendreGrid, optional
        Default ``operator_grid(L_B, L_F)`` (exact projection up to L_SV = L_B + L_F);
        any grid with ``lmax >= max(L_B, L_F)`` is accepted.

    Returns
    -------
    values : jax.Array, shape (..., nlat, nlon)
        ``-div_H(u Br)`` at r = c in nT/yr at ``grid.meshgrid()``.
    grid : GaussLegendreGrid
        The grid used.
    """
    lmax_field = _check_field(g)
    lmax_flow = check_flow_coefficients(t, s)
    if grid is None:
        grid = operator_grid(lmax_field, lmax_flow)
    elif not isinstance(grid, GaussLegendreGrid):
        raise TypeError(f"grid must be a GaussLegendreGrid, got {type(grid).__name__}")
    elif grid.lmax < max(lmax_field, lmax_flow):
        raise ModelConfigError(
            f"{grid!r} cannot synthesise degree {max(lmax_field, lmax_flow)} (its lmax is "
            f"{grid.lmax})"
        )
    values = _compiled_grid_sv(grid)(jnp.asarray(g), jnp.asarray(t), jnp.asarray(s))
    return values, grid


# ---------------------------------------------------------------------- matrix assembly
#: Columns assembled per block (``lax.map`` over blocks) so that the per-block work
#: arrays stay in cache instead of streaming a (columns x nodes x orders) array.
COLUMN_BLOCK = 256

#: Number of groups of orders m in the projection: a group skips the rows l < m0 of its
#: lowest order, which removes most of the zero padding of the (l, m) triangle.
ORDER_GROUPS = 4


@lru_cache(maxsize=64)
def _projection_plan(grid: GaussLegendreGrid, lmax_sv: int):
    """Analysis tables folded by equatorial parity and grouped by order.

    The Gauss nodes are symmetric about the equator and P_l^m(-x) = (-1)^(l+m) P_l^m(x),
    so sum_i W_i q_i = sum_{i < h} W_i (q_i +- q_mirror(i)) (+ the equator node when nlat
    is odd, even parity only): half the work of the plain contraction. For order m the
    rows of parity p (l + m = p mod 2) are r = (l - m - p) / 2. Orders are split in groups
    [m0, m1); a group keeps the rows that exist for m0. Each table is repeated for the
    real and imaginary parts (axis ``2 m + part``).

    Returns ``(tables, gather, permutation)``: ``tables[k][p]`` of shape
    (2 (m1 - m0), R, nodes_p) for group k and parity p with its ``(m0, m1)`` in
    ``gather``; ``gather[k][p] = (m0, m1, batch_index, row_index, sign)`` picks the
    output coefficients of that group and parity from the product; ``permutation``
    puts the concatenated picks in coefficient order.
    """
    projector = grid.projector[:, : lmax_sv + 1, : lmax_sv + 1]  # [i, l, m]
    half, odd = grid.nlat // 2, grid.nlat % 2
    nodes = (half + odd, half)
    degree, order, is_sine = degree_order_arrays(lmax_sv)
    parity = (degree + order) % 2
    row = (degree - order - parity) // 2
    # a group per ~12 orders at most ORDER_GROUPS (small cases: one group, short compiles)
    n_groups = max(1, min(ORDER_GROUPS, (lmax_sv + 1) // 12))
    edges = np.linspace(0, lmax_sv + 1, n_groups + 1).astype(int)
    tables, gathers, picked = [], [], []
    for m0, m1 in zip(edges[:-1], edges[1:], strict=True):
        group_tables, group_gathers = [], []
        for p in (0, 1):
            count = max((lmax_sv - m0 - p) // 2 + 1, 1)
            table = np.zeros((m1 - m0, count, nodes[p]))
            for m in range(m0, m1):  # one-off table construction
                ells = np.arange(m + p, lmax_sv + 1, 2)
                table[m - m0, : ells.size, :] = projector[: nodes[p], ells, m].T
            table = np.repeat(table, 2, axis=0)  # real and imaginary parts
            table.setflags(write=False)
            group_tables.append(table)
            mine = np.flatnonzero((order >= m0) & (order < m1) & (parity == p))
            batch = 2 * (order[mine] - m0) + is_sine[mine]  # g: real part, h: -imaginary
            sign = np.where(is_sine[mine], -1.0, 1.0)
            group_gathers.append((int(m0), int(m1), batch, row[mine], sign))
            picked.append(mine)
        tables.append(tuple(group_tables))
        gathers.append(tuple(group_gathers))
    permutation = np.argsort(np.concatenate(picked))
    return tuple(tables), tuple(gathers), permutation


@lru_cache(maxsize=64)
def _column_plan(grid: GaussLegendreGrid, kind: str, lmax_col: int):
    """Constants of the column-by-column assembly, with columns grouped to share slabs.

    Every column is a sum of three terms, each a known field times a latitude profile
    ``lam(theta)`` times ``cos(m_j phi)`` or ``sin(m_j phi)``. With, for the basis
    harmonic Y_j = P_j trig_j(m_j phi), ``dY_j/dtheta = dP_j trig_j`` and
    ``(1/sin) dY_j/dphi = rho_j other_j`` (rho_j = -+ m_j P_j / sin theta; "same" =
    trig_j, "flip" = the other trig function):

    * ``kind="flow"``, fields (dBr/dtheta, (1/sin) dBr/dphi, Br), columns [t | s]:
      toroidal u = (rho_j flip, -dP_j same) -> -(rho X flip - dP Z same) / c;
      poloidal u = (dP_j same, rho_j flip), div_1 u = -l(l+1) P_j same
      -> -(dP X same + rho Z flip - l(l+1) P B same) / c.
    * ``kind="field"``, fields (u_theta, u_phi, div_1 u), columns g: Br_j = f_j P_j same,
      grad_1 Br_j = f_j (dP_j same, rho_j flip), f_j = (l_j+1)(a/c)^(l_j+2)
      -> -(f_j / c)(dP u_theta same + rho u_phi flip + P div_1 u same).

    Columns of the same kind, trig function and order m_j multiply the same three
    "field x trig(m_j phi)" slabs; they differ only by their profiles. Columns are put in
    groups of L+1: the orders m_j and L+1-m_j (with L+1-m_j and m_j degrees each) share
    a group, so a group needs two slab sets and a per-column choice between them, and no
    gather per column.

    Returns ``((lam, slab_a, slab_b, use_b), position)``: per block of groups, the
    profiles ``lam`` (nblk, k, 3, n_g, nlat), the slab indices (nblk, k, 3) of the two
    orders of each group, the choice (nblk, k, n_g); ``position[c]`` is the place of
    original column c in the grouped, flattened output.
    """
    degree, order, is_sine = degree_order_arrays(lmax_col)
    P = grid.legendre[:, degree, order].T  # (n, nlat)
    dP = grid.legendre_derivative[:, degree, order].T
    # d cos(m phi)/dphi = -m sin(m phi); d sin(m phi)/dphi = +m cos(m phi)
    rho = (grid.legendre_over_sin[:, degree, order] * np.where(is_sine, order, -order)).T
    same, flip = is_sine, ~is_sine
    if kind == "flow":
        lap = (degree * (degree + 1.0))[:, None]
        lam = np.stack(
            [
                np.concatenate([-rho, -dP]),
                np.concatenate([dP, -rho]),
                np.concatenate([np.zeros_like(P), lap * P]),
            ]
        )
        lam = lam / _C
        use_sin = np.stack(
            [np.concatenate([flip, same]), np.concatenate([same, flip]), np.tile(same, 2)]
        )
        column_kind = np.repeat([0, 1], degree.size)
        order, is_sine = np.tile(order, 2), np.tile(is_sine, 2)
    elif kind == "field":
        scale = -(_field_scale(lmax_col) / _C)[:, None]
        lam = np.stack([dP * scale, rho * scale, P * scale])
        use_sin = np.stack([same, flip, same])
        column_kind = np.zeros(degree.size, dtype=int)
    else:  # pragma: no cover - internal
        raise ModelConfigError(kind)
    slab = use_sin * (lmax_col + 1) + order[None, :]  # (3, ncol)
    size = lmax_col + 1
    pairs = [(m, size - m) for m in range(1, size // 2 + 1)]
    if size % 2 == 0:  # the middle order m = size / 2 pairs with itself: keep it alone
        pairs[-1] = (size // 2,)
    groups = []  # lists of original columns, part-a columns first
    for k in np.unique(column_kind):
        for sine in (False, True):
            for pair in ([(0,)] if not sine else []) + pairs:
                members = [
                    np.flatnonzero((column_kind == k) & (is_sine == sine) & (order == m))
                    for m in pair
                ]
                groups.append(members)
    n_g = size
    per_block = max(1, COLUMN_BLOCK // n_g)
    nblk = -(-len(groups) // per_block)
    n_groups = nblk * per_block
    nlat = grid.nlat
    lam_g = np.zeros((n_groups, 3, n_g, nlat))
    slab_a = np.zeros((n_groups, 3), dtype=np.int32)
    slab_b = np.zeros((n_groups, 3), dtype=np.int32)
    use_b = np.zeros((n_groups, n_g), dtype=bool)
    position = np.zeros(order.size, dtype=np.int64)
    for gi, members in enumerate(groups):  # one-off table construction
        cols = np.concatenate(members)
        assert cols.size <= n_g
        lam_g[gi, :, : cols.size] = lam[:, cols]
        slab_a[gi] = slab[:, members[0][0]]
        slab_b[gi] = slab[:, members[-1][0]]
        use_b[gi, members[0].size : cols.size] = True
        position[cols] = gi * n_g + np.arange(cols.size)
    plan = tuple(a.reshape((nblk, per_block) + a.shape[1:]) for a in (lam_g, slab_a, slab_b, use_b))
    for arr in plan + (position,):
        arr.setflags(write=False)
    return plan, position


def _slabs(fields, lmax_col: int, lmax_sv: int):
    """Fourier coefficients (orders 0..L_SV) of each field times cos/sin(m_j phi).

    With the two-sided coefficients f_k of a field (f_{-k} = conj f_k),
    ``f cos(mj phi) -> (f_{m-mj} + f_{m+mj}) / 2`` and
    ``f sin(mj phi) -> -i (f_{m-mj} - f_{m+mj}) / 2``: a gather with constant indices,
    exact (no FFT rounding in the orders where the product vanishes).

    Parameters: ``fields`` (..., nlat, K+1) one-sided latitude-Fourier coefficients.
    Returns (..., S, nlat, L_SV+1) complex with S = 2(L_col+1) slabs, ``sine x (L_col+1)
    + m_j``.
    """
    k = fields.shape[-1] - 1
    shift = lmax_sv + max(k, lmax_col)
    pad = [(0, 0)] * (fields.ndim - 1) + [(shift - k, shift - k)]
    two_sided = jnp.pad(jnp.concatenate([jnp.conj(fields[..., :0:-1]), fields], -1), pad)
    m_j = np.tile(np.arange(lmax_col + 1), 2)[:, None]
    m_out = np.arange(lmax_sv + 1)[None, :]
    lower = two_sided[..., m_out - m_j + shift]  # (..., nlat, S, M)
    upper = two_sided[..., m_out + m_j + shift]
    is_sine = (np.arange(m_j.size) > lmax_col)[:, None]
    slabs = jnp.where(is_sine, -0.5j * (lower - upper), 0.5 * (lower + upper))
    return jnp.moveaxis(slabs, -3, -2)


def _fold(q, nlat: int):
    """Fold the last axis (nodes) about the equator: (even (..., h+odd), odd (..., h))."""
    half, odd = nlat // 2, nlat % 2
    north, south = q[..., :half], q[..., ::-1][..., :half]
    even = north + south
    if odd:
        even = jnp.concatenate([even, q[..., half : half + 1]], axis=-1)
    return even, north - south


def _assemble(grid, fields, kind: str, lmax_col: int, lmax_sv: int):
    """Matrix (n_sv, ncol) of Gauss-coefficient SV at a, one column per basis harmonic.

    ``fields`` (3, nlat, K+1): latitude-Fourier coefficients of the three known fields
    of ``_column_plan``. Each field times cos(m_j phi) and sin(m_j phi), for every order
    m_j, is a "slab" of Fourier coefficients (orders m <= L_SV). A group of columns sums
    three slabs weighted by each column's latitude profiles (broadcast products); the
    columns are folded about the equator and projected by batched matrix products over
    the order m (and real/imaginary part) that contract the folded Gauss nodes.
    """
    (lam, slab_a, slab_b, use_b), position = _column_plan(grid, kind, lmax_col)
    tables, gathers, permutation = _projection_plan(grid, lmax_sv)
    slabs = _slabs(fields, lmax_col, lmax_sv)  # (3, S, nlat, M) complex
    # -> (3, S, 2M, nlat) real, axis 2 = 2 m + (0 real, 1 imag)
    slabs = jnp.stack([jnp.real(slabs), jnp.imag(slabs)], axis=-1)
    slabs = jnp.swapaxes(slabs.reshape(slabs.shape[:3] + (-1,)), 2, 3)
    terms = np.arange(3)

    def one_block(params):
        lam, slab_a, slab_b, use_b = params  # (k, 3, n_g, nlat), (k, 3), (k, 3), (k, n_g)
        set_a = slabs[terms, slab_a]  # (k, 3, 2M, nlat)
        set_b = slabs[terms, slab_b]
        choice = use_b[:, :, None, None]
        q = sum(
            lam[:, t, :, None, :] * jnp.where(choice, set_b[:, t, None], set_a[:, t, None])
            for t in range(3)
        )  # (k, n_g, 2M, nlat)
        q_even, q_odd = _fold(q.reshape((-1,) + q.shape[2:]), grid.nlat)
        pieces = []
        for group_tables, group_gathers in zip(tables, gathers, strict=True):
            for table, (m0, m1, batch, row, sign), folded in zip(
                group_tables, group_gathers, (q_even, q_odd), strict=True
            ):
                product = jnp.einsum("mri,cmi->mcr", table, folded[:, 2 * m0 : 2 * m1])
                pieces.append(product[batch, :, row] * sign[:, None])
        return jnp.concatenate(pieces, axis=0)[permutation]  # (n_sv, k n_g)

    if lam.shape[0] == 1:
        out = one_block(tuple(p[0] for p in (lam, slab_a, slab_b, use_b)))
    else:
        out = jax.lax.map(one_block, (lam, slab_a, slab_b, use_b))  # (nblk, n_sv, k n_g)
        out = jnp.moveaxis(out, 0, 1).reshape(out.shape[1], -1)
    return out[:, position] * _sv_scale(lmax_sv)[:, None]


def _flow_matrix_core(g, *, grid, lmax_flow, lmax_sv):
    gc = g * _field_scale(lmax_from_size(g.shape[-1]))
    fields = [grid.to_fourier(gc, c) for c in ("d_theta", "d_phi_over_sin", "value")]
    return _assemble(grid, jnp.stack(fields), "flow", lmax_flow, lmax_sv)


def _field_matrix_core(t, s, *, grid, lmax_field, lmax_sv):
    lap = _laplacian_eigen(lmax_from_size(t.shape[-1]))
    fields = [
        grid.to_fourier(t, "d_phi_over_sin") + grid.to_fourier(s, "d_theta"),  # u_theta
        grid.to_fourier(s, "d_phi_over_sin") - grid.to_fourier(t, "d_theta"),  # u_phi
        grid.to_fourier(-lap * s, "value"),  # div_1 u
    ]
    return _assemble(grid, jnp.stack(fields), "field", lmax_field, lmax_sv)


@lru_cache(maxsize=64)
def _compiled_flow_matrix(grid: GaussLegendreGrid, lmax_flow: int, lmax_sv: int):
    def core(g):
        return _flow_matrix_core(g, grid=grid, lmax_flow=lmax_flow, lmax_sv=lmax_sv)

    return jax.jit(jnp.vectorize(core, signature="(b)->(k,c)"))


@lru_cache(maxsize=64)
def _compiled_field_matrix(grid: GaussLegendreGrid, lmax_field: int, lmax_sv: int):
    def core(t, s):
        return _field_matrix_core(t, s, grid=grid, lmax_field=lmax_field, lmax_sv=lmax_sv)

    return jax.jit(jnp.vectorize(core, signature="(f),(f)->(k,b)"))


@dataclass(frozen=True)
class FrozenFluxMatrix:
    """The flow-to-SV matrix ``[E | G]`` of a field: ``gdot = E t + G s``.

    Attributes
    ----------
    matrix : jax.Array, shape (..., L_SV(L_SV+2), 2 L_F(L_F+2))
        ``[E | G]`` in nT/yr per km/yr; multiply the stacked flow vector ``[t, s]``.
    lmax_field, lmax_flow, lmax_sv : int
        Degrees L_B, L_F and L_SV (static pytree metadata).
    """

    matrix: jax.Array
    lmax_field: int
    lmax_flow: int
    lmax_sv: int

    @property
    def n_flow(self) -> int:
        """Number of coefficients of each of t and s: L_F(L_F+2)."""
        return self.lmax_flow * (self.lmax_flow + 2)

    @property
    def E(self):  # noqa: N802 - the paper's name
        """Toroidal block (Elsasser integrals), shape (..., n_sv, n_flow)."""
        return self.matrix[..., : self.n_flow]

    @property
    def G(self):  # noqa: N802 - the paper's name
        """Poloidal block (Gaunt integrals), shape (..., n_sv, n_flow)."""
        return self.matrix[..., self.n_flow :]

    def apply(self, t, s):
        """``E t + G s`` in nT/yr for flow coefficients ``t``, ``s`` (km/yr)."""
        u = jnp.concatenate([jnp.asarray(t), jnp.asarray(s)], axis=-1)
        return jnp.einsum("...kc,...c->...k", self.matrix, u)


jax.tree_util.register_dataclass(
    FrozenFluxMatrix, data_fields=["matrix"], meta_fields=["lmax_field", "lmax_flow", "lmax_sv"]
)


def frozen_flux_matrix(
    g, lmax_flow: int, lmax_sv: int | None = None, *, grid: GaussLegendreGrid | None = None
) -> FrozenFluxMatrix:
    """Matrix ``[E | G]`` of the frozen-flux SV as a linear function of the flow.

    Parameters
    ----------
    g : array_like, shape (..., L_B(L_B+2))
        Gauss coefficients at the reference radius a, in nT.
    lmax_flow : int
        Degree L_F of the flow.
    lmax_sv : int, optional
        Degree L_SV of the SV rows; default ``L_B + L_F``.
    grid : GaussLegendreGrid, optional
        Quadrature grid; default :func:`operator_grid`.

    Returns
    -------
    FrozenFluxMatrix
        ``.matrix`` of shape (..., L_SV(L_SV+2), 2 L_F(L_F+2)) in nT/yr per km/yr with
        ``sv_from_flow(g, t, s, L_SV) == .matrix @ concatenate([t, s])``; ``.E`` and
        ``.G`` are its toroidal and poloidal halves.
    """
    lmax_field = _check_field(g)
    lmax_flow = check_degree(lmax_flow, "lmax_flow")
    lmax_sv = _sv_degree(lmax_field, lmax_flow, lmax_sv)
    grid = _check_grid(grid, lmax_field, lmax_flow, lmax_sv)
    matrix = _compiled_flow_matrix(grid, lmax_flow, lmax_sv)(jnp.asarray(g))
    return FrozenFluxMatrix(matrix, lmax_field, lmax_flow, lmax_sv)


def field_matrix(
    u_coeffs, lmax_field: int, lmax_sv: int | None = None, *, grid: GaussLegendreGrid | None = None
):
    """Matrix ``A_u`` of the frozen-flux SV as a linear function of the field.

    ``A_u(t, s) g = E(g) t + G(g) s`` (Lesur et al. 2010, eq. 16).

    Parameters
    ----------
    u_coeffs : tuple (t, s), Flow, or array_like
        Flow coefficients in km/yr: a pair ``(t, s)`` each of shape (..., L_F(L_F+2)), a
        :class:`~bayescore.flow.velocity.Flow`, or the stacked vector ``[t, s]`` of shape
        (..., 2 L_F(L_F+2)).
    lmax_field : int
        Degree L_B of the field (the number of columns is L_B(L_B+2)).
    lmax_sv, grid
        As in :func:`frozen_flux_matrix`.

    Returns
    -------
    jax.Array, shape (..., L_SV(L_SV+2), L_B(L_B+2))
        In nT/yr per nT.
    """
    if isinstance(u_coeffs, Flow):
        t, s = u_coeffs.t, u_coeffs.s
    elif isinstance(u_coeffs, tuple | list):
        if len(u_coeffs) != 2:
            raise CoefficientShapeError(
                f"u_coeffs as a sequence must be the pair (t, s), got {len(u_coeffs)} items"
            )
        t, s = u_coeffs
    else:
        u = jnp.asarray(u_coeffs) if isinstance(u_coeffs, jax.core.Tracer) else u_coeffs
        if np.ndim(u) == 0 or np.shape(u)[-1] % 2:
            raise CoefficientShapeError(
                f"a stacked flow vector [t, s] must have an even length, got {np.shape(u)}"
            )
        half = np.shape(u)[-1] // 2
        t, s = u[..., :half], u[..., half:]
    lmax_flow = check_flow_coefficients(t, s)
    lmax_field = check_degree(lmax_field, "lmax_field")
    lmax_sv = _sv_degree(lmax_field, lmax_flow, lmax_sv)
    grid = _check_grid(grid, lmax_field, lmax_flow, lmax_sv)
    return _compiled_field_matrix(grid, lmax_field, lmax_sv)(jnp.asarray(t), jnp.asarray(s))
