"""Timing of the PSD estimators on dipole-sized series (2000 samples at 1 kyr).

Run: ``python benchmarks/bench_spectral.py``. Prints the median wall time of each
estimator for one series and of a 500-path Monte-Carlo envelope.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from scipy import signal

from bayescore.spectral import compare_psd, psd, psd_envelope


def median_time(fn, repeats: int = 5) -> float:
    fn()  # warm-up (caches, imports)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    rng = np.random.default_rng(0)
    n_time = 2000
    series = signal.lfilter([1.0], [1.0, -0.95], rng.normal(size=n_time + 500))[500:]
    paths = signal.lfilter([1.0], [1.0, -0.95], rng.normal(size=(500, n_time + 500)))[:, 500:]
    cases = {
        "periodogram": lambda: psd(series, 1.0, "periodogram"),
        "welch": lambda: psd(series, 1.0, "welch"),
        "multitaper (fixed K=10)": lambda: psd(
            series, 1.0, "multitaper", adaptive=False, ntapers=10
        ),
        "multitaper (adaptive)": lambda: psd(series, 1.0, "multitaper"),
        "lombscargle": lambda: psd(series, t=np.arange(n_time, dtype=float), method="lombscargle"),
        "compare_psd (multitaper)": lambda: compare_psd(series[:1300], series[1300:], 1.0),
    }
    print(f"series of {n_time} samples")
    for name, fn in cases.items():
        print(f"  {name:28s} {1e3 * median_time(fn):9.2f} ms")
    for method in ("welch", "multitaper"):
        elapsed = median_time(lambda m=method: psd_envelope(paths, 1.0, m), repeats=3)
        print(f"  envelope, 500 paths, {method:10s} {1e3 * elapsed:9.2f} ms")


if __name__ == "__main__":
    main()
