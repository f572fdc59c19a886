"""
Choosing the damping of a flow inversion
========================================

A frozen-flux flow inversion balances two things: how well the flow explains the
secular variation (SV) and how large or rough the flow is, measured by a spatial norm
(Bloxham's strong norm, Gillet's weak norm, or the kinetic energy). The damping lambda
sets the balance. This example inverts the SV of IGRF-14 in 2020 (shipped by ``ppigrf``,
no data needed) for many dampings and shows, for each of the three norms, the trade-off
(L-) curve, how the rms speed, the toroidal fraction and the westward drift change with
lambda, and the kinetic-energy spectra of flows at three dampings.

The usual choice in the literature, and the default of ``bayescore flow``, is the damping
that gives an rms speed of about 10 km/yr at the core surface; it is marked on each
curve. The flows of all dampings come from one generalised eigendecomposition
(:func:`bayescore.flow.damping_tradeoff`), so a curve of a hundred points costs little
more than one inversion.
"""

# %%
# Setup
# -----
# The example size follows the gallery convention (``examples/README.md``): only the
# number of dampings on each curve depends on it.
import os

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter

from bayescore import fields
from bayescore.flow import damping_tradeoff, find_damping_for_rms
from bayescore.flow.diagnostics import flow_statistics
from bayescore.flow.norms import NORMS

SIZE = os.environ.get("BAYESCORE_EXAMPLE_SIZE") or ("small" if os.environ.get("CI") else "full")
if SIZE not in ("small", "full"):
    raise ValueError(f"BAYESCORE_EXAMPLE_SIZE must be 'small' or 'full', not {SIZE!r}")

N_DAMPINGS = {"small": 31, "full": 121}[SIZE]
EPOCH = 2020.0
LMAX_FLOW = 13  # IGRF-14's SV has degree 13
TARGET_RMS = 10.0  # km/yr
# Uniform SV weights at the Earth's surface: IGRF's SV is a 5-year difference whose
# high-degree part is small but not negligible; Lesur's relative weights would make the
# flow fit it as tightly as the dipole (docs/theory/frozen_flux.md).
SV_WEIGHTS = "uniform"

igrf = fields.igrf()
g, gdot = igrf.coeffs(EPOCH), igrf.sv(EPOCH)

# %%
# One curve per norm
# ------------------
# The dampings span eight decades around the damping of the target rms speed, which is
# found by root finding on the same eigendecomposition. The norms have different units
# (:data:`bayescore.flow.norms.NORMS`), so their dampings differ by orders of magnitude.
curves, chosen = {}, {}
for norm in ("strong", "weak", "energy"):
    chosen[norm] = find_damping_for_rms(
        g, gdot, LMAX_FLOW, TARGET_RMS, norm=norm, sv_weights=SV_WEIGHTS
    )
    dampings = chosen[norm] * np.logspace(-4, 4, N_DAMPINGS)
    curves[norm] = damping_tradeoff(g, gdot, LMAX_FLOW, dampings, norm=norm, sv_weights=SV_WEIGHTS)

n_flow = LMAX_FLOW * (LMAX_FLOW + 2)
statistics = {
    norm: flow_statistics(curve.flows[:, :n_flow], curve.flows[:, n_flow:])
    for norm, curve in curves.items()
}

print(f"IGRF-14 {EPOCH}, L_F = {LMAX_FLOW}, damping of an rms speed of {TARGET_RMS} km/yr:")
print(f"{'norm':8s} {'lambda':>10s} {'units of N':>14s} {'toroidal':>9s} {'drift':>9s}")
for norm, curve in curves.items():
    k = int(np.argmin(np.abs(np.log(curve.dampings / chosen[norm]))))
    stats = statistics[norm]
    print(
        f"{norm:8s} {chosen[norm]:10.3g} {NORMS[norm]:>14s} "
        f"{float(stats['toroidal_fraction'][k]):9.3f} "
        f"{float(stats['solid_body_drift'][k]):7.3f} deg/yr"
    )

