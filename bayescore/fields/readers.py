"""Readers of field-model files: the ``.shc`` format (IGRF, CHAOS) and gufm1's text format.

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

__all__ = ["igrf", "load_gufm1", "load_shc"]

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


def _tokens_with_lines(lines: list[str], first_line: int):
    """Whitespace tokens of ``lines`` with their 1-based line numbers."""
    tokens, numbers = [], []
    for no, line in enumerate(lines, start=first_line):
        for token in line.split():
            tokens.append(token)
            numbers.append(no)
    return tokens, numbers


def load_gufm1(path=None, *, name: str = "gufm1") -> FieldModel:
    """Read the gufm1 model (Jackson, Jonkers & Walker 2000), 1590-1990, degree 14.

    Format (free format after the first line): a title line; ``lmax nspl``; the
    ``nspl + 4`` knot times (decimal years); then ``nspl`` blocks of ``lmax (lmax + 2)``
    Gauss coefficients (nT, g10, g11, h11, ...), the coefficients of order-4 (cubic)
    B-splines on those knots.

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
    path = Path(path)
    lines = _read_lines(path)
    if len(lines) < 2:
        raise MalformedFileError(
            f"{path}: expected a title line and data, found {len(lines)} line(s)"
        )
    tokens, numbers = _tokens_with_lines(lines[1:], first_line=2)
    if len(tokens) < 2:
        raise MalformedFileError(f"{path}, line 2: expected 'lmax nspl', file ends early")
    lmax = _integer(tokens[0], path, numbers[0], "lmax")
    nspl = _integer(tokens[1], path, numbers[1], "nspl")
    if lmax < 1 or nspl < GUFM1_SPLINE_ORDER:
        raise MalformedFileError(
            f"{path}, line {numbers[0]}: need lmax >= 1 and nspl >= {GUFM1_SPLINE_ORDER}, "
            f"got lmax={lmax}, nspl={nspl}"
        )
    n_knots = nspl + GUFM1_SPLINE_ORDER
    n_coeffs = n_coefficients(lmax)
    expected = 2 + n_knots + nspl * n_coeffs
    if len(tokens) < expected:
        raise MalformedFileError(
            f"{path}: truncated: expected {expected - 2} numbers after 'lmax nspl' "
            f"({n_knots} knots and {nspl} blocks of {n_coeffs} coefficients), found "
            f"{len(tokens) - 2} (file ends at line {len(lines)})"
        )
    if len(tokens) > expected:
        raise MalformedFileError(
            f"{path}, line {numbers[expected]}: unexpected extra value {tokens[expected]!r} "
            f"after {nspl} blocks of {n_coeffs} coefficients"
        )
    numbers_array = np.empty(expected - 2)
    for i in range(2, expected):
        what = "knot time" if i < 2 + n_knots else "coefficient"
        numbers_array[i - 2] = _number(tokens[i], path, numbers[i], what)
    knots = numbers_array[:n_knots]
    decreasing = np.flatnonzero(np.diff(knots) < 0)
    if decreasing.size:
        i = int(decreasing[0]) + 1
        raise MalformedFileError(
            f"{path}, line {numbers[2 + i]}: knot times must be non-decreasing "
            f"({knots[i - 1]} followed by {knots[i]})"
        )
    spline_coeffs = numbers_array[n_knots:].reshape(nspl, n_coeffs)
    return FieldModel(
        knots,
        spline_coeffs,
        GUFM1_SPLINE_ORDER,
        name=name,
        radius=EARTH_REFERENCE_RADIUS_KM,
        description=(
            f"gufm1 (Jackson, Jonkers & Walker 2000), read from {os.fspath(path)}: "
            f"lmax={lmax}, {nspl} cubic B-splines"
        ),
    )
