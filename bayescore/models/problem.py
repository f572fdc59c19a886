"""The co-estimation problem: everything the NumPyro models need, precomputed from data.

A :class:`CoestimationProblem` (built by :func:`bayescore.models.build_problem`) holds the
data term (:class:`~bayescore.models.FieldData`: design and normal equations), the broad
field priors, the frozen-flux quadrature in time and the flow-norm weights; it is a JAX
pytree passed to :func:`bayescore.models.coestimation_model` and
:func:`~bayescore.models.usn_model`. Equations: Lesur et al. (2010), Earth Planets
Space 62, 503 (frozen-flux residual eqs. 15 and 18, flow norms eqs. 21-23, SV weights
eqs. 24-29, the ratio rho eq. 31); the density is described in
:mod:`bayescore.models.coestimation`.

The problem also provides the hooks of :func:`bayescore.infer.gauss_newton_map` (the
data normal matrix, the Gauss-Newton blocks of its factors, rho per iteration) and the
labels of labelled outputs (:meth:`CoestimationProblem.site_labels`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from bayescore.coestimation_settings import LIKELIHOODS
from bayescore.errors import CoefficientShapeError, ModelConfigError, NonFiniteError
from bayescore.flow.operator import field_matrix, frozen_flux_matrix, sv_from_flow
from bayescore.flow.weights import SCHEMES, sv_degree_power, sv_weights, sv_weights_from_power
from bayescore.layout import BlockLayout
from bayescore.models.field_data import FieldData
from bayescore.models.parametrisation import TimeBlockGaussian, flow_labels, gauss_labels
from bayescore.sh.indexing import n_coefficients
from bayescore.timebasis import TimeBasis

__all__ = [
    "FIELD_SITES",
    "FLOW_SITES",
    "LIKELIHOODS",
    "CoestimationProblem",
    "frozen_flux_ratio",
]

#: Sample sites of the field (in packing order) and of the flow.
FIELD_SITES = ("bias", "core", "external", "static")
FLOW_SITES = ("poloidal", "toroidal")


@dataclass(frozen=True)
class CoestimationProblem:
    """Precomputed arrays of the co-estimation (and USN) models; a JAX pytree.

    Build it with :func:`bayescore.models.build_problem`; set the frozen-flux SV weights with
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

    def units(self) -> dict:
        """Units of the sample sites and of the dampings (``units`` attributes of outputs).

        The field blocks hold Gauss coefficients (at a = 6371.2 km) multiplying the
        dimensionless time-basis functions, so they are in nT (their k-th time derivatives
        in nT/yr^k); the flow blocks are in km/yr. The dampings' units are those of
        :data:`bayescore.models.DEFAULT_DAMPINGS` and
        :data:`~bayescore.models.DEFAULT_USN_DAMPINGS`.
        """
        units = {name: "nT" for name in self.field_sites}
        if self.has_flow:
            units.update({name: "km/yr" for name in FLOW_SITES})
        units.update(
            {
                "lambda_frozen_flux": "1/yr",
                "lambda_space": "yr" if self.norm == "strong" else "yr/km^2",
                "lambda_time": "yr^3/km^4",
                "lambda_span": "yr^3/nT^2",
                "lambda_ends": "yr^4/nT^2",
            }
        )
        return units

    def site_labels(self) -> dict:
        """Coordinates, dimension names and units of the sample sites, for labelled outputs.

        Returns
        -------
        dict
            ``{"coords": self.coords(), "dims": self.dims(), "units": self.units()}``:
            the keyword arguments of the results' ``to_xarray`` and
            ``to_inference_data`` (:mod:`bayescore.infer`) and of
            :func:`bayescore.infer.run_nuts` (``coords``, ``dims``, ``units``).
        """
        return {"coords": self.coords(), "dims": self.dims(), "units": self.units()}

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
            raise ModelConfigError(
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
            raise ModelConfigError("sv_weights must be positive")
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
            raise ModelConfigError(
                f"unknown SV weighting scheme {scheme!r}: expected one of {SCHEMES}"
            )
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
            raise ModelConfigError("the starting model has zero SV power at some degree")
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

    # ---------------------------------------------------------------- Gauss-Newton hooks
    @property
    def convergence_sites(self) -> tuple[str, ...]:
        """Sites whose relative change stops the Gauss-Newton iterations (the flow).

        Lesur et al. (2010) stop when two successive flows differ little; without a flow
        :func:`bayescore.infer.gauss_newton_map` uses the decrement alone.
        """
        return FLOW_SITES if self.has_flow else ()

    def gauss_newton_precompute(self, values: dict, kinds) -> jax.Array:
        """Host-side part of the Gauss-Newton curvature: the data's normal matrix.

        Parameters
        ----------
        values : dict
            Current site values (sampled and fixed).
        kinds : collection of str
            Kinds of the model's factor sites (:func:`bayescore.models.factor`).

        Returns
        -------
        jax.Array, shape (n_field, n_field)
            ``A^T S^-1 A`` for the Gaussian likelihood (constant), the iteratively
            reweighted ``A^T diag(w) A`` at the current field for the Laplace and
            Student-t likelihoods; an empty array without a ``"data"`` factor.
        """
        if "data" not in kinds:
            return jnp.zeros((0, 0))
        if self.data.likelihood == "gaussian":
            return self.data.hessian
        weights = _irls_weights(self.data, self.field_vector(values))
        hessian, _, _ = self.data.normal_equations(np.asarray(weights))
        return hessian

    def gauss_newton_blocks(self, kind: str, values: dict, precomputed, scale=None) -> dict:
        """Gauss-Newton Hessian blocks of the negative log of a factor site (traceable).

        Parameters
        ----------
        kind : {"data", "frozen_flux"}
            The factor's ``kind`` metadata.
        values : dict
            Site values (sampled and fixed).
        precomputed : jax.Array
            :meth:`gauss_newton_precompute`'s data normal matrix.
        scale : float, optional
            The frozen-flux damping lambda_1 (the factor's ``scale`` metadata).

        Returns
        -------
        dict
            ``{(site_a, site_b): block}``: the field blocks of the data normal matrix, or
            ``2 lambda_1 sum_i w_i J_i^T W J_i`` (:meth:`frozen_flux_gauss_newton`).
        """
        if kind == "data":
            layout = self.data.layout
            names = layout.names
            return {
                (a, b): precomputed[layout.slice(a), layout.slice(b)]
                for i, a in enumerate(names)
                for b in names[i:]
            }
        if kind == "frozen_flux":
            blocks = self.frozen_flux_gauss_newton(
                values["core"], values["toroidal"], values["poloidal"]
            )
            return {key: (2.0 * scale) * block for key, block in blocks.items()}
        raise ModelConfigError(f"no Gauss-Newton curvature for factors of kind {kind!r}")

    def gauss_newton_monitor(self, values: dict) -> dict:
        """Per-iteration diagnostics of the Gauss-Newton history: rho (paper eq. 31)."""
        if self.sv_weights is None or not {"core", *FLOW_SITES} <= set(values):
            return {}
        return {
            "rho": float(
                frozen_flux_ratio(self, values["core"], values["toroidal"], values["poloidal"])
            )
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


@jax.jit
def _irls_weights(data, x):
    return data.irls_weights(x)


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
