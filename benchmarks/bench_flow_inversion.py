"""Timing of one frozen-flux flow inversion at L_B = L_F = 14 (L_SV = 28).

Run: ``BAYESCORE_DATA=../shared/data python benchmarks/bench_flow_inversion.py``. Uses
gufm1 at 1980 when the data are found, else an Earth-like synthetic field and SV. Prints
the median wall time (after a warm-up call that compiles everything) of each stage and of
the full inversion:

* assembly of the 840 x 448 frozen-flux matrix [E | G];
* the Lesur SV weights;
* the Cholesky solve of the normal equations with the exact posterior covariance;
* the damping search for an rms speed of 10 km/yr (one eigendecomposition + Brent);
* ``invert_flow`` with a fixed damping and with ``target_rms`` (everything, including
  input checks, diagnostics and result assembly);
* a series of 11 independent epochs (batched assembly and solves).
"""

from __future__ import annotations

import os
import statistics
import time

import jax
import numpy as np

import bayescore  # noqa: F401  (float64)
from bayescore.flow.damping import find_damping_for_rms
from bayescore.flow.inversion import flow_design_matrix, invert_flow
from bayescore.flow.norms import flow_norm_weights
from bayescore.flow.series import invert_flow_series
from bayescore.flow.weights import sv_weights
from bayescore.infer.linear_gaussian import gaussian_posterior
from bayescore.sh.indexing import degree_order_arrays

LMAX = 14


def median_time(fn, repeats: int = 5) -> float:
    fn()  # warm-up: jit compilation, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def synthetic_model():
    """An Earth-like field and SV model linear in time (when gufm1 is not available)."""
    rng = np.random.default_rng(0)
    degree, _, _ = degree_order_arrays(LMAX)
    ratio = 3485.0 / 6371.2
    # white-ish spectrum at the CMB for the field, blue for the SV
    g0 = rng.normal(size=degree.size) * 2.5e5 * ratio ** (degree + 2) / (degree + 1)
    g0[0] = -30000.0
    gdot = rng.normal(size=degree.size) * 2e3 * ratio ** (degree + 2)

    class Linear:
        span = (1900.0, 2000.0)

        def coeffs(self, t):
            return g0 + (np.asarray(t, float)[..., None] - 1950.0) * gdot

        def sv(self, t):
            return np.broadcast_to(gdot, np.shape(t) + gdot.shape)

    return "synthetic", Linear()


def load_model():
    if os.environ.get("BAYESCORE_DATA"):
        from bayescore.fields import load_gufm1

        return "gufm1", load_gufm1()
    return synthetic_model()


def main() -> None:
    name, model = load_model()
    epoch = 1980.0
    g = np.asarray(model.coeffs(epoch))
    gdot = np.asarray(model.sv(epoch))
    weights = sv_weights(gdot, lmax_sv=2 * LMAX)
    design = flow_design_matrix(g, LMAX)
    damping = find_damping_for_rms(g, gdot, LMAX, 10.0)
    prior = 2 * damping * flow_norm_weights(LMAX, "strong")
    data = np.concatenate([gdot, np.zeros(weights.size - gdot.size)])
    print(
        f"{name} at {epoch}: L_B = L_F = {LMAX}, L_SV = {2 * LMAX}, matrix {design.shape}, "
        f"devices {jax.devices()}"
    )
    cases = {
        "assembly of [E | G]": lambda: flow_design_matrix(g, LMAX),
        "Lesur SV weights": lambda: sv_weights(gdot, lmax_sv=2 * LMAX),
        "Cholesky solve + covariance": lambda: gaussian_posterior(design, data, weights, prior),
        "damping search (rms 10 km/yr)": lambda: find_damping_for_rms(g, gdot, LMAX, 10.0),
        "invert_flow, fixed damping": lambda: invert_flow(g, gdot, LMAX, damping=damping).t,
        "invert_flow, target_rms": lambda: invert_flow(g, gdot, LMAX, target_rms=10.0).t,
    }
    for label, fn in cases.items():
        print(f"  {label:34s} {1e3 * median_time(fn):9.1f} ms")
    epochs = np.linspace(1980.0, 1990.0, 11)
    elapsed = median_time(
        lambda: invert_flow_series(model, epochs, LMAX, damping=damping).t, repeats=3
    )
    print(
        f"  {'series of 11 epochs, fixed damping':34s} {1e3 * elapsed:9.1f} ms "
        f"({1e3 * elapsed / epochs.size:.1f} ms per epoch)"
    )


if __name__ == "__main__":
    main()
