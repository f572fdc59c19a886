"""Field-model readers and FieldModel evaluation: IGRF-14, gufm1, general .shc files."""

from pathlib import Path

import jax
import numpy as np
import ppigrf.ppigrf
import pytest
from scipy.interpolate import BSpline

import bayescore  # noqa: F401  (float64)
from bayescore.errors import EpochOutOfRangeError, MalformedFileError, NonFiniteError
from bayescore.fields import (
    FieldModel,
    igrf,
    load_bspline_model,
    load_covobs,
    load_gufm1,
    load_igrf_table,
    load_shc,
)
from bayescore.sh.indexing import coefficient_labels
from bayescore.timebasis import clamped_knots

# Tolerance of spline evaluations against SciPy: both evaluate the same piecewise
# polynomials in float64; relative to the largest coefficient (~3e4 nT), rounding of
# ~10-term sums stays below 1e-13. 1e-12 is used.
SPLINE_RTOL = 1e-12


# --------------------------------------------------------------------------- IGRF-14
def _ppigrf_table(path=ppigrf.ppigrf.shc_fn_igrf14):
    """IGRF coefficients (epochs x 195) from ppigrf's own reader (default: IGRF-14's file)."""
    g, h = ppigrf.ppigrf.read_shc(path)
    out = np.zeros((len(g.index), 195))
    for n, m in g.columns:
        start = n * n - 1
        if m == 0:
            out[:, start] = g[(n, m)].to_numpy()
        else:
            out[:, start + 2 * m - 1] = g[(n, m)].to_numpy()
            out[:, start + 2 * m] = h[(n, m)].to_numpy()
    return out


def test_igrf_model_metadata_and_epoch_values():
    model = igrf()
    assert model.name == "IGRF-14"
    assert model.span == (1900.0, 2030.0)
    assert model.lmax == 13
    assert model.units == "nT" and model.radius == 6371.2
    table = _ppigrf_table()
    epochs = np.arange(1900.0, 2030.1, 5.0)
    np.testing.assert_allclose(np.asarray(model.coeffs(epochs)), table, rtol=0, atol=1e-9)


def test_igrf_is_piecewise_linear_with_the_predictive_sv_in_the_last_interval():
    model = igrf()
    table = _ppigrf_table()
    # inside an interval: the mean of the end values at the midpoint, SV = difference / 5
    np.testing.assert_allclose(
        np.asarray(model.coeffs(1962.5)), 0.5 * (table[12] + table[13]), rtol=1e-14, atol=1e-12
    )
    np.testing.assert_allclose(
        np.asarray(model.sv(1963.0)), (table[13] - table[12]) / 5.0, rtol=1e-12, atol=1e-12
    )
    assert np.all(np.asarray(model.sa(1963.0)) == 0.0)
    # 2025-2030: IGRF-14's predictive SV (g10: +12.6 nT/yr, h11: -21.5 nT/yr); the 2030
    # column of the file is 2025 + 5 SV, and the SV is right-continuous at the epochs
    sv = np.asarray(model.sv(np.array([2025.0, 2027.3, 2030.0])))
    np.testing.assert_allclose(sv[:, 0], 12.6, rtol=1e-12)
    np.testing.assert_allclose(sv[:, 2], -21.5, rtol=1e-12)
    # SV is defined only up to degree 8 for 2025-2030 (1e-12 nT/yr: the difference of
    # equal values may carry one rounding of a fused multiply-add, ~1e-17)
    np.testing.assert_allclose(sv[:, 80:], 0.0, atol=1e-12)


def test_field_model_shapes_and_labels():
    model = igrf()
    assert model.coeffs(2000.0).shape == (195,)
    assert model.sv(np.array([1950.0, 1960.0])).shape == (2, 195)
    assert model.sa([[1950.0], [1960.0]]).shape == (2, 1, 195)
    assert model.spectrum(np.array([1950.0, 2000.0]), kind="sv").shape == (2, 13)
    da = model.to_xarray([1990.0, 2000.0], kind="sv")
    assert da.dims == ("time", "coeff")
    assert list(da.coeff.values[:4]) == ["g_1_0", "g_1_1", "h_1_1", "g_2_0"]
    assert list(da.coeff.values) == coefficient_labels(13)
    assert da.attrs["units"] == "nT/yr"
    np.testing.assert_array_equal(da.values, np.asarray(model.sv(np.array([1990.0, 2000.0]))))
    assert int(da.degree.sel(coeff="h_13_13")) == 13
    assert "IGRF-14" in repr(model)


