"""Timing of the pieces of the LOD study (``bayescore.studies.lod``).

Run: ``BAYESCORE_DATA=../shared/data python benchmarks/bench_lod.py [--epochs 361]``.
Prints the wall time of

* reading the COV-OBS-type model and the IERS C04 series, and the decadal LOD
  (annual means, low-pass, detrending);
* one flow series (L_F = 14, L_SV = 28, strong norm, Lesur weights) over the LOD span
  1962-2020 every 0.5 yr (117 epochs), with a fixed damping and with the damping tuned
  to 13 km/yr, both with the marginal posterior covariances; the first call of each
  includes JIT compilation, so both are run twice and the second time is reported too;
* with ``--epochs 361``: the whole COV-OBS span 1840-2020 (361 epochs) with a fixed
  damping and posterior standard deviations (the aim is under 60 s);
* the whole study, :func:`run_lod_study` with its default variants (``--study``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import bayescore  # noqa: F401  (float64)
from bayescore.fields import load_covobs
from bayescore.flow import invert_flow_series
from bayescore.lod import decadal_lod, load_lod_c04


def timed(label, fn):
    start = time.perf_counter()
    out = fn()
    print(f"{label:<60s} {time.perf_counter() - start:8.1f} s", flush=True)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=117, choices=(117, 361))
    parser.add_argument("--study", action="store_true", help="also time run_lod_study()")
    args = parser.parse_args(argv)
    model = timed("load_covobs", load_covobs)
    lod = timed("load_lod_c04", load_lod_c04)
    timed("decadal_lod 1962-2019", lambda: decadal_lod(lod, start=1962, end=2019))
    epochs = np.arange(1962.0, 2020.01, 0.5)
    for attempt in ("first", "second"):
        timed(
            f"117 epochs, damping 38, covariance ({attempt})",
            lambda: invert_flow_series(model, epochs, 14, damping=38.0, covariance=True),
        )
    for attempt in ("first", "second"):
        timed(
            f"117 epochs, target 13 km/yr, covariance ({attempt})",
            lambda: invert_flow_series(model, epochs, 14, target_rms=13.0, covariance=True),
        )
    if args.epochs == 361:
        full = np.arange(1840.0, 2020.01, 0.5)
        timed(
            "361 epochs 1840-2020, damping 38, std",
            lambda: invert_flow_series(model, full, 14, damping=38.0),
        )
    if args.study:
        from bayescore.studies.lod import run_lod_study

        result = timed("run_lod_study (default variants)", lambda: run_lod_study(model, lod))
        print(result.table())


if __name__ == "__main__":
    main()
