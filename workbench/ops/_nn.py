"""Neural-network functions: activations, softmax, cross-entropies, one_hot, moments, top_k."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from workbench import config
from workbench.ops._core import Axis, DType, _check_axis, _float_input, convert_to_tensor, standardize_dtype


def relu(x: ArrayLike) -> jax.Array:
    """max(x, 0)."""
    return jax.nn.relu(convert_to_tensor(x))


def relu6(x: ArrayLike) -> jax.Array:
    """min(max(x, 0), 6)."""
    return jax.nn.relu6(convert_to_tensor(x))


def sigmoid(x: ArrayLike) -> jax.Array:
    """1 / (1 + exp(-x))."""
    return jax.nn.sigmoid(convert_to_tensor(x))


def tanh(x: ArrayLike) -> jax.Array:
    """The hyperbolic tangent of x."""
    return jnp.tanh(_float_input(x))


def softplus(x: ArrayLike) -> jax.Array:
    """log(1 + exp(x)), computed stably."""
    return jax.nn.softplus(convert_to_tensor(x))


def softsign(x: ArrayLike) -> jax.Array:
    """x / (|x| + 1)."""
    return jax.nn.soft_sign(convert_to_tensor(x))


def silu(x: ArrayLike) -> jax.Array:
    """x * sigmoid(x) (also called swish)."""
    return jax.nn.silu(convert_to_tensor(x))


swish = silu


def log_sigmoid(x: ArrayLike) -> jax.Array:
    """log(sigmoid(x)), computed stably."""
    return jax.nn.log_sigmoid(convert_to_tensor(x))


def leaky_relu(x: ArrayLike, negative_slope: float = 0.2) -> jax.Array:
    """x for x >= 0, negative_slope * x otherwise."""
    return jax.nn.leaky_relu(convert_to_tensor(x), negative_slope=negative_slope)


def hard_sigmoid(x: ArrayLike) -> jax.Array:
    """relu6(x + 3) / 6, a piecewise-linear sigmoid."""
    return jax.nn.hard_sigmoid(convert_to_tensor(x))


def hard_silu(x: ArrayLike) -> jax.Array:
    """x * hard_sigmoid(x) (also called hard_swish)."""
    return jax.nn.hard_silu(convert_to_tensor(x))


hard_swish = hard_silu


def elu(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return jax.nn.elu(convert_to_tensor(x), alpha=alpha)


def selu(x: ArrayLike) -> jax.Array:
    """Scaled ELU with the self-normalizing constants (alpha=1.6733, scale=1.0507)."""
    return jax.nn.selu(convert_to_tensor(x))


def gelu(x: ArrayLike, approximate: bool = True) -> jax.Array:
    """Gaussian error linear unit; the tanh approximation by default, as `keras.ops.gelu`."""
    return jax.nn.gelu(convert_to_tensor(x), approximate=approximate)


def celu(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """x for x >= 0, alpha * (exp(x / alpha) - 1) otherwise."""
    return jax.nn.celu(convert_to_tensor(x), alpha=alpha)


def glu(x: ArrayLike, axis: int = -1) -> jax.Array:
    """a * sigmoid(b), where a and b are the two halves of x along `axis`."""
    x = convert_to_tensor(x)
    _check_axis(x, axis, "glu")
    if x.shape[axis] % 2:
        raise ValueError(f"glu splits axis {axis} in half, so it must have even length; got shape {x.shape}.")
    return jax.nn.glu(x, axis=axis)


def _warn_if_size_one(x: jax.Array, axis: Axis, fn: str) -> None:
    if isinstance(axis, int) and x.shape[axis] == 1:
        warnings.warn(
            f"{fn} over axis {axis} of shape {x.shape} always returns {'1' if fn == 'softmax' else '0'}: "
            "that axis has size 1. Did you mean sigmoid?",
            stacklevel=3,
        )


def softmax(x: ArrayLike, axis: Axis = -1) -> jax.Array:
    """exp(x) / sum(exp(x)) along `axis` (an int or a tuple of ints)."""
    x = convert_to_tensor(x)
    _check_axis(x, axis, "softmax")
    _warn_if_size_one(x, axis, "softmax")
    return jax.nn.softmax(x, axis=axis)


def log_softmax(x: ArrayLike, axis: Axis = -1) -> jax.Array:
    """x - logsumexp(x) along `axis` (an int or a tuple of ints)."""
    x = convert_to_tensor(x)
    _check_axis(x, axis, "log_softmax")
    _warn_if_size_one(x, axis, "log_softmax")
    return jax.nn.log_softmax(x, axis=axis)


def binary_crossentropy(target: ArrayLike, output: ArrayLike, from_logits: bool = False) -> jax.Array:
    """Elementwise binary cross-entropy between targets in [0, 1] and probabilities (or logits)."""
    target, output = convert_to_tensor(target), convert_to_tensor(output)
    if target.shape != output.shape:
        raise ValueError(
            f"binary_crossentropy expects target and output of one shape; "
            f"got target.shape={target.shape}, output.shape={output.shape}."
        )
    if from_logits:
        return -target * jax.nn.log_sigmoid(output) - (1.0 - target) * jax.nn.log_sigmoid(-output)
    eps = config.epsilon()
    output = jnp.clip(output, eps, 1.0 - eps)
    return -(target * jnp.log(output) + (1.0 - target) * jnp.log(1.0 - output))


def _log_probs(output: jax.Array, from_logits: bool, axis: int) -> jax.Array:
    if from_logits:
        return jax.nn.log_softmax(output, axis=axis)
    # Keras renormalizes probabilities and clips them away from 0 and 1 before the log.
    eps = config.epsilon()
    output = output / jnp.sum(output, axis, keepdims=True)
    return jnp.log(jnp.clip(output, eps, 1.0 - eps))


def categorical_crossentropy(
    target: ArrayLike, output: ArrayLike, from_logits: bool = False, axis: int = -1
) -> jax.Array:
    """Cross-entropy between one-hot (or soft) targets and probabilities (or logits) along `axis`."""
    target, output = convert_to_tensor(target), convert_to_tensor(output)
    if target.shape != output.shape or target.ndim < 1:
        raise ValueError(
            "categorical_crossentropy expects target and output of one shape with at least one axis; "
            f"got target.shape={target.shape}, output.shape={output.shape}. "
            "For integer labels use sparse_categorical_crossentropy."
        )
    return -jnp.sum(target * _log_probs(output, from_logits, axis), axis=axis)


def sparse_categorical_crossentropy(
    target: ArrayLike, output: ArrayLike, from_logits: bool = False, axis: int = -1
) -> jax.Array:
    """Cross-entropy between integer class labels and probabilities (or logits) along `axis`."""
    target, output = convert_to_tensor(target, dtype="int32"), convert_to_tensor(output)
    if target.ndim == output.ndim and target.ndim > 0 and target.shape[-1] == 1:
        target = jnp.squeeze(target, axis=-1)
    if output.ndim < 1 or target.shape != output.shape[:-1]:
        raise ValueError(
            "sparse_categorical_crossentropy expects integer labels shaped like output without its last "
            f"(class) axis; got target.shape={target.shape}, output.shape={output.shape}. "
            "For one-hot targets use categorical_crossentropy."
        )
    log_probs = _log_probs(output, from_logits, axis)
    labels = jax.nn.one_hot(target, output.shape[axis], axis=axis)
    return -jnp.sum(labels * log_probs, axis=axis)


# --------------------------------------------------------------------------- labels, statistics & ranking


def one_hot(
    x: ArrayLike, num_classes: int, axis: int = -1, dtype: DType = None, sparse: bool = False
) -> jax.Array:
    """Integer labels `x` as one-hot vectors of length `num_classes` (floatx by default)."""
    if sparse:
        raise ValueError("one_hot(sparse=True) is not supported: workbench arrays are always dense.")
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"one_hot expects num_classes to be a positive int; got {num_classes!r}.")
    return jax.nn.one_hot(convert_to_tensor(x), int(num_classes), axis=axis, dtype=standardize_dtype(dtype))


def moments(
    x: ArrayLike, axes: Sequence[int] | int, keepdims: bool = False, synchronized: bool = False
) -> tuple[jax.Array, jax.Array]:
    """(mean, variance) of `x` over `axes`; half precision is computed in float32."""
    if synchronized:
        raise NotImplementedError(
            "moments(synchronized=True) needs a multi-device strategy; workbench has none."
        )
    x = convert_to_tensor(x)
    original = x.dtype
    half = original in (jnp.float16, jnp.bfloat16)
    if half:
        x = x.astype("float32")
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else axes
    m = jnp.mean(x, axis=axes, keepdims=keepdims)
    v = jnp.var(x, axis=axes, keepdims=keepdims)
    if half:
        big = jnp.finfo(jnp.float16).max  # keep values representable, as Keras does
        m, v = jnp.clip(m, -big, big).astype(original), jnp.clip(v, -big, big).astype(original)
    return m, v


def top_k(x: ArrayLike, k: int, sorted: bool = True) -> tuple[jax.Array, jax.Array]:
    """(values, indices) of the `k` largest entries along the last axis, largest first."""
    x = convert_to_tensor(x)
    if x.ndim == 0 or not 0 <= k <= x.shape[-1]:
        raise ValueError(
            "top_k expects 0 <= k <= x.shape[-1] on an array with at least one axis; "
            f"got k={k} for shape {x.shape}."
        )
    return jax.lax.top_k(x, k)


def in_top_k(targets: ArrayLike, predictions: ArrayLike, k: int) -> jax.Array:
    """Whether each target's prediction ranks within the top `k` (ties count in its favour)."""
    targets, predictions = convert_to_tensor(targets), convert_to_tensor(predictions)
    at_label = jnp.take_along_axis(predictions, targets[..., None].astype("int32"), axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    rank = 1 + jnp.sum(predictions > at_label, axis=-1)
    return rank <= k
