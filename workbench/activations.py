"""Activation functions with the names, arguments and numerics of `keras.activations`.

Layers accept an activation as a function or as its name; `get` turns either
into a function and `serialize` turns a built-in function back into its name,
so a layer's config stays plain JSON.

>>> from workbench import activations
>>> activations.get("relu") is activations.relu
True
>>> activations.serialize(activations.swish)
'silu'
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from workbench import ops

Activation = Callable[..., jax.Array]


def relu(
    x: ArrayLike, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0
) -> jax.Array:
    """max(x, 0); optionally leaky below `threshold` and capped at `max_value`.

    >>> relu([-10.0, -5.0, 0.0, 5.0, 10.0], max_value=5.0).tolist()
    [0.0, 0.0, 0.0, 5.0, 5.0]
    """
    # Same branch structure as Keras' ReLU.static_call, so results agree bit for bit.
    x = ops.convert_to_tensor(x)
    if negative_slope != 0.0:
        if max_value is None and threshold == 0:
            return jax.nn.leaky_relu(x, negative_slope=negative_slope)
        negative_part = jax.nn.relu(-x + threshold) if threshold != 0 else jax.nn.relu(-x)
    clip_max = max_value is not None
    if threshold != 0:
        x = jnp.where(x > jnp.asarray(threshold, x.dtype), x, 0)
    elif max_value == 6:
        x, clip_max = jax.nn.relu6(x), False
    else:
        x = jax.nn.relu(x)
    if clip_max:
        x = jnp.clip(x, jnp.asarray(0.0, x.dtype), jnp.asarray(max_value, x.dtype))
    if negative_slope != 0.0:
        x = x - negative_slope * negative_part
    return x


def leaky_relu(x: ArrayLike, negative_slope: float = 0.2) -> jax.Array:
    """x for x >= 0, negative_slope * x otherwise."""
    return ops.leaky_relu(x, negative_slope=negative_slope)


def relu6(x: ArrayLike) -> jax.Array:
    """min(max(x, 0), 6)."""
    return ops.relu6(x)


def softmax(x: ArrayLike, axis: int | tuple[int, ...] = -1) -> jax.Array:
    """exp(x) / sum(exp(x)) along `axis`; works on inputs of any rank, including 1."""
    return ops.softmax(x, axis=axis)


def log_softmax(x: ArrayLike, axis: int | tuple[int, ...] = -1) -> jax.Array:
    """log(softmax(x)) along `axis`, computed stably."""
    return ops.log_softmax(x, axis=axis)


def elu(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return ops.elu(x, alpha=alpha)


def selu(x: ArrayLike) -> jax.Array:
    """Scaled ELU; pair it with the `lecun_normal` initializer."""
    return ops.selu(x)


def celu(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """x for x >= 0, alpha * (exp(x / alpha) - 1) otherwise."""
    return ops.celu(x, alpha=alpha)


def gelu(x: ArrayLike, approximate: bool = False) -> jax.Array:
    """x * P(N(0, 1) <= x); exact (erf) by default, as `keras.activations.gelu`."""
    # keras.activations.gelu defaults to exact while keras.ops.gelu defaults to the tanh form.
    return ops.gelu(x, approximate=approximate)


def glu(x: ArrayLike, axis: int = -1) -> jax.Array:
    """a * sigmoid(b), where a and b are the two halves of x along `axis`."""
    return ops.glu(x, axis=axis)


def sigmoid(x: ArrayLike) -> jax.Array:
    """1 / (1 + exp(-x))."""
    return ops.sigmoid(x)


def log_sigmoid(x: ArrayLike) -> jax.Array:
    """log(sigmoid(x)), computed stably."""
    return ops.log_sigmoid(x)


def hard_sigmoid(x: ArrayLike) -> jax.Array:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between."""
    return ops.hard_sigmoid(x)


def sparse_sigmoid(x: ArrayLike) -> jax.Array:
    """0 below -1, 1 above 1, (x + 1) / 2 between."""
    return jax.nn.sparse_sigmoid(ops.convert_to_tensor(x))


def silu(x: ArrayLike) -> jax.Array:
    """x * sigmoid(x); also available as `swish`."""
    return ops.silu(x)


swish = silu


def hard_silu(x: ArrayLike) -> jax.Array:
    """x * hard_sigmoid(x); also available as `hard_swish`."""
    return ops.hard_silu(x)


hard_swish = hard_silu


def softplus(x: ArrayLike) -> jax.Array:
    """log(exp(x) + 1)."""
    return ops.softplus(x)


def softsign(x: ArrayLike) -> jax.Array:
    """x / (|x| + 1)."""
    return ops.softsign(x)


def squareplus(x: ArrayLike, b: float = 4) -> jax.Array:
    """(x + sqrt(x**2 + b)) / 2, a smooth relu."""
    return jax.nn.squareplus(ops.convert_to_tensor(x), b=b)


def sparse_plus(x: ArrayLike) -> jax.Array:
    """0 below -1, x above 1, (x + 1)**2 / 4 between."""
    return jax.nn.sparse_plus(ops.convert_to_tensor(x))