def test_epochs_outside_the_span_name_epoch_and_span():
    model = igrf()
    with pytest.raises(EpochOutOfRangeError, match=r"1899\.5.*1900\.0-2030\.0"):
        model.coeffs(1899.5)
    with pytest.raises(EpochOutOfRangeError, match="2031"):
        model.sv(np.array([2000.0, 2031.0]))
    with pytest.raises(NonFiniteError):
        model.coeffs(np.nan)
    with pytest.raises(ValueError, match="kind"):
        model.spectrum(2000.0, kind="potential")


def test_field_model_is_a_pytree_and_jittable_in_time():
    model = igrf()
    leaves = jax.tree_util.tree_leaves(model)
    assert len(leaves) == 2  # knots and spline coefficients

    @jax.jit
    def g10(m, t):
        return m.coeffs(t)[0]

    np.testing.assert_allclose(float(g10(model, 2012.5)), float(model.coeffs(2012.5)[0]))
    # derivative of the coefficients in time = SV (autodiff through the B-spline basis)
    dg_dt = jax.grad(lambda t: model.coeffs(t)[0])(2012.5)
    np.testing.assert_allclose(float(dg_dt), float(model.sv(2012.5)[0]), rtol=1e-12)


# --------------------------------------------------------------------------- gufm1
def _parse_gufm1_independently(path):
    """Knots and spline coefficients of gufm1 with plain numpy (title line, then numbers)."""
    numbers = np.array(Path(path).read_text().split("\n", 1)[1].split(), dtype=float)
    lmax, nspl = int(numbers[0]), int(numbers[1])
    knots = numbers[2 : 2 + nspl + 4]
    coeffs = numbers[2 + nspl + 4 :].reshape(nspl, lmax * (lmax + 2))
    return knots, coeffs


def test_gufm1_matches_scipy_bspline(shared_data):
    path = shared_data / "gufm1" / "gufm1_data.txt"
    model = load_gufm1(path)
    knots, coeffs = _parse_gufm1_independently(path)
    assert model.lmax == 14 and model.order == 4
    assert model.span == (1590.0, 1990.0)
    spline = BSpline(knots, coeffs, 3)  # order 4 = cubic
    epochs = np.array([1590.0, 1600.0, 1687.3, 1750.0, 1840.1, 1900.0, 1955.55, 1990.0])
    scale = np.abs(coeffs).max()
    for derivative, ours in enumerate((model.coeffs, model.sv, model.sa)):
        np.testing.assert_allclose(
            np.asarray(ours(epochs)),
            spline(epochs, nu=derivative),
            rtol=0,
            atol=SPLINE_RTOL * scale,
        )


def test_gufm1_default_path_and_dipole_against_igrf(shared_data):
    gufm1 = load_gufm1()  # located through bayescore.datasets (BAYESCORE_DATA)
    reference = igrf()
    for year in (1900.0, 1990.0):
        g10_gufm1 = float(gufm1.coeffs(year)[0])
        g10_igrf = float(reference.coeffs(year)[0])
        # independent models of the same field: g10 agrees within 1%
        assert abs(g10_gufm1 - g10_igrf) < 0.01 * abs(g10_igrf)
    with pytest.raises(EpochOutOfRangeError, match="1589"):
        gufm1.coeffs(1589.0)


# --------------------------------------------------------------------------- .shc files
def _write_shc(path, nmin, nmax, times, values, order, step, comment="# test file"):
    lines = [comment, f"{nmin} {nmax} {len(times)} {order} {step} {times[0]} {times[-1]}"]
    lines.append(" ".join(repr(float(t)) for t in times))
    for n in range(nmin, nmax + 1):
        for m in range(0, n + 1):
            rows = [(m, n * n - 1 + max(2 * m - 1, 0))]
            if m > 0:
                rows.append((-m, n * n - 1 + 2 * m))
            for mm, col in rows:
                lines.append(f"{n} {mm} " + " ".join(repr(float(v)) for v in values[:, col]))
    path.write_text("\n".join(lines) + "\n")


