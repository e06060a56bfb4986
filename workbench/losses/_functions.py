"""Loss functions with the names and numerics of `keras.losses` (JAX backend).

Each takes `(y_true, y_pred)` of shape `(batch, d0, ..., dN)` and returns one value
per sample, of shape `(batch, d0, ..., dN-1)`: the last axis is averaged (or summed,
for the cross-entropies). Probabilities are clipped to [epsilon, 1 - epsilon] with
Keras' epsilon (1e-7); logits go through log-softmax / log-sigmoid.

>>> import jax.numpy as jnp
>>> mean_squared_error(jnp.array([[0.0, 1.0]]), jnp.array([[1.0, 1.0]])).tolist()
[0.5]
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from workbench import config
from workbench.losses._reduction import squeeze_or_expand_to_same_rank


def _as_float(x: ArrayLike) -> jax.Array:
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(config.floatx())


def _prepare(name: str, y_true: ArrayLike, y_pred: ArrayLike, same_shape: bool = False):
    """y_pred as a float array, y_true cast to its dtype, ranks matched, shapes checked."""
    y_pred = _as_float(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if same_shape and y_true.shape != y_pred.shape:
        raise ValueError(
            f"{name} expects y_true and y_pred of the same shape; got y_true.shape={tuple(y_true.shape)} "
            f"and y_pred.shape={tuple(y_pred.shape)}."
        )
    try:
        jnp.broadcast_shapes(y_true.shape, y_pred.shape)
    except ValueError:
        raise ValueError(
            f"{name} expects y_true and y_pred of matching (or broadcastable) shapes; got "
            f"y_true.shape={tuple(y_true.shape)} and y_pred.shape={tuple(y_pred.shape)}."
        ) from None
    return y_true, y_pred


def _eps(dtype) -> jax.Array:
    return jnp.asarray(config.epsilon(), dtype)


def _clip_probabilities(p: jax.Array) -> jax.Array:
    eps = config.epsilon()
    return jnp.clip(p, eps, 1.0 - eps)


# --------------------------------------------------------------------------- regression


def mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """mean((y_true - y_pred)**2) over the last axis; also `mse`."""
    y_true, y_pred = _prepare("mean_squared_error", y_true, y_pred)
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """mean(|y_true - y_pred|) over the last axis; also `mae`."""
    y_true, y_pred = _prepare("mean_absolute_error", y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """100 * mean(|y_true - y_pred| / max(|y_true|, epsilon)) over the last axis; also `mape`."""
    y_true, y_pred = _prepare("mean_absolute_percentage_error", y_true, y_pred)
    diff = jnp.abs((y_true - y_pred) / jnp.maximum(jnp.abs(y_true), _eps(y_pred.dtype)))
    return 100.0 * jnp.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """mean((log(y_pred + 1) - log(y_true + 1))**2), values below epsilon raised to it; also `msle`."""
    y_true, y_pred = _prepare("mean_squared_logarithmic_error", y_true, y_pred)
    eps = _eps(y_pred.dtype)
    first_log = jnp.log(jnp.maximum(y_pred, eps) + 1.0)
    second_log = jnp.log(jnp.maximum(y_true, eps) + 1.0)
    return jnp.mean(jnp.square(first_log - second_log), axis=-1)


def _l2_normalize(x: jax.Array, axis: int) -> jax.Array:
    # x * rsqrt(sum x**2), the inverse norm capped at 1/epsilon so a zero vector stays zero.
    inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv_norm, 1.0 / config.epsilon())


def cosine_similarity(y_true: ArrayLike, y_pred: ArrayLike, axis: int = -1) -> jax.Array:
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) along `axis`: -1 when aligned, 0 when orthogonal."""
    y_true, y_pred = _prepare("cosine_similarity", y_true, y_pred)
    return -jnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def huber(y_true: ArrayLike, y_pred: ArrayLike, delta: float = 1.0) -> jax.Array:
    """Quadratic for errors up to `delta`, linear beyond: 0.5 e**2 or delta |e| - 0.5 delta**2, averaged."""
    y_true, y_pred = _prepare("huber", y_true, y_pred)
    delta = jnp.asarray(delta, y_pred.dtype)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    half = jnp.asarray(0.5, y_pred.dtype)
    per_entry = jnp.where(abs_error <= delta, half * jnp.square(error), delta * abs_error - half * delta**2)
    return jnp.mean(per_entry, axis=-1)


