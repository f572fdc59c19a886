"""
Core-surface velocities at five sites under the Pacific, 1935-1990
==================================================================

The frozen-flux flow at the top of the core is inverted from the secular variation of
the historical field model gufm1 every year from 1935 to 1990, and the two horizontal
velocity components, ``u_theta`` (southward) and ``u_phi`` (eastward), are read at a
site on the core-mantle boundary under the north-east Pacific, (40 N, 130 W), and at
its four neighbours 5 degrees to the north, south, east and west. These ten series are
what the recurrent networks of the velocity-forecasting study learn from (see the
example *Forecasting core-surface velocities with GRU and LSTM networks*).
"""

# %%
# Setup
# -----
# The example size follows the gallery convention (``examples/README.md``). The series
# is the same at both sizes (56 yearly flows); only the full size adds half-yearly
# samples to show that finer sampling of gufm1 adds little.
import os

import matplotlib.pyplot as plt
import numpy as np

from bayescore.fields import load_gufm1
from bayescore.flow.sites import DEFAULT_SITES
from bayescore.studies.site_velocity import (
    GUFM1_KNOT_SPACING_YR,
    plot_site_series,
    site_velocity_series,
)

SIZE = os.environ.get("BAYESCORE_EXAMPLE_SIZE") or ("small" if os.environ.get("CI") else "full")
if SIZE not in ("small", "full"):
    raise ValueError(f"BAYESCORE_EXAMPLE_SIZE must be 'small' or 'full', not {SIZE!r}")

# %%
# The flows and the velocity series
# ---------------------------------
# Strong norm, flow degree 14, SV equations to degree 28, uniform SV weights at the
# Earth's surface and one damping for all epochs, tuned so that the 1980 flow has an rms
# speed of 10 km/yr (the choices are explained in
# :mod:`bayescore.studies.site_velocity`). The flows are solved together with a batched
# Cholesky factorisation.
gufm1 = load_gufm1()
series = site_velocity_series(gufm1, start=1935.0, end=1990.0, step=1.0)
velocity = series["velocity"]
print(
    f"{velocity.sizes['time']} epochs {float(series.time[0]):.0f}-{float(series.time[-1]):.0f}, "
    f"damping {series.attrs['damping']:.4g} yr^2 ({series.attrs['sv_weights']} SV weights, "
    f"{series.attrs['norm']} norm, L_F = {series.attrs['lmax_flow']})"
)
for year in (1940.0, 1960.0, 1980.0, 1990.0):
    print(
        f"  {year:.0f}: rms speed {float(series.rms_speed.sel(time=year)):5.2f} km/yr, "
        f"toroidal fraction {float(series.toroidal_fraction.sel(time=year)):.3f}, "
        f"solid-body drift {float(series.solid_body_drift.sel(time=year)):+.3f} deg/yr"
    )

# %%
# The sites
# ---------
# Latitude and longitude of each site (degrees, east positive) and the mean and
# standard deviation of its two velocity components over 1935-1990.
print(f"{'site':7s} {'lat':>6s} {'lon':>7s} {'u_theta mean/sd':>17s} {'u_phi mean/sd':>15s}")
for name, (lat, lon) in DEFAULT_SITES.items():
    at_site = velocity.sel(site=name)
    ut, up = at_site.sel(component="u_theta"), at_site.sel(component="u_phi")
    print(
        f"{name:7s} {lat:6.1f} {lon:7.1f} {float(ut.mean()):8.2f} {float(ut.std()):7.2f} "
        f"{float(up.mean()):8.2f} {float(up.std()):6.2f}"
    )

# %%
# Velocity time series at the five sites
# --------------------------------------
# The centre site is drawn thicker. ``u_phi`` is westward (negative) at all five sites
# and speeds up from about 2 to about 9 km/yr; ``u_theta`` is smaller and changes sign
# several times. The neighbours move together: 5 degrees on the CMB (about 300 km) is
# well below the half-wavelength of degree 14 there (about 780 km), the smallest scale
# the flow resolves. The right panel shows where the sites are.
fig = plt.figure(figsize=(7.5, 6.5), layout="constrained")
grid = fig.add_gridspec(2, 2, width_ratios=(3.0, 1.4))
series_axes = [fig.add_subplot(grid[0, 0])]
series_axes.append(fig.add_subplot(grid[1, 0], sharex=series_axes[0]))
plot_site_series(series, axes=series_axes)
site_map = fig.add_subplot(grid[:, 1])
for name, (lat, lon) in DEFAULT_SITES.items():
    site_map.plot(lon, lat, "o", ms=8 if name == "centre" else 6)
    site_map.annotate(name, (lon, lat), xytext=(0, 7), textcoords="offset points", ha="center")
site_map.set_xlim(-138.5, -121.5)
site_map.set_ylim(31.5, 48.5)
site_map.set_aspect(1.0 / np.cos(np.deg2rad(40.0)))
site_map.set_xlabel("longitude (degrees east)")
site_map.set_ylabel("latitude (degrees north)")
site_map.set_title("site positions on the CMB", fontsize=10)
site_map.grid(alpha=0.3)
fig.suptitle("Core-surface velocity from gufm1 flows at (40 N, 130 W) and its neighbours")

# %%
# How many independent numbers are there?
# ---------------------------------------
# gufm1 is a cubic B-spline in time with knots every 2.5 years, so 1935-1990 holds only
# about 25 spline coefficients per Gauss coefficient: the 56 yearly samples are already
# 2.5 samples per knot interval. At the full size the series is also computed every
# half year: the extra samples lie on the same smooth curve (the difference from a
# cubic interpolation of the yearly series is printed), so they add windows but hardly
# any information.
n_knots = int(round((1990.0 - 1935.0) / GUFM1_KNOT_SPACING_YR)) + 3
print(f"about {n_knots} spline coefficients per Gauss coefficient over 1935-1990")
if SIZE == "full":
    from scipy.interpolate import CubicSpline

    fine = site_velocity_series(gufm1, start=1935.0, end=1990.0, step=0.5)["velocity"]
    spline = CubicSpline(velocity.time.values, velocity.values, axis=0)
    mid = fine.time.values[1::2]
    gap = np.abs(spline(mid) - fine.sel(time=mid).values)
    print(
        f"half-yearly samples vs cubic interpolation of yearly ones: max |difference| "
        f"{gap.max():.3f} km/yr, rms {np.sqrt(np.mean(gap**2)):.4f} km/yr "
        f"(sd of the ten series pooled: {float(velocity.std()):.2f} km/yr)"
    )
    fig2, ax2 = plt.subplots(figsize=(7.5, 3.2), constrained_layout=True)
    ax2.plot(
        fine.time, fine.sel(site="centre", component="u_theta"), ".", ms=3, label="every 0.5 yr"
    )
    ax2.plot(
        velocity.time, velocity.sel(site="centre", component="u_theta"), "-", label="every 1 yr"
    )
    ax2.set_xlabel("year")
    ax2.set_ylabel("u_theta at the centre (km/yr)")
    ax2.legend()
    ax2.set_title("Finer sampling interpolates the same splines")
