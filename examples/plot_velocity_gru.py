"""
Forecasting core-surface velocities with GRU and LSTM networks
==============================================================

The study of the geomagnetism data-science talk: recurrent networks read the last 10
yearly velocity vectors at a site on the core-mantle boundary under (40 N, 130 W) (and,
in the *spatial* approach, at its four neighbours) and predict the next 2. The
velocities come from frozen-flux flows inverted from gufm1 every year 1935-1990 (see
*Core-surface velocities at five sites under the Pacific, 1935-1990*). The networks
are fitted on the first 90 % of the series, the fraction the talk found best, and
compared with persistence, climatology and autoregressive baselines on the held-out
years, with Monte-Carlo-dropout predictive intervals; a sweep over training fractions
from 0.75 to 0.9 follows.

With 56 yearly samples there are only 38 training windows (of yearly increments) and
5 held-out windows at a training fraction of 0.9: read the scores as indications, not as rankings.
"""

# %%
# Setup
# -----
# The example size follows the gallery convention (``examples/README.md``). Both sizes
# use the same networks (one layer of 32 units, dropout 0.2, fitted to the yearly
# increments of the series); the full size trains longer, pools an ensemble of five
# networks per cell (seeds 0-4), draws more MC-dropout samples and sweeps four training
# fractions with both cells.
import os

import matplotlib.pyplot as plt

from bayescore.fields import load_gufm1
from bayescore.studies.site_velocity import (
    plot_fraction_sweep,
    plot_study_forecasts,
    run_velocity_study,
    site_velocity_series,
    training_fraction_sweep,
)

SIZE = os.environ.get("BAYESCORE_EXAMPLE_SIZE") or ("small" if os.environ.get("CI") else "full")
if SIZE not in ("small", "full"):
    raise ValueError(f"BAYESCORE_EXAMPLE_SIZE must be 'small' or 'full', not {SIZE!r}")

SETTINGS = {
    "small": {"epochs": 150, "n_networks": 1, "n_mc": 50},
    "full": {"epochs": 500, "n_networks": 5, "n_mc": 200},
}[SIZE]
FRACTIONS = {"small": (0.75, 0.9), "full": (0.75, 0.8, 0.85, 0.9)}[SIZE]
SWEEP_CELLS = {"small": ("gru",), "full": ("gru", "lstm")}[SIZE]
COLUMNS = ["rmse", "rmse_lead1", "rmse_lead2", "mase", "crps", "energy", "coverage_90"]

# %%
# The velocity series
# -------------------
# u_theta (southward) and u_phi (eastward) in km/yr at the five sites, 1935-1990.
series = site_velocity_series(load_gufm1())
print(
    f"{series.sizes['time']} yearly samples, damping {series.attrs['damping']:.4g} yr^2, "
    f"{series.attrs['sv_weights']} SV weights"
)

# %%
# Temporal approach
# -----------------
# One network per cell reads the centre site's own two components (10 vectors of 2) and
# predicts the next two vectors. Scores over the held-out windows (1985-1989 first
# targets; lead 2 verifies a year later): RMSE and MAE of the predictive mean (km/yr),
# MASE (below 1 beats in-sample one-step persistence), CRPS per value and energy score
# per window of 2 x 2 numbers (km/yr, lower is better), coverage of the central 90 %
# interval.
temporal = run_velocity_study(series, approach="temporal", cell=("gru", "lstm"), **SETTINGS)
print(f"training part {temporal.to_dict()['train_period']}, {temporal.n_test_windows} windows")
print(temporal.scores.sel(metric=COLUMNS).round(3).to_pandas().to_string())
print("AR orders (AIC):", temporal.ar_orders)
fig = plot_study_forecasts(temporal)
fig.set_size_inches(7.5, 6.5)  # the width of the page's text column

# %%
# Spatial approach
# ----------------
# One network per cell reads all ten components (five sites) and predicts the centre
# site's two. The baselines are the same per-component models as above.
spatial = run_velocity_study(series, approach="spatial", cell=("gru", "lstm"), **SETTINGS)
print(spatial.scores.sel(metric=COLUMNS).round(3).to_pandas().to_string())
fig = plot_study_forecasts(spatial)
fig.set_size_inches(7.5, 6.5)

# %%
# Networks fed with the levels, as in the talk
# --------------------------------------------
# The same GRU, temporal approach, fitted to the velocities themselves instead of their
# yearly increments.
levels = run_velocity_study(series, approach="temporal", cell="gru", differencing=False, **SETTINGS)
print(levels.scores.sel(metric=COLUMNS).round(3).to_pandas().to_string())

# %%
# Training-fraction sweep
# -----------------------
# Every fraction is scored on its own held-out windows (13 of them at 0.75, 5 at 0.9:
# different years) and on the windows that every fraction holds out (those of 0.9), so
# that the fractions are compared on the same values.
sweep = training_fraction_sweep(
    series, fractions=FRACTIONS, approach="temporal", cell=SWEEP_CELLS, **SETTINGS
)
print("windows scored:", sweep.n_windows.to_pandas().to_dict())
print("RMSE (km/yr) on each fraction's own held-out windows")
print(sweep.table("rmse", test_set="own"))
print("RMSE (km/yr) on the common held-out windows")
print(sweep.table("rmse", test_set="common"))
print("CRPS (km/yr) on the common held-out windows")
print(sweep.table("crps", test_set="common"))
for test_set in ("common", "own"):
    fig = plot_fraction_sweep(sweep, metrics=("rmse", "crps"), test_set=test_set)
    fig.set_size_inches(7.5, 3.6)
plt.show()
