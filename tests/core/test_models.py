"""The three model styles: build, run, serialise, save/load, and the pure form."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import workbench
from workbench import layers


def mlp_sequential():
    return workbench.Sequential([
        layers.Dense(8, activation="relu", input_shape=(5,)),
        layers.Dropout(0.1),
        layers.Dense(3),
    ])


def multi_io_functional():
    a = workbench.Input((5,), name="a")
    b = workbench.Input((4,), name="b")
    h = layers.Concatenate()([layers.Dense(6, activation="tanh")(a), b])
    out1 = layers.Dense(2, name="head1")(h)
    out2 = layers.Dense(1, name="head2")(layers.Add()([h, h]))
    return workbench.Model([a, b], [out1, out2])


class Block(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = layers.Dense(units, activation="relu")
        self.inner = workbench.Sequential([layers.Dense(units), layers.Dense(units)])

    def call(self, x, training=None):
        return self.inner(self.dense(x)) + x

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class Subclassed(workbench.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.proj = layers.Dense(6)
        self.blocks = [Block(6), Block(6)]
        self.head = layers.Dense(2)

    def call(self, x, training=None):
        x = self.proj(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def test_sequential_runs_and_tracks_weights():
    m = mlp_sequential()
    x = np.random.rand(4, 5).astype("float32")
    assert m(x).shape == (4, 3)
    assert len(m.weights) == 4 and m.count_params() == 5 * 8 + 8 + 8 * 3 + 3
    assert [w.shape for w in m.get_weights()] == [(5, 8), (8,), (8, 3), (3,)]


def test_sequential_add_and_lazy_build():
    m = workbench.Sequential()
    m.add(layers.Dense(4))
    m.add(layers.Dense(2))
    assert not m.built
    y = m(np.ones((3, 7), "float32"))
    assert y.shape == (3, 2) and m.built and m.input_shape == (None, 7)


def test_functional_multi_input_output_and_dict_inputs():
    m = multi_io_functional()
    a, b = np.random.rand(3, 5).astype("float32"), np.random.rand(3, 4).astype("float32")
    o1, o2 = m([a, b])
    assert o1.shape == (3, 2) and o2.shape == (3, 1)
    d1, d2 = m({"a": a, "b": b})
    np.testing.assert_array_equal(np.asarray(o1), np.asarray(d1))


def test_functional_dict_structures():
    a = workbench.Input((3,), name="a")
    out = {"y": layers.Dense(2)(a), "z": layers.Dense(1)(a)}
    m = workbench.Model({"a": a}, out)
    res = m({"a": np.ones((2, 3), "float32")})
    assert set(res) == {"y", "z"} and res["z"].shape == (2, 1)
    clone = workbench.models.model_from_json(m.to_json())
    clone.set_weights(m.get_weights())
    res2 = clone({"a": np.ones((2, 3), "float32")})
    np.testing.assert_allclose(np.asarray(res["y"]), np.asarray(res2["y"]))


def test_functional_wrong_input_shape_is_named():
    m = multi_io_functional()
    with pytest.raises(ValueError, match=r"'a'.*\(None, 5\).*\(3, 6\)"):
        m([np.ones((3, 6), "float32"), np.ones((3, 4), "float32")])


def test_graph_disconnected_is_reported():
    a, b = workbench.Input((3,), name="left"), workbench.Input((3,), name="right")
    y = layers.Add()([a, b])
    with pytest.raises(ValueError, match="right"):
        workbench.Model(a, y)


def test_subclassed_model_tracks_nested_layers_and_lists():
    m = Subclassed()
    x = np.random.rand(2, 4).astype("float32")
    assert m(x).shape == (2, 2)
    # proj, 2 blocks x (dense + 2 inner denses), head
    assert len(m.trainable_weights) == 2 * (1 + 2 * 3 + 1)
    paths = list(m.get_variables()["trainable"])
    assert paths[:3] == ["proj/kernel", "proj/bias", "blocks/0/dense/kernel"]
    assert paths[4].startswith("blocks/0/inner/") and paths[-1] == "head/bias"


@pytest.mark.parametrize("make", [mlp_sequential, multi_io_functional])
def test_json_round_trip_gives_same_outputs(make):
    m = make()
    rng = np.random.default_rng(0)
    x = [rng.random((3, 5), "float32"), rng.random((3, 4), "float32")] if len(m.inputs) == 2 else rng.random((3, 5), "float32")
    clone = workbench.models.model_from_json(m.to_json())
    assert clone is not m and clone.count_params() == m.count_params()
    clone.set_weights(m.get_weights())
    jax.tree_util.tree_map(
        lambda p, q: np.testing.assert_array_equal(np.asarray(p), np.asarray(q)), m(x), clone(x)
    )


@pytest.mark.parametrize("make", [mlp_sequential, multi_io_functional])
def test_save_and_load_model_identical_outputs(tmp_path, make):
    m = make()
    x = [np.ones((2, 5), "float32"), np.ones((2, 4), "float32")] if len(m.inputs) == 2 else np.ones((2, 5), "float32")
    path = tmp_path / "model.keras"
    m.save(path)
    loaded = workbench.models.load_model(path)
    jax.tree_util.tree_map(
        lambda p, q: np.testing.assert_array_equal(np.asarray(p), np.asarray(q)), m(x), loaded(x)
    )


def test_subclassed_model_round_trips_with_registration(tmp_path):
    @workbench.saving.register_serializable(package="tests")
    class Tiny(workbench.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.d = layers.Dense(units)

        def call(self, x):
            return self.d(x) * 2.0

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    m = Tiny(units=4)
    x = np.ones((2, 3), "float32")
    y = m(x)
    m.save(tmp_path / "tiny.keras")
    loaded = workbench.models.load_model(tmp_path / "tiny.keras")
    assert type(loaded) is Tiny and loaded.units == 4
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(y))


def test_lambda_refuses_to_deserialise_in_safe_mode(tmp_path):
    m = workbench.Sequential([workbench.Input((3,)), layers.Lambda(lambda t: t * 3.0), layers.Dense(2)])
    x = np.ones((2, 3), "float32")
    with pytest.raises(ValueError, match="safe_mode=False"):
        workbench.models.model_from_json(m.to_json())
    m.save(tmp_path / "lam.keras")
    with pytest.raises(ValueError, match="safe_mode=False"):
        workbench.models.load_model(tmp_path / "lam.keras")
    loaded = workbench.models.load_model(tmp_path / "lam.keras", safe_mode=False)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(m(x)), rtol=1e-6)


def test_stateless_call_is_pure_and_differentiable():
    m = Subclassed()
    x = jnp.asarray(np.random.rand(5, 4), "float32")
    m(x)
    variables = m.get_variables()
    before = m.get_weights()

    def loss(trainable):
        out, _ = m.stateless_call({"trainable": trainable, "non_trainable": variables["non_trainable"]}, x)
        return jnp.mean(out**2)

    grads = jax.jit(jax.grad(loss))(variables["trainable"])
    assert set(grads) == set(variables["trainable"])
    assert all(float(jnp.abs(g).sum()) > 0 for g in jax.tree_util.tree_leaves(grads))
    # numerical check of one entry
    key = "head/bias"
    eps = 1e-3
    bumped = dict(variables["trainable"])
    bumped[key] = bumped[key].at[0].add(eps)
    fd = (loss(bumped) - loss(variables["trainable"])) / eps
    np.testing.assert_allclose(float(grads[key][0]), float(fd), rtol=2e-2, atol=1e-4)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_stateless_call_vmaps_over_parameter_sets():
    m = mlp_sequential()
    x = np.ones((3, 5), "float32")
    m(x)
    v = m.get_variables()
    stacked = jax.tree_util.tree_map(lambda a: jnp.stack([a, 2 * a]), v)
    out = jax.vmap(lambda vv: m.stateless_call(vv, x)[0])(stacked)
    assert out.shape == (2, 3, 3)
    np.testing.assert_allclose(np.asarray(out[0]), np.asarray(m(x)), rtol=1e-6)


def test_set_variables_writes_back():
    m = mlp_sequential()
    m(np.ones((1, 5), "float32"))
    v = jax.tree_util.tree_map(jnp.zeros_like, m.get_variables())
    m.set_variables(v)
    assert all(not np.any(w) for w in m.get_weights())


def test_stateless_call_reports_missing_entries():
    m = mlp_sequential()
    m(np.ones((1, 5), "float32"))
    with pytest.raises(KeyError, match="get_variables"):
        m.stateless_call({"trainable": {}, "non_trainable": {}}, np.ones((1, 5), "float32"))


def test_stateless_call_dropout_needs_and_uses_rng():
    # Wide enough and dropping often enough that two keys giving the same
    # mask is out of reach, whatever the layers' names (which feed the
    # per-layer key) turn out to be in this process.
    m = workbench.Sequential([
        layers.Dense(64, activation="tanh", input_shape=(5,)),
        layers.Dropout(0.5),
        layers.Dense(3),
    ])
    x = np.random.default_rng(0).normal(size=(16, 5)).astype("float32")
    m(x)
    v = m.get_variables()
    a, _ = m.stateless_call(v, x, training=True, rng=jax.random.key(1))
    b, _ = m.stateless_call(v, x, training=True, rng=jax.random.key(1))
    c, _ = m.stateless_call(v, x, training=True, rng=jax.random.key(2))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(c))
    with pytest.raises(ValueError, match="rng="):
        m.stateless_call(v, x, training=True)


def test_symbolic_arithmetic_and_slicing_serialise():
    x = workbench.Input((4,))
    h = layers.Dense(4)(x)
    y = (h + x) * 2.0 - workbench.ops.mean(h, axis=-1, keepdims=True)
    y = y[:, :2]
    m = workbench.Model(x, y)
    data = np.random.rand(3, 4).astype("float32")
    clone = workbench.models.model_from_json(m.to_json())
    clone.set_weights(m.get_weights())
    np.testing.assert_allclose(np.asarray(m(data)), np.asarray(clone(data)), rtol=1e-6)
    assert m(data).shape == (3, 2)


def test_trainable_flag_moves_weights():
    m = mlp_sequential()
    m(np.ones((1, 5), "float32"))
    m.layers[0].trainable = False
    assert len(m.trainable_weights) == 2 and len(m.non_trainable_weights) == 2
    assert set(m.get_variables()["non_trainable"]) == {"dense/kernel", "dense/bias"} or len(
        m.get_variables()["non_trainable"]
    ) == 2


def test_add_loss_is_collected_in_eager_jitted_and_stateless_calls():
    class Penalised(layers.Layer):
        def call(self, x):
            self.add_loss(jnp.sum(x) * 0.5)
            return x

    m = workbench.Sequential([workbench.Input((2,)), Penalised(), layers.Dense(1, kernel_regularizer="l2")])
    x = np.ones((3, 2), "float32")
    m(x)  # eager first call
    assert len(m.losses) == 2 and float(m.losses[0]) == 3.0
    m(2 * x)  # jitted call
    assert len(m.losses) == 2 and float(m.losses[0]) == 6.0
    _, _, losses = m.stateless_call(m.get_variables(), x, return_losses=True)
    assert float(losses[0]) == 3.0
    kernel = m.layers[-1].kernel.numpy()
    np.testing.assert_allclose(float(losses[1]), 0.01 * float((kernel**2).sum()), rtol=1e-6)


def test_symbolic_call_passes_python_flags_untraced():
    class Flag(layers.Layer):
        def call(self, x, double=False):
            return x * 2 if double else x

    x = workbench.Input((3,))
    m = workbench.Model(x, Flag()(x, double=True))
    np.testing.assert_array_equal(np.asarray(m(np.ones((1, 3), "float32"))), 2 * np.ones((1, 3)))


def test_scalar_weights_survive_save_and_load(tmp_path):
    class Scale(layers.Layer):
        def build(self, shape):
            self.s = self.add_weight(shape=(), initializer="ones", name="s")

        def call(self, x):
            return x * self.s

    x = workbench.Input((3,))
    m = workbench.Model(x, Scale()(x))
    m.layers[-1].s.assign(2.5)
    m.save(tmp_path / "s.keras")
    loaded = workbench.models.load_model(tmp_path / "s.keras", custom_objects={"Scale": Scale})
    assert loaded.layers[-1].s.shape == ()
    np.testing.assert_allclose(np.asarray(loaded(np.ones((1, 3), "float32"))), 2.5)