def log_cosh(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """mean(log(cosh(y_pred - y_true))): like MSE for small errors, like MAE for large; also `logcosh`."""
    y_true, y_pred = _prepare("log_cosh", y_true, y_pred)
    x = y_pred - y_true
    # x + softplus(-2x) - log 2 == log(cosh(x)), without overflowing for large |x|.
    log2 = jnp.log(jnp.asarray(2.0, y_pred.dtype))
    return jnp.mean(x + jax.nn.softplus(x * -2.0) - log2, axis=-1)


# --------------------------------------------------------------------------- probabilistic


def kl_divergence(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """sum(y_true * log(y_true / y_pred)), both clipped to [epsilon, 1]; also `kld`."""
    y_true, y_pred = _prepare("kl_divergence", y_true, y_pred)
    eps = config.epsilon()
    y_true = jnp.clip(y_true, eps, 1)
    y_pred = jnp.clip(y_pred, eps, 1)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


def poisson(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """mean(y_pred - y_true * log(y_pred + epsilon)), for count data."""
    y_true, y_pred = _prepare("poisson", y_true, y_pred)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + _eps(y_pred.dtype)), axis=-1)


def _elementwise_binary_crossentropy(target: jax.Array, output: jax.Array, from_logits: bool) -> jax.Array:
    if from_logits:
        return -1.0 * target * jax.nn.log_sigmoid(output) - (1.0 - target) * jax.nn.log_sigmoid(-output)
    output = _clip_probabilities(output)
    return -(target * jnp.log(output) + (1.0 - target) * jnp.log(1.0 - output))


def _check_axis(axis: int) -> None:
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"axis must be an int; got {type(axis).__name__}: {axis!r}.")


def binary_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> jax.Array:
    """Binary cross-entropy of 0/1 labels, averaged over `axis`.

    `label_smoothing` moves the labels towards 0.5: y * (1 - s) + 0.5 * s.
    """
    y_true, y_pred = _prepare("binary_crossentropy", y_true, y_pred, same_shape=True)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return jnp.mean(_elementwise_binary_crossentropy(y_true, y_pred, from_logits), axis=axis)


def binary_focal_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> jax.Array:
    """Binary cross-entropy scaled by (1 - p_t)**gamma, which down-weights easy examples (Lin et al., 2018).

    With `apply_class_balancing`, class 1 is further weighted by `alpha` and class 0 by `1 - alpha`.
    """
    y_true, y_pred = _prepare("binary_focal_crossentropy", y_true, y_pred, same_shape=True)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = jax.nn.sigmoid(y_pred)
    bce = _elementwise_binary_crossentropy(y_true, y_pred, from_logits=False)
    p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    focal_bce = jnp.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal_bce = (y_true * alpha + (1 - y_true) * (1 - alpha)) * focal_bce
    return jnp.mean(focal_bce, axis=axis)


def _warn_single_class(name: str, y_pred: jax.Array) -> None:
    if y_pred.shape[-1] == 1:
        warnings.warn(
            f"In loss {name}, expected y_pred.shape to be (batch_size, num_classes) with num_classes > 1; "
            f"got y_pred.shape={tuple(y_pred.shape)}. Consider binary_crossentropy for two classes.",
            stacklevel=3,
        )


