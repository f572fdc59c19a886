"""Readers of field-model files.

* :func:`load_shc`: the ``.shc`` format of IGRF and CHAOS (e.g. IGRF-13, Alken et al. 2021,
  *Earth Planets Space* 73, 49, shipped as ``IGRF13.shc``); :func:`igrf` reads IGRF-14
  from the ``ppigrf`` package;
* :func:`load_igrf_table`: IGRF's classic column table with its predictive-SV column
  (IGRF-12, Thebault et al. 2015, *Earth Planets Space* 67, 79);
* :func:`load_bspline_model`: the B-spline text format of gufm1 (:func:`load_gufm1`;
  Jackson, Jonkers & Walker 2000) and COV-OBS (:func:`load_covobs`; Gillet et al. 2013,
  *Geochem. Geophys. Geosyst.* 14, 766; Gillet et al. 2015, *Earth Planets Space* 67, 71).

Every reader checks counts, numbers and ordering and raises
:class:`~bayescore.errors.MalformedFileError` naming the file, the line and the problem.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from bayescore.constants import EARTH_REFERENCE_RADIUS_KM
from bayescore.errors import MalformedFileError
from bayescore.fields.model import FieldModel
from bayescore.sh.indexing import n_coefficients
from bayescore.timebasis import clamped_knots

__all__ = [
    "igrf",
    "load_bspline_model",
    "load_covobs",
    "load_gufm1",
    "load_igrf_table",
    "load_shc",
]

#: Order of the B-splines of gufm1 (cubic).
GUFM1_SPLINE_ORDER = 4


def _number(token: str, path, line_no: int, what: str) -> float:
    try:
        value = float(token.replace("D", "E").replace("d", "e"))
    except ValueError:
        raise MalformedFileError(
            f"{path}, line {line_no}: {what} must be a number, got {token!r}"
        ) from None
    if not np.isfinite(value):
        raise MalformedFileError(f"{path}, line {line_no}: {what} is not finite ({token!r})")
    return value


def _integer(token: str, path, line_no: int, what: str) -> int:
    value = _number(token, path, line_no, what)
    if value != int(value):
        raise MalformedFileError(
            f"{path}, line {line_no}: {what} must be an integer, got {token!r}"
        )
    return int(value)


def _read_lines(path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    try:
        return path.read_text().splitlines()
    except UnicodeDecodeError as exc:
        raise MalformedFileError(f"{path} is not a text file ({exc})") from None


def _coefficient_index(n: int, m: int) -> int:
    """Position of (n, m) in the g10, g11, h11, ... vector (m < 0 for h_n^|m|)."""
    start = n * n - 1
    return start if m == 0 else start + 2 * abs(m) - (1 if m > 0 else 0)


def load_shc(path, *, name: str | None = None) -> FieldModel:
    """Read a model in the ``.shc`` format of IGRF and CHAOS.

    Format: comment lines starting with ``#``; a header line
    ``nmin nmax ntimes spline_order nstep [start end]``; a line with the ``ntimes`` epochs
    (decimal years); then one row per coefficient, ``n m value@t1 ... value@tN``, with
    ``m < 0`` for the h (sine) coefficients, covering every (n, m) with
    ``nmin <= n <= nmax`` once.

    Time dependence (as ChaosMagPy's ``BaseModel.from_shc``):

    * ``spline_order >= 2``: B-splines of that order on the breaks ``epochs[::nstep]``
      with the end breaks repeated ``spline_order`` times
      (:func:`bayescore.timebasis.clamped_knots`), fitted by least squares to the values
      at the epochs (exact interpolation when the counts match, e.g. IGRF's order 2 =
      piecewise linear between its epochs); epochs after the last break are ignored;
    * ``spline_order == 1``: piecewise constant, each value holding from its epoch to
      the next;
    * a single epoch: a snapshot model valid at that epoch only.

    Parameters
    ----------
    path : str or path-like
        The ``.shc`` file.
    name : str, optional
        Model name; defaults to the file name without extension.

    Returns
    -------
    FieldModel
        Coefficients in nT at reference radius 6371.2 km; degrees below ``nmin`` (when
        ``nmin > 1``, e.g. crustal files) are zero and ``model.nmin`` records ``nmin``.
        Span: first to last break.

    Raises
    ------
    MalformedFileError
        Missing or bad header, wrong number of epochs or values on a line, non-numeric
        tokens, (n, m) out of range or duplicated, missing rows (truncated file),
        non-increasing epochs, or too few epochs for the spline.
    FileNotFoundError
        If ``path`` does not exist.
    """
    path = Path(path)
    lines = _read_lines(path)
    rows = [
        (no, line.split())
        for no, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not rows:
        raise MalformedFileError(f"{path}: no header line (file empty or only comments)")
    header_no, header = rows[0]
    if len(header) < 5:
        raise MalformedFileError(
            f"{path}, line {header_no}: header must hold 'nmin nmax ntimes spline_order "
            f"nstep', got {' '.join(header)!r}"
        )
    fields = ("nmin", "nmax", "ntimes", "spline_order", "nstep")
    nmin, nmax, ntimes, order, step = (
        _integer(tok, path, header_no, what) for tok, what in zip(header, fields, strict=False)
    )
    if nmin < 1 or nmax < nmin:
        raise MalformedFileError(
            f"{path}, line {header_no}: need 1 <= nmin <= nmax, got nmin={nmin}, nmax={nmax}"
        )
    if ntimes < 1 or order < 1 or step < 0:
        raise MalformedFileError(
            f"{path}, line {header_no}: need ntimes >= 1, spline_order >= 1 and nstep >= 0, "
            f"got ntimes={ntimes}, spline_order={order}, nstep={step}"
        )
    step = max(step, 1)
    if len(rows) < 2:
        raise MalformedFileError(f"{path}: truncated after the header (no line of epochs)")
    times_no, times_tokens = rows[1]
    if len(times_tokens) != ntimes:
        raise MalformedFileError(
            f"{path}, line {times_no}: expected {ntimes} epochs (ntimes in the header), "
            f"found {len(times_tokens)}"
        )
    times = np.array([_number(tok, path, times_no, "epoch") for tok in times_tokens])
    if np.any(np.diff(times) <= 0):
        raise MalformedFileError(f"{path}, line {times_no}: epochs must be strictly increasing")

    n_coeffs = n_coefficients(nmax)
    values = np.zeros((ntimes, n_coeffs))
    seen = np.zeros(n_coeffs, dtype=bool)
    first_index = nmin * nmin - 1
    for no, tokens in rows[2:]:
        if len(tokens) != ntimes + 2:
            raise MalformedFileError(
                f"{path}, line {no}: expected 'n m' and {ntimes} values ({ntimes + 2} "
                f"columns), found {len(tokens)} columns"
            )
        n = _integer(tokens[0], path, no, "degree n")
        m = _integer(tokens[1], path, no, "order m")
        if not (nmin <= n <= nmax and abs(m) <= n):
            raise MalformedFileError(
                f"{path}, line {no}: (n, m) = ({n}, {m}) outside nmin={nmin} <= n <= "
                f"nmax={nmax}, |m| <= n"
            )
        index = _coefficient_index(n, m)
        if seen[index]:
            raise MalformedFileError(f"{path}, line {no}: duplicate row for (n, m) = ({n}, {m})")
        seen[index] = True
        values[:, index] = [_number(tok, path, no, f"value of ({n}, {m})") for tok in tokens[2:]]
    missing = np.flatnonzero(~seen[first_index:])
    if missing.size:
        expected = n_coeffs - first_index
        raise MalformedFileError(
            f"{path}: {missing.size} of {expected} coefficient rows missing (file truncated "
            f"after line {rows[-1][0]}?); first missing entry is number "
            f"{int(missing[0]) + 1} in g10, g11, h11, ... order from n={nmin}"
        )

    name = path.stem if name is None else name
    description = f"read from {path.name} (nmin={nmin}, spline order {order}, nstep {step})"
    common = {"name": name, "nmin": nmin, "description": description}
    if ntimes == 1:
        knots = np.array([times[0], times[0]])
        return FieldModel(knots, values, 1, span=(times[0], times[0]), **common)
    if order == 1:
        knots = np.append(times, times[-1])
        return FieldModel(knots, values, 1, span=(times[0], times[-1]), **common)
    breaks = times[::step]
    end = ((ntimes - 1) // step) * step + 1  # epochs beyond the last break are ignored
    if breaks.size < 2:
        raise MalformedFileError(
            f"{path}, line {times_no}: nstep={step} leaves fewer than two spline breaks"
        )
    knots = clamped_knots(breaks, order)
    n_basis = knots.size - order
    if end < n_basis:
        raise MalformedFileError(
            f"{path}, line {header_no}: {end} epochs cannot determine {n_basis} B-splines of "
            f"order {order} on {breaks.size} breaks"
        )
    # one-off collocation matrix at load time (SciPy: no JAX compilation for a file read)
    from scipy.interpolate import BSpline

    collocation = BSpline.design_matrix(times[:end], knots, order - 1).toarray()
    if np.linalg.matrix_rank(collocation) < n_basis:
        raise MalformedFileError(
            f"{path}: the epochs do not determine the order-{order} spline (rank-deficient fit)"
        )
    if end == n_basis:
        spline_coeffs = np.linalg.solve(collocation, values[:end])
    else:
        spline_coeffs = np.linalg.lstsq(collocation, values[:end], rcond=None)[0]
    return FieldModel(knots, spline_coeffs, order, span=(breaks[0], breaks[-1]), **common)


def _ppigrf_shc_path() -> Path:
    spec = importlib.util.find_spec("ppigrf")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "the IGRF-14 coefficients come from the ppigrf package: pip install ppigrf"
        )
    shc = Path(spec.origin).parent / "IGRF14.shc"
    if not shc.is_file():
        raise FileNotFoundError(f"{shc} not found: ppigrf >= 2.1 ships IGRF14.shc")
    return shc


def igrf(path=None) -> FieldModel:
    """IGRF-14, 1900-2030, degree 13, piecewise linear between 5-yearly epochs.

    Read from the ``IGRF14.shc`` file that the ``ppigrf`` package ships. In that file the
    2030 column is the 2025 main field plus 5 years of the 2025-2030 predictive SV (as
    IGRF defines its last interval), so linear interpolation between all 27 epochs is
    IGRF's definition and ppigrf's evaluation.

    Parameters
    ----------
    path : str or path-like, optional
        Another IGRF ``.shc`` file to read instead.

    Returns
    -------
    FieldModel
        ``name="IGRF-14"``, ``span=(1900.0, 2030.0)``, ``lmax=13``, order 2.
    """
    path = _ppigrf_shc_path() if path is None else Path(path)
    model = load_shc(path, name="IGRF-14")
    return model


def _sv_interval_end(label: str, start: float, path, line_no: int) -> float:
    """End year of an SV column label such as ``2015-20`` that starts at ``start``."""
    parts = label.split("-")
    if len(parts) != 2:
        raise MalformedFileError(
            f"{path}, line {line_no}: last column label must be the SV interval "
            f"'YYYY-YY', got {label!r}"
        )
    first = _integer(parts[0], path, line_no, "SV interval start")
    last = _integer(parts[1], path, line_no, "SV interval end")
    if len(parts[1]) < 4:  # "2015-20": the end shares the start's century
        scale = 10 ** len(parts[1])
        last += (first // scale) * scale
        if last <= first:
            last += scale
    if first != start or last <= first:
        raise MalformedFileError(
            f"{path}, line {line_no}: SV interval {label!r} must start at the last epoch "
            f"{start} and end after it"
        )
    return float(last)


def load_igrf_table(path=None, *, name: str = "IGRF-12") -> FieldModel:
    """Read an IGRF coefficient table in the classic column format (``igrfNNcoeffs.txt``).

    Format: comment lines starting with ``#``; a line of column kinds
    (``c/s deg ord IGRF ... DGRF ... SV``); a line ``g/h n m epoch1 ... epochN YYYY-YY``
    with the epochs (decimal years) and the label of the predictive secular-variation
    interval; then one row per coefficient ``g|h n m value@epoch1 ... value@epochN sv``
    (nT, SV in nT/yr), covering every (n, m) of degrees 1..nmax once (``h`` rows for
    m >= 1). IGRF-12 (Thebault et al. 2015, *Earth Planets Space* 67, 79): 1900-2015,
    degree 13 (10 before 2000), SV 2015-20 to degree 8.

    The model interpolates linearly between the epochs and, on the SV interval, follows
    the predicted SV from the last epoch (IGRF's definition, as :func:`igrf`): an extra
    epoch at the interval's end holds ``last + SV * (end - last)``. So ``model.sv(t)`` for
    ``t`` in the SV interval returns the table's predicted SV.

    Parameters
    ----------
    path : str or path-like, optional
        The table; by default ``bayescore.datasets.fetch("real/igrf/igrf12coeffs.txt")``.
    name : str, default "IGRF-12"
        Model name.

    Returns
    -------
    FieldModel
        Order-2 (piecewise-linear) model, span (first epoch, end of the SV interval),
        e.g. (1900.0, 2020.0) for IGRF-12; nT at reference radius 6371.2 km.

    Raises
    ------
    MalformedFileError
        Missing header lines, wrong number of values on a row, non-numeric tokens,
        (n, m) out of range or duplicated, missing rows, or non-increasing epochs.
    DataNotFoundError
        If ``path`` is None and the file cannot be found (set ``BAYESCORE_DATA``).
    """
    from bayescore.datasets import fetch

    path = Path(fetch("real/igrf/igrf12coeffs.txt", path))
    lines = _read_lines(path)
    rows = [
        (no, line.split())
        for no, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    header_at = next((i for i, (_, tok) in enumerate(rows) if tok[:3] == ["g/h", "n", "m"]), None)
    if header_at is None:
        raise MalformedFileError(f"{path}: no header line 'g/h n m epoch1 ... epochN YYYY-YY'")
    header_no, header = rows[header_at]
    if len(header) < 5:
        raise MalformedFileError(
            f"{path}, line {header_no}: expected at least one epoch and the SV column label"
        )
    epochs = np.array([_number(tok, path, header_no, "epoch") for tok in header[3:-1]])
    if np.any(np.diff(epochs) <= 0):
        raise MalformedFileError(f"{path}, line {header_no}: epochs must be strictly increasing")
    sv_end = _sv_interval_end(header[-1], float(epochs[-1]), path, header_no)
    n_values = epochs.size + 1
    entries = {}
    for no, tokens in rows[header_at + 1 :]:
        if len(tokens) != n_values + 3:
            raise MalformedFileError(
                f"{path}, line {no}: expected 'g|h n m', {epochs.size} values and the SV "
                f"({n_values + 3} columns), found {len(tokens)} columns"
            )
        kind = tokens[0]
        n = _integer(tokens[1], path, no, "degree n")
        m = _integer(tokens[2], path, no, "order m")
        if kind not in ("g", "h") or n < 1 or not (0 <= m <= n) or (kind == "h" and m == 0):
            raise MalformedFileError(
                f"{path}, line {no}: bad coefficient ({kind}, {n}, {m}): need g or h, n >= 1, "
                "0 <= m <= n and m >= 1 for h"
            )
        key = (n, m if kind == "g" else -m)
        if key in entries:
            raise MalformedFileError(f"{path}, line {no}: duplicate row for {kind} n={n} m={m}")
        entries[key] = [
            _number(tok, path, no, f"value of {kind} n={n} m={m}") for tok in tokens[3:]
        ]
    if not entries:
        raise MalformedFileError(f"{path}: no coefficient rows after line {header_no}")
    nmax = max(n for n, _ in entries)
    n_coeffs = n_coefficients(nmax)
    if len(entries) != n_coeffs:
        raise MalformedFileError(
            f"{path}: {n_coeffs - len(entries)} of {n_coeffs} coefficient rows missing for "
            f"degrees 1..{nmax} (file truncated after line {rows[-1][0]}?)"
        )
    table = np.zeros((n_values, n_coeffs))
    for (n, m), values in entries.items():
        table[:, _coefficient_index(n, m)] = values
    last_field, sv = table[-2], table[-1]
    end_field = last_field + sv * (sv_end - epochs[-1])
    return FieldModel.piecewise_linear(
        np.append(epochs, sv_end),
        np.vstack([table[:-1], end_field]),
        name=name,
        description=(
            f"IGRF classic table read from {path.name}: epochs {epochs[0]}-{epochs[-1]}, "
            f"predicted SV {header[-1]} (nmax={nmax})"
        ),
    )


def _tokens_with_lines(lines: list[str], first_line: int):
    """Whitespace tokens of ``lines`` with their 1-based line numbers."""
    tokens, numbers = [], []
    for no, line in enumerate(lines, start=first_line):
        for token in line.split():
            tokens.append(token)
            numbers.append(no)
    return tokens, numbers


def load_bspline_model(
    path, *, spline_order: int | None = None, name: str | None = None, source: str = ""
) -> FieldModel:
    """Read a B-spline field model in the text format of gufm1 and COV-OBS.

    Format (free format after the first line): a title line; a header ``lmax nspl`` (gufm1)
    or ``lmax nspl order`` (COV-OBS, which states its spline order); the ``nspl + order``
    knot times (decimal years); then ``nspl`` blocks of ``lmax (lmax + 2)`` Gauss
    coefficients (nT, reference radius 6371.2 km, g10, g11, h11, ...), the coefficients of
    the order-``order`` B-splines on those knots.

    Parameters
    ----------
    path : str or path-like
        The model file.
    spline_order : int, optional
        Spline order when the file does not state it (gufm1: 4); None (default) reads it
        from the header ``lmax nspl order``.
    name : str, optional
        Model name; defaults to the title line.
    source : str, optional
        Text put before ``read from <path>`` in the model's description.

    Returns
    -------
    FieldModel
        Span ``(knots[order - 1], knots[nspl])``, the interval on which the spline basis is
        complete.

    Raises
    ------
    MalformedFileError
        Truncated file, extra values, non-numeric tokens, bad header or decreasing knots
        (the message gives the line).
    FileNotFoundError
        If ``path`` does not exist.
    """
    path = Path(path)
    lines = _read_lines(path)
    if len(lines) < 2:
        raise MalformedFileError(
            f"{path}: expected a title line and data, found {len(lines)} line(s)"
        )
    header = "lmax nspl" if spline_order is not None else "lmax nspl order"
    n_header = len(header.split())
    tokens, numbers = _tokens_with_lines(lines[1:], first_line=2)
    if len(tokens) < n_header:
        raise MalformedFileError(f"{path}, line 2: expected {header!r}, file ends early")
    lmax = _integer(tokens[0], path, numbers[0], "lmax")
    nspl = _integer(tokens[1], path, numbers[1], "nspl")
    order = (
        _integer(tokens[2], path, numbers[2], "spline order")
        if spline_order is None
        else int(spline_order)
    )
    if lmax < 1 or order < 1 or nspl < order:
        raise MalformedFileError(
            f"{path}, line {numbers[0]}: need lmax >= 1 and nspl >= {order} (the spline "
            f"order), got lmax={lmax}, nspl={nspl}"
            + (f", order={order}" if spline_order is None else "")
        )
    n_knots = nspl + order
    n_coeffs = n_coefficients(lmax)
    expected = n_header + n_knots + nspl * n_coeffs
    if len(tokens) < expected:
        raise MalformedFileError(
            f"{path}: truncated: expected {expected - n_header} numbers after {header!r} "
            f"({n_knots} knots and {nspl} blocks of {n_coeffs} coefficients), found "
            f"{len(tokens) - n_header} (file ends at line {len(lines)})"
        )
    if len(tokens) > expected:
        raise MalformedFileError(
            f"{path}, line {numbers[expected]}: unexpected extra value {tokens[expected]!r} "
            f"after {nspl} blocks of {n_coeffs} coefficients"
        )
    values = np.empty(expected - n_header)
    for i in range(n_header, expected):
        what = "knot time" if i < n_header + n_knots else "coefficient"
        values[i - n_header] = _number(tokens[i], path, numbers[i], what)
    knots = values[:n_knots]
    decreasing = np.flatnonzero(np.diff(knots) < 0)
    if decreasing.size:
        i = int(decreasing[0]) + 1
        raise MalformedFileError(
            f"{path}, line {numbers[n_header + i]}: knot times must be non-decreasing "
            f"({knots[i - 1]} followed by {knots[i]})"
        )
    spline_coeffs = values[n_knots:].reshape(nspl, n_coeffs)
    title = lines[0].strip()
    return FieldModel(
        knots,
        spline_coeffs,
        order,
        name=title if name is None else name,
        radius=EARTH_REFERENCE_RADIUS_KM,
        description=(
            f"{source or title}, read from {os.fspath(path)}: lmax={lmax}, {nspl} "
            f"B-splines of order {order}"
        ),
    )


def load_gufm1(path=None, *, name: str = "gufm1") -> FieldModel:
    """Read the gufm1 model (Jackson, Jonkers & Walker 2000), 1590-1990, degree 14.

    The file has the text format of :func:`load_bspline_model` with the header
    ``lmax nspl``: its splines are of order 4 (cubic), which the file does not state.

    Parameters
    ----------
    path : str or path-like, optional
        The ``gufm1_data.txt`` file; by default it is located with
        ``bayescore.datasets.fetch("gufm1/gufm1_data.txt")`` (``$BAYESCORE_DATA`` or a
        hash-checked download).
    name : str, default "gufm1"
        Model name.

    Returns
    -------
    FieldModel
        Order-4 spline model with span ``(knots[3], knots[nspl])`` = (1590.0, 1990.0), the
        interval on which the spline basis is complete.

    Raises
    ------
    MalformedFileError
        Truncated file, extra values, non-numeric tokens, bad ``lmax nspl`` line or
        decreasing knots (the message gives the line).
    DataNotFoundError
        If ``path`` is None and the file cannot be found (set ``BAYESCORE_DATA``).
    """
    if path is None:
        from bayescore.datasets import fetch

        path = fetch("gufm1/gufm1_data.txt")
    return load_bspline_model(
        path,
        spline_order=GUFM1_SPLINE_ORDER,
        name=name,
        source="gufm1 (Jackson, Jonkers & Walker 2000)",
    )


def load_covobs(path=None, *, name: str | None = None) -> FieldModel:
    """Read a COV-OBS-type stochastic core-field model (Gillet et al. 2013, 2015).

    The file (e.g. ``real_001``, one realisation of the ensemble, 1840-2020, degree 14)
    has the text format of :func:`load_bspline_model` with the header
    ``lmax nspl order`` (14 95 4: cubic B-splines on knots every 2 years, 1832-2028).
    A single realisation is a posterior draw, so its small scales are noisy by design.

    Parameters
    ----------
    path : str or path-like, optional
        The model file; by default located with
        ``bayescore.datasets.fetch("real/covobs/real_001")``.
    name : str, optional
        Model name; defaults to ``"COV-OBS <file name>"``.

    Returns
    -------
    FieldModel
        Span ``(knots[order - 1], knots[nspl])`` = (1838.0, 2022.0) for ``real_001``;
        coefficients in nT at reference radius 6371.2 km.

    Raises
    ------
    MalformedFileError
        As :func:`load_bspline_model`.
    DataNotFoundError
        If ``path`` is None and the file cannot be found (set ``BAYESCORE_DATA``).
    """
    from bayescore.datasets import fetch

    path = Path(fetch("real/covobs/real_001", path))
    return load_bspline_model(
        path,
        name=f"COV-OBS {path.name}" if name is None else name,
        source="COV-OBS-type model (Gillet et al. 2013, 2015)",
    )
