"""workbench.ops against keras.ops (JAX backend) as the oracle: same values, dtypes and signatures."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import inspect

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from workbench import ops

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 4, 5)).astype("float32")
Y = rng.standard_normal((3, 4, 5)).astype("float32")
POS = (np.abs(X) + 0.1).astype("float32")
M = rng.standard_normal((4, 6)).astype("float32")
V = rng.standard_normal(6).astype("float32")
LABELS = np.array([0, 3, 1], dtype="int32")
LOGITS = rng.standard_normal((3, 5)).astype("float32")
PROBS = np.asarray(jax.nn.softmax(LOGITS)).astype("float32")
ONE_HOT = np.eye(5, dtype="float32")[[0, 3, 1]]
TARGET01 = (rng.uniform(size=(3, 5)) > 0.5).astype("float32")
SPECIAL = np.array([np.nan, np.inf, -np.inf, 1.5, -2.0], dtype="float32")

# (name, args, kwargs): each case runs `ops.<name>` and `keras.ops.<name>` on the same inputs.
CASES = [
    # elementwise math
    *[(n, (X,), {}) for n in ("exp", "square", "abs", "sign", "negative", "floor", "ceil", "round")],
    *[(n, (X,), {}) for n in ("erf", "tanh", "reciprocal")],
    *[(n, (POS,), {}) for n in ("log", "log1p", "sqrt", "rsqrt")],
    ("round", (X * 100,), {"decimals": 1}),
    ("nan_to_num", (SPECIAL,), {}),
    ("nan_to_num", (SPECIAL,), {"nan": 1.0, "posinf": 9.0, "neginf": -9.0}),
    ("isnan", (SPECIAL,), {}),
    ("isinf", (SPECIAL,), {}),
    ("clip", (X, -0.5, 0.5), {}),
    ("clip", (X > 0, 0, 1), {}),
    *[(n, (X, Y), {}) for n in ("add", "subtract", "multiply", "divide", "maximum", "minimum")],
    *[(n, (X, Y), {}) for n in ("floor_divide", "mod", "equal", "not_equal", "greater", "greater_equal")],
    *[(n, (X, Y), {}) for n in ("less", "less_equal")],
    ("add", (X, 2.0), {}),
    ("power", (POS, Y), {}),
    ("logical_and", (X > 0, Y > 0), {}),
    ("logical_or", (X > 0, Y > 0), {}),
    ("logical_not", (X > 0,), {}),
    ("where", (X > 0, X, Y), {}),
    ("where", (X > 0, X, 0.0), {}),
    ("where", (X > 1,), {}),
    # reductions
    *[(n, (X,), {}) for n in ("sum", "mean", "max", "min", "prod", "std", "var")],
    *[(n, (X,), {"axis": (0, 2), "keepdims": True}) for n in ("sum", "mean", "max", "min", "std", "var")],
    ("prod", (X,), {"axis": 1}),
    ("logsumexp", (X,), {"axis": 1}),
    ("max", (X,), {"axis": 0, "initial": 0.5}),
    ("mean", (np.arange(6).reshape(2, 3),), {"axis": 0}),
    ("var", (np.arange(6).reshape(2, 3),), {}),
    ("any", (X > 1,), {"axis": 1, "keepdims": True}),
    ("all", (X > -1,), {"axis": -1}),
    ("count_nonzero", (X > 0,), {"axis": 1}),
    ("argmax", (X,), {"axis": -1, "keepdims": True}),
    ("argmin", (X,), {"axis": 1}),
    ("cumsum", (X,), {"axis": 1}),
    ("cumprod", (X,), {"axis": 2}),
    ("norm", (M,), {}),
    ("norm", (X,), {"axis": -1, "keepdims": True}),
    ("norm", (V,), {"ord": 1}),
    ("moments", (X, [0, 2]), {}),
    ("moments", (X, [1]), {"keepdims": True}),
    # sorting
    ("sort", (X,), {"axis": 0}),
    ("argsort", (X,), {"axis": 1}),
    ("top_k", (X, 3), {}),
    ("in_top_k", (LABELS, LOGITS, 2), {}),
    # shapes
    ("shape", (X,), {}),
    ("reshape", (X, (12, 5)), {}),
    ("reshape", (X, (3, -1)), {}),
    ("transpose", (X, (2, 0, 1)), {}),
    ("expand_dims", (X, 1), {}),
    ("squeeze", (X[:1, :1], 1), {}),
    ("broadcast_to", (V, (2, 6)), {}),
    ("concatenate", ([X, Y],), {"axis": 1}),
    ("concatenate", ([X, Y[:, :2]],), {"axis": 1}),
    ("stack", ([X, Y],), {"axis": -1}),
    ("split", (X, 2), {"axis": 1}),
    ("split", (X, [1, 3]), {"axis": 2}),
    ("tile", (M, (2, 1)), {}),
    ("repeat", (X, 2), {"axis": 1}),
    ("repeat", (M, 2), {}),
    ("pad", (X, ((0, 0), (1, 2), (0, 1))), {}),
    ("pad", (M, 1), {"constant_values": 3.0}),
    ("pad", (M, ((1, 1), (2, 2))), {"mode": "reflect"}),
    ("flip", (X, 1), {}),
    ("roll", (X, 2), {"axis": 2}),
    ("moveaxis", (X, 0, -1), {}),
    # linear algebra
    ("matmul", (X, np.swapaxes(Y, 1, 2)), {}),
    ("matmul", (M, V), {}),
    ("dot", (M, V), {}),
    ("einsum", ("ijk,ilk->ijl", X, Y), {}),
    ("outer", (V, M[0]), {}),
    ("tril", (M,), {}),
    ("triu", (M,), {"k": 1}),
    ("diag", (M,), {}),
    ("diag", (V,), {"k": 1}),
    # indexing
    ("take", (X, [0, 2]), {"axis": 1}),
    ("take", (X, [1, 5]), {}),
    ("take_along_axis", (X, np.argsort(X, axis=-1)), {"axis": -1}),
    ("one_hot", (LABELS, 4), {}),
    ("one_hot", (LABELS, 4), {"axis": 0, "dtype": "int32"}),
    ("slice", (X, (0, 1, 2), (2, 2, -1)), {}),
    ("slice_update", (X, (0, 1, 0), np.ones((1, 2, 5), "float32")), {}),
    ("segment_sum", (M, np.array([0, 0, 2, 1])), {"num_segments": 3}),
    # neural-network functions
    *[(n, (X,), {}) for n in ("relu", "relu6", "sigmoid", "softplus", "softsign", "silu")],
    *[(n, (X * 3,), {}) for n in ("log_sigmoid", "hard_sigmoid", "hard_silu", "selu", "elu")],
    ("gelu", (X,), {}),
    ("gelu", (X,), {"approximate": False}),
    ("leaky_relu", (X,), {}),
    ("elu", (X,), {"alpha": 0.5}),
    ("celu", (X,), {"alpha": 2.0}),
    ("glu", (X[..., :4],), {}),
    ("glu", (X[:, :4],), {"axis": 1}),
    ("softmax", (X,), {}),
    ("softmax", (X,), {"axis": (1, 2)}),
    ("softmax", (V,), {}),
    ("log_softmax", (X,), {}),
    ("log_softmax", (X,), {"axis": (0, 2)}),
    ("binary_crossentropy", (TARGET01, PROBS), {}),
    ("binary_crossentropy", (TARGET01, LOGITS), {"from_logits": True}),
    ("categorical_crossentropy", (ONE_HOT, PROBS), {}),
    ("categorical_crossentropy", (ONE_HOT, LOGITS), {"from_logits": True}),
    ("categorical_crossentropy", (ONE_HOT.T, PROBS.T), {"axis": 0}),
    ("sparse_categorical_crossentropy", (LABELS, PROBS), {}),
    ("sparse_categorical_crossentropy", (LABELS[:, None], LOGITS), {"from_logits": True}),
    # creation & conversion
    ("zeros", ((2, 3),), {}),
    ("ones", ((2, 3), "int32"), {}),
    ("full", ((2, 2), 3.0), {}),
    ("zeros_like", (X,), {}),
    ("ones_like", (X,), {"dtype": "int32"}),
    ("full_like", (X, 2), {}),
    ("eye", (3,), {}),
    ("eye", (3, 4, 1), {}),
    ("arange", (5,), {}),
    ("arange", (1.0, 2.0, 0.25), {}),
    ("arange", (2, 11, 3), {"dtype": "float32"}),
    ("linspace", (0.0, 1.0, 5), {}),
    ("cast", (X, "int32"), {}),
    ("cast", (X, "bfloat16"), {}),
    ("convert_to_tensor", ([1, 2, 3],), {}),
    ("convert_to_tensor", ([1.0, 2.0],), {"dtype": "float16"}),
    ("stop_gradient", (X,), {}),
]


def _assert_same(ours, theirs):
    ours_leaves, theirs_leaves = jax.tree.leaves(ours), jax.tree.leaves(theirs)
    assert len(ours_leaves) == len(theirs_leaves)
    for a, b in zip(ours_leaves, theirs_leaves):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        np.testing.assert_allclose(a.astype("float64"), b.astype("float64"), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("name", "args", "kwargs"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras(name, args, kwargs):
    _assert_same(getattr(ops, name)(*args, **kwargs), getattr(keras.ops, name)(*args, **kwargs))


# Names whose argument names and defaults must equal keras.ops' (so Keras code ports unchanged).
KERAS_NAMES = sorted(
    {c[0] for c in CASES}
    | {"cond", "scan", "fori_loop", "while_loop", "is_tensor", "dtype", "convert_to_numpy"}
    | {"absolute", "sin", "cos", "swish", "hard_swish", "swapaxes", "ravel", "ndim", "size", "full_like"}
)


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_signature_matches_keras(name):
    def params(fn):
        return [(p.name, p.default, p.kind) for p in inspect.signature(fn).parameters.values()]

    assert params(getattr(ops, name)) == params(getattr(keras.ops, name))


def test_every_public_function_has_a_docstring():
    public = [
        v
        for k, v in vars(ops).items()
        if callable(v) and not k.startswith("_") and v.__module__ == ops.__name__
    ]
    assert len(public) > 130
    assert [f.__name__ for f in public if not (f.__doc__ or "").strip()] == []


def test_aliases_are_the_same_functions():
    assert ops.absolute is ops.abs and ops.swish is ops.silu and ops.hard_swish is ops.hard_silu


def test_gelu_defaults_to_the_tanh_approximation_like_keras():
    exact = jax.nn.gelu(X, approximate=False)
    assert not np.allclose(ops.gelu(X), exact, atol=1e-6)
    np.testing.assert_allclose(ops.gelu(X, approximate=False), exact, atol=1e-6)


def test_dtype_helpers():
    assert ops.standardize_dtype(None) == "float32"
    assert ops.standardize_dtype(float) == "float32"
    assert ops.standardize_dtype(int) == "int32"
    assert ops.standardize_dtype(jnp.bfloat16) == "bfloat16"
    assert ops.standardize_dtype(np.dtype("float16")) == "float16"
    assert ops.dtype(X) == keras.ops.dtype(X) == "float32"
    assert ops.dtype([1, 2]) == "int32"
    assert ops.result_type("int32", "float32") == "float32"
    assert ops.result_type("bfloat16", "float32") == "float32"
    assert ops.is_float_dtype("bfloat16") and not ops.is_float_dtype("int8")
    assert ops.is_int_dtype("uint8") and not ops.is_int_dtype("float32")
    with pytest.raises(ValueError, match="Unknown dtype 'float33'"):
        ops.cast(X, "float33")


def test_conversion_round_trip_and_tensor_check():
    t = ops.convert_to_tensor(X)
    assert ops.is_tensor(t) and not ops.is_tensor(X) and not ops.is_tensor(1.0)
    back = ops.convert_to_numpy(t)
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, X)
    assert ops.convert_to_tensor(t) is t


def test_convert_to_tensor_unwraps_variable_like_objects():
    class HasValue:
        value = jnp.arange(3.0)

    class HasJaxArray:
        def __jax_array__(self):
            return jnp.ones(2)

    np.testing.assert_array_equal(ops.convert_to_tensor(HasValue()), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(ops.add(HasJaxArray(), 1.0), [2.0, 2.0])
    assert ops.convert_to_tensor(HasValue(), dtype="int32").dtype == jnp.int32


def test_bfloat16_mean_accumulates_in_float32():
    x = jnp.full((4096,), 1.001, dtype="bfloat16")
    assert ops.mean(x).dtype == jnp.bfloat16
    assert float(ops.mean(x)) == pytest.approx(float(x[0]), rel=1e-3)
    m, v = ops.moments(x, axes=[0])
    assert m.dtype == v.dtype == jnp.bfloat16


def test_scan_matches_keras():
    def step(carry, x):
        carry = carry + x
        return carry, carry * 2

    ours = ops.scan(step, jnp.zeros(5), X[:, 0])
    theirs = keras.ops.scan(step, jnp.zeros(5), X[:, 0])
    _assert_same(ours, theirs)
    _assert_same(
        ops.scan(step, jnp.zeros(5), X[:, 0], reverse=True),
        keras.ops.scan(step, jnp.zeros(5), X[:, 0], reverse=True),
    )
    with pytest.raises(ValueError, match="unroll"):
        ops.scan(step, jnp.zeros(5), X[:, 0], unroll=0)


def test_fori_loop_cond_and_while_loop():
    assert int(ops.fori_loop(0, 5, lambda i, acc: acc + i, 0)) == 10
    assert float(jax.jit(lambda p: ops.cond(p > 0, lambda: 1.0, lambda: -1.0))(3.0)) == 1.0
    assert float(jax.jit(lambda p: ops.cond(p > 0, lambda: 1.0, lambda: -1.0))(-3.0)) == -1.0
    assert int(ops.while_loop(lambda i: i < 10, lambda i: i + 1, 0)) == 10
    assert int(ops.while_loop(lambda i: i < 10, lambda i: i + 1, 0, maximum_iterations=4)) == 4
    i, total = ops.while_loop(lambda i, t: i < 3, lambda i, t: (i + 1, t * 2.0), (0, 1.0))
    assert (int(i), float(total)) == (3, 8.0)
    ours = ops.while_loop(lambda a, b: a < 5, lambda a, b: [a + 1, b + a], [0, 0], maximum_iterations=3)
    theirs = keras.ops.while_loop(
        lambda a, b: a < 5, lambda a, b: [a + 1, b + a], [0, 0], maximum_iterations=3
    )
    assert [int(v) for v in ours] == [int(v) for v in theirs] == [3, 3]


def test_stop_gradient_blocks_gradients():
    grad = jax.grad(lambda x: ops.sum(ops.stop_gradient(x) * x))(jnp.arange(3.0))
    np.testing.assert_allclose(grad, [0.0, 1.0, 2.0])


def test_ops_work_under_jit_and_grad():
    def loss(w):
        logits = ops.matmul(ops.convert_to_tensor(M), w)
        return ops.mean(ops.sparse_categorical_crossentropy(np.array([0, 1, 2, 1]), logits, from_logits=True))

    w = jnp.zeros((6, 3))
    value, grad = jax.jit(jax.value_and_grad(loss))(w)
    assert float(value) == pytest.approx(np.log(3.0), rel=1e-6)
    assert grad.shape == (6, 3) and float(jnp.abs(grad).sum()) > 0


def test_softmax_over_a_size_one_axis_warns():
    with pytest.warns(UserWarning, match="size 1"):
        ops.softmax(np.ones((2, 1), "float32"))


def test_dynamic_update_slice_uses_lax_argument_order():
    out = ops.dynamic_update_slice(jnp.zeros((3, 3)), jnp.ones((1, 2)), (1, 1))
    np.testing.assert_array_equal(
        out, jax.lax.dynamic_update_slice(jnp.zeros((3, 3)), jnp.ones((1, 2)), (1, 1))
    )


BAD_CALLS = [
    (lambda: ops.matmul(M, M), r"x1.shape\[-1\] == x2.shape\[-2\].*\(4, 6\).*\(4, 6\)"),
    (lambda: ops.reshape(X, (7, 8)), r"shape \(3, 4, 5\) \(60 elements\) into \(7, 8\)"),
    (lambda: ops.reshape(X, (-1, -1)), "at most one -1"),
    (lambda: ops.transpose(X, (0, 1)), r"permutation of range\(3\)"),
    (lambda: ops.concatenate([X, M], axis=0), r"xs\[0\].shape=\(3, 4, 5\) but xs\[1\].shape=\(4, 6\)"),
    (lambda: ops.concatenate([], axis=0), "non-empty"),
    (lambda: ops.stack([M, V]), r"one shape.*\(4, 6\).*\(6,\)"),
    (lambda: ops.split(X, 3, axis=1), "length 4.*3 equal sections"),
    (lambda: ops.squeeze(X, 1), "axis 1 of shape \\(3, 4, 5\\) is 4"),
    (lambda: ops.where(X > 0, X), "both given"),
    (lambda: ops.pad(M, 1, mode="mirror"), "mode='mirror'"),
    (lambda: ops.pad(M, 1, mode="edge", constant_values=1.0), "constant_values"),
    (lambda: ops.pad(X, ((1, 1), (1, 1))), "one \\(before, after\\) pair per axis"),
    (lambda: ops.one_hot(LABELS, 0), "positive int; got 0"),
    (lambda: ops.one_hot(LABELS, 3, sparse=True), "sparse"),
    (lambda: ops.top_k(V, 7), r"got k=7 for shape \(6,\)"),
    (lambda: ops.softmax(X, axis=3), r"axis=3.*\(3, 4, 5\)"),
    (lambda: ops.glu(X), "even length"),
    (
        lambda: ops.binary_crossentropy(TARGET01, PROBS[:, :2]),
        r"target.shape=\(3, 5\), output.shape=\(3, 2\)",
    ),
    (lambda: ops.categorical_crossentropy(LABELS, PROBS), "sparse_categorical_crossentropy"),
    (lambda: ops.sparse_categorical_crossentropy(ONE_HOT, PROBS), "categorical_crossentropy"),
    (lambda: ops.segment_sum(M, np.array([0, 1, 1, 0])), "num_segments"),
    (lambda: ops.segment_sum(M, np.array([0, 1])), r"segment_ids.shape=\(2,\), data.shape=\(4, 6\)"),
    (lambda: ops.slice(X, (0, 0), (1, 1)), "one start index and one size per axis"),
    (lambda: ops.slice_update(X, (0, 0, 0), M), "updates.shape=\\(4, 6\\)"),
    (lambda: ops.convert_to_tensor([1.0], sparse=True), "dense"),
]


@pytest.mark.parametrize(("call", "message"), BAD_CALLS, ids=[f"bad-{i}" for i in range(len(BAD_CALLS))])
def test_bad_arguments_say_what_was_expected_and_what_arrived(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_moments_synchronized_is_not_supported():
    with pytest.raises(NotImplementedError, match="synchronized"):
        ops.moments(X, [0], synchronized=True)