# %%
# Trade-off curves
# ----------------
# The weighted SV misfit against the norm of the flow. Small dampings (right, bottom)
# fit the SV at the price of a huge, rough flow; large ones (left, top) give a quiet flow
# that explains little. The star marks the 10 km/yr flow: for the strong norm it sits
# at the bend of the curve; the weak and energy norms, which penalise small scales less,
# give curves without a clear corner, so the rms-speed rule is what fixes their damping.
fig, axes = plt.subplots(3, 1, figsize=(7.5, 10.5), constrained_layout=True)
for ax, (norm, curve) in zip(axes, curves.items(), strict=True):
    ax.loglog(curve.norm_value, curve.chi2, "-", color="C0")
    k = int(np.argmin(np.abs(np.log(curve.dampings / chosen[norm]))))
    ax.loglog(curve.norm_value[k], curve.chi2[k], "r*", ms=12, label=f"{TARGET_RMS:g} km/yr")
    ax.set_xlabel(f"{norm} norm x^T N x ({NORMS[norm]})")
    ax.set_ylabel("weighted SV misfit r^T W r (dimensionless)")
    ax.set_title(f"{norm} norm")
    ax.grid(True, which="both", alpha=0.3)
    ax.xaxis.set_minor_formatter(NullFormatter())  # short log ranges: no crowded labels
    ax.legend(fontsize="small")
fig.suptitle(f"Trade-off curves, IGRF-14 {EPOCH:g}")

# %%
# Flow properties against the damping
# -----------------------------------
# Each damping on the horizontal axis is divided by the damping of the 10 km/yr flow, so
# the three norms share an axis. The rms speed falls monotonically with lambda, steeply
# for the strong norm and slowly for the others. The toroidal fraction and the westward
# solid-body drift (t10/c) depend on the norm even at the same rms speed: the strong
# norm's flow is the most toroidal and drifts fastest to the west (printed above), and its
# properties change quickly once the flow is damped well beyond the chosen value.
fig, axes = plt.subplots(3, 1, figsize=(7.5, 9.5), sharex=True, constrained_layout=True)
for norm, curve in curves.items():
    relative = curve.dampings / chosen[norm]
    stats = statistics[norm]
    axes[0].loglog(relative, curve.rms_speed, label=f"{norm} norm")
    axes[1].semilogx(relative, np.asarray(stats["toroidal_fraction"]), label=f"{norm} norm")
    axes[2].semilogx(relative, np.asarray(stats["solid_body_drift"]), label=f"{norm} norm")
axes[0].axhline(TARGET_RMS, color="k", lw=0.8, ls=":")
axes[0].set_ylabel("rms speed at the CMB (km/yr)")
axes[1].set_ylabel("toroidal fraction of the kinetic energy")
axes[2].set_ylabel("solid-body drift t10/c (deg/yr, east > 0)")
for ax in axes:
    ax.axvline(1.0, color="k", lw=0.8, ls=":")
    ax.grid(True, which="both", alpha=0.3)
axes[-1].set_xlabel("damping / damping of the 10 km/yr flow")
axes[0].legend(fontsize="small")

# %%
# Kinetic-energy spectra at three dampings
# ----------------------------------------
# Strong-norm flows at a tenth of, at, and ten times the chosen damping. Damping removes
# energy at high degrees first: the spectra of the strong norm fall steeply with degree,
# and a larger damping steepens them further.
fig, ax = plt.subplots(figsize=(7.5, 4.8), constrained_layout=True)
curve, stats = curves["strong"], statistics["strong"]
degree = np.arange(1, LMAX_FLOW + 1)
for factor, color in ((0.1, "C2"), (1.0, "C0"), (10.0, "C3")):
    k = int(np.argmin(np.abs(np.log(curve.dampings / (factor * chosen["strong"])))))
    ax.semilogy(
        degree, np.asarray(stats["toroidal_spectrum"][k]), "-o", ms=3, color=color,
        label=f"toroidal, {factor:g} x lambda (rms {curve.rms_speed[k]:.1f} km/yr)",
    )  # fmt: skip
    ax.semilogy(
        degree, np.asarray(stats["poloidal_spectrum"][k]), "--", color=color,
        label=f"poloidal, {factor:g} x lambda",
    )  # fmt: skip
ax.set_xlabel("spherical-harmonic degree l")
ax.set_ylabel("kinetic energy per degree (km^2/yr^2)")
ax.set_title("Strong-norm flows, IGRF-14 2020")
ax.legend(fontsize="small", ncol=2)
ax.grid(True, which="both", alpha=0.3)