def test_shc_bspline_model_reproduces_a_chaos_style_spline(tmp_path):
    # a random order-6 spline on clamped breaks (CHAOS style), sampled at nstep = 3 sites
    # per break interval: the least-squares fit recovers it exactly
    rng = np.random.default_rng(6)
    order, step, lmax = 6, 3, 3
    breaks = np.arange(2000.0, 2010.1, 1.0)
    knots = clamped_knots(breaks, order)
    n_basis = knots.size - order
    truth = BSpline(knots, rng.normal(size=(n_basis, 15)) * 100.0, order - 1)
    times = np.linspace(2000.0, 2010.0, (breaks.size - 1) * step + 1)
    path = tmp_path / "chaos_like.shc"
    _write_shc(path, 1, lmax, times, truth(times), order, step)
    model = load_shc(path)
    assert model.name == "chaos_like" and model.order == order
    assert model.span == (2000.0, 2010.0)
    epochs = np.array([2000.0, 2001.37, 2005.5, 2009.99, 2010.0])
    scale = np.abs(truth(times)).max()
    for derivative, ours in enumerate((model.coeffs, model.sv, model.sa)):
        np.testing.assert_allclose(
            np.asarray(ours(epochs)), truth(epochs, nu=derivative), rtol=0, atol=1e-9 * scale
        )


def test_shc_with_nmin_above_one_is_zero_padded(tmp_path):
    times = np.array([2000.0, 2005.0])
    values = np.arange(2 * 24, dtype=float).reshape(2, 24) + 1.0
    path = tmp_path / "crust.shc"
    _write_shc(path, 3, 4, times, values, 2, 1)
    model = load_shc(path, name="crust")
    assert model.nmin == 3 and model.lmax == 4
    c = np.asarray(model.coeffs(2000.0))
    assert np.all(c[:8] == 0.0)  # degrees 1 and 2 absent from the file
    np.testing.assert_array_equal(c[8:], values[0, 8:])


def test_shc_single_epoch_and_piecewise_constant(tmp_path):
    values = np.arange(3.0)[None, :] + 1.0
    path = tmp_path / "snapshot.shc"
    _write_shc(path, 1, 1, np.array([2015.0]), values, 1, 1)
    model = load_shc(path)
    assert model.span == (2015.0, 2015.0)
    np.testing.assert_array_equal(np.asarray(model.coeffs(2015.0)), values[0])
    with pytest.raises(EpochOutOfRangeError):
        model.coeffs(2016.0)
    steps = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    path = tmp_path / "steps.shc"
    _write_shc(path, 1, 1, np.array([2000.0, 2001.0, 2002.0]), steps, 1, 1)
    model = load_shc(path)
    np.testing.assert_array_equal(np.asarray(model.coeffs(2000.5)), steps[0])
    np.testing.assert_array_equal(np.asarray(model.coeffs(2001.0)), steps[1])
    assert np.all(np.asarray(model.sv(2001.5)) == 0.0)


def test_piecewise_linear_constructor_matches_numpy_interp():
    epochs = np.array([2000.0, 2003.0, 2010.0])
    coeffs = np.random.default_rng(7).normal(size=(3, 8))
    model = FieldModel.piecewise_linear(epochs, coeffs, name="pl")
    t = np.array([2000.0, 2001.2, 2003.0, 2007.7, 2010.0])
    expected = np.stack([np.interp(t, epochs, coeffs[:, j]) for j in range(8)], axis=-1)
    np.testing.assert_allclose(np.asarray(model.coeffs(t)), expected, rtol=1e-14, atol=1e-14)


# --------------------------------------------------------------------------- malformed
GOOD_SHC = """# comment
1 1 2 2 1 2000 2005
2000.0 2005.0
1 0 -29000.0 -28990.0
1 1 -1500.0 -1490.0
1 -1 4600.0 4590.0
"""