def _log_probabilities(y_pred: jax.Array, from_logits: bool, axis: int) -> jax.Array:
    if from_logits:
        return jax.nn.log_softmax(y_pred, axis=axis)
    # Renormalise so each distribution sums to 1, then clip away log(0).
    y_pred = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    return jnp.log(_clip_probabilities(y_pred))


def categorical_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> jax.Array:
    """-sum(y_true * log(y_pred)) along `axis`, for one-hot (or soft) labels.

    `label_smoothing` s gives the target class 1 - s + s / num_classes and the others s / num_classes.
    """
    _check_axis(axis)
    y_true, y_pred = _prepare("categorical_crossentropy", y_true, y_pred, same_shape=True)
    if y_pred.ndim < 1:
        raise ValueError("categorical_crossentropy expects y_true and y_pred of rank >= 1; got scalars.")
    _warn_single_class("categorical_crossentropy", y_pred)
    if label_smoothing:
        num_classes = jnp.asarray(y_true.shape[-1], y_pred.dtype)
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    return -jnp.sum(y_true * _log_probabilities(y_pred, from_logits, axis), axis=axis)


def categorical_focal_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> jax.Array:
    """Categorical cross-entropy with each class term scaled by alpha * (1 - p)**gamma."""
    _check_axis(axis)
    y_true, y_pred = _prepare("categorical_focal_crossentropy", y_true, y_pred, same_shape=True)
    _warn_single_class("categorical_focal_crossentropy", y_pred)
    if label_smoothing:
        num_classes = jnp.asarray(y_true.shape[-1], y_pred.dtype)
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    if from_logits:
        y_pred = jax.nn.softmax(y_pred, axis=axis)
    output = _clip_probabilities(y_pred / jnp.sum(y_pred, axis=axis, keepdims=True))
    cce = -y_true * jnp.log(output)
    return jnp.sum(jnp.power(1.0 - output, gamma) * alpha * cce, axis=axis)


def _sparse_labels(name: str, y_true: ArrayLike, y_pred: jax.Array, axis: int) -> jax.Array:
    """Integer labels of y_pred's shape without the class axis (a trailing size-1 axis is dropped)."""
    y_true = jnp.asarray(y_true)
    if y_pred.ndim < 1:
        raise ValueError(f"{name} expects y_pred with a class axis; got a scalar.")
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = jnp.squeeze(y_true, axis=axis)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = jnp.squeeze(y_true, axis=-1)
    class_axis = axis % y_pred.ndim
    expected = tuple(d for i, d in enumerate(y_pred.shape) if i != class_axis)
    if tuple(y_true.shape) != expected:
        raise ValueError(
            f"{name} expects integer labels y_true of shape {expected} (y_pred's shape without the "
            f"class axis) for y_pred.shape={tuple(y_pred.shape)}; got y_true.shape={tuple(y_true.shape)}. "
            "For one-hot labels use categorical_crossentropy."
        )
    return y_true


def sparse_categorical_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> jax.Array:
    """Categorical cross-entropy for integer class labels (y_pred has one more axis than y_true).

    Entries whose label equals `ignore_class` get loss 0 (the `Loss` class also leaves them
    out of the average). Labels outside [0, num_classes) silently give 0, as in Keras: use
    `check_sparse_labels` on the host to catch them.
    """
    _check_axis(axis)
    y_pred = _as_float(y_pred)
    labels = _sparse_labels("sparse_categorical_crossentropy", y_true, y_pred, axis)
    valid = None
    if ignore_class is not None:
        valid = labels.astype(y_pred.dtype) != jnp.asarray(ignore_class, y_pred.dtype)
        labels = jnp.where(valid, labels, 0)
        # Keras puts 0 here; 1 keeps the (discarded) probability branch free of 0/0 and NaN gradients.
        filler = 0.0 if from_logits else 1.0
        y_pred = jnp.where(jnp.expand_dims(valid, axis), y_pred, filler)
    log_prob = _log_probabilities(y_pred, from_logits, axis)
    one_hot = jax.nn.one_hot(labels.astype("int32"), y_pred.shape[axis], axis=axis, dtype=y_pred.dtype)
    res = -jnp.sum(one_hot * log_prob, axis=axis)
    if valid is not None:
        res = jnp.where(valid, res, 0.0)
    return res


