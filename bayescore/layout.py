"""Named array blocks packed into one flat parameter vector (NumPyro's ravel order).

:class:`BlockLayout` packs named blocks into one flat vector in **sorted name order**, the
order in which :func:`jax.flatten_util.ravel_pytree` (and hence NumPyro's
``initialize_model``) flattens a dict of sample sites, so that a flat parameter vector here
and NumPyro's unconstrained vector of real-valued sites coincide. The models use it for
their field vector, the inference drivers (:mod:`bayescore.infer.layout`) for the flat
parameter vector of any model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import jax.numpy as jnp
import numpy as np

from bayescore.errors import CoefficientShapeError

__all__ = ["BlockLayout"]


@dataclass(frozen=True)
class BlockLayout:
    """Named array blocks packed into one flat vector, in sorted name order.

    Attributes
    ----------
    blocks : tuple of (str, tuple of int)
        Block names and shapes, sorted by name (the flattening order of
        :func:`jax.flatten_util.ravel_pytree` for a dict).
    """

    blocks: tuple[tuple[str, tuple[int, ...]], ...]

    @classmethod
    def from_shapes(cls, shapes: dict) -> BlockLayout:
        """Layout from a mapping of block names to shapes."""
        return cls(tuple((name, tuple(int(d) for d in shapes[name])) for name in sorted(shapes)))

    @property
    def names(self) -> tuple[str, ...]:
        """Block names in packing order."""
        return tuple(name for name, _ in self.blocks)

    @cached_property
    def _offsets(self) -> dict:
        offsets, start = {}, 0
        for name, shape in self.blocks:
            size = int(np.prod(shape, dtype=int))
            offsets[name] = (start, start + size)
            start += size
        return offsets

    @property
    def size(self) -> int:
        """Total length of the flat vector."""
        return sum(int(np.prod(shape, dtype=int)) for _, shape in self.blocks)

    def shape(self, name: str) -> tuple[int, ...]:
        """Shape of block ``name``."""
        return dict(self.blocks)[name]

    def slice(self, name: str) -> slice:
        """Positions of block ``name`` in the flat vector."""
        start, stop = self._offsets[name]
        return slice(start, stop)

    def indices(self, names) -> np.ndarray:
        """Flat positions of the blocks ``names`` (in the given order), concatenated."""
        return np.concatenate([np.arange(*self._offsets[name]) for name in names]).astype(int)

    def pack(self, values: dict):
        """Flat vector from a dict of block values (missing blocks raise KeyError)."""
        parts = []
        for name, shape in self.blocks:
            value = jnp.asarray(values[name], dtype=float)
            if value.shape != shape:
                raise CoefficientShapeError(
                    f"block {name!r} has shape {value.shape}, expected {shape}"
                )
            parts.append(value.reshape(-1))
        return jnp.concatenate(parts) if parts else jnp.zeros(0)

    def unpack(self, flat) -> dict:
        """Dict of block values from a flat vector (leading batch dims allowed)."""
        flat = jnp.asarray(flat)
        if flat.shape[-1] != self.size:
            raise CoefficientShapeError(
                f"flat vector has {flat.shape[-1]} entries, layout needs {self.size}"
            )
        lead = flat.shape[:-1]
        return {
            name: flat[..., self.slice(name)].reshape(lead + shape) for name, shape in self.blocks
        }
