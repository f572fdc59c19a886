"""The data term of the co-estimation: vector data, their design and normal equations.

The data are linear in the field parameters (core field on its time basis, optional static
lithospheric field, external degree-1 field and observatory offsets), so the Gaussian
log-likelihood is evaluated from normal equations precomputed once:
``-2 log L = (x - x_ref)^T H (x - x_ref) - 2 b^T (x - x_ref) + chi2(x_ref) + const``
costs O(n_params^2) per evaluation, whatever the number of data. The design matrix is
built in fixed-size chunks (one compilation) and accumulated into ``H = A^T S^-1 A``; the
Laplace (the L1 misfit of Lesur et al. 2010, Earth Planets Space 62, 503) and Student-t
likelihoods keep a compact per-datum design instead. Build a :class:`FieldData` with
:func:`bayescore.models.build_problem`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from bayescore.errors import ModelConfigError
from bayescore.fields import design_matrix
from bayescore.fields.external import external_dipole_field
from bayescore.layout import BlockLayout
from bayescore.timebasis import TimeBasis

__all__ = ["SOURCES", "FieldData", "assemble_field_data"]

#: Data sources, in the order of their integer codes in :attr:`FieldData.source`.
SOURCES = ("satellite", "observatory")


def _external_columns(theta, phi):
    """Columns of the external degree-1 field (q10, q11, s11) for (B_r, B_theta, B_phi).

    Returns an array of shape (n, 3 components, 3 coefficients) (numpy).
    """
    eye = np.eye(3)
    columns = [np.stack(external_dipole_field(q[0], q[1], q[2], theta, phi), axis=-1) for q in eye]
    return np.stack(columns, axis=-1)


@partial(jax.jit, static_argnames=("lmax_internal", "n_core", "time_basis", "n_bias", "external"))
def _design_chunk(
    t,
    r,
    theta,
    phi,
    component,
    bias_index,
    ext_columns,
    *,
    lmax_internal,
    n_core,
    time_basis,
    n_bias,
    external,
):
    """Rows of the field design matrix in the packing order (bias, core, external, static)."""
    full = design_matrix(lmax_internal, r, theta, phi)  # (c, 3, n_int)
    rows = jnp.take_along_axis(full, component[:, None, None], axis=1)[:, 0, :]
    psi = time_basis(t)  # (c, N_t)
    n_chunk = t.shape[0]
    core = (psi[:, :, None] * rows[:, None, :n_core]).reshape(n_chunk, -1)
    parts = []
    if n_bias:
        parts.append((bias_index[:, None] == jnp.arange(n_bias)[None, :]).astype(core.dtype))
    parts.append(core)
    if external:
        parts.append(jnp.take_along_axis(ext_columns, component[:, None, None], axis=1)[:, 0, :])
    if rows.shape[1] > n_core:
        parts.append(rows[:, n_core:])
    return jnp.concatenate(parts, axis=1)


@jax.jit
def _accumulate_normal(hessian, gradient, chi2, design, precision, residual):
    weighted = design * precision[:, None]
    return (
        hessian + design.T @ weighted,
        gradient + weighted.T @ residual,
        chi2 + jnp.sum(precision * residual**2),
    )


@jax.jit
def _accumulate_rhs(gradient, chi2, design, precision, value, x_ref):
    residual = value - design @ x_ref
    return gradient + (design * precision[:, None]).T @ residual, chi2 + jnp.sum(
        precision * residual**2
    )


@dataclass(frozen=True)
class FieldData:
    """Vector data and their likelihood as a function of the field vector.

    The field vector ``x`` concatenates the field blocks present, in the order
    ``bias, core (flattened row-major), external, static`` (:attr:`layout`). Build it with
    :func:`build_problem`.

    Attributes
    ----------
    t, r, theta, phi : jax.Array, shape (n,)
        Data positions: decimal years, km, rad, rad.
    component : jax.Array of int, shape (n,)
        0 = B_r, 1 = B_theta, 2 = B_phi.
    value, sigma : jax.Array, shape (n,)
        Data and the scale parameters of their noise (nT).
    source : jax.Array of int, shape (n,)
        0 = satellite, 1 = observatory.
    bias_index : jax.Array of int, shape (n,)
        Index of the datum's observatory offset in the ``bias`` block, -1 if none.
    ext_columns : jax.Array, shape (n, 3, 3)
        External-field design per component (empty when there is no external field).
    hessian, gradient_ref, chi2_ref, x_ref : jax.Array or None
        Gaussian normal equations at the reference point ``x_ref``:
        ``H = A^T S^-1 A``, ``A^T S^-1 (d - A x_ref)`` and ``chi2(x_ref)``.
    design_internal, psi : jax.Array or None
        Compact per-datum design (internal-field rows of the datum's component and time
        basis at its time) for the Laplace and Student-t likelihoods.
    likelihood : str
        ``"gaussian"``, ``"laplace"`` or ``"student-t"``.
    student_t_dof : float
    layout : BlockLayout
        Blocks of the field vector.
    lmax_internal, n_core : int
        Degree of the internal design (L_static or L_B) and L_B(L_B+2).
    time_basis : TimeBasis
        Time basis of the core block.
    chunk_size : int
        Rows per design chunk.
    """

    t: jax.Array
    r: jax.Array
    theta: jax.Array
    phi: jax.Array
    component: jax.Array
    value: jax.Array
    sigma: jax.Array
    source: jax.Array
    bias_index: jax.Array
    ext_columns: jax.Array
    hessian: jax.Array | None
    gradient_ref: jax.Array | None
    chi2_ref: jax.Array | None
    x_ref: jax.Array | None
    design_internal: jax.Array | None
    psi: jax.Array | None
    likelihood: str
    student_t_dof: float
    layout: BlockLayout
    lmax_internal: int
    n_core: int
    time_basis: TimeBasis
    chunk_size: int

    @property
    def n_data(self) -> int:
        """Number of scalar data."""
        return int(self.value.shape[0])

    @property
    def n_bias(self) -> int:
        """Length of the bias block (0 without observatory offsets)."""
        names = self.layout.names
        return self.layout.shape("bias")[0] if "bias" in names else 0

    @property
    def has_external(self) -> bool:
        """Whether the external degree-1 field is modelled."""
        return "external" in self.layout.names

    def _chunks(self):
        n, size = self.n_data, self.chunk_size
        for start in range(0, n, size):
            stop = min(start + size, n)
            pad = size - (stop - start)

            def take(array, start=start, stop=stop, pad=pad):
                array = np.asarray(array)[start:stop]
                widths = [(0, pad)] + [(0, 0)] * (array.ndim - 1)
                return np.pad(array, widths, mode="edge") if pad else array

            yield start, stop, pad, take

    def design_rows(self, take):
        """Design rows of one chunk (internal use)."""
        ext = take(self.ext_columns) if self.has_external else np.zeros((self.chunk_size, 3, 3))
        return _design_chunk(
            jnp.asarray(take(self.t)),
            jnp.asarray(take(self.r)),
            jnp.asarray(take(self.theta)),
            jnp.asarray(take(self.phi)),
            jnp.asarray(take(self.component)),
            jnp.asarray(take(self.bias_index)),
            jnp.asarray(ext),
            lmax_internal=self.lmax_internal,
            n_core=self.n_core,
            time_basis=self.time_basis,
            n_bias=self.n_bias,
            external=self.has_external,
        )

    def predict(self, x):
        """Predicted data (nT) for the field vector ``x`` (numpy, chunked; not traced).

        Parameters
        ----------
        x : array_like, shape (n_field,)

        Returns
        -------
        numpy.ndarray, shape (n,)
        """
        x = jnp.asarray(x, dtype=float)
        out = np.empty(self.n_data)
        for start, stop, _, take in self._chunks():
            out[start:stop] = np.asarray(self.design_rows(take) @ x)[: stop - start]
        return out

    def normal_equations(self, weights=None, x_ref=None):
        """``A^T diag(w) A``, ``A^T diag(w) (d - A x_ref)`` and ``sum w (d - A x_ref)^2``.

        Parameters
        ----------
        weights : array_like, shape (n,), optional
            Per-datum weights (default ``1 / sigma^2``).
        x_ref : array_like, shape (n_field,), optional
            Reference field vector (default zero).

        Returns
        -------
        hessian, gradient, chi2 : jax.Array
        """
        n_field = self.layout.size
        weights = 1.0 / np.asarray(self.sigma) ** 2 if weights is None else np.asarray(weights)
        x_ref = jnp.zeros(n_field) if x_ref is None else jnp.asarray(x_ref)
        hessian = jnp.zeros((n_field, n_field))
        gradient = jnp.zeros(n_field)
        chi2 = jnp.zeros(())
        for start, stop, pad, take in self._chunks():
            rows = self.design_rows(take)
            w = np.asarray(weights)[start:stop]
            w = np.pad(w, (0, pad)) if pad else w
            residual = jnp.asarray(take(self.value)) - rows @ x_ref
            hessian, gradient, chi2 = _accumulate_normal(
                hessian, gradient, chi2, rows, jnp.asarray(w), residual
            )
        return 0.5 * (hessian + hessian.T), gradient, chi2

    def residual_statistics(self, x, sources=SOURCES) -> dict:
        """Mean and rms of the residuals (nT) per source and component.

        Parameters
        ----------
        x : array_like, shape (n_field,)
            Field vector.

        Returns
        -------
        dict
            ``{(source, component): {"n", "mean", "rms", "chi2_per_datum"}}`` with
            component names ``B_r``, ``B_theta``, ``B_phi``; also ``("all", "all")``.
        """
        residual = np.asarray(self.value) - self.predict(x)
        normalised = residual / np.asarray(self.sigma)
        source = np.asarray(self.source)
        component = np.asarray(self.component)
        stats = {}
        names = ("B_r", "B_theta", "B_phi")
        for s_code, s_name in enumerate(sources):
            for c_code, c_name in enumerate(names):
                mask = (source == s_code) & (component == c_code)
                if np.any(mask):
                    stats[(s_name, c_name)] = _stats(residual[mask], normalised[mask])
        stats[("all", "all")] = _stats(residual, normalised)
        return stats

    # ---------------------------------------------------------------- traced parts
    def log_likelihood(self, x):
        """Log-likelihood of the data for the field vector ``x`` (jit-able, exact).

        Gaussian: from the normal equations (O(n_field^2)); Laplace and Student-t:
        per datum from the compact design (O(n_data n_field)).
        """
        if self.likelihood == "gaussian":
            delta = x - self.x_ref
            chi2 = delta @ (self.hessian @ delta) - 2.0 * self.gradient_ref @ delta + self.chi2_ref
            return (
                -0.5 * chi2
                - jnp.sum(jnp.log(self.sigma))
                - 0.5 * self.n_data * jnp.log(2.0 * jnp.pi)
            )
        residual = self.value - self.predict_traced(x)
        if self.likelihood == "laplace":
            return jnp.sum(-jnp.abs(residual) / self.sigma - jnp.log(2.0 * self.sigma))
        return jnp.sum(
            jax.scipy.stats.t.logpdf(residual, self.student_t_dof, loc=0.0, scale=self.sigma)
        )

    def predict_traced(self, x):
        """Predicted data from the compact design (jit-able; non-Gaussian likelihoods)."""
        if self.design_internal is None:
            raise ModelConfigError("this FieldData keeps no per-datum design (Gaussian likelihood)")
        blocks = self.layout.unpack(x)
        core = blocks["core"]
        prediction = jnp.sum(self.design_internal[:, : self.n_core] * (self.psi @ core), axis=-1)
        if "static" in blocks:
            prediction = prediction + self.design_internal[:, self.n_core :] @ blocks["static"]
        if "external" in blocks:
            ext = jnp.take_along_axis(self.ext_columns, self.component[:, None, None], axis=1)
            prediction = prediction + ext[:, 0, :] @ blocks["external"]
        if "bias" in blocks:
            has_bias = self.bias_index >= 0
            prediction = prediction + jnp.where(
                has_bias, blocks["bias"][jnp.maximum(self.bias_index, 0)], 0.0
            )
        return prediction

    def irls_weights(self, x):
        """Per-datum weights of the quadratic majoriser of the likelihood at ``x``.

        Gaussian: ``1/sigma^2``; Laplace: ``1/(sigma max(|r|, 1e-3 sigma))``; Student-t:
        ``(nu + 1)/(nu sigma^2 + r^2)`` (iteratively reweighted least squares).
        """
        if self.likelihood == "gaussian":
            return 1.0 / self.sigma**2
        residual = self.value - self.predict_traced(x)
        if self.likelihood == "laplace":
            return 1.0 / (self.sigma * jnp.maximum(jnp.abs(residual), 1e-3 * self.sigma))
        nu = self.student_t_dof
        return (nu + 1.0) / (nu * self.sigma**2 + residual**2)


def _stats(residual, normalised) -> dict:
    return {
        "n": int(residual.size),
        "mean": float(np.mean(residual)),
        "rms": float(np.sqrt(np.mean(residual**2))),
        "chi2_per_datum": float(np.mean(normalised**2)),
    }


jax.tree_util.register_dataclass(
    FieldData,
    data_fields=[
        "t", "r", "theta", "phi", "component", "value", "sigma", "source", "bias_index",
        "ext_columns", "hessian", "gradient_ref", "chi2_ref", "x_ref", "design_internal", "psi",
    ],
    meta_fields=[
        "likelihood", "student_t_dof", "layout", "lmax_internal", "n_core", "time_basis",
        "chunk_size",
    ],
)  # fmt: skip


def _rhs_at(data: FieldData, x_ref):
    gradient = jnp.zeros(data.layout.size)
    chi2 = jnp.zeros(())
    for start, stop, pad, take in data._chunks():
        rows = data.design_rows(take)
        precision = 1.0 / np.asarray(data.sigma)[start:stop] ** 2
        precision = np.pad(precision, (0, pad)) if pad else precision
        gradient, chi2 = _accumulate_rhs(
            gradient, chi2, rows, jnp.asarray(precision), jnp.asarray(take(data.value)), x_ref
        )
    return None, gradient, chi2


def _with_compact_design(data: FieldData) -> FieldData:
    rows = []
    for start, stop, _, take in data._chunks():
        full = design_matrix(
            data.lmax_internal,
            jnp.asarray(take(data.r)),
            jnp.asarray(take(data.theta)),
            jnp.asarray(take(data.phi)),
        )
        comp = jnp.asarray(take(data.component))
        rows.append(
            np.asarray(jnp.take_along_axis(full, comp[:, None, None], axis=1)[:, 0, :])[
                : stop - start
            ]
        )
    return dataclasses.replace(
        data,
        design_internal=jnp.asarray(np.concatenate(rows)),
        psi=jnp.asarray(data.time_basis(data.t)),
    )


def assemble_field_data(
    arrays: dict,
    layout: BlockLayout,
    time_basis: TimeBasis,
    *,
    bias_index,
    lmax_internal: int,
    n_core: int,
    likelihood: str,
    student_t_dof: float,
    chunk_size: int,
    prior_precision,
) -> FieldData:
    """Design and normal equations of validated vector data (used by ``build_problem``).

    Parameters
    ----------
    arrays : dict of str to numpy.ndarray, each of shape (n,)
        ``t`` (decimal years), ``r`` (km), ``theta``, ``phi`` (rad), ``component`` (0, 1,
        2), ``value``, ``sigma`` (nT) and ``source`` (0 = satellite, 1 = observatory).
    layout : BlockLayout
        Blocks of the field vector (``bias``, ``core``, ``external``, ``static``).
    time_basis : TimeBasis
        Time basis of the core block.
    bias_index : array_like of int, shape (n,)
        Position of each datum's observatory offset in the ``bias`` block, -1 if none.
    lmax_internal, n_core : int
        Degree of the internal design (L_static or L_B) and L_B(L_B+2).
    likelihood : {"gaussian", "laplace", "student-t"}
    student_t_dof : float
    chunk_size : int
        Rows per design chunk (at most the number of data).
    prior_precision : array_like, shape (layout.size,)
        Diagonal prior precision of the field vector (nT^-2): it damps the least-squares
        solution ``x_ref`` at which the normal equations are centred.

    Returns
    -------
    FieldData
        With the Gaussian normal equations at ``x_ref`` (Gaussian likelihood) or the
        compact per-datum design (the others).
    """
    n_data = int(np.shape(arrays["value"])[0])
    has_external = "external" in layout.names
    ext_columns = (
        _external_columns(arrays["theta"], arrays["phi"])
        if has_external
        else np.zeros((n_data, 0, 0))
    )
    data = FieldData(
        t=jnp.asarray(arrays["t"], dtype=float),
        r=jnp.asarray(arrays["r"], dtype=float),
        theta=jnp.asarray(arrays["theta"], dtype=float),
        phi=jnp.asarray(arrays["phi"], dtype=float),
        component=jnp.asarray(arrays["component"]),
        value=jnp.asarray(arrays["value"], dtype=float),
        sigma=jnp.asarray(arrays["sigma"], dtype=float),
        source=jnp.asarray(arrays["source"]),
        bias_index=jnp.asarray(bias_index),
        ext_columns=jnp.asarray(ext_columns),
        hessian=None,
        gradient_ref=None,
        chi2_ref=None,
        x_ref=None,
        design_internal=None,
        psi=None,
        likelihood=likelihood,
        student_t_dof=float(student_t_dof),
        layout=layout,
        lmax_internal=lmax_internal,
        n_core=n_core,
        time_basis=time_basis,
        chunk_size=min(chunk_size, n_data),
    )
    # two passes: at zero, then exactly at a damped least-squares solution
    hessian, gradient0, _ = data.normal_equations()
    diag_prior = jnp.asarray(np.asarray(prior_precision, dtype=float))
    x_ref = jnp.linalg.solve(hessian + jnp.diag(diag_prior), gradient0)
    _, gradient_ref, chi2_ref = _rhs_at(data, x_ref)
    gaussian = likelihood == "gaussian"
    data = dataclasses.replace(
        data,
        hessian=hessian if gaussian else None,
        gradient_ref=gradient_ref if gaussian else None,
        chi2_ref=chi2_ref if gaussian else None,
        x_ref=x_ref,
    )
    return data if gaussian else _with_compact_design(data)
