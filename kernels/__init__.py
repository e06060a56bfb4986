"""Pallas kernels with XLA reference paths, imported as `workbench.kernels` (see kernels/README.md).

>>> from workbench import kernels
>>> out = kernels.attention(q, k, v, causal=True)          # doctest: +SKIP
"""

from workbench.kernels import dispatch
from workbench.kernels.attention import attention
from workbench.kernels.cross_entropy import linear_softmax_cross_entropy
from workbench.kernels.matmul import matmul
from workbench.kernels.norms import layer_norm, rms_norm

__all__ = ["attention", "dispatch", "layer_norm", "linear_softmax_cross_entropy", "matmul", "rms_norm"]
