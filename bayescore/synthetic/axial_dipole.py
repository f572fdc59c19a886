"""A simulated signed axial dipole moment series: reversing, seeded, needs no data file.

The palaeomagnetic dipole series (PADM2M, Sint-2000) are not redistributable with the
package, so the forecasting study needs a stand-in that runs with no data at all. This
module draws one from the stochastic model that Buffett, Ziegler & Constable (2013,
Geophys. J. Int. 195, 86-97) fitted to PADM2M: the moment x(t) obeys the Langevin equation

    dx = v(x) dt + sqrt(2 D) dW,

with a drift that relaxes x towards either polarity's mean moment and a constant
diffusion D. Here the drift is the symmetric double well v(x) = gamma x (1 - x^2/x0^2):
near x = +-x0 it is -2 gamma (x -+ x0), a relaxation time tau = 1/(2 gamma), and the
polarity flips when noise carries x over the barrier at x = 0. The defaults (x0 = 5.5e22
A m^2, tau = 25 kyr, an rms fluctuation of 1.6e22 A m^2 about the well) give a mean
moment, a spread and a relaxation time like PADM2M's and a few reversals in 2 Myr; the
series is a test signal with the statistics of the real one, not a substitute for it.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from bayescore.errors import ForecastConfigError

__all__ = ["simulate_axial_dipole_moment"]


def _positive(name: str, value) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ForecastConfigError(f"{name} must be a positive finite number, got {value!r}")
    return value


def simulate_axial_dipole_moment(
    duration_kyr: float = 2000.0,
    dt_kyr: float = 1.0,
    *,
    seed: int = 0,
    well_moment: float = 5.5,
    relaxation_kyr: float = 25.0,
    fluctuation_rms: float = 1.6,
    substeps: int = 20,
) -> xr.DataArray:
    """Simulate a signed axial dipole moment series with reversals.

    Euler-Maruyama integration of ``dx = gamma x (1 - x^2/x0^2) dt + sqrt(2 D) dW`` with
    ``gamma = 1 / (2 tau)`` and ``D = fluctuation_rms^2 / tau`` (so that the linearised
    fluctuation about either well has the rms ``fluctuation_rms``), started in the
    present (negative, by the g10 sign convention) polarity's well and sampled every
    ``dt_kyr``.

    Parameters
    ----------
    duration_kyr : float, default 2000
        Length of the series (kyr); the series ends at the present (time 0 Ma).
    dt_kyr : float, default 1.0
        Sampling step (kyr).
    seed : int, default 0
        Seed of the noise: the same seed gives the same series.
    well_moment : float, default 5.5
        Moment of either polarity's stable state x0 (1e22 A m^2).
    relaxation_kyr : float, default 25
        Relaxation time tau of fluctuations about a well (kyr).
    fluctuation_rms : float, default 1.6
        Rms fluctuation about a well in the linear approximation (1e22 A m^2).
    substeps : int, default 20
        Integration steps per sampling step.

    Returns
    -------
    xarray.DataArray, dims ("time",)
        The signed moment (1e22 A m^2), oldest first, with coordinate ``time`` (Ma,
        negative before present) and attributes ``units``, ``source`` and the parameters.

    Raises
    ------
    ForecastConfigError
        If a parameter is not positive and finite, or the series would have fewer than
        two samples.
    """
    duration = _positive("duration_kyr", duration_kyr)
    dt = _positive("dt_kyr", dt_kyr)
    x0 = _positive("well_moment", well_moment)
    tau = _positive("relaxation_kyr", relaxation_kyr)
    rms = _positive("fluctuation_rms", fluctuation_rms)
    substeps = int(substeps)
    if substeps < 1:
        raise ForecastConfigError(f"substeps must be >= 1, got {substeps}")
    n = int(round(duration / dt))
    if n < 2:
        raise ForecastConfigError(
            f"duration_kyr={duration_kyr} and dt_kyr={dt_kyr} give {n} samples; need >= 2"
        )
    gamma = 1.0 / (2.0 * tau)
    diffusion = rms**2 / tau
    h = dt / substeps
    noise = np.random.default_rng(seed).standard_normal((n, substeps)) * math.sqrt(
        2.0 * diffusion * h
    )
    out = np.empty(n)
    x = -x0
    for i in range(n):  # a scalar recursion: sequential by nature, 4e4 steps by default
        for dw in noise[i]:
            x += gamma * x * (1.0 - (x / x0) ** 2) * h + dw
        out[i] = x
    time_ma = (np.arange(n) - (n - 1)) * dt / 1000.0
    return xr.DataArray(
        out,
        dims=("time",),
        coords={"time": ("time", time_ma, {"units": "Ma"})},
        name="axial_dipole_moment",
        attrs={
            "units": "1e22 A m^2",
            "source": f"synthetic (double-well Langevin model, seed {seed})",
            "well_moment": x0,
            "relaxation_kyr": tau,
            "fluctuation_rms": rms,
            "seed": int(seed),
        },
    )