def _shc_variant(tmp_path, text):
    path = tmp_path / "bad.shc"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, message",
    [
        ("# only a comment\n", "no header"),
        (GOOD_SHC.replace("1 1 2 2 1 2000 2005", "1 1 2"), "line 2: header"),
        (GOOD_SHC.replace("1 1 2 2 1 2000 2005", "1 x 2 2 1"), "line 2: nmax"),
        (GOOD_SHC.replace("2000.0 2005.0\n", "2000.0\n", 1), "line 3: expected 2 epochs"),
        (GOOD_SHC.replace("2000.0 2005.0\n", "2005.0 2000.0\n", 1), "line 3: epochs"),
        (GOOD_SHC.replace("1 1 -1500.0 -1490.0", "1 1 -1500.0"), "line 5: expected"),
        (GOOD_SHC.replace("4600.0 4590.0", "4600.0 abc"), "line 6: value of \\(1, -1\\)"),
        (GOOD_SHC.replace("1 -1 4600.0", "2 -1 4600.0"), "line 6: \\(n, m\\) = \\(2, -1\\)"),
        (GOOD_SHC.replace("1 -1 4600.0", "1 1 4600.0"), "line 6: duplicate"),
        (GOOD_SHC.rsplit("1 -1", 1)[0], "1 of 3 coefficient rows missing"),
        (GOOD_SHC.replace("1 1 2 2 1", "0 1 2 2 1"), "nmin"),
        (GOOD_SHC.replace("1 1 2 2 1", "1 1 2 4 1"), "cannot determine"),
    ],
    ids=[
        "empty",
        "short-header",
        "non-numeric-header",
        "epoch-count",
        "epochs-decreasing",
        "row-columns",
        "non-numeric-value",
        "degree-range",
        "duplicate",
        "truncated",
        "nmin-zero",
        "too-few-epochs",
    ],
)
def test_malformed_shc_files(tmp_path, text, message):
    with pytest.raises(MalformedFileError, match=message):
        load_shc(_shc_variant(tmp_path, text))


def test_good_shc_variant_reads(tmp_path):
    model = load_shc(_shc_variant(tmp_path, GOOD_SHC))
    np.testing.assert_allclose(np.asarray(model.sv(2002.0)), [2.0, 2.0, -2.0])


def _gufm1_text(lmax=1, nspl=4, knots=None, coeffs=None, title="Model tiny"):
    knots = np.arange(nspl + 4, dtype=float) * 2.5 + 1800.0 if knots is None else knots
    ncoef = lmax * (lmax + 2)
    coeffs = np.arange(nspl * ncoef, dtype=float) if coeffs is None else coeffs
    numbers = " ".join(f"{v:.6E}" for v in np.r_[knots, coeffs])
    return f"{title}\n  {lmax}  {nspl}\n{numbers}\n"


