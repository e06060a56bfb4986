"""A Keras 3 script that stays inside the supported subset runs after changing only its imports."""

import textwrap

import numpy as np

SCRIPT = textwrap.dedent('''
    import numpy as np
    {imports}

    keras.utils.set_random_seed(0)
    vocab, maxlen = 100, 12
    tokens = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab, 16, mask_zero=True)(tokens)
    x = layers.Bidirectional(layers.GRU(8, return_sequences=True))(x)
    att = layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    x = layers.Add()([x, att])
    x = layers.LayerNormalization()(x)
    x = layers.GlobalAveragePooling1D()(x)
    side = keras.Input(shape=(8, 8, 1), name="image")
    y = layers.Conv2D(4, 3, padding="same", activation="relu")(side)
    y = layers.BatchNormalization()(y)
    y = layers.MaxPooling2D()(y)
    y = layers.Flatten()(y)
    z = layers.Concatenate()([x, y])
    z = layers.Dropout(0.2)(z)
    out = layers.Dense(3, activation="softmax")(z)
    model = keras.Model([tokens, side], out)

    seq = keras.Sequential()
    seq.add(layers.Dense(8, activation="relu", input_shape=(4,)))
    seq.add(layers.Dense(2))

    labels = keras.utils.to_categorical([0, 2, 1], num_classes=3)
    padded = keras.utils.pad_sequences([[1, 2], [3, 4, 5]], maxlen=maxlen)
    probs = ops.softmax(ops.convert_to_tensor([[1.0, 2.0, 3.0]]))
    result = dict(params=model.count_params(), seq_params=seq.count_params(),
                  shapes=[tuple(w.shape) for w in model.get_weights()],
                  labels=labels, padded=padded, probs=ops.convert_to_numpy(probs))
''')


def run(imports):
    scope = {}
    exec(SCRIPT.format(imports=imports), scope)
    return scope


def test_keras_script_runs_with_workbench_imports_and_agrees_with_keras():
    ours = run("import workbench as keras\nfrom workbench import layers, ops")
    theirs = run("import keras\nfrom keras import layers, ops")
    a, b = ours["result"], theirs["result"]
    assert a["params"] == b["params"] and a["seq_params"] == b["seq_params"]
    assert a["shapes"] == b["shapes"]
    np.testing.assert_array_equal(a["labels"], b["labels"])
    np.testing.assert_array_equal(a["padded"], b["padded"])
    np.testing.assert_allclose(a["probs"], b["probs"], rtol=1e-6)

    # Weights move from Keras to workbench and the outputs agree.
    ours["model"].set_weights(theirs["model"].get_weights())
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 100, (4, 12)).astype("int32")
    tokens[:, 9:] = 0
    image = rng.random((4, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(
        np.asarray(ours["model"]([tokens, image])),
        np.asarray(theirs["model"]([tokens, image])),
        atol=1e-5,
    )