def tanh(x: ArrayLike) -> jax.Array:
    """The hyperbolic tangent of x."""
    return ops.tanh(x)


def tanh_shrink(x: ArrayLike) -> jax.Array:
    """x - tanh(x)."""
    x = ops.convert_to_tensor(x)
    return x - jnp.tanh(x)


def hard_tanh(x: ArrayLike) -> jax.Array:
    """x clipped to [-1, 1]."""
    return jax.nn.hard_tanh(ops.convert_to_tensor(x))


def soft_shrink(x: ArrayLike, threshold: float = 0.5) -> jax.Array:
    """x moved `threshold` towards 0, and 0 within [-threshold, threshold]."""
    x = ops.convert_to_tensor(x)
    return jnp.where(x > threshold, x - threshold, jnp.where(x < -threshold, x + threshold, 0.0))


def hard_shrink(x: ArrayLike, threshold: float = 0.5) -> jax.Array:
    """x where |x| > threshold, else 0."""
    x = ops.convert_to_tensor(x)
    return jnp.where(jnp.abs(x) > threshold, x, 0.0)


def threshold(x: ArrayLike, threshold: float, default_value: float) -> jax.Array:
    """x where x > threshold, else default_value."""
    x = ops.convert_to_tensor(x)
    return jnp.where(x > threshold, x, default_value)


def exponential(x: ArrayLike) -> jax.Array:
    """exp(x)."""
    return ops.exp(x)


def linear(x: ArrayLike) -> ArrayLike:
    """x, unchanged (the activation of a layer with `activation=None`)."""
    return x


def mish(x: ArrayLike) -> jax.Array:
    """x * tanh(softplus(x))."""
    x = ops.convert_to_tensor(x)
    return x * jnp.tanh(jax.nn.softplus(x))


def sparsemax(x: ArrayLike, axis: int = -1) -> jax.Array:
    """The Euclidean projection of x onto the probability simplex along `axis` (sparse softmax)."""
    logits = ops.convert_to_tensor(x)
    ordered = -jnp.sort(-logits, axis=axis)
    cumsum = jnp.cumsum(ordered, axis=axis)
    rank_shape = [1] * logits.ndim
    rank_shape[axis] = -1
    rank = jnp.arange(1, logits.shape[axis] + 1).reshape(rank_shape)
    support = ordered - (cumsum - 1) / rank > 0
    k = jnp.sum(support, axis=axis, keepdims=True)
    tau = (jnp.sum(jnp.where(support, cumsum, 0.0), axis=axis, keepdims=True) - 1) / k
    return jnp.maximum(logits - tau, 0.0)


_BUILTINS: dict[str, Activation] = {
    fn.__name__: fn
    for fn in (
        relu, leaky_relu, relu6, softmax, log_softmax, elu, selu, celu, gelu, glu, sigmoid, log_sigmoid,
        hard_sigmoid, sparse_sigmoid, silu, hard_silu, softplus, softsign, squareplus, sparse_plus, tanh,
        tanh_shrink, hard_tanh, soft_shrink, hard_shrink, threshold, exponential, linear, mish, sparsemax,
    )
}  # fmt: skip
_BY_NAME: dict[str, Activation] = {**_BUILTINS, "swish": silu, "hard_swish": hard_silu}


def _unknown_name(name: str) -> ValueError:
    close = difflib.get_close_matches(name, _BY_NAME, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"Unknown activation {name!r}.{hint} Valid names: {', '.join(sorted(_BY_NAME))}.")


def get(identifier: str | Activation | dict | None) -> Activation:
    """The activation function for a name, a callable (returned as is), or None (`linear`).

    >>> get(None) is linear
    True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        # Keras saves built-in activations as {"class_name": "function", "config": "<name>", ...}.
        name = identifier.get("config")
        if not isinstance(name, str):
            raise TypeError(
                f"An activation given as a dict needs its name under 'config'; got {identifier!r}."
            )
        identifier = name
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise _unknown_name(identifier)
        return _BY_NAME[identifier]
    if callable(identifier):
        return identifier
    raise TypeError(
        f"An activation must be None, a name such as 'relu', or a callable; "
        f"got {type(identifier).__name__}: {identifier!r}."
    )


def serialize(activation: str | Activation) -> str:
    """The name of a built-in activation (aliases give the canonical name: swish -> 'silu')."""
    if isinstance(activation, str):
        get(activation)  # validates
        return _BY_NAME[activation].__name__
    for name, fn in _BUILTINS.items():
        if fn is activation:
            return name
    raise ValueError(
        f"Cannot serialize activation {getattr(activation, '__name__', activation)!r}: only workbench's "
        f"built-in activations have names ({', '.join(sorted(_BUILTINS))}). Use one of those, or keep a "
        "reference to your own function instead of saving it by name."
    )


def deserialize(config: str | dict[str, Any]) -> Activation:
    """The activation function saved by `serialize` (the inverse of `serialize`)."""
    return get(config)