def test_tiny_gufm1_format_file_reads(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(_gufm1_text())
    model = load_gufm1(path, name="tiny")
    assert model.lmax == 1 and model.span == (1807.5, 1810.0)


@pytest.mark.parametrize(
    "text, message",
    [
        ("Model only\n", "title line and data"),
        (_gufm1_text().replace("  1  4", "  1  x"), "line 2: nspl"),
        (_gufm1_text().replace("  1  4", "  0  4"), "line 2: need lmax >= 1"),
        (_gufm1_text()[:-20] + "\n", "truncated: expected 20 numbers"),
        (_gufm1_text() + "1.0\n", "line 4: unexpected extra value"),
        (_gufm1_text().replace("1.805000E+03", "1.8O5000E+03"), "line 3: knot time"),
        (_gufm1_text().replace("1.000000E+00", "nan"), "line 3: coefficient is not finite"),
        (
            _gufm1_text(knots=np.array([1800.0, 1802.5, 1801.0, 1805, 1807.5, 1810, 1812, 1814])),
            "line 3: knot times must be non-decreasing",
        ),
    ],
    ids=["no-data", "bad-nspl", "bad-lmax", "truncated", "extra", "non-numeric", "nan", "knots"],
)
def test_malformed_gufm1_files(tmp_path, text, message):
    path = tmp_path / "bad_gufm1.txt"
    path.write_text(text)
    with pytest.raises(MalformedFileError, match=message):
        load_gufm1(path)


def test_missing_model_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_shc(tmp_path / "absent.shc")
    with pytest.raises(FileNotFoundError):
        load_gufm1(tmp_path / "absent.txt")


# --------------------------------------------------------------------------- real-data files
def _real_file(shared_data, relative):
    path = shared_data / "real" / relative
    if not path.is_file():
        pytest.skip(f"{path} not found (set BAYESCORE_DATA to the shared data directory)")
    return path


def test_covobs_matches_its_evaluated_coefficient_table(shared_data):
    model = load_covobs(_real_file(shared_data, "covobs/real_001"))
    assert model.lmax == 14 and model.order == 4
    assert model.span == (1838.0, 2022.0)
    assert model.name == "COV-OBS real_001"
    table = np.loadtxt(_real_file(shared_data, "covobs/real001_mf_int_coefs.dat"))
    assert table.shape == (361, 225)
    # the table prints 9 significant digits: |g10| ~ 3e4 nT carries 5e-5 nT of rounding
    np.testing.assert_allclose(
        np.asarray(model.coeffs(table[:, 0])), table[:, 1:], rtol=0, atol=1e-4
    )


def test_bspline_reader_with_a_stated_spline_order(tmp_path):
    # COV-OBS header 'lmax nspl order': here order 3 on 6 uniform knots, compared with SciPy
    lmax, nspl, order = 1, 3, 3
    knots = np.arange(nspl + order, dtype=float) * 2.0 + 1900.0
    coeffs = np.random.default_rng(11).normal(size=(nspl, 3)) * 100.0
    numbers = " ".join(f"{v:.17E}" for v in np.r_[knots, coeffs.ravel()])
    path = tmp_path / "covobs_like"
    path.write_text(f"  mod001\n {lmax} {nspl} {order} {numbers}\n")
    model = load_bspline_model(path)
    assert model.name == "mod001" and model.order == 3 and model.span == (1904.0, 1906.0)
    epochs = np.array([1904.0, 1904.7, 1906.0])
    np.testing.assert_allclose(
        np.asarray(model.coeffs(epochs)),
        BSpline(knots, coeffs, order - 1)(epochs),
        rtol=0,
        atol=SPLINE_RTOL * 100.0 * 10,
    )
    path.write_text(f"  mod001\n {lmax} {nspl} x {numbers}\n")
    with pytest.raises(MalformedFileError, match="line 2: spline order"):
        load_bspline_model(path)
    path.write_text(f"  mod001\n {lmax} {nspl} {order - 1} {numbers}\n")
    with pytest.raises(MalformedFileError, match="line 2: unexpected extra value"):
        load_bspline_model(path)
    path.write_text(f"  mod001\n {lmax} {nspl} {order} {numbers[:-30]}\n")
    with pytest.raises(MalformedFileError, match="truncated.*after 'lmax nspl order'"):
        load_bspline_model(path)


def _igrf12_independently(path):
    """Epoch columns (24 x 195) and SV column of igrf12coeffs.txt with numpy alone."""
    rows = [line.split() for line in Path(path).read_text().splitlines()[4:]]
    values = np.zeros((25, 195))
    for kind, n, m, *numbers in rows:
        n, m = int(n), int(m)
        column = n * n - 1 + (0 if m == 0 else 2 * m - (1 if kind == "g" else 0))
        values[:, column] = np.array(numbers, dtype=float)
    return values[:-1], values[-1]


def test_igrf12_table_matches_igrf14_definitive_models(shared_data):
    path = _real_file(shared_data, "igrf/igrf12coeffs.txt")
    model = load_igrf_table(path)
    assert model.name == "IGRF-12" and model.lmax == 13 and model.span == (1900.0, 2020.0)
    # 1900-2010: IGRF 1900-1940 and DGRF 1945-2010 are the same numbers in IGRF-14
    epochs = np.arange(1900.0, 2010.1, 5.0)
    np.testing.assert_allclose(
        np.asarray(model.coeffs(epochs)), _ppigrf_table()[:23], rtol=0, atol=1e-9
    )


def test_igrf12_table_holds_its_predicted_sv(shared_data):
    path = _real_file(shared_data, "igrf/igrf12coeffs.txt")
    model = load_igrf_table(path)
    fields, sv = _igrf12_independently(path)
    np.testing.assert_array_equal(np.asarray(model.coeffs(np.arange(1900.0, 2015.1, 5.0))), fields)
    # 2015-2020 follows the predicted SV (degree 8: g10 +10.3 nT/yr), as IGRF defines it
    assert sv[0] == 10.3 and np.all(sv[80:] == 0.0)
    np.testing.assert_allclose(
        np.asarray(model.sv(np.array([2015.0, 2017.5, 2020.0]))), np.tile(sv, (3, 1)), atol=1e-9
    )
    np.testing.assert_allclose(np.asarray(model.coeffs(2020.0)), fields[-1] + 5.0 * sv, atol=1e-9)


def test_igrf13_shc_loads_and_agrees_with_igrf14_before_2020(shared_data):
    model = load_shc(_real_file(shared_data, "igrf/IGRF13.shc"), name="IGRF-13")
    assert model.lmax == 13 and model.span == (1900.0, 2025.0)
    epochs = np.arange(1900.0, 2015.1, 5.0)  # DGRF 1945-2015 are definitive in both
    np.testing.assert_allclose(
        np.asarray(model.coeffs(epochs)), _ppigrf_table()[:24], rtol=0, atol=1e-9
    )
    # IGRF-13's 2020 field and the 2025 column (2020 extrapolated with the predicted SV),
    # as ppigrf reads the same file
    own = _ppigrf_table(str(_real_file(shared_data, "igrf/IGRF13.shc")))
    assert own.shape == (26, 195)
    np.testing.assert_allclose(np.asarray(model.coeffs(2020.0))[:3], [-29404.8, -1450.9, 4652.5])
    np.testing.assert_allclose(np.asarray(model.coeffs(2025.0)), own[-1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        np.asarray(model.sv(2022.0)), (own[-1] - own[-2]) / 5.0, rtol=0, atol=1e-9
    )


IGRF_TABLE = """# tiny table
c/s deg ord IGRF IGRF SV
g/h n m 2000.0 2005.0 2005-10
g  1  0 -29600.0 -29550.0 10.0
g  1  1 -1700.0 -1650.0 10.0
h  1  1 5200.0 5100.0 -20.0
"""


def test_tiny_igrf_table_reads(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(IGRF_TABLE)
    model = load_igrf_table(path, name="tiny")
    assert model.span == (2000.0, 2010.0)
    np.testing.assert_allclose(np.asarray(model.coeffs(2010.0)), [-29500.0, -1600.0, 5000.0])
    np.testing.assert_allclose(np.asarray(model.sv(2002.0)), [10.0, 10.0, -20.0])


@pytest.mark.parametrize(
    "text, message",
    [
        (IGRF_TABLE.replace("g/h n m", "x y z"), "no header line"),
        (IGRF_TABLE.replace("2005-10", "2005"), "line 3: last column label"),
        (IGRF_TABLE.replace("2005-10", "2000-10"), "line 3: SV interval"),
        (IGRF_TABLE.replace("2000.0 2005.0 2005-10", "2005.0 2000.0 2000-10"), "increasing"),
        (IGRF_TABLE.replace("-1650.0 10.0", "-1650.0"), "line 5: expected"),
        (IGRF_TABLE.replace("h  1  1", "h  1  0"), "line 6: bad coefficient"),
        (IGRF_TABLE.replace("h  1  1", "g  1  1"), "line 6: duplicate"),
        (IGRF_TABLE.rsplit("h  1", 1)[0], "1 of 3 coefficient rows missing"),
        (IGRF_TABLE.replace("5100.0", "5l00.0"), "line 6: value of h"),
    ],
    ids=[
        "header",
        "sv-label",
        "sv-start",
        "epochs",
        "columns",
        "h-m0",
        "duplicate",
        "truncated",
        "non-numeric",
    ],
)
def test_malformed_igrf_tables(tmp_path, text, message):
    path = tmp_path / "bad_igrf.txt"
    path.write_text(text)
    with pytest.raises(MalformedFileError, match=message):
        load_igrf_table(path)
