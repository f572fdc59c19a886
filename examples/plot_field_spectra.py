r"""
Lowes spectra of IGRF-14 and gufm1 at the surface and the core-mantle boundary
==============================================================================

The Lowes-Mauersberger spectrum splits the mean-square magnetic field over a sphere of
radius $r$ into spherical-harmonic degrees $l$,

$$
R_l(r) = (l + 1) \left(\frac{a}{r}\right)^{2l + 4} \sum_{m=0}^{l} \left(g_{lm}^2 + h_{lm}^2\right),
$$

in nT² for the main field, (nT/yr)² for its secular variation (SV) and (nT/yr²)² for
its secular acceleration (SA), with $a$ = 6371.2 km the reference radius of the Gauss
coefficients. Continued down to the core-mantle boundary (CMB, c = 3485 km) the main
field spectrum is nearly flat ("white") above the dipole, while the SV and SA spectra
grow with degree: the small scales of the core field change fastest. These spectra fix
the truncation degrees and the SV weights of a flow inversion.

This example computes the spectra of IGRF-14 (shipped by `ppigrf`, no data needed) and
of the historical model gufm1 (read from `$BAYESCORE_DATA` through
`bayescore.fields.load_gufm1`), and follows the dipole moment of both models through
four centuries. `bayescore field` writes the same spectra from the command line.
"""

# %%
# Setup
# -----
# The example size follows the gallery convention (`examples/README.md`): `small` under
# CI, `full` otherwise. Only the time sampling of the dipole-moment curve depends on it.
import os

import matplotlib.pyplot as plt
import numpy as np

from bayescore import fields
from bayescore.constants import CORE_RADIUS_KM, EARTH_REFERENCE_RADIUS_KM

SIZE = os.environ.get("BAYESCORE_EXAMPLE_SIZE") or ("small" if os.environ.get("CI") else "full")
if SIZE not in ("small", "full"):
    raise ValueError(f"BAYESCORE_EXAMPLE_SIZE must be 'small' or 'full', not {SIZE!r}")

plt.rcParams["font.size"] = 11  # readable when the figures are scaled to the page width

#: Time step of the dipole-moment curves, years.
DIPOLE_STEP_YR = {"small": 10.0, "full": 1.0}[SIZE]

RADII_KM = {
    "surface": EARTH_REFERENCE_RADIUS_KM,
    "CMB": CORE_RADIUS_KM,
}
#: Per quantity: title, unit for axis labels (mathtext), unit for printed text.
QUANTITIES = {
    "field": ("main field", "nT$^2$", "nT^2"),
    "sv": ("secular variation", "(nT/yr)$^2$", "(nT/yr)^2"),
    "sa": ("secular acceleration", "(nT/yr$^2$)$^2$", "(nT/yr^2)^2"),
}


def spectra_at_radii(coeffs):
    """Lowes spectra of one coefficient vector at the surface and at the CMB."""
    return {where: np.asarray(fields.lowes_spectrum(coeffs, r)) for where, r in RADII_KM.items()}


def positive(values):
    """Zero power (degrees a model does not have) as NaN, so a log axis leaves a gap."""
    values = np.asarray(values, dtype=float)
    return np.where(values > 0.0, values, np.nan)


def plot_spectra(axes, spectra, label, color):
    """Draw field/SV/SA spectra (surface: solid, CMB: dashed) on three log axes."""
    for ax, kind in zip(axes, QUANTITIES, strict=True):
        for where, style in (("surface", "o-"), ("CMB", "s--")):
            power = positive(spectra[kind][where])
            degree = np.arange(1, power.size + 1)
            ax.semilogy(
                degree,
                power,
                style,
                color=color,
                ms=3.5,
                lw=1.3,
                label=f"{label}, {where}",
            )


def decorate(fig, axes):
    """Titles, axis labels with units, and one legend below the three panels."""
    for ax, (title, unit, _) in zip(axes, QUANTITIES.values(), strict=True):
        ax.set_title(title)
        ax.set_xlabel("spherical-harmonic degree $l$")
        ax.set_ylabel(f"$R_l$ [{unit}]")
        ax.grid(True, which="major", alpha=0.35)
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)


# %%
# IGRF-14 in 2020
# ---------------
# IGRF is piecewise linear in time between its 5-yearly snapshots, so its SV is constant
# within an interval and its SA is a train of jumps at the snapshot epochs. At the
# definitive snapshot 2020.0 we take the mean of the SV of the two intervals that meet
# there, and the SA as the change of that SV over the 5 years between the interval
# midpoints 2017.5 and 2022.5.
igrf = fields.igrf()
epoch_igrf = 2020.0
sv_before = np.asarray(igrf.sv(epoch_igrf - 2.5))
sv_after = np.asarray(igrf.sv(epoch_igrf + 2.5))
igrf_coeffs = {
    "field": np.asarray(igrf.coeffs(epoch_igrf)),
    "sv": 0.5 * (sv_before + sv_after),
    "sa": (sv_after - sv_before) / 5.0,
}
igrf_spectra = {kind: spectra_at_radii(c) for kind, c in igrf_coeffs.items()}
print(f"{igrf.name}: lmax {igrf.lmax}, span {igrf.span[0]:.1f}-{igrf.span[1]:.1f}")

