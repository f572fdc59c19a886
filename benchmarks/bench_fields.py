"""Speed of field-model loading, time evaluation and field synthesis.

Run: ``BAYESCORE_DATA=../shared/data python benchmarks/bench_fields.py``. Prints wall
times with JIT warm-up excluded (each function is called once before timing).
"""

from __future__ import annotations

import time

import jax
import numpy as np

from bayescore.fields import design_matrix, igrf, load_gufm1, synth


def mean_seconds(func, repeats: int = 20) -> float:
    """Mean wall time of ``func()`` over ``repeats`` calls after one warm-up call."""
    jax.block_until_ready(func())
    start = time.perf_counter()
    for _ in range(repeats):
        jax.block_until_ready(func())
    return (time.perf_counter() - start) / repeats


def main() -> None:
    start = time.perf_counter()
    igrf_model = igrf()
    print(f"igrf() load                      {1e3 * (time.perf_counter() - start):8.1f} ms")
    start = time.perf_counter()
    gufm1 = load_gufm1()
    print(f"load_gufm1()                     {1e3 * (time.perf_counter() - start):8.1f} ms")
    per_call = mean_seconds(lambda: igrf_model.coeffs(2020.0), 200)
    print(f"IGRF coeffs(scalar epoch)        {1e6 * per_call:8.0f} us/call")
    epochs = np.linspace(1590, 1990, 4001)
    print(
        f"gufm1 sv(4001 epochs)            {1e3 * mean_seconds(lambda: gufm1.sv(epochs)):8.2f} ms"
    )

    rng = np.random.default_rng(0)
    n = 100_000
    r = rng.uniform(6371.2, 7000.0, n)
    theta = np.arccos(rng.uniform(-1, 1, n))
    phi = rng.uniform(0, 2 * np.pi, n)
    g_igrf = igrf_model.coeffs(2020.0)
    g_gufm1 = gufm1.coeffs(1900.0)
    seconds = mean_seconds(lambda: synth(g_igrf, r, theta, phi), 5)
    print(f"synth IGRF L=13, 1e5 points      {1e3 * seconds:8.1f} ms")
    seconds = mean_seconds(lambda: synth(g_gufm1, r, theta, phi), 5)
    print(f"synth gufm1 L=14, 1e5 points     {1e3 * seconds:8.1f} ms")
    m = 10_000
    seconds = mean_seconds(lambda: design_matrix(14, r[:m], theta[:m], phi[:m]), 5)
    print(f"design_matrix L=14, 1e4 points   {1e3 * seconds:8.1f} ms")


if __name__ == "__main__":
    main()
