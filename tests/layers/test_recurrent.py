"""SimpleRNN, LSTM, GRU, their cells and the generic RNN driver against Keras 3.

Speed: XLA compiles every initializer once per shape, and every eager `lax.scan`
call anew; that dominates this file. So all layers share one input shape and 4
units, are created with "zeros" initializers (the weights are then replaced by
random ones), are compared with one call per layer (`_compare`; the compiled
second-call path is checked once, in `test_compiled_call_matches_eager_call`), and
tests about something other than the scan use `unroll=True` (its ops compile once).
"""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import workbench
from tests.layers.keras_oracle import assert_close, compare_layer, random
from workbench.layers.embedding import Embedding
from workbench.layers.recurrent import GRU, LSTM, SimpleRNN
from workbench.layers.rnn import RNN
from workbench.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell

X = random((3, 5, 4))
# Row 0 is right-padded, row 2 starts masked and has a gap: every masking branch is exercised.
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 1, 1, 0, 1]], bool)
FAST = {"kernel_initializer": "zeros", "recurrent_initializer": "zeros"}

LAYERS = {
    "SimpleRNN": (SimpleRNN, keras.layers.SimpleRNN, {}),
    "LSTM": (LSTM, keras.layers.LSTM, {}),
    "GRU": (GRU, keras.layers.GRU, {}),
    "GRU-reset_before": (GRU, keras.layers.GRU, {"reset_after": False}),
}


def _pair(kind, **kwargs):
    ours, theirs, extra = LAYERS[kind]
    kwargs = {**FAST, **extra, **kwargs}
    return ours(**kwargs), theirs(**kwargs)


def _randomize(keras_object):
    keras_object.set_weights([random(w.shape, seed=i) for i, w in enumerate(keras_object.weights)])


def _compare(ours, theirs, x, **kwargs):
    """compare_layer's checks, with random Keras weights copied into ours and one call per layer."""
    theirs.build(x.shape)
    _randomize(theirs)
    expected = theirs(x, **kwargs)
    ours.build(x.shape)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    assert ours.count_params() == theirs.count_params()
    out = ours(x, **kwargs)
    assert_close(out, expected)
    return out, expected


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("go_backwards,masked", [(False, False), (True, True)])
def test_matches_keras(kind, go_backwards, masked):
    ours, theirs = _pair(kind, units=4, return_sequences=True, return_state=True, go_backwards=go_backwards)
    _compare(ours, theirs, X, **({"mask": MASK} if masked else {}))
    assert ours.compute_output_shape((None, 5, 4)) == theirs.compute_output_shape((None, 5, 4))


def test_compiled_call_matches_eager_call():
    ours, theirs = _pair("GRU", units=4, return_sequences=True, return_state=True)
    theirs.build(X.shape)
    _randomize(theirs)
    compare_layer(ours, theirs, X, mask=MASK)  # builds ours with one call, compares on the second
    assert ours._jit_cache, "the second call should have run the compiled path"


def test_output_flags_match_keras():
    # One Keras run with every output gives the expected result of each flag combination.
    full, theirs = _pair(
        "LSTM", units=4, return_sequences=True, return_state=True, go_backwards=True, unroll=True
    )
    (sequence, h, c), _ = _compare(full, theirs, X, mask=MASK)
    expected = {
        (False, False): sequence[:, -1],
        (True, False): sequence,
        (False, True): (sequence[:, -1], h, c),
    }
    for (return_sequences, return_state), want in expected.items():
        layer = LSTM(
            4,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=True,
            unroll=True,
            **FAST,
        )
        layer.build(X.shape)
        layer.set_weights(full.get_weights())
        out = layer(X, mask=MASK)
        assert isinstance(out, tuple) == return_state
        assert_close(out, want)
        keras_layer = keras.layers.LSTM(4, return_sequences=return_sequences, return_state=return_state)
        assert layer.compute_output_shape(X.shape) == keras_layer.compute_output_shape(X.shape)


def test_unroll_matches_keras():
    # Keras' unrolled loop repeats the previous *output* on masked steps, and zeros before the first
    # output, even with an initial state (the scan repeats states[0]). Going backwards, row 0 starts masked.
    states = [random((3, 4), seed=10 + i) for i in range(2)]
    ours, theirs = _pair(
        "LSTM", units=4, return_sequences=True, return_state=True, unroll=True, go_backwards=True
    )
    out, _ = _compare(ours, theirs, X, mask=MASK, initial_state=states)
    np.testing.assert_array_equal(np.asarray(out[0])[0, 0], 0.0)