def sparse_categorical_crossentropy_from_features(
    y_true: ArrayLike,
    features: jax.Array,
    kernel: jax.Array,
    bias: jax.Array | None = None,
    ignore_class: int | None = None,
    implementation: str | None = None,
) -> tuple[jax.Array, jax.Array | None]:
    """`sparse_categorical_crossentropy(y_true, features @ kernel + bias, from_logits=True, ...)` and the
    entries that count (None: all), computed in vocabulary chunks without the logits.

    `features` is [..., hidden], `kernel` [hidden, classes], `bias` [classes] or None; labels outside
    [0, classes) give 0 as in the unfused loss.
    """
    from workbench.kernels import cross_entropy

    features = jnp.asarray(features)
    if kernel.ndim != 2 or features.shape[-1] != kernel.shape[0]:
        raise ValueError(
            f"sparse_categorical_crossentropy from features expects features [..., hidden] and a kernel "
            f"[hidden, classes]; got features.shape={tuple(features.shape)} and kernel.shape={tuple(kernel.shape)}."
        )
    hidden, classes = kernel.shape
    logits = jax.ShapeDtypeStruct((*features.shape[:-1], classes), features.dtype)
    labels = _sparse_labels("sparse_categorical_crossentropy", y_true, logits, -1)
    labels = labels.astype(jnp.int32) if not jnp.issubdtype(labels.dtype, jnp.integer) else labels
    valid = None if ignore_class is None else labels != ignore_class
    counted = (labels >= 0) & (labels < classes)
    if valid is not None:
        counted = counted & valid
    kernel = kernel.astype(features.dtype)
    bias = None if bias is None else bias.astype(features.dtype)
    tokens = features.reshape(-1, hidden)
    losses = cross_entropy.linear_softmax_cross_entropy(
        tokens, kernel, jnp.where(counted, labels, 0).reshape(-1), b=bias,
        chunk=cross_entropy.default_chunk(tokens.shape[0], classes), implementation=implementation,
    ).reshape(labels.shape)
    return jnp.where(counted, losses, 0.0), valid


def sparse_valid_mask(y_true: ArrayLike, y_pred: ArrayLike, ignore_class: int | None, axis: int = -1):
    """The entries `sparse_categorical_crossentropy` counts (labels != ignore_class), or None."""
    if ignore_class is None:
        return None
    y_pred = _as_float(y_pred)
    labels = _sparse_labels("sparse_categorical_crossentropy", y_true, y_pred, axis)
    return labels.astype(y_pred.dtype) != jnp.asarray(ignore_class, y_pred.dtype)


# --------------------------------------------------------------------------- hinge


def _hinge_labels(y_true: jax.Array) -> jax.Array:
    # 0/1 labels become -1/+1; labels already in another form are left alone.
    is_binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """mean(max(1 - y_true * y_pred, 0)) for labels in {-1, 1} (0/1 labels are converted)."""
    y_true, y_pred = _prepare("hinge", y_true, y_pred)
    return jnp.mean(jnp.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """mean(max(1 - y_true * y_pred, 0)**2) for labels in {-1, 1} (0/1 labels are converted)."""
    y_true, y_pred = _prepare("squared_hinge", y_true, y_pred)
    return jnp.mean(jnp.square(jnp.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) for one-hot labels."""
    y_true, y_pred = _prepare("categorical_hinge", y_true, y_pred)
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(neg - pos + 1.0, jnp.asarray(0.0, y_pred.dtype))


# Short names Keras also accepts.
bce = BCE = binary_crossentropy
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
