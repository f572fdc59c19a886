"""
Forecasting the axial dipole moment with an LSTM
================================================

A geomagnetism data-science talk trained an LSTM (four layers of 50 units, dropout 0.2,
a dense output, each prediction from the 60 preceding values) on the first part of a
palaeomagnetic dipole-moment series and compared its predictions with the rest, for
the magnitude and for the signed moment with its polarity reversals, by eye and by
their power spectra. This example repeats the experiment on the two 2 Myr reference
series, PADM2M and Sint-2000 (1 kyr steps), and makes it quantitative with
:func:`bayescore.studies.dipole.run_dipole_study`: every forecaster is trained on the
first 65 % (1.999-0.700 Ma) and judged on the held-out 700 kyr by proper scores, with
Monte-Carlo-dropout predictive intervals for the networks and the baselines
persistence, climatology, AR(3), AR(p) by AIC and Ornstein-Uhlenbeck beside them.

Two networks are trained each time: the talk's (``LSTM (level)``, which predicts the
standardised value) and ``LSTM (increment)``, which sees the values and their one-step
changes and predicts the change from the last value (a zero output is persistence).
The numbers of the full-size run are in the documentation page
"Dipole-moment forecasts" (``docs/studies/dipole-forecasts.md``).
"""

# %%
# Setup
# -----
# The example size follows the gallery convention (``examples/README.md``). ``full`` is
# the talk's network (4 x 50 LSTM, window 60, 50 epochs with early stopping, 100 MC
# samples; several minutes per case); ``small`` runs the same code with a one-layer
# network of 8 units, a 30-step window, 3 epochs and 20 MC samples, and for the signed
# moment only, so its networks are not trained enough to mean anything: the figures then
# only show what is drawn.
import os

import matplotlib.pyplot as plt

from bayescore.studies.dipole import (
    plot_dipole_prediction,
    plot_dipole_spectra,
    run_dipole_study,
)

SIZE = os.environ.get("BAYESCORE_EXAMPLE_SIZE") or ("small" if os.environ.get("CI") else "full")
if SIZE not in ("small", "full"):
    raise ValueError(f"BAYESCORE_EXAMPLE_SIZE must be 'small' or 'full', not {SIZE!r}")

SETTINGS = {
    "small": dict(hidden_size=8, num_layers=1, window=30, epochs=3, n_mc=20),
    "full": dict(hidden_size=50, num_layers=4, window=60, epochs=50, n_mc=100),
}[SIZE]
QUANTITIES = {"small": ("signed",), "full": ("magnitude", "signed")}[SIZE]
CASES = [(series, quantity) for series in ("padm2m", "sint2000") for quantity in QUANTITIES]

# %%
# Run the study
# -------------
# One call per series and quantity. The data are read through
# ``bayescore.datasets.fetch`` (set ``BAYESCORE_DATA`` to the data directory). Each
# network and baseline sees the training part only; the held-out part is used for
# scoring alone.
results = {}
for series, quantity in CASES:
    results[series, quantity] = run_dipole_study(series, quantity, seed=0, **SETTINGS)

# %%
# The two series and the split
# ----------------------------
# The signed moment changes sign at every polarity reversal; the held-out part (right of
# the dashed line) is the Brunhes chron, stronger on average than the training part.
fig, ax = plt.subplots(figsize=(7.5, 3.6), constrained_layout=True)
for series, colour in (("padm2m", "C0"), ("sint2000", "C1")):
    data = results[series, "signed"].series
    ax.plot(1000 * data["time"], data, color=colour, lw=0.8, label=data.attrs["source"])
split_ka = 1000 * results["padm2m", "signed"].one_step["time"].values[0]
ax.axvline(split_ka, color="k", ls="--", lw=1, label="end of the training part")
ax.axhline(0, color="0.6", lw=0.6)
ax.set_xlabel("time (ka, negative before present)")
ax.set_ylabel("axial dipole moment (1e22 A m^2)")
ax.set_title("Signed axial dipole moment, 2 Ma to present")
ax.legend(loc="lower left", fontsize="small")

# %%
# Scores of the one-step predictions
# ----------------------------------
# RMSE, MAE and CRPS in 1e22 A m^2 (lower is better); MASE below 1 beats in-sample
# persistence; a calibrated forecaster covers 90 % with its 90 % intervals; the
# interval score adds the interval's width and the penalties of its misses;
# ``lsd_db`` is the log-spectral distance between the predicted and the held-out series'
# spectra, ``envelope_outside`` the fraction of frequencies where the held-out spectrum
# leaves the band of the networks' MC-dropout passes.
for result in results.values():
    print(f"{result.config['source']}, {result.config['quantity']}: one-step predictions")
    print(result.format_table())

# %%
# Scores of the free-running forecasts
# ------------------------------------
# Forecasts over the whole held-out part from the end of the training part, each sample
# fed back as the next input. Over 700 kyr they are judged mostly on how well their
# spread and spectrum match the data.
for result in results.values():
    print(f"{result.config['source']}, {result.config['quantity']}: free-running forecasts")
    print(result.format_table("free_run"))


# %%
# Predictions and spectra, case by case
# -------------------------------------
# From the top: one-step predictions of the two networks with their 90 % MC-dropout
# intervals; free-running forecasts of the increment network and AR(3) with their 90 %
# intervals; the spectrum of the held-out series (validation, with its 95 % interval)
# against the predicted series' (with the band of the MC-dropout passes) and against
# the band of the free-running sample paths. One panel per row, so that the figure
# keeps legible text at the width of the page.
def case_figure(result):
    fig, axes = plt.subplots(4, 1, figsize=(7.5, 15), constrained_layout=True)
    networks = list(result.networks)
    plot_dipole_prediction(result, "one_step", networks, ax=axes[0], history_kyr=100)
    plot_dipole_prediction(result, "free_run", [networks[0], "AR(3)"], ax=axes[1])
    plot_dipole_spectra(result, networks[0], "one_step", ax=axes[2])
    plot_dipole_spectra(result, networks[0], "free_run", ax=axes[3])
    fig.suptitle(f"{result.config['source']}, {result.config['quantity']} moment ({SIZE} size)")
    return fig


for result in results.values():
    case_figure(result)