def test_use_bias_false_and_other_activations_match_keras():
    ours, theirs = _pair(
        "LSTM",
        units=4,
        use_bias=False,
        activation="relu",
        recurrent_activation="hard_sigmoid",
        return_sequences=True,
    )
    _compare(ours, theirs, X)
    assert [w.name for w in ours.weights] == ["kernel", "recurrent_kernel"]


def test_initial_state_matches_keras():
    states = [random((3, 4), seed=10 + i) for i in range(2)]
    ours, theirs = _pair("LSTM", units=4, return_sequences=True, return_state=True)
    out, _ = _compare(ours, theirs, X, initial_state=states, mask=MASK)
    # Row 2's first step is masked: its output is the initial h, carried forward.
    np.testing.assert_allclose(np.asarray(out[0])[2, 0], states[0][2], atol=1e-6)


def test_single_initial_state_in_a_functional_model():
    x, h0 = workbench.Input((5, 4)), workbench.Input((4,))
    model = workbench.Model([x, h0], GRU(4, **FAST)(x, initial_state=h0))
    kx, kh = keras.Input((5, 4)), keras.Input((4,))
    kmodel = keras.Model([kx, kh], keras.layers.GRU(4, **FAST)(kx, initial_state=kh))
    _randomize(kmodel)
    model.set_weights(kmodel.get_weights())
    inputs = [X, random((3, 4), seed=1)]
    assert_close(model(inputs), kmodel(inputs))


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_embedding_mask_flows_into_rnn_in_functional_model(kind):
    ours_cls, theirs_cls, _ = LAYERS[kind]
    ids = np.array([[3, 5, 2, 0, 0], [1, 2, 3, 4, 5], [0, 7, 0, 2, 0]], "int32")
    x = workbench.Input(shape=(5,), dtype="int32")
    h = Embedding(10, 4, mask_zero=True)(x)
    kx = keras.Input(shape=(5,), dtype="int32")
    kh = keras.layers.Embedding(10, 4, mask_zero=True)(kx)
    if kind == "LSTM":  # the mask also passes through a return_sequences RNN to the next one
        h, kh = (
            ours_cls(4, return_sequences=True, **FAST)(h),
            theirs_cls(4, return_sequences=True, **FAST)(kh),
        )
    model = workbench.Model(x, ours_cls(4, go_backwards=True, **FAST)(h))
    kmodel = keras.Model(kx, theirs_cls(4, go_backwards=True, **FAST)(kh))
    _randomize(kmodel)
    model.set_weights(kmodel.get_weights())
    assert_close(model(ids), kmodel(ids))


def test_variable_length_time_in_functional_model():
    x = workbench.Input((None, 4))
    y = GRU(4, return_sequences=True, **FAST)(x)
    assert y.shape == (None, None, 4)
    model = workbench.Model(x, y)
    assert model(X).shape == (3, 5, 4)
    assert model(random((2, 7, 4))).shape == (2, 7, 4)


def test_generic_rnn_with_cell_matches_keras():
    ours = RNN(LSTMCell(4, **FAST), return_sequences=True)
    theirs = keras.layers.RNN(keras.layers.LSTMCell(4, **FAST), return_sequences=True)
    out, _ = _compare(ours, theirs, X, mask=MASK)
    clone = RNN.from_config(ours.get_config())
    assert type(clone.cell) is LSTMCell and clone.cell.get_config() == ours.cell.get_config()
    clone.build(X.shape)
    clone.set_weights(ours.get_weights())
    assert_close(clone(X, mask=MASK), out)


def test_lstm_cell_single_step_matches_keras():
    ours, theirs = LSTMCell(4, **FAST), keras.layers.LSTMCell(4, **FAST)
    theirs.build(X[:, 0].shape)
    _randomize(theirs)
    states = [random((3, 4), seed=1), random((3, 4), seed=2)]
    compare_layer(ours, theirs, X[:, 0], states)


def test_lstm_unit_forget_bias_initialises_forget_gate_to_one():
    layer = LSTM(3, bias_initializer="zeros", **FAST)
    layer.build(X.shape)
    np.testing.assert_array_equal(np.asarray(layer.cell.bias.value), [0, 0, 0, 1, 1, 1] + [0] * 6)
    layer = LSTM(3, unit_forget_bias=False, **FAST)
    layer.build(X.shape)
    np.testing.assert_array_equal(np.asarray(layer.cell.bias.value), np.zeros(12))


