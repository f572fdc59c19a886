"""Benchmark of the frozen-flux operator: matrix assembly and matrix-free application.

Prints, for L = 14 and L = 26 (L_B = L_F = L, L_SV = 2L = L_B + L_F):

* the assembly time of ``[E | G]`` (``frozen_flux_matrix``) and of ``A_u``
  (``field_matrix``), best of several runs after a jit warm-up;
* one matrix-free application (``sv_from_flow``) and, for comparison, the product of
  the assembled matrix with the flow vector;
* the flop count of the assembly (batched projection products + building the columns)
  and the rate it reaches, against the float64 matmul rate of this machine measured in
  the same run (``jnp.dot`` of two 1000 x 1000 matrices);
* the speed-up over the reference of a straightforward dense quadrature (about 20 ms at
  L = 14 and 0.5 s at L = 26 on 2 cores).

Run:  BAYESCORE_DATA=/work/shared/data python benchmarks/bench_flow_operator.py
(the gufm1 field at 1980 is used when the data file is found, random coefficients
otherwise; timings do not depend on the values). On a machine shared with other jobs
the figures are noisy: the script prints the load average next to them.
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

import bayescore  # noqa: F401  (float64)
from bayescore.flow import operator as op
from bayescore.flow.operator import field_matrix, frozen_flux_matrix, operator_grid, sv_from_flow

REFERENCE_S = {14: 0.020, 26: 0.5}  # dense-quadrature assembly on 2 cores (brief)


def best_time(fn, repeats: int) -> float:
    """Best wall time of ``fn()`` (blocking on the result), warm-up excluded.

    The minimum is the least noisy estimate on a machine shared with other jobs.
    """
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_rate(n: int = 1000, repeats: int = 10) -> float:
    """float64 matmul rate (flop/s) of jitted ``jnp.dot`` on n x n matrices."""
    rng = np.random.default_rng(0)
    a, b = (jnp.asarray(rng.normal(size=(n, n))) for _ in range(2))
    dot = jax.jit(jnp.dot)
    return 2.0 * n**3 / best_time(lambda: dot(a, b), repeats)


def assembly_flops(lmax: int, lmax_sv: int) -> tuple[float, float]:
    """(flops of the algorithm as implemented, essential flops) of one [E | G] assembly.

    As implemented (read from the operator's cached plans): the batched projection
    products (order-grouped, parity-folded tables times the padded columns, real and
    imaginary parts) plus building the columns (3 terms x 2 (L_SV+1) real rows x nlat
    nodes, one multiply-add each, and the fold). Essential: each of the n_sv x ncol
    entries is a dot product over nlat / 2 folded nodes (the bound of this quadrature
    approach without padding).
    """
    grid = operator_grid(lmax, lmax, lmax_sv)
    tables, _, _ = op._projection_plan(grid, lmax_sv)
    (lam, _, _, _), position = op._column_plan(grid, "flow", lmax)
    padded = lam.shape[0] * lam.shape[1] * lam.shape[3]
    products = sum(2.0 * table.size * padded for group in tables for table in group)
    build = (3 * 2 + 1) * 2 * (lmax_sv + 1) * grid.nlat * padded
    n_sv = lmax_sv * (lmax_sv + 2)
    essential = 2.0 * n_sv * position.size * (grid.nlat / 2)
    return products + build, essential


def application_flops(lmax: int, lmax_sv: int, nlat: int, nlon: int) -> float:
    """Approximate flops of one matrix-free application (sv_from_flow)."""
    synthesis = 8 * nlat * (lmax + 1) ** 2 * 2 * 2  # 8 Legendre contractions, re+im
    ffts = 7 * nlat * 2.5 * nlon * np.log2(nlon)  # 6 inverse + 1 forward real FFTs
    analysis = nlat * (lmax_sv + 1) ** 2 * 2 * 2
    return synthesis + ffts + analysis + 10 * nlat * nlon


def field_coefficients(lmax: int) -> tuple[np.ndarray, str]:
    """gufm1 at 1980 padded to degree lmax, or a random field with a similar spectrum."""
    try:
        from bayescore.fields import load_gufm1

        g14 = np.asarray(load_gufm1().coeffs(1980.0))
        g = np.zeros(lmax * (lmax + 2))
        n = min(g.size, g14.size)
        g[:n] = g14[:n]
        return g, "gufm1 1980"
    except Exception:  # noqa: BLE001 - any failure falls back to synthetic values
        from bayescore.sh.indexing import degree_order_arrays

        degree = degree_order_arrays(lmax)[0]
        rng = np.random.default_rng(0)
        return rng.normal(size=degree.size) * 3e4 * 0.3 ** (degree - 1), "random"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--degrees", type=int, nargs="+", default=[14, 26])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    print(f"jax {jax.__version__}, devices {jax.devices()}, cpu count {os.cpu_count()}")
    rate = matmul_rate()
    print(f"float64 matmul rate (jnp.dot 1000^2): {rate / 1e9:.1f} GFlop/s")
    for lmax in args.degrees:
        lmax_sv = 2 * lmax
        g, source = field_coefficients(lmax)
        rng = np.random.default_rng(1)
        n = lmax * (lmax + 2)
        t, s = rng.normal(size=n) * 10.0, rng.normal(size=n) * 3.0  # km/yr
        grid = operator_grid(lmax, lmax, lmax_sv)

        start = time.perf_counter()
        jax.block_until_ready(frozen_flux_matrix(g, lmax, lmax_sv).matrix)
        compile_s = time.perf_counter() - start
        t_matrix = best_time(
            lambda g=g, lmax=lmax, lmax_sv=lmax_sv: frozen_flux_matrix(g, lmax, lmax_sv).matrix,
            args.repeats,
        )
        t_field = best_time(
            lambda t=t, s=s, lmax=lmax, lmax_sv=lmax_sv: field_matrix((t, s), lmax, lmax_sv),
            args.repeats,
        )
        t_apply = best_time(
            lambda g=g, t=t, s=s, lmax_sv=lmax_sv: sv_from_flow(g, t, s, lmax_sv),
            args.repeats * 5,
        )
        matrix = frozen_flux_matrix(g, lmax, lmax_sv).matrix
        u = jnp.concatenate([jnp.asarray(t), jnp.asarray(s)])
        matvec = jax.jit(jnp.dot)
        t_matvec = best_time(lambda f=matvec, a=matrix, u=u: f(a, u), args.repeats * 5)
        mismatch = float(
            jnp.max(jnp.abs(matvec(matrix, u) - sv_from_flow(g, t, s, lmax_sv)))
            / jnp.max(jnp.abs(matvec(matrix, u)))
        )
        flops, essential = assembly_flops(lmax, lmax_sv)
        app_flops = application_flops(lmax, lmax_sv, grid.nlat, grid.nlon)
        load = os.getloadavg()[0]
        print(
            f"\nL_B = L_F = {lmax}, L_SV = {lmax_sv} ({source}); grid {grid.nlat} x "
            f"{grid.nlon}; [E | G] is {matrix.shape[0]} x {matrix.shape[1]}; "
            f"load average {load:.1f}"
        )
        print(
            f"  assemble [E | G]: {t_matrix * 1e3:8.2f} ms (first call incl. compile "
            f"{compile_s:.1f} s); reference {REFERENCE_S[lmax] * 1e3:.0f} ms -> "
            f"{REFERENCE_S[lmax] / t_matrix:.1f}x faster"
        )
        print(
            f"    flops {flops / 1e6:.0f} M as implemented ({essential / 1e6:.0f} M essential):"
            f" {flops / t_matrix / 1e9:.1f} GFlop/s = {flops / t_matrix / rate:.0%} of the "
            f"matmul rate; essential work at the matmul rate would take "
            f"{essential / rate * 1e3:.2f} ms ({t_matrix * rate / essential:.1f}x away)"
        )
        print(f"  assemble A_u:     {t_field * 1e3:8.2f} ms")
        print(
            f"  sv_from_flow (matrix-free): {t_apply * 1e3:.3f} ms (~{app_flops / 1e6:.1f} "
            f"MFlop, {app_flops / t_apply / 1e9:.1f} GFlop/s); [E | G] @ u: "
            f"{t_matvec * 1e3:.3f} ms; relative difference {mismatch:.1e}"
        )


if __name__ == "__main__":
    main()