# %%
# gufm1 in 1980
# -------------
# gufm1 is a cubic B-spline in time (knots every 2.5 yr), so its SV and SA are its
# first and second time derivatives. In 1980 it is constrained by the Magsat satellite.
gufm1 = fields.load_gufm1()
epoch_gufm1 = 1980.0
gufm1_coeffs = {
    "field": np.asarray(gufm1.coeffs(epoch_gufm1)),
    "sv": np.asarray(gufm1.sv(epoch_gufm1)),
    "sa": np.asarray(gufm1.sa(epoch_gufm1)),
}
gufm1_spectra = {kind: spectra_at_radii(c) for kind, c in gufm1_coeffs.items()}
print(f"{gufm1.name}: lmax {gufm1.lmax}, span {gufm1.span[0]:.1f}-{gufm1.span[1]:.1f}")

# %%
# Spectra at the surface and at the CMB
# -------------------------------------
# At the surface the dipole (l = 1) dominates and the power falls by a factor of about 3
# per degree up to l = 13 (beyond l ~ 14 the crustal field dominates). At the CMB the
# non-dipole field spectrum is nearly flat, while the SV and SA spectra rise with degree:
# their truncation at l = 13 (IGRF) leaves out a large part of their power at the CMB.
# gufm1 is regularised in space and time, so its CMB spectra fall off above l ~ 9 (SV)
# and l ~ 6 (SA); its SA is damped harder than its SV.
fig, axes = plt.subplots(3, 1, figsize=(7.5, 11), layout="constrained")
plot_spectra(axes, igrf_spectra, f"IGRF-14 {epoch_igrf:.0f}", "tab:blue")
plot_spectra(axes, gufm1_spectra, f"gufm1 {epoch_gufm1:.0f}", "tab:orange")
decorate(fig, axes)
fig.suptitle(
    "Lowes-Mauersberger spectra at Earth's surface (a = 6371.2 km) and the CMB (c = 3485 km)"
)

# %%
# How much of the power sits in the small scales?
for name, spectra in (("IGRF-14 2020", igrf_spectra), ("gufm1 1980", gufm1_spectra)):
    for kind, (title, _, unit) in QUANTITIES.items():
        surface, cmb = spectra[kind]["surface"], spectra[kind]["CMB"]
        print(
            f"{name:13s} {title:21s} total at surface {surface.sum():10.4g} {unit:12s}"
            f" at CMB {cmb.sum():10.4g}; l >= 5 share at CMB {cmb[4:].sum() / cmb.sum():5.1%}"
        )

# %%
# Dipole moment through four centuries
# ------------------------------------
# The dipole moment M = 4 pi a^3 / mu0 * sqrt(g10^2 + g11^2 + h11^2) of both models.
# Before 1840 there are no intensity measurements; gufm1 then extrapolates g10 linearly
# backwards at 15 nT/yr (Jackson et al. 2000), which sets the slope of its early part.
# Since 1840 the dipole moment has decayed by 5 to 6 % per century.
gufm1_epochs = np.arange(gufm1.span[0], gufm1.span[1] + 1e-9, DIPOLE_STEP_YR)
igrf_epochs = np.arange(igrf.span[0], igrf.span[1] - 5.0 + 1e-9, DIPOLE_STEP_YR)
gufm1_moment = np.array([float(fields.dipole_moment(gufm1.coeffs(t))) for t in gufm1_epochs])
igrf_moment = np.array([float(fields.dipole_moment(igrf.coeffs(t))) for t in igrf_epochs])

fig, ax = plt.subplots(figsize=(7.5, 3.6), layout="constrained")
ax.plot(gufm1_epochs, gufm1_moment / 1e22, "-", color="tab:orange", lw=1.8, label="gufm1")
ax.plot(igrf_epochs, igrf_moment / 1e22, "-", color="tab:blue", lw=1.8, label="IGRF-14")
ax.axvspan(gufm1.span[0], 1840.0, color="0.85", zorder=0, label="gufm1: g10 extrapolated")
ax.set_xlabel("year")
ax.set_ylabel("dipole moment [$10^{22}$ A m$^2$]")
ax.set_title("Geomagnetic dipole moment")
ax.grid(True, alpha=0.35)
ax.legend()

decay = 1.0 - igrf_moment[-1] / igrf_moment[0]
years = igrf_epochs[-1] - igrf_epochs[0]
print(
    f"IGRF-14 dipole moment {igrf_moment[0]:.4e} A m^2 in {igrf_epochs[0]:.0f}, "
    f"{igrf_moment[-1]:.4e} A m^2 in {igrf_epochs[-1]:.0f}: "
    f"{decay:.1%} lower in {years:.0f} years"
)
in_1840 = gufm1_epochs >= 1840.0
rate = np.polyfit(gufm1_epochs[in_1840], gufm1_moment[in_1840], 1)[0]
print(
    f"gufm1 dipole moment trend 1840-1990: {rate * 100 / gufm1_moment[in_1840].mean():.1%}"
    " per century"
)
overlap = np.isclose(igrf_epochs[:, None], gufm1_epochs[None, :]).nonzero()
difference = np.abs(igrf_moment[overlap[0]] / gufm1_moment[overlap[1]] - 1.0).max()
print(f"largest relative difference of the two models over their overlap: {difference:.2%}")
plt.show()