def test_default_initializers_and_weight_shapes():
    layer = GRU(4)
    assert isinstance(layer.kernel_initializer, workbench.initializers.GlorotUniform)
    assert isinstance(layer.recurrent_initializer, workbench.initializers.Orthogonal)
    assert isinstance(layer.bias_initializer, workbench.initializers.Zeros)
    assert layer.activation is workbench.activations.tanh
    assert layer.recurrent_activation is workbench.activations.sigmoid
    layer = GRU(4, **FAST)
    layer.build(X.shape)
    assert [w.shape for w in layer.weights] == [(4, 12), (4, 12), (2, 12)]
    layer = GRU(4, reset_after=False, **FAST)
    layer.build(X.shape)
    assert [w.shape for w in layer.weights] == [(4, 12), (4, 12), (12,)]


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU-reset_before"])
def test_config_roundtrip(kind):
    ours, theirs = _pair(
        kind,
        units=4,
        return_sequences=True,
        dropout=0.25,
        recurrent_dropout=0.1,
        kernel_regularizer="l2",
        go_backwards=True,
        unroll=True,
    )
    ours.build(X.shape)
    ours.set_weights([random(w.shape, seed=i) for i, w in enumerate(ours.weights)])
    out = ours(X, mask=MASK)
    config = ours.get_config()
    missing = set(theirs.get_config()) - set(config)
    assert not missing, f"config lacks Keras keys {missing}"
    clone = type(ours).from_config(config)
    assert clone.get_config() == config
    clone.build(X.shape)
    clone.set_weights(ours.get_weights())
    assert_close(clone(X, mask=MASK), out)


def test_regularizer_losses_match_keras():
    ours, theirs = _pair(
        "GRU", units=4, kernel_regularizer="l2", recurrent_regularizer="l1", bias_regularizer="l2"
    )
    theirs.build(X.shape)
    _randomize(theirs)
    ours.build(X.shape)
    ours.set_weights(theirs.get_weights())
    assert len(ours.losses) == len(theirs.losses) == 3
    assert_close(sorted(float(v) for v in ours.losses), sorted(float(v) for v in theirs.losses))


def test_dropout_in_training_runs_differs_and_keeps_shapes():
    layer = LSTM(4, dropout=0.5, recurrent_dropout=0.3, return_sequences=True, return_state=True, **FAST)
    layer.build(X.shape)
    layer.set_weights([random(w.shape, seed=i) for i, w in enumerate(layer.weights)])
    inference = layer(X, training=False)
    trained = layer(X, training=True)  # the compiled path, drawing its key from the global stream
    assert [t.shape for t in trained] == [t.shape for t in inference]
    assert all(np.isfinite(np.asarray(t)).all() for t in trained)
    assert not np.allclose(np.asarray(trained[0]), np.asarray(inference[0]))
    assert not np.allclose(np.asarray(trained[0]), np.asarray(layer(X, training=True)[0]))
    assert layer.cell._dropout_mask is None and layer.cell._recurrent_dropout_mask is None

    def run(seed):
        workbench.utils.set_random_seed(seed)
        return np.asarray(layer(X, training=True)[0])

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.allclose(run(1), run(2))


@pytest.mark.parametrize(
    "ours_cell,theirs_cell,gates",
    [
        (lambda **kw: SimpleRNNCell(4, **kw), lambda **kw: keras.layers.SimpleRNNCell(4, **kw), None),
        (lambda **kw: LSTMCell(4, **kw), lambda **kw: keras.layers.LSTMCell(4, **kw), 4),
        (lambda **kw: GRUCell(4, **kw), lambda **kw: keras.layers.GRUCell(4, **kw), 3),
        (
            lambda **kw: GRUCell(4, reset_after=False, **kw),
            lambda **kw: keras.layers.GRUCell(4, reset_after=False, **kw),
            3,
        ),
    ],
)
def test_cell_dropout_arithmetic_matches_keras_for_given_masks(ours_cell, theirs_cell, gates):
    # Keras caches a cell's masks in the same attributes; presetting them removes the RNG from the comparison.
    kwargs = dict(dropout=0.5, recurrent_dropout=0.25, **FAST)
    ours, theirs = ours_cell(**kwargs), theirs_cell(**kwargs)
    x, h = X[:, 0], random((3, 4), seed=5)
    states = [h, random((3, 4), seed=6)] if gates == 4 else [h]
    theirs.build(x.shape)
    _randomize(theirs)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())

    def masks(shape, seed):
        drawn = [(random(shape, seed=seed + i, low=0, high=1) > 0.5) * 2.0 for i in range(gates or 1)]
        return [m.astype("float32") for m in drawn] if gates else drawn[0].astype("float32")

    for cell in (ours, theirs):
        cell._dropout_mask, cell._recurrent_dropout_mask = masks(x.shape, 20), masks(h.shape, 40)
    expected = theirs(x, states, training=True)
    assert_close(ours(x, states, training=True), expected)
    assert not np.allclose(np.asarray(ours(x, states, training=False)[0]), np.asarray(expected[0]))


