"""Bayesian co-estimation of the core field and the core flow (Lesur et al. 2010).

The paper's regularised least-squares problem is written as a NumPyro model; inference is
separate (:mod:`bayescore.infer`). Notation and conventions: ``docs/conventions.md`` and
``/work/shared/references/equations.md``.

Parameters (NumPyro sample sites, all real-valued)
--------------------------------------------------
``core`` (N_t, L_B(L_B+2))
    Gauss coefficients (nT at a = 6371.2 km) of the core field on a time basis:
    ``g(t) = psi(t) @ core`` (:mod:`bayescore.models.parametrisation`; Legendre
    polynomials of degree N_t - 1 on the span by default, the paper's choice).
``static`` (n(L_static) - n(L_B),)
    Optional static internal (lithospheric) field of degrees L_B+1..L_static, nT.
``external`` (3,)
    Optional static external degree-1 field (q10, q11, s11), nT
    (:func:`bayescore.synthetic.dataset.external_dipole_field`).
``bias`` (3 n_sites,)
    Optional static crustal offsets of the observatory components, nT.
``toroidal``, ``poloidal`` (N_tF, L_F(L_F+2))
    Flow coefficients (km/yr) at the CMB on their own (or the same) time basis.

Density (fixed dampings; the negative log posterior is the paper's objective up to the
factor conventions stated here)
-------------------------------------------------------------------------------------
* Data: Gaussian ``value ~ N(prediction, sigma^2)`` (L2), Laplace with scale sigma (the
  paper's L1 misfit) or Student-t with scale sigma. The Gaussian likelihood is evaluated
  from normal equations precomputed once (:class:`FieldData`): the data are linear in the
  field parameters, so ``-2 log L = (x - x_ref)^T H (x - x_ref) - 2 b^T (x - x_ref) +
  chi2(x_ref) + const`` costs O(n_params^2) per evaluation, whatever the number of data.
  ``x_ref`` is a damped least-squares solution; centring there keeps the numbers small
  (``chi2(x_ref)`` is computed directly from the residuals).
* Frozen flux (paper eqs. 15, 18): a factor ``exp(-Phi_1)`` with
  ``Phi_1 = lambda_1 sum_i w_i r_i^T W r_i``, ``r_i = gdot(t_i) - A(g(t_i)) u(t_i)`` on
  Gauss-Legendre nodes t_i that integrate the residual's square (a piecewise polynomial
  in time) exactly, W the SV weights of :mod:`bayescore.flow.weights` (Lesur's by
  default). It is normalised as a Gaussian pseudo-likelihood of zero-valued residuals with
  precision ``2 lambda_1 w_i W`` (adds ``1/2 sum log(lambda_1 w_i W_j / pi)``), so that a
  hyperprior on lambda_1 is meaningful. Lesur's representation-error weights depend on
  the SV; they are **held fixed** at the values computed from the starting model (the
  time average over the nodes of its SV power per degree,
  :meth:`CoestimationProblem.with_lesur_weights`), which keeps the density a fixed
  function of the parameters.
* Flow priors (paper eqs. 21-23): zero-mean Gaussian with precision
  ``2 lambda_2 (M (x) N) + 2 lambda_3 (M' (x) N_t)`` per toroidal and poloidal block, M and
  M' the Gram matrices of the flow's time basis and its derivative, N the spatial norm's
  weights (strong, weak or kinetic energy) and N_t the temporal-norm weights
  (:mod:`bayescore.flow.norms`): ``lambda_2 int_span norm(u) dt + lambda_3 int_span int_S
  |du/dt|^2 dS dt``, both integrated over the span.
* Field priors: broad independent Gaussians, per degree, meant to be weakly informative:
  core coefficients of degree l have standard deviation
  ``sqrt(R / ((l+1)(2l+1))) (c/a)^(l+2)`` with a flat CMB spectrum ``R = 1e13 nT^2`` per
  degree (100 to 1e4 times the geomagnetic core spectrum), the same for every time-basis
  function; lithospheric coefficients ``sqrt(R_lith / ((l+1)(2l+1)))`` with
  ``R_lith = 1e3 nT^2`` at a; external coefficients 100 nT; observatory offsets 1000 nT.

The dampings are arguments (floats) or get log-uniform hyperpriors
(``hyperpriors={"lambda_space": (low, high), ...}``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from bayescore.constants import CORE_RADIUS_KM, EARTH_REFERENCE_RADIUS_KM
from bayescore.errors import CoefficientShapeError, NonFiniteError
from bayescore.fields import design_matrix
from bayescore.flow.norms import NORMS, coefficient_weights, temporal_weights
from bayescore.flow.operator import field_matrix, frozen_flux_matrix, sv_from_flow
from bayescore.flow.weights import SCHEMES, sv_degree_power, sv_weights, sv_weights_from_power
from bayescore.models.parametrisation import (
    BlockLayout,
    TimeBasis,
    TimeBlockGaussian,
    flow_labels,
    gauss_labels,
    legendre_time_basis,
)
from bayescore.sh.indexing import degree_order_arrays, n_coefficients
from bayescore.synthetic.dataset import external_dipole_field

__all__ = [
    "DEFAULT_DAMPINGS",
    "FIELD_SITES",
    "FLOW_SITES",
    "LIKELIHOODS",
    "CoestimationProblem",
    "FieldData",
    "build_problem",
    "coestimation_model",
    "frozen_flux_ratio",
]

_A = EARTH_REFERENCE_RADIUS_KM
_C = CORE_RADIUS_KM

#: Data likelihoods understood by :func:`build_problem`.
LIKELIHOODS = ("gaussian", "laplace", "student-t")
#: Sample sites of the field (in packing order) and of the flow.
FIELD_SITES = ("bias", "core", "external", "static")
FLOW_SITES = ("poloidal", "toroidal")
#: Default dampings of :func:`coestimation_model`. Units (every term of the negative log
#: posterior is dimensionless): lambda_frozen_flux 1/yr (W in (nT/yr)^-2, node weights in
#: yr); lambda_space yr for the strong norm (1/yr^2 integrated over the span) and yr/km^2
#: for the weak and energy norms; lambda_time yr^3/km^4. The values give flows of order
#: 10 km/yr at degree 1 over a one-year span; tune them to a target (rms speed, rho,
#: misfit) for real work.
DEFAULT_DAMPINGS = {
    "lambda_frozen_flux": 1.0e4,
    "lambda_space": {"strong": 1.0e3, "weak": 3.0e-4, "energy": 5.0e-3},
    "lambda_time": 1.0e-8,
}
_SOURCES = ("satellite", "observatory")


# --------------------------------------------------------------------------------------
# the data term
# --------------------------------------------------------------------------------------


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

    def residual_statistics(self, x, sources=_SOURCES) -> dict:
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
            raise ValueError("this FieldData keeps no per-datum design (Gaussian likelihood)")
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


# --------------------------------------------------------------------------------------
# the problem: everything the models need, precomputed
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoestimationProblem:
    """Precomputed arrays of the co-estimation (and USN) models; a JAX pytree.

    Build it with :func:`build_problem`; set the frozen-flux SV weights with
    :meth:`with_lesur_weights` or :meth:`with_sv_weights` before using
    :func:`coestimation_model`.

    Attributes
    ----------
    data : FieldData
    core_sd, static_sd, external_sd, bias_sd : jax.Array
        Prior standard deviations (nT) of the field blocks.
    nodes, node_weights : jax.Array, shape (n_nodes,)
        Quadrature in time of the frozen-flux term (decimal years, years).
    psi_nodes, dpsi_nodes : jax.Array, shape (n_nodes, N_t)
        Core time basis and its derivative (1/yr) at the nodes.
    flow_psi_nodes : jax.Array, shape (n_nodes, N_tF)
    flow_gram, flow_gram_rate : jax.Array, shape (N_tF, N_tF)
        ``int psi psi^T dt`` (yr) and ``int psi' psi'^T dt`` (1/yr) of the flow basis.
    space_weights, time_weights : jax.Array, shape (L_F(L_F+2),)
        Spatial-norm and temporal-norm weights per flow coefficient.
    sv_weights : jax.Array or None, shape (L_SV(L_SV+2),)
        W of the frozen-flux term, (nT/yr)^-2.
    roughness_weights : jax.Array, shape (L_B(L_B+2),)
        ``(l+1)^2 (a/c)^(2l+4) / (2l+1)``: mean square of Br at the CMB per squared Gauss
        coefficient (USN roughness, :mod:`bayescore.models.usn`).
    roughness_gram, roughness_ends : jax.Array, shape (N_t, N_t)
        ``int psi'' psi''^T dt`` (yr^-3) and ``sum_ends psi'' psi''^T`` (yr^-4).
    lmax_core, lmax_static, lmax_flow, lmax_sv : int
        L_B, L_static (= L_B without a static field), L_F (0: no flow), L_SV.
    time_basis, flow_time_basis : TimeBasis
    norm : str
        Spatial flow norm: ``"strong"``, ``"weak"`` or ``"energy"``.
    bias_labels : tuple of str
        Labels of the observatory offsets (``"<code>_B_r"`` ...).
    """

    data: FieldData
    core_sd: jax.Array
    static_sd: jax.Array
    external_sd: jax.Array
    bias_sd: jax.Array
    nodes: jax.Array
    node_weights: jax.Array
    psi_nodes: jax.Array
    dpsi_nodes: jax.Array
    flow_psi_nodes: jax.Array
    flow_gram: jax.Array
    flow_gram_rate: jax.Array
    space_weights: jax.Array
    time_weights: jax.Array
    sv_weights: jax.Array | None
    roughness_weights: jax.Array
    roughness_gram: jax.Array
    roughness_ends: jax.Array
    lmax_core: int
    lmax_static: int
    lmax_flow: int
    lmax_sv: int
    time_basis: TimeBasis
    flow_time_basis: TimeBasis | None
    norm: str
    bias_labels: tuple[str, ...]

    # ---------------------------------------------------------------- sizes and labels
    @property
    def n_core(self) -> int:
        """L_B(L_B+2)."""
        return n_coefficients(self.lmax_core)

    @property
    def n_flow(self) -> int:
        """L_F(L_F+2) (0 without flow)."""
        return n_coefficients(self.lmax_flow) if self.lmax_flow else 0

    @property
    def n_sv(self) -> int:
        """L_SV(L_SV+2)."""
        return n_coefficients(self.lmax_sv)

    @property
    def has_flow(self) -> bool:
        """Whether the problem includes a flow (L_F >= 1)."""
        return self.lmax_flow > 0

    @property
    def field_sites(self) -> tuple[str, ...]:
        """Field blocks present, in packing order."""
        return self.data.layout.names

    @property
    def span(self) -> tuple[float, float]:
        """Model span (decimal years)."""
        return self.time_basis.span

    def site_shapes(self, flow: bool = True) -> dict:
        """Shapes of the sample sites (field, and flow when ``flow``)."""
        shapes = {name: self.data.layout.shape(name) for name in self.field_sites}
        if flow and self.has_flow:
            shape = (self.flow_time_basis.n_functions, self.n_flow)
            shapes.update({"toroidal": shape, "poloidal": shape})
        return shapes

    def layout(self, flow: bool = True, fixed=()) -> BlockLayout:
        """Layout of the flat vector of the sampled sites (NumPyro's ravel order)."""
        shapes = {k: v for k, v in self.site_shapes(flow).items() if k not in set(fixed)}
        return BlockLayout.from_shapes(shapes)

    def coords(self) -> dict:
        """Coordinates for labelled outputs (ArviZ/xarray)."""
        coords = {
            "time_basis": np.arange(self.time_basis.n_functions),
            "core_coeff": gauss_labels(self.lmax_core),
        }
        if "static" in self.field_sites:
            coords["static_coeff"] = gauss_labels(self.lmax_static, self.lmax_core + 1)
        if "external" in self.field_sites:
            coords["external_coeff"] = ["q_1_0", "q_1_1", "s_1_1"]
        if "bias" in self.field_sites:
            coords["bias_coeff"] = list(self.bias_labels)
        if self.has_flow:
            coords["flow_time_basis"] = np.arange(self.flow_time_basis.n_functions)
            coords["toroidal_coeff"] = flow_labels(self.lmax_flow, "t")
            coords["poloidal_coeff"] = flow_labels(self.lmax_flow, "s")
        return coords

    def dims(self) -> dict:
        """Dimension names of the sample sites (ArviZ ``dims``)."""
        dims = {
            "core": ["time_basis", "core_coeff"],
            "static": ["static_coeff"],
            "external": ["external_coeff"],
            "bias": ["bias_coeff"],
        }
        if self.has_flow:
            dims["toroidal"] = ["flow_time_basis", "toroidal_coeff"]
            dims["poloidal"] = ["flow_time_basis", "poloidal_coeff"]
        return {k: v for k, v in dims.items() if k in self.site_shapes()}

    # ---------------------------------------------------------------- evaluation
    def field_vector(self, values: dict):
        """Field vector (packing order of :attr:`FieldData.layout`) from site values."""
        return self.data.layout.pack({name: values[name] for name in self.field_sites})

    def field_at(self, core, t, derivative: int = 0):
        """Core Gauss coefficients (or a time derivative) at times ``t`` (nT/yr^r)."""
        return self.time_basis(t, derivative) @ core

    def flow_at(self, toroidal, poloidal, t):
        """Flow coefficients (t, s) at times ``t`` (km/yr)."""
        psi = self.flow_time_basis(t)
        return psi @ toroidal, psi @ poloidal

    def frozen_flux_residuals(self, core, toroidal, poloidal):
        """``r_i = gdot(t_i) - A(g(t_i)) u(t_i)`` at the nodes, (n_nodes, n_sv), nT/yr."""
        g = self.psi_nodes @ core
        gdot = self.dpsi_nodes @ core
        t = self.flow_psi_nodes @ toroidal
        s = self.flow_psi_nodes @ poloidal
        sv = sv_from_flow(g, t, s, lmax_sv=self.lmax_sv)
        return jnp.pad(gdot, ((0, 0), (0, self.n_sv - self.n_core))) - sv

    def frozen_flux_misfit(self, core, toroidal, poloidal, weights=None):
        """``sum_i w_i r_i^T W r_i`` ((nT/yr)^2 W yr: dimensionless for W a precision)."""
        weights = self._weights(weights)
        residual = self.frozen_flux_residuals(core, toroidal, poloidal)
        return jnp.sum(self.node_weights * jnp.sum(weights * residual**2, axis=-1))

    def _weights(self, weights):
        weights = self.sv_weights if weights is None else weights
        if weights is None:
            raise ValueError(
                "the problem has no SV weights: call with_lesur_weights(start) or "
                "with_sv_weights(W) first"
            )
        return weights

    def frozen_flux_log_factor(self, core, toroidal, poloidal, lambda_frozen_flux):
        """``-Phi_1 + 1/2 sum_ij log(lambda_1 w_i W_j / pi)`` (normalised pseudo-likelihood)."""
        weights = self._weights(None)
        misfit = self.frozen_flux_misfit(core, toroidal, poloidal)
        log_norm = 0.5 * jnp.sum(
            jnp.log(lambda_frozen_flux * self.node_weights[:, None] * weights[None, :] / jnp.pi)
        )
        return -lambda_frozen_flux * misfit + log_norm

    # ---------------------------------------------------------------- priors
    def core_prior(self):
        """Broad independent Gaussian prior on the core block (co-estimation)."""
        return dist.Normal(0.0, self.core_sd).to_event(2)

    def flow_prior(self, lambda_space, lambda_time):
        """Flow-smoothness prior on a toroidal or poloidal block (paper eqs. 21-23)."""
        blocks = 2.0 * (
            lambda_space * self.space_weights[:, None, None] * self.flow_gram[None]
            + lambda_time * self.time_weights[:, None, None] * self.flow_gram_rate[None]
        )
        return TimeBlockGaussian(blocks)

    def usn_core_prior(self, lambda_span, lambda_ends):
        """Broad prior plus the USN roughness (paper eq. 30) on the core block."""
        broad = jax.vmap(jnp.diag)(1.0 / self.core_sd.T**2)  # (n, N_t, N_t)
        rough = (
            2.0
            * self.roughness_weights[:, None, None]
            * (lambda_span * self.roughness_gram + lambda_ends * self.roughness_ends)[None]
        )
        return TimeBlockGaussian(broad + rough)

    def static_prior(self):
        """Prior on the static lithospheric block."""
        return dist.Normal(0.0, self.static_sd).to_event(1)

    def external_prior(self):
        """Prior on the external degree-1 block."""
        return dist.Normal(0.0, self.external_sd).to_event(1)

    def bias_prior(self):
        """Prior on the observatory offsets."""
        return dist.Normal(0.0, self.bias_sd).to_event(1)

    # ---------------------------------------------------------------- SV weights
    def sv_power(self, core):
        """Time-averaged SV power per degree ``sum_m gdot_lm^2`` at a over the nodes."""
        gdot = self.dpsi_nodes @ jnp.asarray(core)
        power = sv_degree_power(gdot)  # (n_nodes, L_B)
        return jnp.sum(self.node_weights[:, None] * power, axis=0) / jnp.sum(self.node_weights)

    def with_sv_weights(self, weights) -> CoestimationProblem:
        """A copy with the frozen-flux SV weights W (shape (L_SV(L_SV+2),), (nT/yr)^-2)."""
        weights = np.asarray(weights, dtype=float)
        if weights.shape != (self.n_sv,):
            raise CoefficientShapeError(
                f"sv_weights must have L_SV(L_SV+2) = {self.n_sv} entries, got {weights.shape}"
            )
        if not np.all(np.isfinite(weights)):
            raise NonFiniteError("sv_weights contain NaN or infinite values")
        if np.any(weights <= 0):
            raise ValueError("sv_weights must be positive")
        return dataclasses.replace(self, sv_weights=jnp.asarray(weights))

    def with_lesur_weights(
        self,
        core,
        truncation_variance: float = 0.5,
        representation_scale: float = 1.0,
        scheme: str = "lesur",
    ) -> CoestimationProblem:
        """A copy with W built from the SV of a starting core block (held fixed).

        Parameters
        ----------
        core : array_like, shape (N_t, L_B(L_B+2))
            Starting core block (e.g. the USN model's); its SV power per degree, averaged
            over the frozen-flux nodes, sets the representation-error weights.
        truncation_variance : float, default 0.5
            SV power per degree at a above L_B, (nT/yr)^2 (paper eq. 27).
        representation_scale : float, default 1
            The constant k of eq. 26 (absorbed in lambda_1 in the paper).
        scheme : {"lesur", "uniform", "cmb"}
            ``"lesur"`` (eqs. 24-29) or the other schemes of
            :func:`bayescore.flow.weights.sv_weights`.

        Returns
        -------
        CoestimationProblem
        """
        if scheme not in SCHEMES:
            raise ValueError(f"unknown SV weighting scheme {scheme!r}: expected one of {SCHEMES}")
        if scheme != "lesur":
            return self.with_sv_weights(
                sv_weights(lmax_field=self.lmax_core, lmax_sv=self.lmax_sv, scheme=scheme)
            )
        core = np.asarray(core, dtype=float)
        if core.shape != (self.time_basis.n_functions, self.n_core):
            raise CoefficientShapeError(
                f"core block must have shape {(self.time_basis.n_functions, self.n_core)}, "
                f"got {core.shape}"
            )
        power = np.asarray(self.sv_power(core))
        if np.any(power <= 0):
            raise ValueError("the starting model has zero SV power at some degree")
        weights = sv_weights_from_power(
            power, self.lmax_sv, truncation_variance, representation_scale
        )
        return self.with_sv_weights(np.asarray(weights))

    # ---------------------------------------------------------------- Gauss-Newton pieces
    def frozen_flux_gauss_newton(self, core, toroidal, poloidal, weights=None):
        """Blocks of ``sum_i w_i J_i^T W J_i`` for the frozen-flux residuals.

        ``J_i`` is the Jacobian of ``r_i`` with respect to (core, toroidal, poloidal); the
        Gauss-Newton Hessian of ``Phi_1`` is ``2 lambda_1`` times this. Built from the
        Kronecker structure (time basis x spatial matrices of
        :func:`bayescore.flow.operator.frozen_flux_matrix` and
        :func:`~bayescore.flow.operator.field_matrix`), O(n_nodes n_sv n^2) per node.

        Returns
        -------
        dict
            ``{(site_a, site_b): block}`` for a <= b in (core, poloidal, toroidal), each
            of shape (size_a, size_b) in the row-major flattening of the blocks.
        """
        weights = self._weights(weights)
        w = self.node_weights
        psi, dpsi, phi = self.psi_nodes, self.dpsi_nodes, self.flow_psi_nodes
        g = psi @ core
        t = phi @ toroidal
        s = phi @ poloidal
        eg = frozen_flux_matrix(g, self.lmax_flow, self.lmax_sv).matrix  # (i, n_sv, 2 n_F)
        au = field_matrix((t, s), self.lmax_core, self.lmax_sv)  # (i, n_sv, n_B)
        n_b, n_f = self.n_core, self.n_flow
        wb = weights[:n_b]
        e_w = eg * weights[None, :, None]
        a_w = au * weights[None, :, None]
        pwa = a_w[:, :n_b, :]  # P^T W A_u, (i, n_B, n_B)
        awa = jnp.einsum("isa,isb->iab", au, a_w)
        pwe = e_w[:, :n_b, :]  # P^T W EG, (i, n_B, 2 n_F)
        awe = jnp.einsum("isa,isc->iac", au, e_w)
        ewe = jnp.einsum("isc,isd->icd", eg, e_w)
        n_t, n_tf = psi.shape[1], phi.shape[1]

        def kron(a, b, spatial):
            """sum_i w_i a_ik b_il S_i[x, y] -> (K x, L y) matrix."""
            block = jnp.einsum("i,ik,il,ixy->kxly", w, a, b, spatial)
            return block.reshape(a.shape[1] * spatial.shape[1], b.shape[1] * spatial.shape[2])

        eye_w = jnp.broadcast_to(jnp.diag(wb), (w.shape[0], n_b, n_b))
        cc = kron(dpsi, dpsi, eye_w) + kron(psi, psi, awa)
        cross = kron(dpsi, psi, pwa)
        cc = cc - cross - cross.T
        core_flow = -kron(dpsi, phi, pwe) + kron(psi, phi, awe)  # (N_t n_B, N_tF 2n_F)
        core_flow = core_flow.reshape(n_t * n_b, n_tf, 2, n_f)
        flow_flow = kron(phi, phi, ewe).reshape(n_tf, 2, n_f, n_tf, 2, n_f)
        size_f = n_tf * n_f
        return {
            ("core", "core"): cc,
            ("core", "toroidal"): core_flow[:, :, 0, :].reshape(n_t * n_b, size_f),
            ("core", "poloidal"): core_flow[:, :, 1, :].reshape(n_t * n_b, size_f),
            ("toroidal", "toroidal"): flow_flow[:, 0, :, :, 0, :].reshape(size_f, size_f),
            ("poloidal", "toroidal"): flow_flow[:, 1, :, :, 0, :].reshape(size_f, size_f),
            ("poloidal", "poloidal"): flow_flow[:, 1, :, :, 1, :].reshape(size_f, size_f),
        }


jax.tree_util.register_dataclass(
    CoestimationProblem,
    data_fields=[
        "data", "core_sd", "static_sd", "external_sd", "bias_sd", "nodes", "node_weights",
        "psi_nodes", "dpsi_nodes", "flow_psi_nodes", "flow_gram", "flow_gram_rate",
        "space_weights", "time_weights", "sv_weights", "roughness_weights", "roughness_gram",
        "roughness_ends",
    ],
    meta_fields=[
        "lmax_core", "lmax_static", "lmax_flow", "lmax_sv", "time_basis", "flow_time_basis",
        "norm", "bias_labels",
    ],
)  # fmt: skip


# --------------------------------------------------------------------------------------
# building the problem from a data set
# --------------------------------------------------------------------------------------


def _data_arrays(dataset, span):
    required = ("t", "r", "theta", "phi", "component", "value", "sigma")
    missing = [name for name in required if name not in dataset]
    if missing:
        raise ValueError(
            f"the data set lacks the variable(s) {missing}; expected the long format of "
            "bayescore.synthetic.make_dataset (one scalar datum per row)"
        )
    arrays = {name: np.asarray(dataset[name].values) for name in required}
    n = arrays["value"].shape[0]
    for name, array in arrays.items():
        if array.shape != (n,):
            raise CoefficientShapeError(
                f"data variable {name!r} has shape {array.shape}, expected ({n},)"
            )
        if name != "component" and not np.all(np.isfinite(array.astype(float))):
            raise NonFiniteError(f"data variable {name!r} contains NaN or infinite values")
    if n == 0:
        raise ValueError("the data set is empty")
    component = arrays["component"].astype(int)
    if np.any((component < 0) | (component > 2)):
        raise ValueError("component codes must be 0 (B_r), 1 (B_theta) or 2 (B_phi)")
    arrays["component"] = component
    if np.any(arrays["sigma"] <= 0):
        raise ValueError("sigma must be positive (nT)")
    if np.any(arrays["r"] <= 0):
        raise ValueError("r must be a positive radius in km")
    if "source" in dataset:
        source = np.asarray(dataset["source"].values).astype(str)
        arrays["source"] = np.where(source == "observatory", 1, 0)
    else:
        arrays["source"] = np.zeros(n, dtype=int)
    arrays["site"] = np.full(n, -1)
    for name in ("site_index", "site"):
        if name in dataset and dataset[name].dims == ("datum",):
            arrays["site"] = np.asarray(dataset[name].values).astype(int)
            break
    span.check_times(arrays["t"], "data times")
    return arrays


def _core_prior_sd(lmax: int, power: float) -> np.ndarray:
    degree = degree_order_arrays(lmax)[0].astype(float)
    return np.sqrt(power / ((degree + 1) * (2 * degree + 1))) * (_C / _A) ** (degree + 2)


def build_problem(
    dataset,
    lmax_core: int = 14,
    time_basis: TimeBasis | None = None,
    lmax_flow: int | None = 14,
    flow_time_basis: TimeBasis | None = None,
    *,
    span=None,
    n_time: int = 5,
    lmax_static: int | None = None,
    external: bool = False,
    observatory_biases: bool = False,
    likelihood: str = "gaussian",
    student_t_dof: float = 4.0,
    norm: str = "strong",
    lmax_sv: int | None = None,
    frozen_flux_nodes=None,
    core_prior_power: float = 1.0e13,
    lithosphere_prior_power: float = 1.0e3,
    external_prior_sd: float = 100.0,
    bias_prior_sd: float = 1000.0,
    chunk_size: int = 2048,
) -> CoestimationProblem:
    """Precompute everything the co-estimation and USN models need from a data set.

    Parameters
    ----------
    dataset : xarray.Dataset
        Long-format vector data (:func:`bayescore.synthetic.make_dataset`): per datum
        ``t`` (decimal years), ``r`` (km), ``theta``, ``phi`` (rad), ``component`` (0 =
        B_r, 1 = B_theta, 2 = B_phi), ``value`` and ``sigma`` (nT); optional ``source``
        ("satellite"/"observatory") and ``site`` (observatory index, -1 otherwise).
    lmax_core : int, default 14
        L_B, degree of the time-dependent core field.
    time_basis : TimeBasis, optional
        Time basis of the core field; default Legendre polynomials with ``n_time`` terms
        on ``span``.
    lmax_flow : int or None, default 14
        L_F; None or 0 for a field-only problem (USN).
    flow_time_basis : TimeBasis, optional
        Time basis of the flow (default: the core's).
    span : (float, float), optional
        Model span (default: the data's time range).
    n_time : int, default 5
        N_t of the default Legendre basis.
    lmax_static : int, optional
        Degree L_static > L_B of a static internal field (paper: 20).
    external : bool, default False
        Model a static external degree-1 field.
    observatory_biases : bool, default False
        Model a static offset per observatory and component.
    likelihood : {"gaussian", "laplace", "student-t"}
        Data noise model; ``sigma`` is its scale parameter.
    student_t_dof : float, default 4
    norm : {"strong", "weak", "energy"}
        Spatial flow norm (paper eq. 21 strong, eq. 22 weak; or the kinetic energy).
    lmax_sv : int, optional
        Degree L_SV of the frozen-flux equations (default L_B + L_F, the band limit of
        the product; L_B keeps only the modelled SV degrees).
    frozen_flux_nodes : (array_like, array_like), optional
        Times (decimal years) and weights (years) of the frozen-flux quadrature instead
        of the exact Gauss-Legendre rule.
    core_prior_power, lithosphere_prior_power : float
        Spectra (nT^2 per degree) of the broad field priors (module notes).
    external_prior_sd, bias_prior_sd : float
        Prior standard deviations (nT).
    chunk_size : int, default 2048
        Data rows per design chunk.

    Returns
    -------
    CoestimationProblem

    Raises
    ------
    ValueError
        Unknown likelihood or norm, bad sizes, missing data variables, sigma <= 0.
    EpochOutOfRangeError
        Data outside the model span.
    NonFiniteError
        NaN in the data.
    """
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    if norm not in NORMS:
        raise ValueError(f"unknown flow norm {norm!r}: expected one of {sorted(NORMS)}")
    lmax_core = int(lmax_core)
    n_core = n_coefficients(lmax_core)
    lmax_flow = int(lmax_flow or 0)
    if lmax_flow < 0:
        raise ValueError(f"lmax_flow must be >= 0, got {lmax_flow}")
    lmax_static_ = lmax_core if lmax_static is None else int(lmax_static)
    if lmax_static_ < lmax_core:
        raise ValueError(f"lmax_static={lmax_static_} must exceed lmax_core={lmax_core}")
    if time_basis is None:
        if span is None:
            times = np.asarray(dataset["t"].values, dtype=float)
            if times.size == 0 or not np.all(np.isfinite(times)):
                raise NonFiniteError("data times must be finite to infer the model span")
            span = (float(times.min()), float(times.max()))
        time_basis = legendre_time_basis(span, n_time)
    if not isinstance(time_basis, TimeBasis):
        raise TypeError(f"time_basis must be a TimeBasis, got {type(time_basis).__name__}")
    if lmax_flow and flow_time_basis is None:
        flow_time_basis = time_basis
    if flow_time_basis is not None and tuple(flow_time_basis.span) != tuple(time_basis.span):
        raise ValueError("the flow's time basis must cover the same span as the field's")
    chunk_size = int(chunk_size)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")

    arrays = _data_arrays(dataset, time_basis)
    n_data = arrays["value"].size

    # ---- field blocks and data design
    shapes = {"core": (time_basis.n_functions, n_core)}
    if lmax_static_ > lmax_core:
        shapes["static"] = (n_coefficients(lmax_static_) - n_core,)
    if external:
        shapes["external"] = (3,)
    bias_index = np.full(n_data, -1)
    bias_labels: tuple[str, ...] = ()
    if observatory_biases:
        site = arrays["site"]
        if np.all(site < 0):
            raise ValueError("observatory_biases=True but the data set has no observatory data")
        n_sites = int(site.max()) + 1
        shapes["bias"] = (3 * n_sites,)
        bias_index = np.where(site >= 0, 3 * site + arrays["component"], -1)
        codes = np.array([f"site{k}" for k in range(n_sites)])
        for name in ("site_code", "site"):
            if name in dataset.variables and dataset[name].dims == ("site",):
                codes = np.asarray(dataset[name].values).astype(str)
                break
        bias_labels = tuple(
            f"{codes[k]}_{c}" for k in range(n_sites) for c in ("B_r", "B_theta", "B_phi")
        )
    layout = BlockLayout.from_shapes(shapes)
    ext_columns = (
        _external_columns(arrays["theta"], arrays["phi"]) if external else np.zeros((n_data, 0, 0))
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
        lmax_internal=lmax_static_,
        n_core=n_core,
        time_basis=time_basis,
        chunk_size=min(chunk_size, n_data),
    )

    # ---- priors of the field blocks
    core_sd = np.broadcast_to(
        _core_prior_sd(lmax_core, core_prior_power), (time_basis.n_functions, n_core)
    ).copy()
    if "static" in shapes:
        degree = degree_order_arrays(lmax_static_)[0][n_core:].astype(float)
        static_sd = np.sqrt(lithosphere_prior_power / ((degree + 1) * (2 * degree + 1)))
    else:
        static_sd = np.zeros(0)
    prior_precision = {
        "core": 1.0 / core_sd**2,
        "static": 1.0 / static_sd**2,
        "external": np.full(3, 1.0 / external_prior_sd**2),
        "bias": np.full(shapes.get("bias", (0,))[0], 1.0 / bias_prior_sd**2),
    }

    # ---- normal equations (two passes: at zero, then exactly at a damped LS solution)
    hessian, gradient0, _ = data.normal_equations()
    diag_prior = np.concatenate([prior_precision[name].ravel() for name in layout.names])
    x_ref = jnp.linalg.solve(hessian + jnp.diag(jnp.asarray(diag_prior)), gradient0)
    _, gradient_ref, chi2_ref = _rhs_at(data, x_ref)
    data = dataclasses.replace(
        data,
        hessian=hessian if likelihood == "gaussian" else None,
        gradient_ref=gradient_ref if likelihood == "gaussian" else None,
        chi2_ref=chi2_ref if likelihood == "gaussian" else None,
        x_ref=x_ref,
    )
    if likelihood != "gaussian":
        data = _with_compact_design(data)

    # ---- flow and frozen-flux quadrature
    if lmax_flow:
        lmax_sv_ = lmax_core + lmax_flow if lmax_sv is None else int(lmax_sv)
        if lmax_sv_ < lmax_core:
            raise ValueError(f"lmax_sv={lmax_sv_} is below lmax_core={lmax_core}")
        if frozen_flux_nodes is None:
            degree = 2 * (time_basis.piece_degree + flow_time_basis.piece_degree)
            breaks = np.union1d(time_basis.breaks, flow_time_basis.breaks)
            nodes, node_weights = time_basis.quadrature(degree, breaks)
        else:
            nodes, node_weights = (
                np.atleast_1d(np.asarray(v, dtype=float)) for v in frozen_flux_nodes
            )
            if nodes.shape != node_weights.shape or nodes.ndim != 1:
                raise CoefficientShapeError(
                    "frozen_flux_nodes must be two 1-D arrays of equal length"
                )
            if np.any(node_weights <= 0):
                raise ValueError("frozen-flux node weights must be positive (years)")
            time_basis.check_times(nodes, "frozen-flux nodes")
        flow_psi = np.asarray(flow_time_basis(nodes))
        flow_gram = flow_time_basis.gram(0)
        flow_gram_rate = flow_time_basis.gram(1)
        space_w = coefficient_weights(lmax_flow, norm)
        time_w = temporal_weights(lmax_flow)
    else:
        lmax_sv_ = lmax_core
        nodes, node_weights = time_basis.quadrature(2 * time_basis.piece_degree)
        flow_psi = np.zeros((nodes.size, 0))
        flow_gram = flow_gram_rate = np.zeros((0, 0))
        space_w = time_w = np.zeros(0)

    degree_b = degree_order_arrays(lmax_core)[0].astype(float)
    roughness_w = (degree_b + 1) ** 2 * (_A / _C) ** (2 * degree_b + 4) / (2 * degree_b + 1)
    return CoestimationProblem(
        data=data,
        core_sd=jnp.asarray(core_sd),
        static_sd=jnp.asarray(static_sd),
        external_sd=jnp.full(3 if external else 0, float(external_prior_sd)),
        bias_sd=jnp.full(shapes.get("bias", (0,))[0], float(bias_prior_sd)),
        nodes=jnp.asarray(nodes),
        node_weights=jnp.asarray(node_weights),
        psi_nodes=jnp.asarray(time_basis(nodes)),
        dpsi_nodes=jnp.asarray(time_basis(nodes, 1)),
        flow_psi_nodes=jnp.asarray(flow_psi),
        flow_gram=jnp.asarray(flow_gram),
        flow_gram_rate=jnp.asarray(flow_gram_rate),
        space_weights=jnp.asarray(space_w),
        time_weights=jnp.asarray(time_w),
        sv_weights=None,
        roughness_weights=jnp.asarray(roughness_w),
        roughness_gram=jnp.asarray(time_basis.gram(2)),
        roughness_ends=jnp.asarray(time_basis.endpoint_outer(2)),
        lmax_core=lmax_core,
        lmax_static=lmax_static_,
        lmax_flow=lmax_flow,
        lmax_sv=lmax_sv_,
        time_basis=time_basis,
        flow_time_basis=flow_time_basis if lmax_flow else None,
        norm=norm,
        bias_labels=bias_labels,
    )


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


# --------------------------------------------------------------------------------------
# model building blocks and the co-estimation model
# --------------------------------------------------------------------------------------


def damping(name: str, value, hyperpriors):
    """A damping: the fixed ``value`` or a log-uniform hyperprior sample site ``name``.

    ``hyperpriors`` maps damping names to ``(low, high)`` bounds (same units as the
    damping); a name present there gets ``numpyro.sample(name, LogUniform(low, high))``.
    """
    if hyperpriors and name in hyperpriors:
        low, high = (float(v) for v in hyperpriors[name])
        if not (0 < low < high):
            raise ValueError(
                f"hyperprior bounds of {name} must satisfy 0 < low < high, got {(low, high)}"
            )
        return numpyro.sample(name, dist.LogUniform(low, high))
    if not isinstance(value, jax.core.Tracer):  # a concrete value: check it here
        number = np.asarray(value, dtype=float)
        # lambda_time may be 0 (no temporal smoothing: the prior stays proper); the
        # frozen-flux weight and the spatial norm must be positive or the density is improper
        lowest_ok = 0.0 if name == "lambda_time" else np.nextafter(0.0, 1.0)
        if number.ndim != 0 or not np.isfinite(number) or number < lowest_ok:
            need = "non-negative" if name == "lambda_time" else "positive"
            raise ValueError(f"{name} must be a {need} finite number, got {value!r}")
    return jnp.asarray(value, dtype=float)


def site(name: str, prior, fixed):
    """Sample site ``name`` from ``prior`` unless ``fixed`` holds its value."""
    if fixed and name in fixed:
        return jnp.asarray(fixed[name], dtype=float)
    return numpyro.sample(name, prior)


def factor(name: str, log_factor, **gauss_newton):
    """``numpyro.factor`` that also records metadata for the Gauss-Newton solver.

    The metadata (e.g. ``kind="frozen_flux", scale=lambda_1``) is stored in the site's
    ``infer["bayescore"]`` entry, read by :mod:`bayescore.infer.gauss_newton`.
    """
    unit = dist.Unit(log_factor)
    numpyro.sample(
        name, unit, obs=unit.sample(None), infer={"is_auxiliary": True, "bayescore": gauss_newton}
    )


def field_sites(problem: CoestimationProblem, fixed=None, core_prior=None) -> dict:
    """Sample (or take from ``fixed``) the field blocks and add the data likelihood."""
    priors = {
        "core": (lambda: core_prior) if core_prior is not None else problem.core_prior,
        "static": problem.static_prior,
        "external": problem.external_prior,
        "bias": problem.bias_prior,
    }
    values = {name: site(name, priors[name](), fixed) for name in problem.field_sites}
    if not (fixed and all(name in fixed for name in problem.field_sites)):
        factor(
            "data",
            problem.data.log_likelihood(problem.field_vector(values)),
            kind="data",
        )
    return values


def coestimation_model(
    problem: CoestimationProblem,
    lambda_frozen_flux=DEFAULT_DAMPINGS["lambda_frozen_flux"],
    lambda_space=None,
    lambda_time=DEFAULT_DAMPINGS["lambda_time"],
    *,
    hyperpriors: dict | None = None,
    fixed: dict | None = None,
):
    """NumPyro model of the core field and flow co-estimation (BSN/WSN of Lesur et al.).

    Parameters
    ----------
    problem : CoestimationProblem
        From :func:`build_problem` (with a flow) and SV weights set
        (:meth:`CoestimationProblem.with_lesur_weights`).
    lambda_frozen_flux : float, default 1e4
        lambda_1 of the frozen-flux term, 1/yr (W a precision in (nT/yr)^-2 and node
        weights in years: Phi_1 = lambda_1 sum_i w_i r_i^T W r_i).
    lambda_space : float, optional
        lambda_2 (B or W) of the spatial flow norm integrated over the span; default
        from :data:`DEFAULT_DAMPINGS` for the problem's norm.
    lambda_time : float, default 1e-8
        lambda_3 of the temporal flow norm, yr^3/km^4.
    hyperpriors : dict, optional
        ``{"lambda_frozen_flux" | "lambda_space" | "lambda_time": (low, high)}``: replace
        the fixed damping by a log-uniform hyperprior on [low, high].
    fixed : dict, optional
        Site values held fixed (not sampled), e.g. ``{"core": ...}`` for the linear flow
        problem with a known field. A fully fixed field drops the (constant) data term.

    Notes
    -----
    Sites: ``core``, optional ``static``, ``external``, ``bias``, ``toroidal``,
    ``poloidal`` (and the dampings given hyperpriors); factors ``data`` and
    ``frozen_flux``. See the module docstring for the density.
    """
    if not problem.has_flow:
        raise ValueError("the problem has no flow (lmax_flow=0): use bayescore.models.usn_model")
    if lambda_space is None:
        lambda_space = DEFAULT_DAMPINGS["lambda_space"][problem.norm]
    lam_ff = damping("lambda_frozen_flux", lambda_frozen_flux, hyperpriors)
    lam_space = damping("lambda_space", lambda_space, hyperpriors)
    lam_time = damping("lambda_time", lambda_time, hyperpriors)
    values = field_sites(problem, fixed)
    flow_prior = problem.flow_prior(lam_space, lam_time)
    toroidal = site("toroidal", flow_prior, fixed)
    poloidal = site("poloidal", flow_prior, fixed)
    factor(
        "frozen_flux",
        problem.frozen_flux_log_factor(values["core"], toroidal, poloidal, lam_ff),
        kind="frozen_flux",
        scale=lam_ff,
    )


def frozen_flux_ratio(problem: CoestimationProblem, core, toroidal, poloidal):
    """Lesur's ratio rho = Phi_1(g, u) / Phi_1(g, u = 0) (paper eq. 31).

    The share of the (weighted, time-integrated) SV that the flow does not explain;
    lambda_1 cancels. Below 1e-9 the paper calls a model frozen-flux compliant.

    Parameters
    ----------
    problem : CoestimationProblem
        With SV weights set.
    core : array_like, shape (..., N_t, L_B(L_B+2))
    toroidal, poloidal : array_like, shape (..., N_tF, L_F(L_F+2))
        Leading dimensions (e.g. chains and draws) are mapped over.

    Returns
    -------
    jax.Array, shape (...)
    """
    core = jnp.asarray(core)
    return _frozen_flux_ratio(
        problem, core, jnp.asarray(toroidal), jnp.asarray(poloidal), n_batch=core.ndim - 2
    )


@partial(jax.jit, static_argnames="n_batch")
def _frozen_flux_ratio(problem, core, toroidal, poloidal, *, n_batch: int):
    """Compiled once per problem structure and batch rank (the problem is a pytree)."""

    def one(c, t, s):
        return problem.frozen_flux_misfit(c, t, s) / problem.frozen_flux_misfit(
            c, jnp.zeros_like(t), jnp.zeros_like(s)
        )

    fn = one
    for _ in range(n_batch):
        fn = jax.vmap(fn)
    return fn(core, toroidal, poloidal)
