"""summary() prints Keras' parameter totals for the three tour models."""

import keras
import numpy as np
import pytest

from workbench.examples import tour


class KerasBlock(keras.layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.att = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim // num_heads)
        self.ffn = keras.Sequential(
            [keras.layers.Dense(ff_dim, activation="gelu"), keras.layers.Dense(embed_dim)]
        )
        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.drop1 = keras.layers.Dropout(rate)
        self.drop2 = keras.layers.Dropout(rate)

    def call(self, x, training=None):
        h = self.norm1(x)
        x = x + self.drop1(self.att(h, h), training=training)
        return x + self.drop2(self.ffn(self.norm2(x)), training=training)


def keras_cnn():
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def keras_transformer(vocab_size=2000, maxlen=64, embed_dim=32, num_heads=2, ff_dim=64, num_classes=2):
    tokens = keras.Input((maxlen,), dtype="int32")
    x = keras.layers.Embedding(vocab_size, embed_dim)(tokens)
    x = KerasBlock(embed_dim, num_heads, ff_dim)(x)
    x = KerasBlock(embed_dim, num_heads, ff_dim)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dropout(0.1)(x)
    return keras.Model(tokens, keras.layers.Dense(num_classes, activation="softmax")(x))


def keras_seq2seq(src_vocab=500, tgt_vocab=600, units=64):
    enc_in = keras.Input((None,), dtype="int32")
    dec_in = keras.Input((None,), dtype="int32")
    enc = keras.layers.Embedding(src_vocab, units, mask_zero=True)(enc_in)
    _, h, c = keras.layers.LSTM(units, return_state=True)(enc)
    dec = keras.layers.Embedding(tgt_vocab, units, mask_zero=True)(dec_in)
    dec = keras.layers.LSTM(units, return_sequences=True)(dec, initial_state=[h, c])
    return keras.Model([enc_in, dec_in], keras.layers.Dense(tgt_vocab, activation="softmax")(dec))


def _totals(lines):
    text = "\n".join(lines)
    out = {}
    for label in ("Total params", "Trainable params", "Non-trainable params"):
        line = next(line for line in text.splitlines() if line.strip().startswith(label + ":"))
        out[label] = int(line.split(":")[1].split("(")[0].strip().replace(",", ""))
    return out


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (tour.sequential_cnn, keras_cnn),
        (tour.functional_transformer, keras_transformer),
        (tour.lstm_encoder_decoder, keras_seq2seq),
    ],
)
def test_summary_totals_equal_keras(ours, theirs):
    a, b = ours(), theirs()
    lines_a, lines_b = [], []
    a.summary(print_fn=lines_a.append)
    b.summary(print_fn=lambda line, **kw: lines_b.append(line))
    assert _totals(lines_a) == _totals(lines_b)
    assert a.count_params() == b.count_params()
    assert [w.shape for w in a.get_weights()] == [tuple(w.shape) for w in b.get_weights()]


def test_transformer_outputs_match_keras_with_copied_weights():
    a, b = tour.functional_transformer(), keras_transformer()
    a.set_weights(b.get_weights())
    x = np.random.default_rng(0).integers(0, 2000, (3, 64)).astype("int32")
    np.testing.assert_allclose(np.asarray(a(x)), np.asarray(b(x)), atol=1e-5)


def test_seq2seq_outputs_match_keras_with_copied_weights():
    a, b = tour.lstm_encoder_decoder(), keras_seq2seq()
    a.set_weights(b.get_weights())
    rng = np.random.default_rng(0)
    src = rng.integers(1, 500, (2, 7)).astype("int32")
    tgt = rng.integers(1, 600, (2, 5)).astype("int32")
    src[0, 5:] = 0  # padding, masked
    tgt[1, 3:] = 0
    np.testing.assert_allclose(np.asarray(a([src, tgt])), np.asarray(b([src, tgt])), atol=1e-5)


def test_summary_table_shows_layers_and_shapes():
    lines = []
    tour.sequential_cnn().summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "sequential_cnn"' in text
    assert "(None, 26, 26, 32)" in text and "conv2d" in text and "(Conv2D)" in text
    assert "Total params: 34,826" in text


def test_functional_summary_has_connections():
    lines = []
    tour.lstm_encoder_decoder().summary(print_fn=lines.append)
    assert any("Connected to" in line for line in lines)