def _linear_dropout_outputs(layer, n):
    """x_t * mask_t: a linear SimpleRNN with identity kernel, zero recurrence, on inputs of ones."""
    x = np.ones((n, 5, 4), "float32")
    layer.build(x.shape)
    layer.set_weights([np.eye(4, dtype="float32"), np.zeros((4, 4), "float32"), np.zeros(4, "float32")])
    return np.asarray(layer(x, training=True))


def test_dropout_mask_is_shared_across_time_and_statistically_matches_keras():
    # RNG streams differ from Keras', so compare the distributions, not the draws.
    rate, n = 0.4, 2000
    kwargs = dict(units=4, activation="linear", dropout=rate, return_sequences=True, unroll=True, **FAST)
    ours = _linear_dropout_outputs(SimpleRNN(**kwargs), n)
    theirs = _linear_dropout_outputs(keras.layers.SimpleRNN(**kwargs), n)
    for out in (ours, theirs):
        # One mask per sequence (variational dropout): every step drops the same features.
        np.testing.assert_array_equal(out, np.repeat(out[:, :1], 5, axis=1))
        np.testing.assert_allclose(np.unique(out), [0.0, 1 / (1 - rate)], rtol=1e-6)
    assert abs((ours == 0).mean() - rate) < 0.03
    assert abs((ours == 0).mean() - (theirs == 0).mean()) < 0.04
    assert abs(ours.mean() - 1.0) < 0.05 and abs(theirs.mean() - 1.0) < 0.05


def test_gradients_flow_through_the_scan():
    layer = LSTM(4, return_sequences=True, **FAST)
    layer.build(X.shape)
    layer.set_weights([random(w.shape, seed=i) for i, w in enumerate(layer.weights)])
    variables = layer.get_variables()

    def loss(trainable):
        out, _ = layer.stateless_call({**variables, "trainable": trainable}, X, mask=MASK)
        return jnp.sum(out**2)

    grads = jax.jit(jax.grad(loss))(variables["trainable"])
    assert set(grads) == set(variables["trainable"])
    for g in grads.values():
        assert np.isfinite(np.asarray(g)).all() and np.abs(np.asarray(g)).sum() > 0


def test_mixed_precision_computes_in_bfloat16():
    layer = LSTM(4, return_state=True, dtype="mixed_bfloat16", **FAST)
    out = layer(X, mask=MASK)
    assert all(o.dtype == jnp.bfloat16 for o in out)
    assert all(w.dtype == jnp.float32 for w in layer.weights)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: LSTM(0), "units"),
        (lambda: GRU(-3), "units"),
        (lambda: SimpleRNN(4, dropout=1.5), "dropout"),
        (lambda: LSTM(4, recurrent_dropout=-0.1), "recurrent_dropout"),
        (lambda: LSTM(4, stateful=True), "stateful=True is not supported"),
        (lambda: GRU(4, use_cudnn="yes"), "use_cudnn"),
        (lambda: LSTM(4, implementation=3), "implementation"),
        (lambda: RNN([LSTMCell(2), LSTMCell(3)]), "stacking"),
        (lambda: RNN(object()), "state_size"),
        (lambda: LSTM(4, not_an_argument=1), "not_an_argument"),
    ],
)
def test_invalid_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_input_rank_names_the_layer():
    layer = LSTM(4, name="my_lstm")
    with pytest.raises(ValueError, match="my_lstm.*rank >= 3"):
        layer(random((3, 4)))


def test_wrong_initial_state_and_mask_raise():
    layer = LSTM(4, name="lstm_states", **FAST)
    layer.build(X.shape)
    with pytest.raises(ValueError, match="lstm_states.*2 state"):
        layer(X, initial_state=[random((3, 4))])
    with pytest.raises(ValueError, match="lstm_states.*initial states of shape"):
        layer(X, initial_state=[random((3, 5)), random((3, 5))])
    with pytest.raises(ValueError, match="lstm_states.*mask of shape"):
        layer(X, mask=MASK[:, :4])


def test_output_mask_follows_return_sequences():
    mask = jnp.asarray(MASK)
    assert LSTM(2, return_sequences=True).compute_mask(X, mask) is mask
    assert LSTM(2).compute_mask(X, mask) is None
    assert LSTM(2, return_sequences=True, return_state=True).compute_mask(X, mask) == [mask, None, None]
