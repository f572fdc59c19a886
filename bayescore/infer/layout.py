"""Flat parameter layout of the inference drivers.

The drivers of :mod:`bayescore.infer` flatten a model's sample sites into one vector with
:class:`BlockLayout` (sites in sorted name order, NumPyro's ravel order). The class is
defined in :mod:`bayescore.layout`, below the models, which use it for their own flat
vectors (the field vector of :class:`bayescore.models.FieldData`); this module is its
place in the inference layer.
"""

from bayescore.layout import BlockLayout

__all__ = ["BlockLayout"]
